import threading

import numpy as np
import pytest

from tests.conftest import TINY
from vae.config import ConfigError
from vae.data import MnistData
from vae.training.loop import HISTORY_COLUMNS, train


class Recorder:
    def __init__(self, stop_at=None, stop_event=None):
        self.batches, self.epochs = [], []
        self.stop_at, self.stop_event = stop_at, stop_event
        self.lock = threading.Lock()

    def on_batch(self, progress):
        with self.lock:
            self.batches.append(progress)
        if self.stop_at and (progress.epoch, progress.batch) >= self.stop_at:
            self.stop_event.set()

    def on_epoch(self, summary):
        with self.lock:
            self.epochs.append(summary)


def test_training_reports_batches_and_epochs_and_returns_history(small_data):
    recorder = Recorder()
    result = train(TINY, small_data, [recorder], report_every=2)
    assert result.status == "completed" and result.epochs_completed == 2
    assert list(result.history.columns) == HISTORY_COLUMNS
    assert result.history["epoch"].tolist() == [1, 2]
    assert np.isfinite(result.history.drop(columns="epoch").to_numpy()).all()
    # 512 images / 64 = 8 batches per epoch, reported every 2nd batch.
    assert [(p.epoch, p.batch) for p in recorder.batches] == [(e, b) for e in (1, 2) for b in (2, 4, 6, 8)]
    assert recorder.batches[-1].fraction_done == 1.0
    assert [s.epoch for s in recorder.epochs] == [1, 2]
    assert recorder.epochs[-1].test["loss"] == pytest.approx(result.history["test_loss"].iloc[-1])
    first, last = result.history.iloc[0], result.history.iloc[-1]
    assert last["loss"] < first["loss"]
    assert last["loss"] == pytest.approx(last["reconstruction_loss"] + last["kl_loss"], rel=1e-4)


def test_training_is_reproducible_for_a_fixed_seed(small_data):
    first = train(TINY, small_data).history.drop(columns="seconds")
    second = train(TINY, small_data).history.drop(columns="seconds")
    np.testing.assert_allclose(first.to_numpy(), second.to_numpy(), atol=1e-5, rtol=0)
    other_seed = train(TINY.replace(seed=2), small_data).history.drop(columns="seconds")
    assert not np.allclose(first.to_numpy(), other_seed.to_numpy())


def test_stop_event_ends_training_between_batches_and_keeps_the_model(small_data):
    stop = threading.Event()
    recorder = Recorder(stop_at=(2, 2), stop_event=stop)
    result = train(TINY.replace(epochs=50), small_data, [recorder], stop_event=stop, report_every=1)
    assert result.status == "stopped"
    assert result.epochs_completed == 1
    assert len(result.history) == 2  # epoch 1 and the partial epoch 2, both evaluated on the test set
    # Stopped within a batch or two of the request (listeners may run one batch behind).
    assert max(p.batch for p in recorder.batches if p.epoch == 2) <= 4
    images = np.asarray(result.decoder(np.zeros((1, TINY.latent_dim), np.float32)))
    assert images.shape == (1, 784)


def test_a_stop_requested_before_start_trains_at_most_one_batch(small_data):
    stop = threading.Event()
    stop.set()
    recorder = Recorder()
    result = train(TINY.replace(epochs=50), small_data, [recorder], stop_event=stop, report_every=1)
    assert result.status == "stopped" and result.epochs_completed == 0
    assert len(recorder.batches) <= 1, [(p.epoch, p.batch) for p in recorder.batches]


def test_train_subset_uses_only_the_first_images(small_data):
    recorder = Recorder()
    config = TINY.replace(train_subset=128, epochs=1)
    result = train(config, small_data, [recorder], report_every=1)
    assert recorder.batches[-1].batches_per_epoch == 2
    # The same model as one trained on those 128 alone (any other 128 would train another).
    alone = train(config, small_data.subset(128, len(small_data.x_test)))
    train_losses = [name for name in result.history.columns if name not in ("epoch", "seconds")
                    and not name.startswith("test_")]
    np.testing.assert_allclose(result.history[train_losses].to_numpy(), alone.history[train_losses].to_numpy(),
                               rtol=1e-5)


def test_batch_larger_than_the_data_is_refused(small_data):
    with pytest.raises(ConfigError, match="batch_size: must be at most the number of training images"):
        train(TINY.replace(batch_size=1024), small_data)


def test_nan_loss_stops_training_as_diverged(small_data):
    poisoned = small_data.x_train.copy()
    poisoned[5, 100] = np.nan
    data = MnistData(poisoned, small_data.y_train, small_data.x_test, small_data.y_test)
    result = train(TINY.replace(epochs=20), data, report_every=1)
    assert result.status == "diverged"
    assert len(result.history) < 20


@pytest.mark.parametrize("variant", [{"model": "ae"}, {"loss": "tutorial"}, {"arch": "conv", "hidden_dim": 16}])
def test_every_recipe_trains(variant, small_data):
    result = train(TINY.replace(epochs=1, **variant), small_data)
    assert result.status == "completed"
    if variant.get("model") == "ae":
        assert (result.history["kl_loss"] == 0).all()
