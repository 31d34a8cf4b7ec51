"""Snapshots of a model while it trains: where it puts a fixed subset of test images, and a small
grid of digits decoded over the same plane. Pure numpy (no TensorFlow, no Streamlit).

A training process takes one at each epoch's end (kept with the run: epoch replay) and, while
someone watches, a few more in between (streamed live, with the decoder's weights, so the
explorer can decode in the browser before the run is saved).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae.evaluate import decode, encode, principal_components
from vae.i18n import _
from vae.numpy_model import NumpyModel, given_label

SUBSET = 1000  # test images on the live map and in the replay (the first ones: every digit appears)
GRID_SIDE = 10  # digits per side of the snapshot's grid
EXTENT = 4.0  # the plane's [-4, 4]², as the seed tutorial's grid
# Live snapshots carry the decoder only up to this many bytes of float32 weights (the default dense
# decoder: 0.8 MB, the convolutional preset's: 3.4 MB); a wider one is drawn once its run is saved.
LIVE_DECODER_MAX_BYTES = 4_000_000
# A conditional model's snapshots decode this class over the plane of its (style) codes.
SHOWN_CLASS = 0


@dataclass(frozen=True)
class Snapshot:
    """The model at one moment of its training."""

    epoch: float  # epochs done: 3.0 at the end of epoch 3, 3.4 part way through epoch 4
    epochs: int  # of the whole training
    z: np.ndarray  # (n, latent_dim) float32: z_mean of the first n test images
    plane: dict  # the 2-D view: mean + x c1 + y c2 (see plane_for)
    grid: np.ndarray  # (GRID_SIDE², 784) uint8: digits decoded over the plane, rows top to bottom
    decoder: NumpyModel | None = None  # live snapshots carry it; saved ones do not

    @property
    def epoch_end(self) -> bool:
        """At an epoch's end (epoch 0.0, before the first step, is part way into the first)."""
        return self.epoch >= 1 and float(self.epoch).is_integer()

    @property
    def points(self) -> np.ndarray:
        """(n, 2) float32: the subset on the plane."""
        return project(self.plane, self.z)

    def label(self) -> str:
        """Where the training was, in the session's language: "epoch 3 of 10"."""
        if self.epoch_end:
            return _("epoch {epoch} of {epochs}").format(epoch=int(self.epoch), epochs=self.epochs)
        return _("epoch {epoch} of {epochs} (part way)").format(epoch=int(self.epoch) + 1, epochs=self.epochs)


def plane_for(z: np.ndarray, previous: dict | None = None) -> dict:
    """The latent space itself when 2-D; else its first two principal components, each flipped
    if needed to point the way the previous snapshot's did, so an animation does not jump."""
    latent_dim = z.shape[1]
    if latent_dim == 2:
        return {"mean": [0.0, 0.0], "components": [[1.0, 0.0], [0.0, 1.0]]}
    _projection, components, mean = principal_components(z)
    if previous is not None and np.shape(previous["components"]) == components.shape:
        signs = np.sign(np.sum(components * np.asarray(previous["components"]), axis=1))
        components = components * np.where(signs == 0, 1, signs)[:, None]
    return {"mean": np.asarray(mean, np.float64).round(6).tolist(),
            "components": np.asarray(components, np.float64).round(6).tolist()}


def project(plane: dict, z: np.ndarray) -> np.ndarray:
    mean = np.asarray(plane["mean"], np.float32)
    return ((np.asarray(z, np.float32) - mean) @ np.asarray(plane["components"], np.float32).T).astype(np.float32)


def plane_grid(decoder, plane: dict, side: int = GRID_SIDE, extent: float = EXTENT) -> np.ndarray:
    """(side², 784) uint8: digits decoded at the centres of a side × side grid over the plane."""
    centres = np.linspace(-extent, extent, side + 1, dtype=np.float32)
    centres = (centres[:-1] + centres[1:]) / 2
    xs, ys = np.meshgrid(centres, centres[::-1])  # the top row has the largest y
    plane_points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    z = np.asarray(plane["mean"], np.float32) + plane_points @ np.asarray(plane["components"], np.float32)
    return to_bytes(decode(decoder, z))


def to_bytes(images: np.ndarray) -> np.ndarray:
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


def take(encoder, decoder, images: np.ndarray, epoch: float, epochs: int, previous: Snapshot | None = None,
         keep_decoder: bool = False) -> Snapshot:
    """A snapshot of (encoder, decoder) — Keras models or numpy twins — on `images`."""
    z = encode(encoder, images)[0].astype(np.float32)
    plane = plane_for(z, previous.plane if previous is not None else None)
    return Snapshot(float(epoch), int(epochs), z, plane, plane_grid(decoder, plane),
                    decoder if keep_decoder else None)


def take_live(encoder: NumpyModel, decoder: NumpyModel, label_inputs: int, images: np.ndarray, epoch: float,
              epochs: int, previous: Snapshot | None, watched: bool) -> Snapshot:
    """A training's snapshot of its numpy twins: a conditional model's decoder shows SHOWN_CLASS,
    and the snapshot keeps the decoder while someone watches, if it fits LIVE_DECODER_MAX_BYTES."""
    streamable = sum(w.nbytes for layer in decoder.trunk for w in layer.weights) <= LIVE_DECODER_MAX_BYTES
    return take(encoder, given_label(decoder, SHOWN_CLASS, label_inputs), images, epoch, epochs, previous,
                keep_decoder=watched and streamable)


# --- Saved with a run: one snapshot per epoch ---------------------------------------------------


def replay_arrays(snapshots: list[Snapshot]) -> dict[str, np.ndarray]:
    """What a run keeps for its epoch replay (~80 KB per epoch before compression): the epoch
    numbers, the subset on each epoch's plane (float16: a map point needs no more), each grid."""
    ends = [s for s in snapshots if s.epoch_end]
    return {
        "epochs": np.array([s.epoch for s in ends], np.float32),
        "points": np.stack([s.points for s in ends]).astype(np.float16) if ends else np.zeros((0, 0, 2), np.float16),
        "grids": np.stack([s.grid for s in ends]) if ends else np.zeros((0, GRID_SIDE**2, 784), np.uint8),
    }


@dataclass(frozen=True)
class Replay:
    epochs: np.ndarray  # (k,) epoch numbers, 1-based
    points: np.ndarray  # (k, n, 2) float32
    grids: np.ndarray  # (k, GRID_SIDE², 784) uint8
    total_epochs: int  # of the training (a stopped run has fewer frames)

    def __len__(self) -> int:
        return len(self.epochs)


def replay_from_arrays(arrays, total_epochs: int) -> Replay:
    """ValueError if the arrays do not fit together."""
    with np.errstate(over="ignore"):  # a damaged file's huge numbers become inf, refused below
        epochs = np.asarray(arrays["epochs"], np.float32)
        points = np.asarray(arrays["points"], np.float32)
    grids = np.asarray(arrays["grids"])
    if epochs.ndim != 1 or not np.all(np.isfinite(epochs)) or not np.all(np.isfinite(points)):
        raise ValueError(_("the replay's epochs or points are not finite numbers"))
    k = len(epochs)
    if (points.ndim != 3 or points.shape[0] != k or points.shape[2] != 2 or grids.dtype != np.uint8
            or grids.shape != (k, GRID_SIDE**2, 784)):
        raise ValueError(_("the replay's arrays do not fit together"))
    return Replay(epochs, points, grids, int(total_epochs))
