"""Training with live progress: listeners hear about batches and epochs, a threading.Event stops it.

`train()` may run in a worker thread; listeners are called from Keras's callback threads and must
not block (append to a lock-protected object and return).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import keras
import pandas as pd

from vae.config import TrainConfig
from vae.data import MnistData
from vae.model import METRIC_NAMES, VariationalAutoencoder, build_model, steps_per_execution
from vae.progress import BatchProgress, EpochSummary, TrainingListener, check_fits_data, training_images

# Test-set evaluation at each epoch's end: large batches, since no gradients are kept.
EVAL_BATCH_SIZE = 1000
HISTORY_COLUMNS = ["epoch", *METRIC_NAMES, *(f"test_{name}" for name in METRIC_NAMES), "seconds"]


@dataclass
class TrainingResult:
    config: TrainConfig
    model: VariationalAutoencoder
    history: pd.DataFrame
    # "completed", "stopped" (by the stop event; the partial model is kept) or "diverged" (NaN).
    status: str
    seconds: float
    epochs_completed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def encoder(self) -> keras.Model:
        return self.model.encoder

    @property
    def decoder(self) -> keras.Model:
        return self.model.decoder


class _Relay(keras.callbacks.Callback):
    """Forwards Keras callbacks to our listeners, stops on request or on NaN."""

    # Keras may then run batch hooks off the training loop's thread, so reporting never stalls it.
    async_safe = True

    def __init__(self, config, listeners, stop_event, batches_per_epoch, report_every):
        super().__init__()
        self.config = config
        self.listeners = listeners
        self.stop_event = stop_event
        self.batches_per_epoch = batches_per_epoch
        self.report_every = report_every
        self.started = time.perf_counter()
        self.epoch = 0
        self.last_reported = 0
        self.rows: list[dict[str, float]] = []
        self.stopped = False
        self.diverged = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.last_reported = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            self.stopped = True
            self.model.stop_training = True
        # Keras calls this once per group of batches (steps_per_execution): `batch` is the last one.
        batch_number = min(batch + 1, self.batches_per_epoch)
        if batch_number - self.last_reported < self.report_every and batch_number != self.batches_per_epoch:
            return
        self.last_reported = batch_number
        metrics = {name: float(logs[name]) for name in METRIC_NAMES}
        if not math.isfinite(metrics["loss"]):
            self.diverged = True
            self.model.stop_training = True
            return
        progress = BatchProgress(
            self.epoch, self.config.epochs, batch_number, self.batches_per_epoch, metrics, self.elapsed()
        )
        for listener in self.listeners:
            listener.on_batch(progress)

    def on_epoch_end(self, epoch, logs=None):
        train = {name: float(logs[name]) for name in METRIC_NAMES}
        test = {name: float(logs[f"val_{name}"]) for name in METRIC_NAMES}
        if not all(math.isfinite(v) for v in [*train.values(), *test.values()]):
            self.diverged = True
            self.model.stop_training = True
            return
        self.rows.append({
            "epoch": epoch + 1, **train, **{f"test_{k}": v for k, v in test.items()}, "seconds": self.elapsed(),
        })
        summary = EpochSummary(epoch + 1, self.config.epochs, train, test, self.elapsed())
        for listener in self.listeners:
            listener.on_epoch(summary)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def train(
    config: TrainConfig,
    data: MnistData,
    listeners: tuple[TrainingListener, ...] | list[TrainingListener] = (),
    stop_event: threading.Event | None = None,
    report_every: int = 10,
) -> TrainingResult:
    """Train `config` on `data` (the test set validates each epoch) and return the model and history.

    Setting `stop_event` ends training after the current batch; the partial model is returned with
    status "stopped". A NaN loss ends it with status "diverged".
    """
    x_train = training_images(config, data)
    check_fits_data(config, len(x_train))
    # Each training builds a new model and new traced functions: drop what earlier trainings left
    # in Keras's global state, so a long-running server does not grow with every run. Models
    # already built (cached for the explorer) keep working.
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    batches_per_epoch = math.ceil(len(x_train) / config.batch_size)
    model = build_model(config, steps_per_execution(config.batch_size, batches_per_epoch),
                        total_steps=config.epochs * batches_per_epoch)
    relay = _Relay(config, list(listeners), stop_event or threading.Event(), batches_per_epoch, report_every)
    model.fit(
        x_train, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
        validation_data=(data.x_test, data.x_test), validation_batch_size=EVAL_BATCH_SIZE,
        callbacks=[relay], verbose=0,
    )
    status = "diverged" if relay.diverged else "stopped" if relay.stopped else "completed"
    history = pd.DataFrame(relay.rows, columns=HISTORY_COLUMNS)
    # A stopped epoch is evaluated on the test set too, but it is not a whole epoch.
    epochs_completed = len(relay.rows) - (1 if status == "stopped" and relay.rows else 0)
    return TrainingResult(config, model, history, status, relay.elapsed(), epochs_completed)
