"""One training request's state as the queue keeps it (Job), and the consistent copy of it that
pages draw (JobSnapshot)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from vae.config import TrainConfig
from vae.i18n import N_
from vae.jobs import protocol
from vae.snapshots import Snapshot
from vae.states import ACTIVE_STATES, RUNNING_STATES, JobState

MAX_BATCH_POINTS = 4000  # beyond this a job's curve is thinned: memory stays bounded for long runs
# Ended: completed, stopped (its partial run kept), failed, cancelled, interrupted (the server restarted).

# A job's sentences are written here in English (in the queue's process or thread, where no reader is
# known) and said again in each reader's language by vae.i18n.say_again: fields are given as text.
SAVED = N_("Run {run} saved: test −ELBO {elbo} after {epochs} epochs.")
TIME_LIMIT_REACHED = N_("It reached this class's time limit ({minutes} min) and was stopped; the partial run was kept.")
NOT_STOPPED_IN_TIME = N_("It did not stop in time and was ended; nothing was saved.")
STALLED = N_("The training process stalled (no progress for over {seconds} s) and was stopped; nothing was saved.")
ENDED_BY_SIGNAL = N_("The training process ended unexpectedly (signal {signal}); nothing was saved.")
ENDED_WITH_CODE = N_("The training process ended unexpectedly (exit code {code}); nothing was saved.")
JOB_SENTENCES = (SAVED, TIME_LIMIT_REACHED, NOT_STOPPED_IN_TIME, STALLED, ENDED_BY_SIGNAL, ENDED_WITH_CODE)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of one job for drawing; never changes after it is taken."""

    id: str
    state: JobState
    run_name: str
    config: TrainConfig
    preset_name: str | None
    position: int  # 1 = next to start; 0 once it has started
    estimated_start_seconds: float  # for a queued job: about how long until it starts
    epoch: int
    batch: int
    batches_per_epoch: int
    fraction_done: float
    eta_seconds: float
    elapsed_seconds: float
    seconds_since_progress: float
    stalled: bool
    batch_points: tuple[dict, ...]
    epoch_points: tuple[dict, ...]
    message: str
    snapshots_received: int = 0  # changes whenever a new snapshot of the latent space arrives
    owner: dict | None = None  # classroom mode: who queued it
    browser: str = ""  # the hash of the browser that queued it
    held: bool = False  # queued, and held there while the teacher has paused student training
    time_limit_seconds: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


@dataclass
class Job:
    id: str
    config: TrainConfig
    run_name: str
    preset_name: str | None
    runs_dir: Path
    owner: dict | None = None  # classroom mode: who queued it (vae.classroom.Person.owner)
    browser: str = ""
    address: str = ""
    priority: int = 0
    time_limit: float | None = None
    submitted: float = field(default_factory=time.monotonic)
    state: JobState = JobState.QUEUED
    message: str = ""
    started: float | None = None
    finished: float | None = None
    last_event: float = 0.0
    last_batch: protocol.Batch | None = None
    batch_points: list[dict] = field(default_factory=list)
    epoch_points: list[dict] = field(default_factory=list)
    worker: object | None = None  # its vae.jobs.process.WorkerProcess while it runs
    kill_reason: str | None = None  # what its owner reads if the process is killed
    stop_note: str = ""  # why the queue asked it to stop (its time limit), added to its final message
    stop_asked: float | None = None
    discard: bool = False  # the teacher cleared it: a run it saves is deleted
    # The latest snapshots of the latent space (vae.snapshots), while it trains: about 1 MB each.
    live: Snapshot | None = None
    live_epoch_end: Snapshot | None = None
    live_decoder: Snapshot | None = None  # the latest epoch end's with a decoder; before one, the latest
    snapshots_received: int = 0
    watched_until: float = 0.0
    watch_sent: bool = False
    stored: tuple | None = None  # what vae.jobs.store last wrote of it

    def record_snapshot(self, snapshot: Snapshot) -> None:
        self.live = snapshot
        if snapshot.epoch_end:
            self.live_epoch_end = snapshot
        first_epoch = self.live_decoder is None or not self.live_decoder.epoch_end
        if snapshot.decoder is not None and (snapshot.epoch_end or first_epoch):
            self.live_decoder = snapshot
        self.snapshots_received += 1

    def record_batch(self, batch: protocol.Batch) -> None:
        self.last_batch = batch
        self.batch_points.append({"epoch": batch.epoch - 1 + batch.batch / batch.batches_per_epoch, **batch.metrics})
        if len(self.batch_points) > MAX_BATCH_POINTS:
            self.batch_points = self.batch_points[::2]

    def record_epoch(self, epoch: protocol.Epoch) -> None:
        # A stopped epoch ends early: draw its test point where training actually stopped.
        x = min(epoch.epoch, self.batch_points[-1]["epoch"]) if self.batch_points else epoch.epoch
        self.epoch_points.append({"epoch": x, **{f"test_{k}": v for k, v in epoch.test.items()}})

    def fraction_done(self) -> float:
        if self.state == JobState.COMPLETED:
            return 1.0
        return self.last_batch.fraction_done if self.last_batch else 0.0

    def eta_seconds(self) -> float:
        return self.last_batch.eta_seconds if self.last_batch else math.inf

    def drop_live(self) -> None:
        self.live = self.live_epoch_end = self.live_decoder = None

    def apply(self, event) -> None:
        """What a worker reported (a vae.jobs.protocol event) becomes this job's state."""
        if isinstance(event, protocol.SnapshotEvent):
            if self.state in RUNNING_STATES:
                self.record_snapshot(event.snapshot)
        elif isinstance(event, protocol.Batch):
            self.record_batch(event)
            if self.state == JobState.STARTING:
                self.state = JobState.RUNNING
        elif isinstance(event, protocol.Epoch):
            self.record_epoch(event)
        elif isinstance(event, protocol.Saving):
            self.state = JobState.SAVING
        elif isinstance(event, protocol.Finished):
            self.state = event.state
            saved = SAVED.format(run=repr(event.run_name), elbo=f"{event.test_neg_elbo:.1f}",
                                 epochs=event.epochs_completed)
            self.message = saved + (f" {self.stop_note}" if self.stop_note else "")
        elif isinstance(event, protocol.Failed):
            self.state, self.message = JobState.FAILED, event.message

    def past_time_limit(self, now: float) -> bool:
        return self.time_limit is not None and self.stop_asked is None and now - self.started > self.time_limit

    def ask_to_stop(self, now: float) -> None:
        """Past its time limit: stop after the current group of batches; the partial run is kept."""
        self.stop_asked = now
        self.stop_note = TIME_LIMIT_REACHED.format(minutes=f"{self.time_limit / 60:.0f}")
        if self.state in (JobState.STARTING, JobState.RUNNING):
            self.state = JobState.STOPPING
        self.worker.send(protocol.Stop())

    def warming_up(self) -> bool:
        """Its worker has the job but has not finished importing TensorFlow: silence is expected."""
        return self.worker is not None and not self.worker.ready.is_set()

    def silent_seconds(self, now: float) -> float:
        return now - self.last_event if self.state in RUNNING_STATES and not self.warming_up() else 0.0

    def remaining_seconds(self, now: float, estimated_seconds: float) -> float:
        """The ETA once it has reported progress; before, the estimate less the time it has had."""
        eta = self.eta_seconds()
        return eta if math.isfinite(eta) else max(0.0, estimated_seconds - (now - (self.started or now)))

    def snapshot(self, now: float, position: int, start_seconds: float, quiet: bool, held: bool) -> JobSnapshot:
        last = self.last_batch
        return JobSnapshot(
            id=self.id, state=self.state, run_name=self.run_name, config=self.config, preset_name=self.preset_name,
            position=position, estimated_start_seconds=start_seconds,
            epoch=last.epoch if last else 0, batch=last.batch if last else 0,
            batches_per_epoch=last.batches_per_epoch if last else 0,
            fraction_done=self.fraction_done(),
            eta_seconds=self.eta_seconds() if self.state != JobState.SAVING else 0.0,
            elapsed_seconds=(self.finished or now) - self.started if self.started else 0.0,
            seconds_since_progress=now - self.last_event if self.started else 0.0, stalled=quiet,
            batch_points=tuple(self.batch_points), epoch_points=tuple(self.epoch_points), message=self.message,
            snapshots_received=self.snapshots_received, owner=self.owner, browser=self.browser,
            held=held, time_limit_seconds=self.time_limit,
        )
