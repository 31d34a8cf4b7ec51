"""The numpy twins of our Keras models: same numbers, read from the plain file a run saves."""

import numpy as np
import pytest

from tests.conftest import TINY
from vae import evaluate, numpy_model, runs
from vae.errors import RunError


def randomised(model, seed=1):
    """Non-zero biases everywhere, so a mistake in any term shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in weights])
    return model


@pytest.mark.parametrize("arch", ["dense", "conv"])
@pytest.mark.parametrize("latent_dim", [2, 5])
def test_numpy_encoder_and_decoder_equal_keras(arch, latent_dim):
    import keras

    from vae.training.model import build_decoder, build_encoder

    keras.utils.set_random_seed(0)
    config = TINY.replace(arch=arch, latent_dim=latent_dim)
    encoder, decoder = randomised(build_encoder(config)), randomised(build_decoder(config))
    arrays = {**numpy_model.model_arrays(encoder, "encoder"), **numpy_model.model_arrays(decoder, "decoder")}
    np_encoder = numpy_model.model_from_arrays(arrays, "encoder")
    np_decoder = numpy_model.model_from_arrays(arrays, "decoder")
    images = np.random.default_rng(0).random((40, 784)).astype(np.float32)
    for ours, theirs in zip(np_encoder(images), encoder(images), strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-4)
    z = np.random.default_rng(1).normal(0, 2, (40, latent_dim)).astype(np.float32)
    np.testing.assert_allclose(np_decoder(z), np.asarray(decoder(z)), atol=1e-5)
    assert np_decoder.input_shape == (None, latent_dim) and np_encoder.input_shape == (None, 784)


def test_a_saved_run_reads_back_in_numpy_with_its_test_files(small_data, runs_dir):
    from vae.training.lab import train_and_save

    saved = train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "np-run")
    run = runs.read_summary(saved.path)
    encoder, decoder = runs.load_numpy_models(run)
    z_mean = runs.load_test_encodings(run, 500)
    np.testing.assert_allclose(encoder(small_data.x_test)[0], z_mean, atol=1e-4)
    errors = runs.load_test_errors(run, 500)
    np.testing.assert_allclose(
        errors, evaluate.squared_error_per_image(small_data.x_test, decoder(z_mean)), rtol=1e-4)
    assert saved.metrics["mean_sse"] == pytest.approx(float(errors.mean()), rel=1e-5)
    with pytest.raises(RunError, match="expected float32"):
        runs.load_test_encodings(run, 10_000)  # saved for another test set


def test_an_older_run_without_numpy_files_is_explained_and_export_weights_adds_them(
        small_data, runs_dir):
    from vae.cli import main
    from vae.training.lab import train_and_save

    saved = train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "old-run")
    for file in (runs.WEIGHTS_FILE, runs.TEST_ENCODINGS_FILE, runs.TEST_ERRORS_FILE):
        (saved.path / file).unlink()
    run = runs.read_summary(saved.path)
    with pytest.raises(RunError, match="python -m vae export-weights old-run"):
        runs.load_numpy_models(run)
    with pytest.raises(RunError, match="export-weights"):
        runs.load_test_errors(run, 10_000)
    assert main(["export-weights"]) == 0
    assert not runs.needs_numpy_files(saved.path)
    runs.load_numpy_models(run)
    assert runs.load_test_errors(run, 10_000).shape == (10_000,)
    assert [p.name for p in runs_dir.iterdir()] == ["old-run"]  # no temporary folder left


def test_a_damaged_weights_file_is_a_run_error(small_data, runs_dir):
    from vae.training.lab import train_and_save

    saved = train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "damaged")
    (saved.path / runs.WEIGHTS_FILE).write_bytes(b"not an npz")
    with pytest.raises(RunError, match="weights.npz cannot be read"):
        runs.load_numpy_models(runs.read_summary(saved.path))


def test_a_layer_numpy_cannot_run_is_refused_by_name():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="odd")(inputs))
    with pytest.raises(numpy_model.UnsupportedModel, match="odd"):
        numpy_model.model_arrays(model, "x")
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    with pytest.raises(numpy_model.UnsupportedModel, match="BatchNormalization"):
        numpy_model.model_arrays(model, "x")
