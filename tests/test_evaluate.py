import numpy as np
import pytest

from tests.conftest import TINY
from vae import evaluate
from vae.training.loop import train


@pytest.fixture(scope="module")
def trained(small_data):
    return train(TINY, small_data)


class CountingDecoder:
    """Wraps a decoder to count how many calls (batches) reach it."""

    def __init__(self, decoder):
        self.decoder, self.calls, self.input_shape = decoder, 0, decoder.input_shape

    def __call__(self, z, training=False):
        self.calls += 1
        return self.decoder(z, training=training)


def test_per_class_error_matches_numpy(trained, small_data):
    x, y = small_data.x_test, small_data.y_test
    table = evaluate.per_class_reconstruction_error(trained.encoder, trained.decoder, x, y)
    z_mean = np.asarray(trained.encoder(x)[0])
    reconstructed = np.asarray(trained.decoder(z_mean))
    sse = ((x - reconstructed) ** 2).sum(axis=1)
    assert table["digit"].tolist() == list(range(10))
    for digit in range(10):
        assert table.loc[digit, "mean_sse"] == pytest.approx(sse[y == digit].mean(), rel=1e-4)
        assert table.loc[digit, "images"] == (y == digit).sum()


def test_neg_elbo_averages_over_all_images_not_the_last_batch(trained, small_data, monkeypatch):
    monkeypatch.setattr(evaluate, "BATCH_SIZE", 100)
    x = small_data.x_test
    whole = evaluate.neg_elbo(trained.encoder, trained.decoder, x)
    parts = [evaluate.neg_elbo(trained.encoder, trained.decoder, x[i : i + 100]) for i in range(0, 500, 100)]
    assert whole["kl_loss"] == pytest.approx(np.mean([p["kl_loss"] for p in parts]), rel=1e-5)
    assert whole["neg_elbo"] == pytest.approx(whole["reconstruction_loss"] + whole["kl_loss"])


def test_neg_elbo_agrees_with_the_training_report(trained, small_data):
    figures = evaluate.neg_elbo(trained.encoder, trained.decoder, small_data.x_test)
    reported = trained.history.iloc[-1]
    assert figures["kl_loss"] == pytest.approx(reported["test_kl_loss"], rel=1e-4)
    assert figures["neg_elbo"] == pytest.approx(reported["test_loss"], rel=0.02)  # one z sample each


def test_the_reconstruction_term_is_the_float64_cross_entropy_to_a_thousandth_of_a_nat(trained, small_data):
    x = small_data.x_test
    z_mean, z_log_var = evaluate.encode(trained.encoder, x)
    noise = np.random.default_rng(TINY.seed).standard_normal(z_mean.shape).astype(np.float32)
    probabilities = np.clip(evaluate.decode(trained.decoder, z_mean + np.exp(0.5 * z_log_var) * noise)
                            .astype(np.float64), 1e-7, 1 - 1e-7)
    reference = -np.sum(x * np.log(probabilities) + (1 - x) * np.log(1 - probabilities), axis=1).mean()
    figures = evaluate.neg_elbo(trained.encoder, trained.decoder, x, seed=TINY.seed)
    assert figures["reconstruction_loss"] == pytest.approx(reference, abs=1e-3)


def test_the_log_likelihood_in_blocks_is_the_whole_arrays_to_the_bit():
    rng = np.random.default_rng(0)
    rows = evaluate.LIKELIHOOD_ROWS * 2 + 37  # two whole blocks and a short one
    images = (rng.random((rows, 784)) > 0.7).astype(np.float32)
    probabilities = rng.random((rows, 784), dtype=np.float32)
    whole = evaluate._log_likelihood_block(images, probabilities)
    assert np.array_equal(evaluate.log_likelihood(images, probabilities), whole)
    # Broadcast as the importance-weighted bound calls it: one image against its K decodes.
    decodes = rng.random((rows, 3, 784), dtype=np.float32)
    assert np.array_equal(evaluate.log_likelihood(images[:, None, :], decodes),
                          evaluate._log_likelihood_block(images[:, None, :], decodes))


def test_autoencoder_elbo_has_no_kl(small_data):
    ae = train(TINY.replace(model="ae", epochs=1), small_data)
    figures = evaluate.neg_elbo(ae.encoder, ae.decoder, small_data.x_test, is_autoencoder=True)
    assert figures["kl_loss"] == 0 and figures["neg_elbo"] == figures["reconstruction_loss"]


def test_encode_and_decode_shapes(trained, small_data):
    z_mean, z_log_var = evaluate.encode(trained.encoder, small_data.x_test)
    assert z_mean.shape == z_log_var.shape == (500, 2)
    assert evaluate.decode(trained.decoder, z_mean[:7]).shape == (7, 784)
    assert evaluate.decode(trained.decoder, np.zeros((0, 2))).shape == (0, 784)


def test_manifold_grid_is_one_batched_call_with_digits_in_place(trained):
    counting = CountingDecoder(trained.decoder)
    grid = evaluate.manifold_grid(counting, n=3, low=-4, high=4)
    assert counting.calls == 1 and grid.shape == (84, 84)
    # Top-left tile is z = (-4, +4); bottom-right is (+4, -4).
    top_left = evaluate.decode(trained.decoder, np.array([[-4.0, 4.0]]))[0].reshape(28, 28)
    bottom_right = evaluate.decode(trained.decoder, np.array([[4.0, -4.0]]))[0].reshape(28, 28)
    np.testing.assert_allclose(grid[:28, :28], top_left, atol=1e-6)
    np.testing.assert_allclose(grid[56:, 56:], bottom_right, atol=1e-6)


def test_test_metrics_records_the_seed_table(trained, small_data):
    metrics = evaluate.test_metrics(trained.encoder, trained.decoder, TINY, small_data.x_test, small_data.y_test)
    assert len(metrics["per_class_sse"]) == 10 and all(v > 0 for v in metrics["per_class_sse"])
    assert metrics["test_neg_elbo"] > metrics["test_reconstruction_loss"] > 0


