"""The latent-space arithmetic the explorer shows: a test image's posterior and samples from it, a
straight walk between two points, a digit's average, nearest neighbours. Pure numpy: the explorer
page lays these out; tests check them directly."""

from __future__ import annotations

import numpy as np

from vae.evaluate import decode


def posterior(encoder, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z_mean, z_log_var) of one image (784,): the centre and log-variance of q(z|x)."""
    z_mean, z_log_var = encoder(np.asarray(image, np.float32)[None, :])
    return z_mean[0], z_log_var[0]


def sample_posterior(z_mean: np.ndarray, z_log_var: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` points z = mean + sigma * eps drawn from q(z|x): the reparameterisation, in numpy."""
    noise = rng.standard_normal((count, len(z_mean)))
    return (z_mean + np.exp(0.5 * z_log_var) * noise).astype(np.float32)


def walk(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """`steps` points evenly along the straight line from `start` to `end`, both included."""
    weights = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    return (1 - weights) * np.asarray(start, np.float32) + weights * np.asarray(end, np.float32)


def digit_average(z_test: np.ndarray, labels: np.ndarray, digit: int) -> np.ndarray:
    """Where the encoder puts a digit on average: the mean z_mean of its test images."""
    return z_test[labels == digit].mean(axis=0)


def nearest(z: np.ndarray, z_test: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` test images whose encodings are closest to z, nearest first."""
    return np.argsort(np.linalg.norm(z_test - z, axis=1))[:count]


def in_every_class(decoder, z: np.ndarray, classes: int) -> np.ndarray:
    """A conditional decoder's images of one code z (its style) as each of `classes` classes, in
    class order: (classes, 784)."""
    return decode(decoder, np.repeat(np.asarray(z, np.float32)[None, :], classes, axis=0), np.arange(classes))
