"""What the formation view (the latent space as it forms) sends to the browser: one frame while a
model trains, every epoch's frame for a replay. Pure functions of numpy data (no Streamlit)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ui.blob import pack_blob
from vae.datasets import MNIST
from vae.snapshots import EXTENT, GRID_SIDE, Replay, Snapshot


def formation_payload(titles: list[str], epochs: list[float], points: np.ndarray, labels: np.ndarray,
                      grids: np.ndarray, live: bool, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """Frames (k of them): titles, epoch numbers, points (k, n, 2) on each frame's plane, the
    n points' classes (named in the legend by `class_names`), and each frame's grid (k, GRID_SIDE², 784) uint8."""
    return pack_blob(
        {"titles": titles, "epochs": [float(e) for e in epochs], "side": GRID_SIDE, "extent": EXTENT, "live": live,
         "classes": list(class_names)},
        {"points": np.asarray(points, np.float32), "labels": np.asarray(labels, np.uint8),
         "grids": np.asarray(grids, np.uint8)},
    )


def live_payload(snapshot: Snapshot, labels: np.ndarray, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """The one frame of a model training now."""
    return formation_payload([f"training, {snapshot.label()}"], [snapshot.epoch], snapshot.points[None],
                             labels[: len(snapshot.z)], snapshot.grid[None], live=True, class_names=class_names)


def replay_payload(replay: Replay, labels: np.ndarray, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """Every saved epoch of a run, for the scrubber and Play."""
    titles = [f"epoch {int(epoch)} of {replay.total_epochs}" for epoch in replay.epochs]
    return formation_payload(titles, replay.epochs.tolist(), replay.points, labels[: replay.points.shape[1]],
                             replay.grids, live=False, class_names=class_names)
