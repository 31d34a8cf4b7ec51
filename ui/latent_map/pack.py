"""What the latent map sends to the browser, packed once per run as one binary blob (ui/blob.py): a
JSON header (the decoder's layer list, the map's plane) and then the decoder's weights, the encoded
test points and their labels. Bytes, not JSON: Streamlit re-parses a JSON payload on every rerun to
check its identity (~10 ms of the server's time for this one, per rerun, per student), bytes it
hashes once (~1.5 ms). Pure functions of numpy data (no Streamlit), so tests can check them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ui.blob import pack_blob, read_blob
from ui.latent_map import weight_grid
from vae.datasets import MNIST
from vae.i18n import N_
from vae.numpy_model import Layer, NumpyModel
from vae.snapshots import EXTENT, plane_for, project

BROWSER_LAYERS = ("Dense", "Reshape", "Flatten", "Conv2DTranspose")
CHECK_POINTS = 500  # of the test set's encodings: where the weights as sent are checked against float32's
MAP_POINTS = 2000  # of the 10 000 test images: enough to see the clusters


@dataclass(frozen=True)
class LiveWeights:
    """A training's snapshot for one viewer: the training's grid (named as the browser keeps its
    codes: the live map's run), the snapshot's epoch (or "saved": the run it saved), and the epoch
    whose codes the viewer holds (None: none)."""

    chain: weight_grid.Chain
    chain_name: str
    epoch: float | str
    base: float | str | None


def pack_decoder(decoder: NumpyModel) -> dict | None:
    """{"input_dim", "layers", "weights" (one float32 array)} for decoder.js's unpackModel, or None
    if a layer cannot run there. Each layer records its arrays' shapes and offsets in "weights"."""
    if decoder.heads or any(layer.kind not in BROWSER_LAYERS for layer in decoder.trunk):
        return None
    records, chunks, offset = [], [], 0
    for layer in decoder.trunk:
        record = {"kind": layer.kind, **{k: v for k, v in layer.settings.items()}}
        record["shapes"], record["offsets"] = [], []
        for weight in layer.weights:
            record["shapes"].append(list(weight.shape))
            record["offsets"].append(offset)
            chunks.append(weight.astype(np.float32).ravel())
            offset += weight.size
        records.append(record)
    weights = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return {"input_dim": decoder.input_dim, "layers": records, "weights": weights}


def with_weights_as(decoder: NumpyModel, dtype) -> NumpyModel:
    """The same decoder with every weight rounded to `dtype` (and computed in float32 again)."""
    rounded = [Layer(layer.kind, layer.settings, tuple(w.astype(dtype).astype(np.float32) for w in layer.weights))
               for layer in decoder.trunk]
    return NumpyModel(rounded, input_dim=decoder.input_dim)


def half_is_enough(decoder: NumpyModel, z_test: np.ndarray) -> bool:
    """Does the decoder with float16 weights draw every check point within a grey level of float32's?"""
    points = check_points(z_test)
    with np.errstate(over="ignore"):
        if not all(np.isfinite(w.astype(np.float16)).all() for layer in decoder.trunk for w in layer.weights):
            return False
        difference = np.abs(with_weights_as(decoder, np.float16)(points) - decoder(points))
    return float(difference.max()) <= weight_grid.TOLERANCE


def check_points(z_test: np.ndarray) -> np.ndarray:
    return np.asarray(z_test[:CHECK_POINTS], np.float32)


def weights_section(decoder: NumpyModel, flat: np.ndarray, z_test: np.ndarray, live: LiveWeights | None = None
                    ) -> tuple[dict | None, dict[str, np.ndarray]]:
    """The weights as the browser is sent them: ({"step", "count", "epoch", "base", "chain"}, {"weight_codes":
    deflated codes}) on a grid (weight_grid: within a grey level of float32's drawing), the change
    since `live.base`'s codes when the viewer holds them; else (None, {"weights": float16 where that
    draws within a grey level, else float32})."""
    points = check_points(z_test)
    coded = (weight_grid.choose(decoder, flat, points) if live is None
             else live.chain.add(live.epoch, decoder, flat, points))
    if coded is None:
        weight_type = np.float16 if half_is_enough(decoder, z_test) else np.float32
        return None, {"weights": flat.astype(weight_type)}
    base = live.chain.base(live.base, coded.step) if live is not None else None
    sent = coded.codes if base is None else coded.codes - base
    header = {"step": coded.step, "count": int(coded.codes.size), "epoch": live.epoch if live else None,
              "base": live.base if base is not None else None, "chain": live.chain_name if live else None}
    return header, {"weight_codes": np.frombuffer(weight_grid.pack_codes(sent), np.uint8)}


def as_sent(decoder: NumpyModel, z_test: np.ndarray) -> NumpyModel:
    """The decoder the browser computes with for a saved run's payload: its weights on the grid, or
    as float16 or float32 (for tests and tools)."""
    packed = pack_decoder(decoder)
    header, arrays = weights_section(decoder, packed["weights"], z_test)
    if header is None:
        return weight_grid.with_flat_weights(decoder, arrays["weights"].astype(np.float32))
    codes = weight_grid.unpack_codes(arrays["weight_codes"].tobytes(), header["count"])
    return weight_grid.with_flat_weights(decoder, codes.astype(np.float32) * np.float32(header["step"]))


def map_plane(z_test: np.ndarray) -> dict:
    """The map's plane (vae.snapshots.plane_for: the latent space itself when 2-D, else its first
    two principal components), with its axes named (in English, for every session: show them through `_`).
    A map point (x, y) is mean + x c1 + y c2."""
    axes = ["z₁", "z₂"] if z_test.shape[1] == 2 else [N_("principal component 1"), N_("principal component 2")]
    return {**plane_for(z_test), "axes": axes}


def map_payload(run_name: str, decoder: NumpyModel, z_test: np.ndarray, labels: np.ndarray,
                class_names: Sequence[str] = MNIST.class_names, shown_class: int | None = None,
                live: LiveWeights | None = None) -> bytes | None:
    """Everything static the map needs for one run (about 0.29 MB for the dense 2-D decoder), or
    None when the decoder cannot run in the browser. Built once per run and cached, so it is the
    same bytes on every rerun and the browser keeps its copy. A conditional run's `decoder` has
    its label given (vae.numpy_model.given_label): `shown_class`, the class it draws. A training's
    snapshot gives `live`: its weights then go on the training's grid, as a change where they can."""
    packed = pack_decoder(decoder)
    if packed is None:
        return None
    plane = map_plane(z_test)
    shown = slice(0, MAP_POINTS)
    # The weights in as few bytes as change no pixel by more than a grey level (the default's: ~0.28 MB
    # on a grid, a training's next epoch ~0.2 MB, where float32 takes 0.81).
    codes, weights = weights_section(decoder, packed.pop("weights"), z_test, live)
    # The points as float16: a 480-pixel map of [-4, 4]² places them within 0.12 pixels.
    arrays = {**weights, "points": project(plane, z_test[shown]).astype(np.float16),
              "labels": np.asarray(labels[shown], np.uint8)}
    return pack_blob({"run": run_name, "extent": EXTENT, "decoder": packed, "plane": plane, "codes": codes,
                      "classes": list(class_names), "shown_class": shown_class}, arrays)


def read_map_payload(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a map_payload blob: what the browser reads, for tests and tools."""
    return read_blob(blob)


def ellipse(plane: dict, z_mean: np.ndarray, z_log_var: np.ndarray) -> dict:
    """q(z|x) on the map: its centre, and the 1σ ellipse of its projection onto the plane (radii
    along its axes, and the angle of the first axis in radians). 2σ is twice the radii."""
    components = np.asarray(plane["components"], np.float64)
    covariance = components @ np.diag(np.exp(np.asarray(z_log_var, np.float64))) @ components.T
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    radii = np.sqrt(np.maximum(eigenvalues[order], 0))
    first = eigenvectors[:, order[0]]
    centre = project(plane, np.asarray(z_mean)[None, :])[0]
    return {"centre": [float(centre[0]), float(centre[1])], "radii": [float(radii[0]), float(radii[1])],
            "angle": float(np.arctan2(first[1], first[0]))}
