"""What a trained encoder/decoder pair does on the test set: -ELBO, per-class errors, encodings, grids.

Everything here takes the plain encoder and decoder (as saved in a run), calls them directly in
batches (never `model.predict`, whose fixed cost is ~100x a direct call), and returns numpy/pandas.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile

import numpy as np
import pandas as pd

from vae.data import IMAGE_PIXELS

BATCH_SIZE = 1000
_EPS = 1e-7  # Keras's clip for binary cross-entropy, so our numbers match training's


def encode(encoder, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z_mean, z_log_var) for every image, computed in batches."""
    means, log_vars = [], []
    for start in range(0, len(images), BATCH_SIZE):
        z_mean, z_log_var = encoder(images[start : start + BATCH_SIZE], training=False)
        means.append(np.asarray(z_mean))
        log_vars.append(np.asarray(z_log_var))
    return np.concatenate(means), np.concatenate(log_vars)


def decode(decoder, z: np.ndarray) -> np.ndarray:
    """Images (n, 784) in [0, 1] for latent points z (n, latent_dim)."""
    z = np.asarray(z, dtype=np.float32).reshape(-1, decoder.input_shape[-1])
    return np.concatenate([
        np.asarray(decoder(z[start : start + BATCH_SIZE], training=False))
        for start in range(0, len(z), BATCH_SIZE)
    ]) if len(z) else np.zeros((0, IMAGE_PIXELS), np.float32)


def reconstruct(encoder, decoder, images: np.ndarray) -> np.ndarray:
    """Decode each image's z_mean: the deterministic reconstruction."""
    z_mean, _ = encode(encoder, images)
    return decode(decoder, z_mean)


def neg_elbo(encoder, decoder, images: np.ndarray, is_autoencoder: bool = False, seed: int = 0) -> dict[str, float]:
    """Mean over all images of the per-image -ELBO and its two parts, in nats (one z sample each).

    For a plain autoencoder there is no posterior: the KL is reported as 0 and z = z_mean.
    """
    rng = np.random.default_rng(seed)
    z_mean, z_log_var = encode(encoder, images)
    if is_autoencoder:
        z, kl = z_mean, np.zeros(len(images))
    else:
        z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape).astype(np.float32)
        kl = -0.5 * np.sum(1 + z_log_var - np.square(z_mean) - np.exp(z_log_var), axis=1)
    decoded = np.clip(decode(decoder, z).astype(np.float64), _EPS, 1 - _EPS)
    reconstruction = -np.sum(images * np.log(decoded) + (1 - images) * np.log(1 - decoded), axis=1)
    return {
        "neg_elbo": float(np.mean(reconstruction + kl)),
        "reconstruction_loss": float(np.mean(reconstruction)),
        "kl_loss": float(np.mean(kl)),
    }


def squared_error_per_image(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    return np.sum(np.square(images.astype(np.float64) - reconstructions), axis=1)


def per_class_reconstruction_error(encoder, decoder, images: np.ndarray, labels: np.ndarray,
                                   z_mean: np.ndarray | None = None) -> pd.DataFrame:
    """The seed's table: per digit, the mean over its images of the per-image sum of squared errors."""
    # z_mean, when the caller already has the encodings, saves encoding the images again.
    reconstructions = reconstruct(encoder, decoder, images) if z_mean is None else decode(decoder, z_mean)
    errors = squared_error_per_image(images, reconstructions)
    frame = pd.DataFrame({"digit": labels.astype(int), "sse": errors})
    table = frame.groupby("digit")["sse"].agg(mean_sse="mean", images="count").reindex(range(10))
    table.index.name = "digit"
    return table.reset_index()


def manifold_grid(decoder, n: int = 3, low: float = -4.0, high: float = 4.0) -> np.ndarray:
    """An (n*28, n*28) image of digits decoded over [low, high]^2 in the first two latent dims
    (others 0), in one batched call. Rows go from high z2 at the top to low z2 at the bottom."""
    latent_dim = decoder.input_shape[-1]
    values = np.linspace(low, high, n, dtype=np.float32)
    z = np.zeros((n * n, latent_dim), np.float32)
    z1, z2 = np.meshgrid(values, values[::-1])
    z[:, 0] = z1.ravel()
    if latent_dim > 1:
        z[:, 1] = z2.ravel()
    digits = np.asarray(decoder(z, training=False)).reshape(n, n, 28, 28)
    return digits.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)


def test_metrics(encoder, decoder, config, x_test: np.ndarray, y_test: np.ndarray,
                 z_mean: np.ndarray | None = None) -> dict:
    """What metrics.json records for a run: test -ELBO and its parts, and the seed's per-class table."""
    elbo = neg_elbo(encoder, decoder, x_test, is_autoencoder=config.model == "ae", seed=config.seed)
    per_class = per_class_reconstruction_error(encoder, decoder, x_test, y_test, z_mean)
    return {
        "test_neg_elbo": elbo["neg_elbo"],
        "test_reconstruction_loss": elbo["reconstruction_loss"],
        "test_kl_loss": elbo["kl_loss"],
        # A digit absent from a small test slice has no error: None, which JSON can hold (NaN can't).
        "per_class_sse": [None if np.isnan(v) else float(v) for v in per_class["mean_sse"]],
        "mean_sse": float((per_class["mean_sse"] * per_class["images"]).sum() / per_class["images"].sum()),
    }


class FastDecoder:
    """Decodes latent points for interactive use: thread-safe and without TensorFlow's per-call
    overhead. A dense decoder runs as two numpy matrix products (~0.02 ms for one digit); any
    other decoder is called directly under a lock (TensorFlow models are not promised to be
    thread-safe, and one is shared by every browser session)."""

    ACTIVATIONS = {
        "relu": lambda x: np.maximum(x, 0),
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
        "linear": lambda x: x,
    }

    def __init__(self, decoder=None, layers=None):
        self._decoder = decoder
        self._lock = threading.Lock()
        self._layers = layers if layers is not None else self._dense_layers(decoder)
        self.latent_dim = int(self._layers[0][0].shape[0] if self._layers else decoder.input_shape[-1])

    @classmethod
    def from_keras_file(cls, path) -> FastDecoder | None:
        """Read a saved dense decoder straight from its .keras zip (config.json + model.weights.h5)
        without loading Keras, so the explorer starts without waiting ~5 s for TensorFlow.
        Returns None for any other kind of model (the caller then loads it with Keras)."""
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                weights = io.BytesIO(archive.read("model.weights.h5"))
            specs = [layer for layer in config["config"]["layers"] if layer["class_name"] != "InputLayer"]
            if not specs or any(layer["class_name"] != "Dense" for layer in specs):
                return None
            import h5py

            chain = []
            with h5py.File(weights, "r") as h5:
                # Keras stores the n-th Dense layer under layers/dense, layers/dense_1, ...
                for index, layer in enumerate(specs):
                    group = h5["layers"]["dense" if index == 0 else f"dense_{index}"]["vars"]
                    kernel, bias = np.asarray(group["0"], np.float32), np.asarray(group["1"], np.float32)
                    activation = layer["config"].get("activation")
                    if activation not in cls.ACTIVATIONS or kernel.shape[1] != bias.shape[0]:
                        return None
                    if chain and chain[-1][0].shape[1] != kernel.shape[0]:
                        return None
                    chain.append((kernel, bias, cls.ACTIVATIONS[activation]))
        except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
            return None
        return cls(layers=chain) if chain[-1][0].shape[1] == IMAGE_PIXELS else None

    @classmethod
    def _dense_layers(cls, decoder):
        chain = []
        for layer in decoder.layers:
            if type(layer).__name__ == "InputLayer":
                continue
            activation = layer.get_config().get("activation") if type(layer).__name__ == "Dense" else None
            if activation not in cls.ACTIVATIONS:
                return None
            kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
            chain.append((kernel, bias, cls.ACTIVATIONS[activation]))
        return chain

    @property
    def uses_numpy(self) -> bool:
        return self._layers is not None

    @property
    def input_shape(self) -> tuple[None, int]:
        return (None, self.latent_dim)

    def __call__(self, z, training: bool = False) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.latent_dim)
        if self._layers is None:
            with self._lock:
                return decode(self._decoder, z)
        x = z
        with np.errstate(over="ignore"):  # sigmoid of a very negative number is 0, as it should be
            for kernel, bias, activation in self._layers:
                x = activation(x @ kernel + bias)
        return x


def principal_components(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(projection onto the first two principal components, those components (2, d), the mean):
    a 2-D view of a latent space with more dimensions."""
    mean = z.mean(axis=0)
    _, _, vt = np.linalg.svd(z - mean, full_matrices=False)
    components = vt[:2]
    if len(components) < 2:  # a 1-D latent space: pad with a zero direction
        components = np.vstack([components, np.zeros_like(components)])
    return (z - mean) @ components.T, components, mean
