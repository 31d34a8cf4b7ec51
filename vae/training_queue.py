"""The training queue: requests from every browser session wait in one FIFO line and run, N at a
time, each in its own worker process (`vae.worker`). The web server never imports TensorFlow.

A warm worker (TensorFlow imported, MNIST loaded) is kept waiting, so a job starts at once; a
worker trains one job and exits, so its memory goes back to the system. Progress arrives as JSON
lines that a reader thread per worker turns into a job's state, which any session can snapshot.

Who may cancel or stop a job: whoever holds the secret token `submit` returned (the page keeps it
in the session and the address bar, so a reload keeps it). Everyone can watch every job.
"""

from __future__ import annotations

import atexit
import heapq
import hmac
import json
import logging
import math
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vae import runs
from vae.classroom import STUDENT, owner_role
from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import ConfigError, LabError, RunError
from vae.progress import check_fits_data
from vae.snapshots import Snapshot, from_message

SLOTS_ENV = "LATENT_LAB_TRAINING_SLOTS"  # trainings that run at once (default 1: 2 cores)
STALL_ENV = "LATENT_LAB_STALL_SECONDS"  # no progress for this long: the job is reported stalled
DEFAULT_STALL_SECONDS = 120.0
MAX_BATCH_POINTS = 4000  # beyond this a job's curve is thinned: memory stays bounded for long runs
MAX_WAITING = 100  # queued jobs; one more is refused
KEEP_FINISHED = 50  # finished jobs remembered (for their owners' pages)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Seconds per training image per epoch (test evaluation included), measured on this project's
# 2-core machine for the 256-unit networks at batch 128; replaced by what finished jobs measure.
DEFAULT_SECONDS_PER_IMAGE = {"dense": 4.5e-5, "conv": 4.0e-4}
STARTUP_SECONDS = 3.0  # building the model, tracing, saving
log = logging.getLogger(__name__)

ACTIVE_STATES = ("queued", "starting", "running", "stopping", "saving")
RUNNING_STATES = ("starting", "running", "stopping", "saving")


class QueueError(LabError):
    """A request the queue refuses: too many waiting, not yours to cancel, unknown job."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of one job for drawing; never changes after it is taken."""

    id: str
    state: str  # queued | starting | running | stopping | saving | completed | stopped | failed | cancelled
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
    held: bool = False  # queued, and held there while the teacher has paused student training

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


@dataclass
class _Job:
    id: str
    token: str
    config: TrainConfig
    run_name: str
    preset_name: str | None
    runs_dir: Path
    submitted: float = field(default_factory=time.monotonic)
    state: str = "queued"
    message: str = ""
    started: float | None = None
    finished: float | None = None
    last_event: float = 0.0
    last_batch: dict | None = None
    batch_points: list[dict] = field(default_factory=list)
    epoch_points: list[dict] = field(default_factory=list)
    owner: dict | None = None  # classroom mode: who queued it (vae.classroom.Person.owner)
    worker: _Worker | None = None
    kill_reason: str | None = None
    # The latest snapshots of the latent space (vae.snapshots), while it trains: about 1 MB each.
    live: Snapshot | None = None
    live_epoch_end: Snapshot | None = None
    snapshots_received: int = 0

    def record_snapshot(self, snapshot: Snapshot) -> None:
        self.live = snapshot
        if snapshot.epoch_end:
            self.live_epoch_end = snapshot
        self.snapshots_received += 1

    def record_batch(self, event: dict) -> None:
        self.last_batch = event
        point = {"epoch": event["epoch"] - 1 + event["batch"] / event["batches_per_epoch"], **event["metrics"]}
        self.batch_points.append(point)
        if len(self.batch_points) > MAX_BATCH_POINTS:
            self.batch_points = self.batch_points[::2]

    def record_epoch(self, event: dict) -> None:
        # A stopped epoch ends early: draw its test point where training actually stopped.
        x = min(event["epoch"], self.batch_points[-1]["epoch"]) if self.batch_points else event["epoch"]
        self.epoch_points.append({"epoch": x, **{f"test_{k}": v for k, v in event["test"].items()}})

    def fraction_done(self) -> float:
        if self.state == "completed":
            return 1.0
        b = self.last_batch
        if not b:
            return 0.0
        return ((b["epoch"] - 1) * b["batches_per_epoch"] + b["batch"]) / (b["epochs"] * b["batches_per_epoch"])

    def eta_seconds(self) -> float:
        done = self.fraction_done()
        if not self.last_batch or done <= 0:
            return math.inf
        return self.last_batch["elapsed_seconds"] * (1 - done) / done


class _Worker:
    """One `python -m vae.worker` process: a fresh interpreter (never a fork of this threaded
    server), whose stdout a reader thread turns into events."""

    def __init__(self, on_event, on_exit):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                          os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vae.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1, cwd=PROJECT_ROOT, env=env,
        )
        self.ready = threading.Event()
        self.job: _Job | None = None
        self._on_event, self._on_exit = on_event, on_exit
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name=f"worker-{self.pid}").start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict) -> None:
        with self._send_lock:
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # it has exited; its reader reports how

    def kill(self) -> None:
        if self.alive():
            self.process.kill()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("worker %s sent a line that is not JSON: %.200s", self.pid, line)
                continue
            if event.get("event") == "ready":
                self.ready.set()
            else:
                self._on_event(self, event)
        self.process.wait()
        self._on_exit(self, self.process.returncode)


def ended_unexpectedly(returncode: int) -> str:
    """One sentence for a worker that exited without saying how its job ended."""
    if returncode < 0:
        return f"The training process ended unexpectedly (signal {-returncode}); nothing was saved."
    return f"The training process ended unexpectedly (exit code {returncode}); nothing was saved."


def slots_from_environment() -> int:
    value = os.environ.get(SLOTS_ENV, "1")
    try:
        slots = int(value)
    except ValueError:
        raise ConfigError(SLOTS_ENV, f"must be a whole number from 1 to 8, got {value!r}") from None
    if not 1 <= slots <= 8:
        raise ConfigError(SLOTS_ENV, f"must be from 1 to 8, got {slots}")
    return slots


def stall_seconds_from_environment() -> float:
    value = os.environ.get(STALL_ENV, str(DEFAULT_STALL_SECONDS))
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(STALL_ENV, f"must be a number of seconds, got {value!r}") from None
    if not 1 <= seconds <= 86_400:
        raise ConfigError(STALL_ENV, f"must be from 1 to 86400 seconds, got {value}")
    return seconds


class TrainingQueue:
    """One FIFO queue of training requests with `slots` running at once. Thread-safe: every
    browser session shares one queue."""

    def __init__(self, slots: int = 1, stall_seconds: float = DEFAULT_STALL_SECONDS, worker_factory=None):
        self.slots = slots
        # A worker is made by calling worker_factory(on_event, on_exit); tests pass a stand-in.
        self._worker_factory = worker_factory or _Worker
        self.stall_seconds = stall_seconds
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}  # every job, in order of submission
        self._spares: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._seconds_per_image: dict[tuple, float] = {}
        self._closed = False
        self._students_held = False
        atexit.register(self.shutdown)
        with self._lock:
            self._top_up_spares()

    @classmethod
    def from_environment(cls) -> TrainingQueue:
        return cls(slots_from_environment(), stall_seconds_from_environment())

    # --- requests --------------------------------------------------------------------------

    def submit(self, config: TrainConfig, runs_dir: Path, preset_name: str | None = None,
               name: str | None = None, owner: dict | None = None,
               max_active_per_owner: int | None = None) -> tuple[str, str]:
        """Queue a training that saves into `runs_dir`; returns (job id, secret token). Raises at
        once, before any waiting, for what would make it fail: bad or taken name, unwritable folder,
        or (classroom mode) an `owner` who already has `max_active_per_owner` jobs queued or running."""
        runs_dir = Path(runs_dir)
        check_fits_data(config, config.train_subset or MNIST_TRAIN_SIZE)
        runs.check_writable(runs_dir)
        with self._lock:
            if self._closed:
                raise QueueError("The training queue is shutting down.")
            if sum(job.state == "queued" for job in self._jobs.values()) >= MAX_WAITING:
                raise QueueError(f"{MAX_WAITING} trainings are already waiting; try again when some have run.")
            if owner is not None and max_active_per_owner is not None:
                mine = sum(job.state in ACTIVE_STATES and _same_owner(job.owner, owner) for job in self._jobs.values())
                if mine >= max_active_per_owner:
                    raise QueueError(f"You already have {mine} training(s) queued or running, the most this class "
                                     "allows; wait for one to finish or cancel it.")
            reserved = {job.run_name for job in self._jobs.values()
                        if job.state in ACTIVE_STATES and job.runs_dir == runs_dir}
            if name:
                if runs.run_path(runs_dir, name).exists() or name in reserved:
                    raise RunError(f"A run named {name!r} already exists; choose another name.")
            else:
                name = self._unique_name(runs_dir, preset_name or "custom", reserved)
            job = _Job(secrets.token_hex(4), secrets.token_urlsafe(16), config, name, preset_name, runs_dir,
                       owner=owner)
            self._jobs[job.id] = job
            self._forget_old_jobs()
            self._dispatch()
            self._changed.notify_all()
            return job.id, job.token

    def cancel(self, job_id: str, token: str | None, teacher: bool = False) -> None:
        """Take a queued job out of the line, or stop a running one (its partial run is kept).
        A stalled job's process is killed. Only the holder of the job's token may do this, or, in
        classroom mode, the teacher (the caller vouches for `teacher`)."""
        with self._lock:
            job = self._jobs.get(job_id) if teacher else self._owned(job_id, token)
            if job is None:
                raise QueueError("That training is no longer known (the server may have restarted).")
            if job.state == "queued":
                job.state, job.message, job.finished = "cancelled", "Cancelled before it started.", time.monotonic()
                self._changed.notify_all()
            elif job.state in RUNNING_STATES and job.worker is not None:
                if self._stalled(job, time.monotonic()):
                    job.kill_reason = (f"The training process stalled (no progress for over "
                                       f"{self.stall_seconds:.0f} s) and was stopped; nothing was saved.")
                    job.worker.kill()
                else:
                    if job.state in ("starting", "running"):
                        job.state = "stopping"
                    job.worker.send({"command": "stop"})

    def hold_students(self, held: bool) -> None:
        """Pause (or resume) student training: their queued jobs wait; running ones finish."""
        with self._lock:
            self._students_held = bool(held)
            self._dispatch()
            self._changed.notify_all()

    @property
    def students_held(self) -> bool:
        with self._lock:
            return self._students_held

    def owns(self, job_id: str, token: str | None) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            return job is not None and token is not None and hmac.compare_digest(job.token, token)

    # --- reading ---------------------------------------------------------------------------

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            now = time.monotonic()
            return None if job is None else self._snapshot(job, now, self._waiting_estimates(now))

    def snapshots(self, active_only: bool = False) -> list[JobSnapshot]:
        """Every remembered job (or only the queued and running ones) in submission order."""
        with self._lock:
            now = time.monotonic()
            estimates = self._waiting_estimates(now)  # once for all, not once per job
            return [self._snapshot(job, now, estimates) for job in self._jobs.values()
                    if not active_only or job.state in ACTIVE_STATES]

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.pid for worker in self._workers if worker.alive()]

    def warm_workers(self) -> int:
        """Spare workers that have imported TensorFlow and wait for a job."""
        with self._lock:
            return sum(worker.ready.is_set() and worker.alive() for worker in self._spares)

    def live_snapshot(self, job_id: str, epoch_end: bool = False) -> Snapshot | None:
        """The latest snapshot of a running job's latent space (or of its latest finished epoch);
        None before the first one and once the job has ended. Shared and immutable: not copied."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            return job.live_epoch_end if epoch_end else job.live

    def pid_of(self, job_id: str) -> int | None:
        """The process running a job (for an operator, or a test that plays a fault)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.worker.pid if job is not None and job.worker is not None else None

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until no job is queued or running (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(job.state in ACTIVE_STATES for job in self._jobs.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
            return True

    def stop_everything(self) -> None:
        """Cancel every queued job and kill every running one (tests; a teacher ending the class)."""
        with self._lock:
            for job in self._jobs.values():
                if job.state == "queued":
                    job.state, job.message, job.finished = "cancelled", "Cancelled before it started.", time.monotonic()
                elif job.state in RUNNING_STATES and job.worker is not None:
                    job.kill_reason = "The training was stopped by the server; nothing was saved."
                    job.worker.kill()
            self._changed.notify_all()

    def shutdown(self) -> None:
        """Kill every worker (their runs are not saved) and refuse new requests."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            worker.kill()

    # --- inside ----------------------------------------------------------------------------

    def _owned(self, job_id: str, token: str | None) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise QueueError("That training is no longer known (the server may have restarted).")
        if token is None or not hmac.compare_digest(job.token, token):
            raise QueueError("Only the person who started a training can cancel or stop it.")
        return job

    @staticmethod
    def _unique_name(runs_dir: Path, stem: str, reserved: set[str]) -> str:
        name = runs.unique_run_name(runs_dir, stem)
        base, n = name, 2
        while name in reserved:
            name, n = f"{base}-{n}", n + 1
        return name

    def _forget_old_jobs(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.state not in ACTIVE_STATES]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]

    def _top_up_spares(self) -> None:
        """Keep a warm worker for each free slot. A new one imports TensorFlow (a few seconds of
        CPU that a running training would feel), so while every slot is busy one is started only
        if a job is waiting for it."""
        self._spares = [worker for worker in self._spares if worker.alive()]
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        waiting = any(job.state == "queued" for job in self._jobs.values())
        wanted = max(self.slots - running, 1 if waiting else 0)
        while not self._closed and len(self._spares) < wanted:
            self._spares.append(self._spawn())

    def _spawn(self) -> _Worker:
        worker = self._worker_factory(self._on_event, self._on_exit)
        self._workers.add(worker)
        return worker

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (called with the lock held)."""
        if self._closed:
            return
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        ready = [job for job in self._jobs.values() if job.state == "queued" and not self._held(job)]
        for job in ready[: max(0, self.slots - running)]:
            worker = self._spares.pop(0) if self._spares else self._spawn()
            if not worker.alive():
                worker = self._spawn()
            worker.job, job.worker = job, worker
            job.state, job.started = "starting", time.monotonic()
            job.last_event = job.started
            worker.send({"command": "train", "config": job.config.to_dict(), "runs_dir": str(job.runs_dir),
                         "name": job.run_name, "preset": job.preset_name, "owner": job.owner})
        self._top_up_spares()

    def _held(self, job: _Job) -> bool:
        return self._students_held and owner_role(job.owner) == STUDENT

    def _on_event(self, worker: _Worker, event: dict) -> None:
        kind = event.get("event")
        snapshot = self._read_snapshot(worker, event) if kind == "snapshot" else None  # ~5 ms: outside the lock
        with self._lock:
            job = worker.job
            if job is None:
                return
            job.last_event = time.monotonic()
            try:
                if kind == "snapshot":
                    if snapshot is not None and job.state in RUNNING_STATES:
                        job.record_snapshot(snapshot)
                elif kind == "batch":
                    job.record_batch(event)
                    if job.state == "starting":
                        job.state = "running"
                elif kind == "epoch":
                    job.record_epoch(event)
                elif kind == "saving":
                    job.state = "saving"
                elif kind == "finished":
                    job.state = event["state"]
                    job.message = (f"Run {event['run_name']!r} saved: test −ELBO {event['test_neg_elbo']:.1f} "
                                   f"after {event['epochs_completed']} epochs.")
                    self._learn_speed(job, event)
                elif kind == "failed":
                    job.state, job.message = "failed", str(event.get("message"))
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                log.warning("worker %s sent a malformed %s event", worker.pid, kind)
            self._changed.notify_all()

    @staticmethod
    def _read_snapshot(worker: _Worker, event: dict) -> Snapshot | None:
        try:
            return from_message(event)
        except (KeyError, TypeError, ValueError) as error:
            log.warning("worker %s sent a malformed snapshot (%s)", worker.pid, error)
            return None

    def _on_exit(self, worker: _Worker, returncode: int) -> None:
        with self._lock:
            self._workers.discard(worker)
            job = worker.job
            if job is not None:
                job.live = job.live_epoch_end = None  # the saved run (if any) takes over; memory goes back
                if job.state in ACTIVE_STATES:  # it never said how the job ended
                    job.state = "failed"
                    job.message = job.kill_reason or ended_unexpectedly(returncode)
                job.finished = time.monotonic()
                job.worker = None
                worker.job = None
            elif worker in self._spares and not self._closed:
                log.warning("a warm training process exited early (%s)", returncode)
            self._dispatch()
            self._changed.notify_all()

    def _learn_speed(self, job: _Job, event: dict) -> None:
        images = job.config.train_subset or MNIST_TRAIN_SIZE
        epochs = max(1, int(event["epochs_completed"]))
        self._seconds_per_image[_speed_key(job.config)] = float(event["train_seconds"]) / (epochs * images)

    def _estimated_seconds(self, config: TrainConfig) -> float:
        rate = self._seconds_per_image.get(_speed_key(config))
        if rate is None:
            rate = DEFAULT_SECONDS_PER_IMAGE[config.arch] * max(config.hidden_dim, 64) / 256
        return STARTUP_SECONDS + config.epochs * (config.train_subset or MNIST_TRAIN_SIZE) * rate

    def _remaining_seconds(self, job: _Job, now: float) -> float:
        eta = job.eta_seconds()
        if math.isfinite(eta):
            return eta
        return max(0.0, self._estimated_seconds(job.config) - (now - (job.started or now)))

    def _stalled(self, job: _Job, now: float) -> bool:
        return job.state in RUNNING_STATES and now - job.last_event > self.stall_seconds

    def _waiting_estimates(self, now: float) -> dict[str, tuple[int, float]]:
        """(position, seconds until start) of each queued job: the slots' free times, then each
        queued job in order takes the slot that frees first."""
        running = [self._remaining_seconds(job, now) for job in self._jobs.values() if job.state in RUNNING_STATES]
        free_at = sorted(running + [0.0] * max(0, self.slots - len(running)))
        heapq.heapify(free_at)
        estimates = {}
        queued = [job for job in self._jobs.values() if job.state == "queued"]
        for position, job in enumerate(queued, start=1):
            start = heapq.heappop(free_at)
            estimates[job.id] = (position, start)
            heapq.heappush(free_at, start + self._estimated_seconds(job.config))
        return estimates

    def _snapshot(self, job: _Job, now: float, estimates: dict[str, tuple[int, float]]) -> JobSnapshot:
        position, start = estimates.get(job.id, (0, 0.0))
        last = job.last_batch or {}
        end = job.finished or now
        return JobSnapshot(
            id=job.id, state=job.state, run_name=job.run_name, config=job.config, preset_name=job.preset_name,
            position=position, estimated_start_seconds=start,
            epoch=last.get("epoch", 0), batch=last.get("batch", 0),
            batches_per_epoch=last.get("batches_per_epoch", 0),
            fraction_done=job.fraction_done(), eta_seconds=job.eta_seconds() if job.state != "saving" else 0.0,
            elapsed_seconds=end - job.started if job.started else 0.0,
            seconds_since_progress=now - job.last_event if job.started else 0.0,
            stalled=self._stalled(job, now),
            batch_points=tuple(job.batch_points), epoch_points=tuple(job.epoch_points), message=job.message,
            snapshots_received=job.snapshots_received, owner=job.owner,
            held=job.state == "queued" and self._held(job),
        )


def _same_owner(a: dict | None, b: dict | None) -> bool:
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    return (a.get("role"), a.get("key")) == (b.get("role"), b.get("key"))


def _speed_key(config: TrainConfig) -> tuple:
    return (config.arch, config.hidden_dim, config.latent_dim, config.batch_size)
