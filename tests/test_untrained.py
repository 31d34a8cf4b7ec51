"""A new model's first weights, drawn in numpy (vae.training.untrained): the distributions Keras
draws from, and exactly the numbers its Keras twin starts training from, so the untrained snapshot
a training process shows before TensorFlow loads is the model that trains."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.conftest import TINY
from vae.numpy_model import model_arrays, model_from_arrays
from vae.training.loop import start_untrained
from vae.training.model import build_model
from vae.training.untrained import WeightShape, draw, glorot_limit, untrained_model


@pytest.mark.parametrize("shape", [(784, 256), (3, 3, 1, 32), (3, 3, 64, 32)])
def test_kernels_are_drawn_within_the_bound_keras_draws_them_within(shape):
    ours = draw(0, [WeightShape(shape, (shape[-1],))])[0][0]
    theirs = np.asarray(keras.initializers.GlorotUniform(seed=0)(shape))
    limit = glorot_limit(shape)
    for kernel in (ours, theirs):
        assert kernel.dtype == np.float32 and kernel.shape == shape
        assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
        assert np.std(kernel) == pytest.approx(limit / np.sqrt(3), rel=0.1)  # uniform on [-limit, limit]


def test_the_same_seed_draws_the_same_weights_and_biases_start_at_zero():
    shapes = [WeightShape((4, 3), (3,)), WeightShape((3, 2), (2,), zeros=True)]
    (kernel, bias), (zero_kernel, zero_bias) = draw(5, shapes)
    np.testing.assert_array_equal(kernel, draw(5, shapes)[0][0])
    assert not np.array_equal(kernel, draw(6, shapes)[0][0])
    assert not bias.any() and not zero_kernel.any() and not zero_bias.any()


@pytest.mark.parametrize("config", [
    TINY,
    TINY.replace(latent_dim=3, seed=7),
    TINY.replace(model="ae"),
    TINY.replace(condition="label"),
    TINY.replace(arch="conv"),
    TINY.replace(arch="conv", model="ae", latent_dim=3),
], ids=["vae", "3-d", "autoencoder", "conditional", "conv", "conv-autoencoder"])
def test_a_model_starts_training_from_the_weights_numpy_draws(config):
    keras.utils.set_random_seed(123)  # Keras's own draws must not matter
    model = build_model(config)
    start_untrained(model, config.seed)
    encoder, decoder = untrained_model(config)
    for prefix, keras_part, ours in (("encoder", model.encoder, encoder), ("decoder", model.decoder, decoder)):
        theirs = model_from_arrays(model_arrays(keras_part, prefix), prefix)
        assert theirs.input_dim == ours.input_dim
        for their_layer, our_layer in zip(theirs.trunk + theirs.heads, ours.trunk + ours.heads, strict=True):
            assert their_layer.kind == our_layer.kind and their_layer.settings == our_layer.settings
            for their_weight, our_weight in zip(their_layer.weights, our_layer.weights, strict=True):
                np.testing.assert_array_equal(their_weight, our_weight)
    images = np.random.default_rng(0).random((4, encoder.input_dim), np.float32)
    np.testing.assert_allclose(encoder(images)[0], model.encoder(images)[0], atol=1e-5)  # and run alike
