"""The importance-weighted bound on -log p(x) (vae.evaluate.iw_neg_log_likelihood) against closed
forms: a tiny model with a 1-D latent space, whose likelihood a fine quadrature gives exactly."""

from __future__ import annotations

import numpy as np
import pytest

from vae import evaluate

# Four pixels, each a Bernoulli of sigmoid(a z + b): small enough that log p(x) is an integral over
# one variable, which the trapezoid rule on a fine grid computes to many digits.
SLOPES = np.array([2.0, -1.5, 0.7, 3.0])
OFFSETS = np.array([0.3, -0.2, 0.1, -1.0])
LOG_VARIANCE = float(np.log(0.6))
IMAGES = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 1, 0, 1]], np.float32)


class Decoder:
    input_shape = (None, 1)

    def __init__(self, slopes=SLOPES, offsets=OFFSETS):
        self.slopes, self.offsets = slopes, offsets

    def __call__(self, z, training=False):
        return (1 / (1 + np.exp(-(np.asarray(z, np.float64) * self.slopes + self.offsets)))).astype(np.float32)


class Encoder:
    """q(z|x) = N(mean, exp(log_var)) for every image: not the posterior, which the bound allows."""

    def __init__(self, mean=0.4, log_var=LOG_VARIANCE):
        self.mean, self.log_var = mean, log_var

    def __call__(self, x, training=False):
        ones = np.ones((len(x), 1), np.float32)
        return self.mean * ones, self.log_var * ones


def exact_neg_log_likelihood(images) -> np.ndarray:
    z = np.linspace(-12, 12, 48_001)
    probabilities = 1 / (1 + np.exp(-(z[:, None] * SLOPES + OFFSETS)))
    prior = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    likelihoods = [np.prod(np.where(image > 0, probabilities, 1 - probabilities), axis=1) for image in images]
    return np.array([-np.log(np.trapezoid(prior * likelihood, z)) for likelihood in likelihoods])


def exact_neg_elbo(image, mean=0.4, variance=0.6) -> float:
    z = np.linspace(-12, 12, 48_001)
    q = np.exp(-0.5 * (z - mean) ** 2 / variance) / np.sqrt(2 * np.pi * variance)
    probabilities = 1 / (1 + np.exp(-(z[:, None] * SLOPES + OFFSETS)))
    log_likelihood = np.sum(np.where(image > 0, np.log(probabilities), np.log(1 - probabilities)), axis=1)
    kl = 0.5 * (variance + mean**2 - 1 - np.log(variance))
    return float(-np.trapezoid(q * log_likelihood, z) + kl)


def test_many_samples_reach_the_exact_likelihood():
    exact = exact_neg_log_likelihood(IMAGES)
    wide = Encoder(0.0, np.log(2.0))  # its weights vary by ~1.1x their mean: K = 200 000 gives ~0.003 nats
    for image, expected in zip(IMAGES, exact, strict=True):
        bound = evaluate.iw_neg_log_likelihood(wide, Decoder(), image[None], samples=200_000, seed=1)
        assert bound == pytest.approx(expected, abs=0.015)


def test_one_sample_is_the_elbo_and_more_samples_tighten_the_bound():
    image = IMAGES[0]
    copies = np.repeat(image[None], 4000, axis=0)  # the mean over copies is the expectation
    bounds = {k: evaluate.iw_neg_log_likelihood(Encoder(), Decoder(), copies, samples=k, seed=2) for k in (1, 10, 100)}
    assert bounds[1] == pytest.approx(exact_neg_elbo(image), abs=0.05)
    exact = exact_neg_log_likelihood(image[None])[0]
    assert bounds[1] > bounds[10] > bounds[100] > exact - 0.01
    assert bounds[1] - exact > 0.3  # this encoder is far from the posterior: the ELBO is loose


def test_a_decoder_that_ignores_the_code_gives_its_likelihood_exactly_for_any_k():
    flat = Decoder(slopes=np.zeros(4))
    probabilities = 1 / (1 + np.exp(-OFFSETS))
    for samples in (1, 7):
        bound = evaluate.iw_neg_log_likelihood(Encoder(0.0, 0.0), flat, IMAGES, samples=samples)
        expected = -np.mean(np.sum(np.where(IMAGES > 0, np.log(probabilities), np.log(1 - probabilities)), axis=1))
        assert bound == pytest.approx(expected, rel=1e-5)


def test_batches_change_nothing(monkeypatch):
    images = np.tile(IMAGES, (20, 1))
    whole = evaluate.iw_neg_log_likelihood(Encoder(), Decoder(), images, samples=13, seed=3)
    monkeypatch.setattr(evaluate, "IW_ROWS", 7 * 13)  # 7 images a batch
    batched = evaluate.iw_neg_log_likelihood(Encoder(), Decoder(), images, samples=13, seed=3)
    assert batched == pytest.approx(whole, rel=1e-9)


def test_no_samples_is_refused():
    with pytest.raises(ValueError, match="at least one sample"):
        evaluate.iw_neg_log_likelihood(Encoder(), Decoder(), IMAGES, samples=0)
