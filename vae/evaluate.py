"""What a trained encoder/decoder pair does on the test set: -ELBO, per-class errors, encodings, grids.

Everything here takes a plain encoder and decoder, Keras models (in a worker process or the CLI)
or their numpy twins (`vae.numpy_model`, in the web server), calls them directly in batches (never
`model.predict`, whose fixed cost is ~100x a direct call), and returns numpy/pandas. For a
conditional model, `given` is each image's (or point's) label, appended to the input as one-hot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vae.config import CLASSES
from vae.data import IMAGE_PIXELS
from vae.numpy_model import with_labels

BATCH_SIZE = 1000
_EPS = 1e-7  # Keras's clip for binary cross-entropy, so our numbers match training's


def given_for(config, labels: np.ndarray) -> np.ndarray | None:
    """The labels a model of `config` is given: `labels` for a conditional model, else None."""
    return labels if config.conditional else None


def _given(values: np.ndarray, given: np.ndarray | None, start: int) -> np.ndarray:
    """A batch of `values` from `start`, with its labels appended when the model is conditional."""
    batch = values[start : start + BATCH_SIZE]
    return batch if given is None else with_labels(batch, given[start : start + BATCH_SIZE], CLASSES)


def encode(encoder, images: np.ndarray, given: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(z_mean, z_log_var) for every image, computed in batches."""
    means, log_vars = [], []
    for start in range(0, len(images), BATCH_SIZE):
        z_mean, z_log_var = encoder(_given(images, given, start), training=False)
        means.append(np.asarray(z_mean))
        log_vars.append(np.asarray(z_log_var))
    return np.concatenate(means), np.concatenate(log_vars)


def decode(decoder, z: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
    """Images (n, 784) in [0, 1] for latent points z (n, latent_dim)."""
    z = np.asarray(z, dtype=np.float32).reshape(-1, decoder.input_shape[-1] - (0 if given is None else CLASSES))
    return np.concatenate([
        np.asarray(decoder(_given(z, given, start), training=False))
        for start in range(0, len(z), BATCH_SIZE)
    ]) if len(z) else np.zeros((0, IMAGE_PIXELS), np.float32)


def reconstruct(encoder, decoder, images: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
    """Decode each image's z_mean: the deterministic reconstruction."""
    z_mean, _ = encode(encoder, images, given)
    return decode(decoder, z_mean, given)


LIKELIHOOD_ROWS = 500  # images per block of log_likelihood: its temporaries (~1.5 MB each) reused


def log_likelihood(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """log p(x | z) of each image under its pixels' Bernoulli probabilities, summed over the last
    axis: each pixel's term in float32 with Keras's clip, as training computes it, the sums in
    float64. (Every term in float64 took ~1 s of each training job's ~2.8 s between its last epoch
    and its save.) Computed in blocks of rows: over the whole test set at once, each temporary was
    a new 31 MB that the system had to hand over page by page (~0.13 s a call instead of ~0.04)."""
    images, probabilities = np.asarray(images), np.asarray(probabilities)
    rows_match = images.ndim >= 2 and probabilities.ndim >= 2 and len(images) == len(probabilities)
    if not rows_match or len(images) <= LIKELIHOOD_ROWS:  # a row's image and decodes stay in one block
        return _log_likelihood_block(images, probabilities)
    return np.concatenate([_log_likelihood_block(images[start: start + LIKELIHOOD_ROWS],
                                                 probabilities[start: start + LIKELIHOOD_ROWS])
                           for start in range(0, len(images), LIKELIHOOD_ROWS)])


def _log_likelihood_block(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, _EPS, 1 - _EPS)
    return np.sum(images * np.log(clipped) + (1 - images) * np.log1p(-clipped), axis=-1, dtype=np.float64)


def neg_elbo(encoder, decoder, images: np.ndarray, is_autoencoder: bool = False, seed: int = 0,
             given: np.ndarray | None = None) -> dict[str, float]:
    """Mean over all images of the per-image -ELBO and its two parts, in nats (one z sample each).
    For a conditional model, the -ELBO of -log p(x | y), y the image's label (`given`).

    For a plain autoencoder there is no posterior: the KL is reported as 0 and z = z_mean.
    """
    rng = np.random.default_rng(seed)
    z_mean, z_log_var = encode(encoder, images, given)
    if is_autoencoder:
        z, kl = z_mean, np.zeros(len(images))
    else:
        z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape).astype(np.float32)
        kl = -0.5 * np.sum(1 + z_log_var - np.square(z_mean) - np.exp(z_log_var), axis=1)
    reconstruction = -log_likelihood(images, decode(decoder, z, given))
    return {
        "neg_elbo": float(np.mean(reconstruction + kl)),
        "reconstruction_loss": float(np.mean(reconstruction)),
        "kl_loss": float(np.mean(kl)),
    }


IW_SAMPLES = 100  # K of the importance-weighted bound: the figure everyone quotes (Burda et al., 2016)
MAX_IW_SAMPLES = 1000  # 10 000 test images x K decodes: ~2 minutes here at this bound
IW_ROWS = 20_000  # decoded images per batch of the bound: ~60 MB of float32 probabilities
_LOG_2PI = float(np.log(2 * np.pi))


def iw_neg_log_likelihood(encoder, decoder, images: np.ndarray, samples: int = IW_SAMPLES,
                          seed: int = 0, given: np.ndarray | None = None) -> float:
    """Mean over all images of the importance-weighted bound on -log p(x), in nats, with K =
    `samples` draws from each image's posterior (Burda, Grosse & Salakhutdinov, 2016):

        -log p(x) <= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)

    K = 1 is the -ELBO (one sample); the bound tightens as K grows, and it compares models fairly
    where the -ELBO does not: two models can spend the same -ELBO very differently between
    reconstruction and KL. Bernoulli pixels as in training (the same clipping); prior N(0, I).
    For a conditional model (`given`: each image's label), the bound on -log p(x | y)."""
    if samples < 1:
        raise ValueError("the importance-weighted bound needs at least one sample")
    rng = np.random.default_rng(seed)
    z_mean, z_log_var = encode(encoder, images, given)
    per_batch = max(1, IW_ROWS // samples)
    bounds = []
    for start in range(0, len(images), per_batch):
        batch = slice(start, start + per_batch)
        bounds.append(_iw_bound(decoder, images[batch], z_mean[batch], z_log_var[batch], samples, rng,
                                None if given is None else given[batch]))
    return float(np.mean(np.concatenate(bounds))) if bounds else float("nan")


def _iw_bound(decoder, x, z_mean, z_log_var, samples: int, rng, given=None) -> np.ndarray:
    """The bound for each of a batch of images (n,): K posterior samples each, decoded at once."""
    n, dims = z_mean.shape
    noise = rng.standard_normal((n, samples, dims))
    z = z_mean[:, None, :] + np.exp(0.5 * z_log_var.astype(np.float64))[:, None, :] * noise
    repeated = None if given is None else np.repeat(np.asarray(given), samples)
    probabilities = decode(decoder, z.reshape(n * samples, dims), repeated).reshape(n, samples, -1)
    log_likelihoods = log_likelihood(x[:, None, :], probabilities)
    log_prior = -0.5 * np.sum(np.square(z) + _LOG_2PI, axis=2)
    log_posterior = -0.5 * np.sum(np.square(noise) + z_log_var[:, None, :] + _LOG_2PI, axis=2)
    log_weights = log_likelihoods + log_prior - log_posterior
    top = log_weights.max(axis=1, keepdims=True)  # log-sum-exp, shifted so nothing overflows
    log_mean = top[:, 0] + np.log(np.mean(np.exp(log_weights - top), axis=1))
    return -log_mean


def squared_error_per_image(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per image, the sum of its pixels' squared errors (differences in float32, the sum in float64)."""
    difference = np.asarray(images, np.float32) - np.asarray(reconstructions, np.float32)
    return np.einsum("ij,ij->i", difference, difference, dtype=np.float64)


def per_class_table(errors: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """The seed's table from per-image errors: per digit, their mean and the number of images."""
    frame = pd.DataFrame({"digit": labels.astype(int), "sse": errors})
    table = frame.groupby("digit")["sse"].agg(mean_sse="mean", images="count").reindex(range(10))
    table.index.name = "digit"
    return table.reset_index()


def per_class_reconstruction_error(encoder, decoder, images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """The seed's table: per digit, the mean over its images of the per-image sum of squared errors."""
    return per_class_table(squared_error_per_image(images, reconstruct(encoder, decoder, images)), labels)


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
                 errors: np.ndarray | None = None) -> dict:
    """What metrics.json records for a run: test -ELBO and its parts, and the seed's per-class table.
    `errors`, the per-image squared errors when the caller has them, saves reconstructing again."""
    given = given_for(config, y_test)
    elbo = neg_elbo(encoder, decoder, x_test, is_autoencoder=config.model == "ae", seed=config.seed, given=given)
    if errors is None:
        errors = squared_error_per_image(x_test, reconstruct(encoder, decoder, x_test, given))
    per_class = per_class_table(errors, y_test)
    return {
        "test_neg_elbo": elbo["neg_elbo"],
        "test_reconstruction_loss": elbo["reconstruction_loss"],
        "test_kl_loss": elbo["kl_loss"],
        # A digit absent from a small test slice has no error: None, which JSON can hold (NaN can't).
        "per_class_sse": [None if np.isnan(v) else float(v) for v in per_class["mean_sse"]],
        "mean_sse": float(np.mean(errors)),
    }


def principal_components(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(projection onto the first two principal components, those components (2, d), the mean):
    a 2-D view of a latent space with more dimensions."""
    mean = z.mean(axis=0)
    _, _, vt = np.linalg.svd(z - mean, full_matrices=False)
    components = vt[:2]
    if len(components) < 2:  # a 1-D latent space: pad with a zero direction
        components = np.vstack([components, np.zeros_like(components)])
    return (z - mean) @ components.T, components, mean
