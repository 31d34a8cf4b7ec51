"""What the latent map sends to the browser, packed once per run: the decoder's weights as one
base64 float32 buffer with a small layer list, the encoded test points, and the map's plane.
Pure functions of numpy data (no Streamlit), so tests can check them."""

from __future__ import annotations

import base64

import numpy as np

from vae.evaluate import principal_components
from vae.numpy_model import NumpyModel

BROWSER_LAYERS = ("Dense", "Reshape", "Flatten", "Conv2DTranspose")
EXTENT = 4.0  # the map spans [-4, 4]² of its plane, as the seed's grid
MAP_POINTS = 2000  # of the 10 000 test images: enough to see the clusters


def b64_float32(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def pack_decoder(decoder: NumpyModel) -> dict | None:
    """{"input_dim", "layers", "weights"} for decoder.js, or None if a layer cannot run there."""
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
    return {"input_dim": decoder.input_dim, "layers": records, "weights": b64_float32(weights)}


def map_plane(z_test: np.ndarray) -> dict:
    """The map's plane: the latent space itself when 2-D, else its first two principal components.
    A map point (x, y) is the latent vector mean + x c1 + y c2."""
    latent_dim = z_test.shape[1]
    if latent_dim == 2:
        mean, components = np.zeros(2, np.float32), np.eye(2, dtype=np.float32)
        axes = ["z₁", "z₂"]
    else:
        _, components, mean = principal_components(z_test)
        axes = ["principal component 1", "principal component 2"]
    return {"mean": np.round(mean, 6).tolist(), "components": np.round(components, 6).tolist(), "axes": axes}


def project(plane: dict, z: np.ndarray) -> np.ndarray:
    """Latent vectors (n, d) onto the map plane: (n, 2)."""
    return (np.asarray(z, np.float32) - np.asarray(plane["mean"], np.float32)) @ np.asarray(
        plane["components"], np.float32).T


def map_payload(run_name: str, decoder: NumpyModel, z_test: np.ndarray, labels: np.ndarray) -> dict | None:
    """Everything static the map needs for one run (about 1 MB for the dense 2-D decoder), or None
    when the decoder cannot run in the browser. Built once per run and cached, so its bytes are
    identical on every rerun and the browser keeps its copy."""
    packed = pack_decoder(decoder)
    if packed is None:
        return None
    plane = map_plane(z_test)
    shown = slice(0, MAP_POINTS)
    points = project(plane, z_test[shown])
    return {
        "run": run_name,
        "extent": EXTENT,
        "decoder": packed,
        "plane": plane,
        "points": b64_float32(points),
        "labels": base64.b64encode(np.asarray(labels[shown], np.uint8).tobytes()).decode("ascii"),
    }


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
