import keras
import numpy as np
import pytest

from tests.conftest import TINY
from vae.training.model import (
    Sampling,
    build_decoder,
    build_encoder,
    build_model,
    kl_loss_per_image,
    reconstruction_loss_per_image,
)


def test_sampling_is_mean_plus_exp_half_log_var_times_eps():
    z_mean = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32)
    z_log_var = np.array([[0.0, 2.0], [-4.0, 1.0]], np.float32)
    eps = np.asarray(keras.random.normal((2, 2), seed=keras.random.SeedGenerator(7)))
    z = np.asarray(Sampling(seed=7)(z_mean, z_log_var))
    np.testing.assert_allclose(z, z_mean + np.exp(z_log_var / 2) * eps, rtol=1e-6)


def test_sampling_has_the_posterior_moments():
    z_mean = np.full((20_000, 1), 3.0, np.float32)
    z_log_var = np.full((20_000, 1), np.log(0.25), np.float32)
    z = np.asarray(Sampling(seed=0)(z_mean, z_log_var))
    assert abs(z.mean() - 3.0) < 0.02 and abs(z.std() - 0.5) < 0.02


def test_losses_match_a_hand_computation():
    x = np.array([[1.0, 0.0, 1.0]], np.float32)
    p = np.array([[0.8, 0.3, 0.5]], np.float32)
    expected_bce = -(np.log(0.8) + np.log(0.7) + np.log(0.5))
    np.testing.assert_allclose(np.asarray(reconstruction_loss_per_image(x, p)), [expected_bce], rtol=1e-5)
    mean = np.array([[1.0, -2.0]], np.float32)
    log_var = np.array([[0.0, np.log(4.0)]], np.float32)
    # KL(N(mu, s^2) || N(0, 1)) = (s^2 + mu^2 - 1 - ln s^2) / 2 per dim.
    expected_kl = (1 + 1 - 1 - 0) / 2 + (4 + 4 - 1 - np.log(4.0)) / 2
    np.testing.assert_allclose(np.asarray(kl_loss_per_image(mean, log_var)), [expected_kl], rtol=1e-5)


@pytest.mark.parametrize("recipe", ["elbo", "tutorial", "ae"])
def test_objective_and_reported_metrics_follow_the_recipe(recipe, small_data):
    config = TINY.replace(loss="tutorial" if recipe == "tutorial" else "elbo", model="ae" if recipe == "ae" else "vae")
    keras.utils.set_random_seed(0)
    model = build_model(config)
    model.sampling.call = lambda z_mean, z_log_var: z_mean  # deterministic z, so numpy can check it
    x = small_data.x_test[:8]
    objective, reconstruction, kl = model._per_image_losses(x, training=False)

    z_mean, z_log_var = (np.asarray(t) for t in model.encoder(x))
    decoded = np.clip(np.asarray(model.decoder(z_mean)), 1e-7, 1 - 1e-7)
    bce = -np.sum(x * np.log(decoded) + (1 - x) * np.log(1 - decoded), axis=1)
    kl_np = -0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=1)
    np.testing.assert_allclose(np.asarray(reconstruction), bce, rtol=1e-4)
    if recipe == "ae":
        np.testing.assert_allclose(np.asarray(kl), 0)
        expected = bce.mean()
    elif recipe == "tutorial":
        np.testing.assert_allclose(np.asarray(kl), kl_np, rtol=1e-4)
        expected = np.mean(bce / 784 + kl_np / config.latent_dim)
    else:
        expected = np.mean(bce + kl_np)
    np.testing.assert_allclose(float(objective), expected, rtol=1e-4)


def test_autoencoder_has_a_frozen_zero_log_variance_head():
    encoder = build_encoder(TINY.replace(model="ae"))
    _, z_log_var = encoder(np.random.rand(3, 784).astype(np.float32))
    assert np.all(np.asarray(z_log_var) == 0)
    assert "z_log_var" not in {w.path.split("/")[0] for w in encoder.trainable_weights}


@pytest.mark.parametrize("arch", ["dense", "conv"])
def test_encoder_and_decoder_shapes(arch):
    config = TINY.replace(arch=arch, latent_dim=3)
    z_mean, z_log_var = build_encoder(config)(np.zeros((2, 784), np.float32))
    assert z_mean.shape == (2, 3) and z_log_var.shape == (2, 3)
    images = np.asarray(build_decoder(config)(np.zeros((2, 3), np.float32)))
    assert images.shape == (2, 784) and np.all((images >= 0) & (images <= 1))
