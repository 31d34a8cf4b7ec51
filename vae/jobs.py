"""Training off the UI thread: a job runs `train_and_save` in a worker thread and keeps its progress
in a lock-protected object that any number of viewers can snapshot. The manager lets at most one
job run at a time (two trainings on 2 cores would only slow both down)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vae import runs
from vae.config import TrainConfig
from vae.data import MnistData
from vae.errors import LabError, RunError
from vae.lab import train_and_save
from vae.progress import BatchProgress, EpochSummary, check_fits_data, training_images
from vae.runtime import lower_current_thread_priority

MAX_BATCH_POINTS = 4000  # beyond this the curve is thinned: memory stays bounded for long runs
log = logging.getLogger(__name__)


class TrainingBusy(LabError):
    """Another training is running; only one runs at a time."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for drawing; never changes after it is taken."""

    state: str  # running | stopping | completed | stopped | failed
    run_name: str
    config: TrainConfig
    epoch: int
    batch: int
    batches_per_epoch: int
    fraction_done: float
    eta_seconds: float
    elapsed_seconds: float
    batch_points: tuple[dict, ...]
    epoch_points: tuple[dict, ...]
    message: str

    @property
    def active(self) -> bool:
        return self.state in ("running", "stopping")


@dataclass
class TrainingJob:
    config: TrainConfig
    data: MnistData
    runs_dir: Path
    run_name: str
    preset_name: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._state = "running"
        self._message = ""
        self._last: BatchProgress | None = None
        self._batch_points: list[dict] = []
        self._epoch_points: list[dict] = []
        self._started = time.perf_counter()
        self._finished: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"training-{self.run_name}", daemon=True)

    # Listener interface, called from Keras's threads.
    def on_batch(self, progress: BatchProgress) -> None:
        point = {"epoch": progress.epoch - 1 + progress.batch / progress.batches_per_epoch, **progress.metrics}
        with self._lock:
            self._last = progress
            self._batch_points.append(point)
            if len(self._batch_points) > MAX_BATCH_POINTS:
                self._batch_points = self._batch_points[::2]

    def on_epoch(self, summary: EpochSummary) -> None:
        with self._lock:
            # A stopped epoch ends early: draw its test point where training actually stopped.
            x = min(summary.epoch, self._batch_points[-1]["epoch"]) if self._batch_points else summary.epoch
            self._epoch_points.append({"epoch": x, **{f"test_{k}": v for k, v in summary.test.items()}})

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        with self._lock:
            if self._state == "running":
                self._state = "stopping"
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        lower_current_thread_priority()  # the UI comes first; training takes what is left
        try:
            saved = train_and_save(self.config, self.data, self.runs_dir, self.run_name, self.preset_name,
                                   [self], self.stop_event)
            state = saved.metrics["status"]
            message = (f"Run {saved.name!r} saved: test −ELBO {saved.metrics['test_neg_elbo']:.1f} "
                       f"after {saved.metrics['epochs_completed']} epochs.")
        except LabError as error:
            state, message = "failed", str(error)
        except Exception as error:  # the UI must hear about it; the traceback goes to the log
            log.exception("training %s failed", self.run_name)
            state, message = "failed", f"Training failed unexpectedly: {type(error).__name__}: {error}"
        with self._lock:
            self._state, self._message, self._finished = state, message, time.perf_counter()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            last = self._last
            elapsed = (self._finished or time.perf_counter()) - self._started
            return JobSnapshot(
                state=self._state, run_name=self.run_name, config=self.config,
                epoch=last.epoch if last else 0, batch=last.batch if last else 0,
                batches_per_epoch=last.batches_per_epoch if last else 0,
                fraction_done=1.0 if self._state == "completed" else (last.fraction_done if last else 0.0),
                eta_seconds=last.eta_seconds if last else float("inf"),
                elapsed_seconds=elapsed,
                batch_points=tuple(self._batch_points), epoch_points=tuple(self._epoch_points),
                message=self._message,
            )


class TrainingManager:
    """Owns the one training slot. Thread-safe: every browser session shares one manager."""

    def __init__(self):
        self._lock = threading.Lock()
        self._job: TrainingJob | None = None

    @property
    def job(self) -> TrainingJob | None:
        """The running job, or else the last one (so its result can still be shown)."""
        return self._job

    def start(self, config: TrainConfig, data: MnistData, runs_dir: Path,
              name: str | None = None, preset_name: str | None = None) -> TrainingJob:
        """Start training in the background, or raise TrainingBusy / RunError / ConfigError at once."""
        runs_dir = Path(runs_dir)
        check_fits_data(config, len(training_images(config, data)))
        runs.check_writable(runs_dir)
        with self._lock:
            if self._job is not None and self._job.snapshot().active:
                current = self._job.snapshot()
                raise TrainingBusy(
                    f"A training is already running (run {current.run_name!r}, {current.fraction_done:.0%} done); "
                    "wait for it to finish or stop it on the Train page."
                )
            if name:
                if runs.run_path(runs_dir, name).exists():
                    raise RunError(f"A run named {name!r} already exists; choose another name.")
            else:
                name = runs.unique_run_name(runs_dir, preset_name or "custom")
            self._job = TrainingJob(config, data, runs_dir, name, preset_name).start()
            return self._job
