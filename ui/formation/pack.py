"""What the formation view (the latent space as it forms) sends to the browser: one frame while a
model trains, every epoch's frame for a replay. Pure functions of numpy data (no Streamlit).

A payload is built once and shared by every session (ui/state.py and ui/live.py cache it), so it is
written in English, with each frame's title also kept as its message and fields; `in_words` gives a
session its copy in its own language (the frames' titles, the class names, the view's labels)."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence

import numpy as np

from ui.blob import pack_blob
from vae.datasets import MNIST
from vae.i18n import N_
from vae.snapshots import EXTENT, GRID_SIDE, Replay, Snapshot

EPOCH_TITLE = N_("epoch {epoch} of {total}")
TRAINING_TITLE = N_("training, epoch {epoch} of {total}")
TRAINING_PART_WAY_TITLE = N_("training, epoch {epoch} of {total} (part way)")

Title = tuple[str, dict]  # (message, its fields): the English title is message.format(**fields)


def formation_payload(titles: list[Title], epochs: list[float], points: np.ndarray, labels: np.ndarray,
                      grids: np.ndarray, live: bool, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """Frames (k of them): titles (message, fields), epoch numbers, points (k, n, 2) on each frame's plane, the
    n points' classes (named in the legend by `class_names`), and each frame's grid (k, GRID_SIDE², 784) uint8."""
    return pack_blob(
        {"titles": [message.format(**fields) for message, fields in titles],
         "title_messages": [list(title) for title in titles], "epochs": [float(e) for e in epochs],
         "side": GRID_SIDE, "extent": EXTENT, "live": live, "classes": list(class_names)},
        {"points": np.asarray(points, np.float32), "labels": np.asarray(labels, np.uint8),
         "grids": np.asarray(grids, np.uint8)},
    )


def live_payload(snapshot: Snapshot, labels: np.ndarray, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """The one frame of a model training now (titled as "training, " + snapshot.label())."""
    if snapshot.epoch_end:
        title = (TRAINING_TITLE, {"epoch": int(snapshot.epoch), "total": snapshot.epochs})
    else:
        title = (TRAINING_PART_WAY_TITLE, {"epoch": int(snapshot.epoch) + 1, "total": snapshot.epochs})
    return formation_payload([title], [snapshot.epoch], snapshot.points[None],
                             labels[: len(snapshot.z)], snapshot.grid[None], live=True, class_names=class_names)


def replay_payload(replay: Replay, labels: np.ndarray, class_names: Sequence[str] = MNIST.class_names) -> bytes:
    """Every saved epoch of a run, for the scrubber and Play."""
    titles = [(EPOCH_TITLE, {"epoch": int(epoch), "total": replay.total_epochs}) for epoch in replay.epochs]
    return formation_payload(titles, replay.epochs.tolist(), replay.points, labels[: replay.points.shape[1]],
                             replay.grids, live=False, class_names=class_names)


def in_words(payload: bytes, translate: Callable[[str], str], text: dict[str, str], scale: float = 1.0) -> bytes:
    """The payload with its titles and class names passed through `translate` and the view's own
    words (`text`: its labels, read by formation.js) and size (`scale`: larger in presenter mode)
    added: only the JSON header is rewritten, the arrays after it are kept as they are (their
    offsets count from the header's end)."""
    (length,) = struct.unpack_from("<I", payload)
    header = json.loads(payload[4 : 4 + length])
    header["titles"] = [translate(message).format(**fields) for message, fields in header["title_messages"]]
    header["classes"] = [translate(name) for name in header["classes"]]
    encoded = json.dumps({**header, "text": text, "scale": scale}).encode()
    encoded += b" " * (-len(encoded) % 4)  # the arrays stay 4-byte aligned, as pack_blob wrote them
    return struct.pack("<I", len(encoded)) + encoded + payload[4 + length :]
