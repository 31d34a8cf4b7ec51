"""Training with live progress: listeners hear about batches and epochs, a threading.Event stops it.

`train()` may run in a worker thread; listeners are called from the training's thread, between groups of
batches (vae.training.epochs), so they must not block: append to a lock-protected object and return.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from vae import snapshots
from vae.config import TrainConfig
from vae.data import MnistData
from vae.numpy_model import model_arrays, model_from_arrays
from vae.progress import BatchProgress, EpochSummary, TrainingListener, check_fits_data, test_inputs, training_inputs
from vae.states import RunStatus
from vae.training.epochs import EpochRunner, worth_compiling
from vae.training.model import METRIC_NAMES, VariationalAutoencoder, build_model, steps_per_execution
from vae.training.untrained import WeightShape, draw

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
    epoch_snapshots: list[snapshots.Snapshot] = field(default_factory=list)  # one per epoch's end

    @property
    def encoder(self) -> keras.Model:
        return self.model.encoder

    @property
    def decoder(self) -> keras.Model:
        return self.model.decoder


class _Relay(keras.callbacks.Callback):
    """Forwards Keras callbacks to our listeners, stops on request or on NaN."""

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
        # Called once per group of batches (steps_per_execution): `batch` is the last one.
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


class _Snapshots(keras.callbacks.Callback):
    """Takes a snapshot (vae.snapshots) at each epoch's end and, when `live_seconds` is set and
    someone watches (`watching`; None: always), also before the first step (or, if watching
    begins later, after the next group of batches) and then every `live_seconds` in between, with
    the decoder when it fits the streaming budget; listeners with an `on_snapshot` method hear of
    each. The model is copied to numpy first, so the
    snapshot's arithmetic never touches TensorFlow's state while it trains (~25 ms for the dense
    model)."""

    def __init__(self, images, config, batches_per_epoch, listeners, live_seconds, watching):
        super().__init__()
        self.images, self.epochs, self.batches_per_epoch = images, config.epochs, batches_per_epoch
        self.label_inputs = config.label_inputs
        self.listeners = [listener for listener in listeners if hasattr(listener, "on_snapshot")]
        self.live_seconds = live_seconds
        self.watching = watching
        self.epoch_ends: list[snapshots.Snapshot] = []
        self.last: snapshots.Snapshot | None = None
        self.last_taken = -math.inf
        self.was_watched = False
        self.first_step_pending = False  # a snapshot was taken before the first step, which is still to come

    def watched(self) -> bool:
        return self.live_seconds is not None and (self.watching is None or self.watching.is_set())

    def take_first(self, model, taken: snapshots.Snapshot | None = None) -> None:
        """If someone watches, a snapshot of the model before its first step (epoch 0.0): the first
        digit a person sees, before the step is compiled (seconds, on a training process that
        has just started); the next comes at the epoch's end, or after `live_seconds` of training.
        `taken`: that snapshot, already taken and sent (by a training process, of the same
        weights, before TensorFlow had loaded): it counts as this one."""
        if taken is None and not self.watched():
            return
        self.set_model(model)
        self.was_watched = self.first_step_pending = True
        if taken is None:
            self._take(0.0)
        else:
            self.last = taken

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step_pending:  # the next comes `live_seconds` of training after this, compiling aside
            self.first_step_pending, self.last_taken = False, time.perf_counter()
        watched = self.watched()
        started_watching, self.was_watched = watched and not self.was_watched, watched
        if not watched or (time.perf_counter() - self.last_taken < self.live_seconds and not started_watching):
            return
        if logs and not math.isfinite(float(logs.get("loss", 0.0))):
            return
        epoch = len(self.epoch_ends) + min(batch + 1, self.batches_per_epoch) / self.batches_per_epoch
        if not float(epoch).is_integer():  # the epoch's end takes its own
            self._take(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs and all(math.isfinite(float(value)) for value in logs.values()):
            self.epoch_ends.append(self._take(float(epoch + 1)))

    def _take(self, epoch: float) -> snapshots.Snapshot:
        self.last_taken = time.perf_counter()
        encoder = model_from_arrays(model_arrays(self.model.encoder, "encoder"), "encoder")
        decoder = model_from_arrays(model_arrays(self.model.decoder, "decoder"), "decoder")
        snapshot = snapshots.take_live(encoder, decoder, self.label_inputs, self.images, epoch, self.epochs,
                                       self.last, self.watched())
        self.last = snapshot
        for listener in self.listeners:
            listener.on_snapshot(snapshot)
        return snapshot


def train(
    config: TrainConfig,
    data: MnistData,
    listeners: tuple[TrainingListener, ...] | list[TrainingListener] = (),
    stop_event: threading.Event | None = None,
    report_every: int = 10,
    live_seconds: float | None = None,
    watching: threading.Event | None = None,
    compiled: bool | None = None,
    keep_trainer: bool = False,
    first_snapshot: snapshots.Snapshot | None = None,
) -> TrainingResult:
    """Train `config` on `data` (the test set validates each epoch) and return the model and history.

    Setting `stop_event` ends training after the current batch; the partial model is returned with
    status "stopped". A NaN loss ends it with status "diverged". A snapshot of the latent space is
    taken at every epoch's end (and every `live_seconds` in between while `watching` is set, or
    always if it is None, for listeners that watch). `compiled`: whether XLA compiles the training
    step; None decides by the model and the number of steps (vae.training.epochs.worth_compiling).
    `keep_trainer`: keep this training's compiled trainer as the prepared one (see prepare), so the
    next training of the same settings starts without compiling; it then trains the model returned
    here, so the caller must be done with it (saved) before that next training. `first_snapshot`:
    the untrained model's snapshot, already sent to the listeners (vae.jobs.training_job).
    """
    x_train, batches_per_epoch, compiled = _plan(config, data, compiled)
    x_test = test_inputs(config, data)
    model, runner = _take_prepared(config, x_train, x_test, compiled, batches_per_epoch) or _new_trainer(
        config, x_train, x_test, compiled, batches_per_epoch)
    relay = _Relay(config, list(listeners), stop_event or threading.Event(), batches_per_epoch, report_every)
    snapshot_taker = _Snapshots(x_test[: snapshots.SUBSET], config, batches_per_epoch, listeners,
                                live_seconds, watching)
    snapshot_taker.take_first(model, first_snapshot)
    runner.run(config.epochs, [relay, snapshot_taker])
    if keep_trainer:
        _keep(config, x_train, x_test, compiled, model, runner)
    status = RunStatus.DIVERGED if relay.diverged else RunStatus.STOPPED if relay.stopped else RunStatus.COMPLETED
    history = pd.DataFrame(relay.rows, columns=HISTORY_COLUMNS)
    # A stopped epoch is evaluated on the test set too, but it is not a whole epoch.
    epochs_completed = len(relay.rows) - (1 if status == RunStatus.STOPPED and relay.rows else 0)
    return TrainingResult(config, model, history, status, relay.elapsed(), epochs_completed,
                          epoch_snapshots=snapshot_taker.epoch_ends)


def _plan(config: TrainConfig, data: MnistData, compiled: bool | None) -> tuple[np.ndarray, int, bool]:
    """The training images (checked against the batch size), batches per epoch, and whether XLA
    compiles the step (`compiled`, or decided by vae.training.epochs.worth_compiling if None)."""
    x_train = training_inputs(config, data)
    check_fits_data(config, len(x_train))
    batches_per_epoch = math.ceil(len(x_train) / config.batch_size)
    if compiled is None:
        compiled = worth_compiling(config.arch, config.epochs * batches_per_epoch)
    return x_train, batches_per_epoch, compiled


def _new_model(config: TrainConfig, batches_per_epoch: int) -> VariationalAutoencoder:
    # Each training builds a new model and new traced functions: drop what earlier trainings left
    # in Keras's global state, so a long-running server does not grow with every run. Models
    # already built (cached for the explorer, or prepared) keep working. Without a full garbage
    # collection (~0.15 s with TensorFlow loaded, at every job of a process that trains job after
    # job): Python's own collections free the same cycles later.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, total_steps=config.epochs * batches_per_epoch)
    model.optimizer.build(model.trainable_variables)
    start_untrained(model, config.seed)
    return model


def start_untrained(model: VariationalAutoencoder, seed: int) -> None:
    """Set the model's weights to those vae.training.untrained draws from `seed` for its layers'
    shapes: the same numbers a training process shows before TensorFlow loads (untrained_model)."""
    layers = [layer for part in (model.encoder, model.decoder) for layer in part.layers if layer.weights]
    shapes = [WeightShape(tuple(layer.kernel.shape), tuple(layer.bias.shape),
                          zeros=isinstance(layer.kernel_initializer, keras.initializers.Zeros)) for layer in layers]
    for layer, (kernel, bias) in zip(layers, draw(seed, shapes), strict=True):
        layer.set_weights([kernel, bias])


def _new_trainer(config, x_train, x_test, compiled, batches_per_epoch) -> tuple[VariationalAutoencoder, EpochRunner]:
    model = _new_model(config, batches_per_epoch)
    runner = EpochRunner(model, x_train, x_test, config.batch_size,
                         steps_per_execution(config.batch_size, batches_per_epoch), EVAL_BATCH_SIZE, config.seed,
                         compiled)
    return model, runner


@dataclass
class _Prepared:
    config: TrainConfig  # its seed aside
    x_train: np.ndarray
    x_test: np.ndarray
    compiled: bool
    model: VariationalAutoencoder
    runner: EpochRunner


_prepared: _Prepared | None = None


def prepare(config: TrainConfig, data: MnistData, compiled: bool | None = None) -> None:
    """Build and compile the training of `config` on `data` now, training nothing. The next
    `train()` of the same settings (any seed) on the same arrays, and compiled alike, then starts at
    once: a warm worker pays the compilation (~1.3 s for the default) before its job arrives. Used
    by one training."""
    global _prepared
    _prepared = None
    x_train, batches_per_epoch, compiled = _plan(config, data, compiled)
    x_test = test_inputs(config, data)
    model, runner = _new_trainer(config, x_train, x_test, compiled, batches_per_epoch)
    runner.compile()
    _keep(config, x_train, x_test, compiled, model, runner)


def _keep(config, x_train, x_test, compiled, model, runner) -> None:
    global _prepared
    _prepared = _Prepared(config.replace(seed=0), x_train, x_test, compiled, model, runner)


def _take_prepared(config, x_train, x_test, compiled, batches_per_epoch) -> tuple[VariationalAutoencoder,
                                                                                 EpochRunner] | None:
    """The prepared trainer, if it was made for this training, set to where a new one would start:
    the weights, the optimizer's state and the sampling's seed of a model built for `config`, and its
    epochs' order. Taken once: the model it trains is the training's result."""
    global _prepared
    prepared, _prepared = _prepared, None
    if prepared is None or not (prepared.config == config.replace(seed=0) and prepared.compiled == compiled
                                and prepared.x_train is x_train and prepared.x_test is x_test):
        return None
    fresh = _new_model(config, batches_per_epoch)
    for target, source in [*zip(prepared.model.variables, fresh.variables, strict=True),
                           *zip(prepared.model.optimizer.variables, fresh.optimizer.variables, strict=True)]:
        target.assign(source)
    prepared.runner.reseed(config.seed)
    return prepared.model, prepared.runner
