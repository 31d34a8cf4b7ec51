"""The training queue: requests from every browser session wait in one line and run, N at a time,
each in its own worker process (`vae.worker`). The web server never imports TensorFlow.

A warm worker (TensorFlow imported, MNIST loaded) is kept waiting, so a job starts at once; a
worker trains one job and exits, so its memory goes back to the system. Progress arrives as
protocol lines (vae.protocol) that a reader thread per worker turns into a job's state, which any
session can snapshot. A housekeeping thread ends what would otherwise wedge the line: a job with
no progress for the stall limit, a job past its time limit, a worker that keeps dying at start.

Who may cancel or stop a job, who comes first and what a request may cost are a policy's to say
(vae.classroom.ClassroomPolicy in the app); the queue counts, under its lock, and asks.
"""

from __future__ import annotations

import atexit
import collections
import logging
import math
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vae import cost, protocol, runs
from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import ConfigError, LabError, RunError
from vae.progress import check_fits_data
from vae.snapshots import Snapshot

SLOTS_ENV = "LATENT_LAB_TRAINING_SLOTS"  # trainings that run at once (default 1: 2 cores)
STALL_ENV = "LATENT_LAB_STALL_SECONDS"  # no progress for this long: the job is ended
DEFAULT_STALL_SECONDS = 120.0
MAX_BATCH_POINTS = 4000  # beyond this a job's curve is thinned: memory stays bounded for long runs
MAX_WAITING = 100  # queued jobs of the teacher (students' are bounded by the policy's class limit)
KEEP_FINISHED = 50  # finished jobs remembered (for their owners' pages)
WATCH_SECONDS = 10.0  # a live view that asked for a snapshot this recently counts as watching
HOUSEKEEPING_SECONDS = 0.5
STARTUP_STALL_SECONDS = 300.0  # a worker still importing TensorFlow when its job arrives: silent for this long, ended
STOP_GRACE_SECONDS = 60.0  # a job asked to stop (its time limit) that has not ended by then is killed
MAX_RESPAWN_DELAY_SECONDS = 60.0  # a warm worker that keeps dying at start is retried at most this often
PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

ACTIVE_STATES = ("queued", "starting", "running", "stopping", "saving")
RUNNING_STATES = ("starting", "running", "stopping", "saving")


class QueueError(LabError):
    """A request the queue refuses: too many waiting, not yours to cancel, unknown job."""


class OpenPolicy:
    """Everyone may do everything, first come first served, no limits: the CLI, tests, and the
    shape every policy has (vae.classroom.ClassroomPolicy is the app's)."""

    def check_request(self, person, config: TrainConfig) -> None: ...

    def check_capacity(self, person, config: TrainConfig, load) -> None: ...

    def may_change(self, person, owner: dict | None) -> bool:
        return True

    def priority(self, owner: dict | None) -> int:
        return 0

    def time_limit_seconds(self, owner: dict | None) -> float | None:
        return None


@dataclass(frozen=True)
class Requester:
    """Who asks, when nobody in particular does (the CLI, a benchmark): the queue's default, with
    the fields of vae.classroom.Person, which the app passes instead."""

    role: str = "local"
    name: str = ""
    key_hash: str = ""
    browser: str = ""  # the hash of the browser's key: which jobs are "yours"
    address: str = "this machine"  # the device a policy may count

    @property
    def is_teacher(self) -> bool:
        return True

    def owner(self) -> dict | None:
        return None


@dataclass(frozen=True)
class Load:
    """What the policy weighs a request against (vae.classroom.Load has the same fields)."""

    owner_jobs: int
    device_jobs: int
    class_jobs: int
    owner_bytes: int
    class_bytes: int
    free_bytes: int


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
class _Job:
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
    state: str = "queued"
    message: str = ""
    started: float | None = None
    finished: float | None = None
    last_event: float = 0.0
    last_batch: protocol.Batch | None = None
    batch_points: list[dict] = field(default_factory=list)
    epoch_points: list[dict] = field(default_factory=list)
    worker: _Worker | None = None
    kill_reason: str | None = None  # what its owner reads if the process is killed
    stop_note: str = ""  # why the queue asked it to stop (its time limit), added to its final message
    stop_asked: float | None = None
    discard: bool = False  # the teacher cleared it: a run it saves is deleted
    # The latest snapshots of the latent space (vae.snapshots), while it trains: about 1 MB each.
    live: Snapshot | None = None
    live_epoch_end: Snapshot | None = None
    live_decoder: Snapshot | None = None  # the latest epoch end's with a decoder; before one, the first
    snapshots_received: int = 0
    watched_until: float = 0.0
    watch_sent: bool = False

    def record_snapshot(self, snapshot: Snapshot) -> None:
        self.live = snapshot
        if snapshot.epoch_end:
            self.live_epoch_end = snapshot
        if snapshot.decoder is not None and (snapshot.epoch_end or self.live_decoder is None):
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
        if self.state == "completed":
            return 1.0
        return self.last_batch.fraction_done if self.last_batch else 0.0

    def eta_seconds(self) -> float:
        return self.last_batch.eta_seconds if self.last_batch else math.inf

    def drop_live(self) -> None:
        self.live = self.live_epoch_end = self.live_decoder = None


class _Worker:
    """One `python -m vae.worker` process: a fresh interpreter (never a fork of this threaded
    server). A reader thread turns its stdout into events and always reports its exit, whatever
    it sent; another keeps the last lines of its stderr, to say why it could not start."""

    COMMAND = (sys.executable, "-m", "vae.worker")

    def __init__(self, on_event, on_exit, command: tuple[str, ...] = COMMAND):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                          os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT_ROOT, env=env)
        self.ready = threading.Event()
        self.job: _Job | None = None
        self.started = time.monotonic()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._on_event, self._on_exit = on_event, on_exit
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name=f"worker-{self.pid}").start()
        threading.Thread(target=self._keep_stderr, daemon=True, name=f"worker-{self.pid}-stderr").start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, command: protocol.Command) -> None:
        with self._send_lock:
            try:
                self.process.stdin.write(protocol.encode_command(command))
                self.process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # it has exited; its reader reports how

    def kill(self) -> None:
        if self.alive():
            self.process.kill()

    def last_error(self) -> str:
        """The last line it wrote to stderr (a traceback's last line says what went wrong)."""
        lines = [line for line in self.stderr_tail if line.strip()]
        return lines[-1].strip()[:200] if lines else ""

    def _read(self) -> None:
        try:
            while True:
                line = self.process.stdout.readline(protocol.MAX_LINE_BYTES + 1)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) > protocol.MAX_LINE_BYTES:
                    raise protocol.ProtocolError(f"a line longer than {protocol.MAX_LINE_BYTES:,} bytes")
                event = protocol.decode_event(line)
                if isinstance(event, protocol.Ready):
                    self.ready.set()
                self._on_event(self, event)
        except Exception as error:  # noqa: BLE001 - whatever went wrong, the job ends and the line moves on
            if not isinstance(error, protocol.ProtocolError):
                log.exception("reading worker %s", self.pid)
            self._on_event(self, error)
            self.kill()
        finally:
            self.process.wait()
            self._on_exit(self, self.process.returncode)

    def _keep_stderr(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr_tail.append(line)
            sys.stderr.write(line)


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


def start_estimates(remaining_seconds: list[float], queued_seconds: list[float], slots: int) -> list[float]:
    """Seconds until each queued job starts, in line order: the slots free up as the running jobs
    end (`remaining_seconds`), and each queued job in turn takes the slot that frees first."""
    free_at = sorted(remaining_seconds + [0.0] * max(0, slots - len(remaining_seconds)))[: max(slots, 1)]
    starts = []
    for seconds in queued_seconds:
        start = free_at.pop(0)
        starts.append(start)
        free_at = sorted([*free_at, start + seconds])
    return starts


class TrainingQueue:
    """One queue of training requests with `slots` running at once, served by the policy's
    priority, then first come, first served. Thread-safe: every browser session shares one."""

    def __init__(self, slots: int = 1, stall_seconds: float = DEFAULT_STALL_SECONDS, worker_factory=None,
                 policy=None):
        self.slots = slots
        # A worker is made by calling worker_factory(on_event, on_exit); tests pass a stand-in.
        self._worker_factory = worker_factory or _Worker
        self.stall_seconds = stall_seconds
        self.policy = policy or OpenPolicy()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}  # every job, in order of submission
        self._spares: list = []
        self._workers: set = set()
        self._speed_factors: dict[str, collections.deque[float]] = {}  # arch -> measured / estimated seconds
        self._closed = False
        self._students_held = False
        self._spare_failures = 0  # warm workers in a row that died before taking a job
        self._next_spawn_at = 0.0
        self._unavailable: str | None = None
        atexit.register(self.shutdown)
        with self._lock:
            self._top_up_spares()
        self._housekeeper = threading.Thread(target=self._housekeeping, daemon=True, name="queue-housekeeping")
        self._housekeeper.start()

    @classmethod
    def from_environment(cls, policy=None) -> TrainingQueue:
        return cls(slots_from_environment(), stall_seconds_from_environment(), policy=policy)

    # --- requests --------------------------------------------------------------------------

    def submit(self, config: TrainConfig, runs_dir: Path, preset_name: str | None = None,
               name: str | None = None, requester=None) -> str:
        """Queue a training that saves into `runs_dir`; returns its job id. Raises at once, before
        any waiting, for what would make it fail or what the policy refuses: a bad or taken name, an
        unwritable folder, a request too costly, or too many queued for this person, device, class."""
        requester = requester or Requester()
        runs_dir = Path(runs_dir)
        check_fits_data(config, config.train_subset or MNIST_TRAIN_SIZE)
        runs.check_writable(runs_dir)
        self.policy.check_request(requester, config)
        owner = requester.owner()
        disk = runs.disk_usage(runs_dir)  # outside the lock: it reads every run's metrics
        with self._lock:
            if self._closed:
                raise QueueError("The training queue is shutting down.")
            priority = self.policy.priority(owner)
            waiting = sum(job.state == "queued" and job.priority == priority for job in self._jobs.values())
            if priority == 0 and waiting >= MAX_WAITING:
                raise QueueError(f"{MAX_WAITING} trainings are already waiting; try again when some have run.")
            self.policy.check_capacity(requester, config, self._load(requester, owner, disk))
            job = _Job(secrets.token_hex(4), config, self._name_for(runs_dir, name, preset_name), preset_name,
                       runs_dir, owner=owner, browser=requester.browser, address=requester.address,
                       priority=priority, time_limit=self.policy.time_limit_seconds(owner))
            self._jobs[job.id] = job
            self._forget_old_jobs()
            self._dispatch()
            self._changed.notify_all()
            return job.id

    def cancel(self, job_id: str, requester=None) -> None:
        """Take a queued job out of the line, or stop a running one (its partial run is kept); a
        stalled or saving one is killed (nothing is kept). Only whom the policy allows."""
        requester = requester or Requester()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise QueueError("That training is no longer known (the server may have restarted).")
            if not self.policy.may_change(requester, job.owner):
                raise QueueError("Only the teacher and the person who started a training can cancel or stop it.")
            now = time.monotonic()
            if job.state == "queued":
                self._end_queued(job, "Cancelled before it started.")
            elif job.state == "saving" and job.worker is not None:
                self._kill(job, "Stopped while it was being saved: the run was not kept.")
            elif job.state in RUNNING_STATES and job.worker is not None:
                if self._stalled(job, now):
                    self._kill(job, self._stall_sentence())
                else:
                    job.state = "stopping"
                    job.worker.send(protocol.Stop())

    def discard(self, requester, which) -> int:
        """End every active job whose owner `which(owner)` picks and the requester may change, and
        keep nothing they save (a run one publishes before it dies is deleted). The teacher's
        "clear all student runs": returns how many were ended."""
        ended = 0
        with self._lock:
            for job in self._jobs.values():
                if job.state not in ACTIVE_STATES or not which(job.owner):
                    continue
                if not self.policy.may_change(requester, job.owner):
                    continue
                ended += 1
                job.discard = True
                if job.state == "queued":
                    self._end_queued(job, "Cancelled: the teacher cleared the students' runs.")
                elif job.worker is not None:
                    self._kill(job, "Stopped: the teacher cleared the students' runs; nothing was kept.")
            self._changed.notify_all()
        return ended

    def hold_students(self, held: bool) -> None:
        """Pause (or resume) the jobs the policy ranks after the teacher's: they wait; running ones finish."""
        with self._lock:
            self._students_held = bool(held)
            self._dispatch()
            self._changed.notify_all()

    @property
    def students_held(self) -> bool:
        with self._lock:
            return self._students_held

    # --- reading ---------------------------------------------------------------------------

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._snapshot(job, time.monotonic(), self._waiting_estimates())

    def snapshots(self, active_only: bool = False) -> list[JobSnapshot]:
        """Every remembered job (or only the queued and running ones): running ones first, then the
        line in the order it will be served."""
        with self._lock:
            now = time.monotonic()
            estimates = self._waiting_estimates()  # once for all, not once per job
            jobs = [job for job in self._jobs.values() if not active_only or job.state in ACTIVE_STATES]
            order = {job.id: index for index, job in enumerate(self._line())}
            jobs.sort(key=lambda job: (job.state == "queued", order.get(job.id, 0)))
            return [self._snapshot(job, now, estimates) for job in jobs]

    def live_snapshot(self, job_id: str, epoch_end: bool = False) -> Snapshot | None:
        """The latest snapshot of a running job's latent space (or of its latest finished epoch);
        None before the first one and once the job has ended. Asking counts as watching: the
        worker streams live snapshots, with its decoder, only while someone asks."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.watched_until = time.monotonic() + WATCH_SECONDS
            self._send_watch(job)
            return job.live_epoch_end if epoch_end else job.live

    def live_decoder_snapshot(self, job_id: str) -> Snapshot | None:
        """The latest finished epoch's snapshot with the decoder (before one, the first with it):
        what the live explorer draws. Counts as watching, as live_snapshot."""
        with self._lock:
            self.live_snapshot(job_id)
            job = self._jobs.get(job_id)
            return None if job is None else job.live_decoder

    def unavailable(self) -> str | None:
        """Why training cannot start now (warm workers keep dying at start), in one sentence; else None."""
        with self._lock:
            if self._unavailable is None:
                return None
            wait = max(0.0, self._next_spawn_at - time.monotonic())
            return f"{self._unavailable} Trying again in {wait:.0f} s." if wait >= 1 else self._unavailable

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.pid for worker in self._workers if worker.alive()]

    def warm_workers(self) -> int:
        """Spare workers that have imported TensorFlow and wait for a job."""
        with self._lock:
            return sum(worker.ready.is_set() and worker.alive() for worker in self._spares)

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
        """Cancel every queued job and kill every running one (tests; shutting down)."""
        with self._lock:
            for job in self._jobs.values():
                if job.state == "queued":
                    self._end_queued(job, "Cancelled before it started.")
                elif job.state in RUNNING_STATES and job.worker is not None:
                    self._kill(job, "The training was stopped by the server; nothing was saved.")
            self._changed.notify_all()

    def shutdown(self) -> None:
        """Kill every worker (their runs are not saved) and refuse new requests."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._changed.notify_all()
        for worker in workers:
            worker.kill()

    # --- inside ----------------------------------------------------------------------------

    def _load(self, requester, owner: dict | None, disk: runs.DiskUsage) -> Load:
        """What is queued, running and saved, as the policy weighs a new request (lock held)."""
        active = [job for job in self._jobs.values() if job.state in ACTIVE_STATES]
        students = [job for job in active if job.priority > 0]
        mine = [job for job in active if _same_owner(job.owner, owner)]
        pending = {job.id: cost.run_bytes(job.config) for job in active}
        saved_mine = sum(size for run_owner, size in disk.runs if _same_owner(run_owner, owner))
        saved_students = sum(size for run_owner, size in disk.runs if self.policy.priority(run_owner) > 0)
        return Load(
            owner_jobs=len(mine),
            device_jobs=sum(job.address == requester.address for job in students),
            class_jobs=len(students),
            owner_bytes=saved_mine + sum(pending[job.id] for job in mine),
            class_bytes=saved_students + sum(pending[job.id] for job in students),
            free_bytes=disk.free_bytes - sum(pending.values()),
        )

    def _name_for(self, runs_dir: Path, name: str | None, preset_name: str | None) -> str:
        """The given name if it is free (on disk and among jobs that will save), else a new one."""
        reserved = {job.run_name for job in self._jobs.values()
                    if job.state in ACTIVE_STATES and job.runs_dir == runs_dir}
        if name:
            if runs.run_path(runs_dir, name).exists() or name in reserved:
                raise RunError(f"A run named {name!r} already exists; choose another name.")
            return name
        name = runs.unique_run_name(runs_dir, preset_name or "custom")
        base, n = name, 2
        while name in reserved:
            name, n = f"{base}-{n}", n + 1
        return name

    def _end_queued(self, job: _Job, message: str) -> None:
        job.state, job.message, job.finished = "cancelled", message, time.monotonic()
        self._changed.notify_all()

    def _kill(self, job: _Job, reason: str) -> None:
        job.kill_reason = reason
        job.worker.kill()

    def _stall_sentence(self) -> str:
        return (f"The training process stalled (no progress for over {self.stall_seconds:.0f} s) and was "
                "stopped; nothing was saved.")

    def _held(self, job: _Job) -> bool:
        return self._students_held and job.priority > 0

    def _line(self) -> list[_Job]:
        """Queued jobs in the order they will be served: by priority, then by arrival."""
        queued = [job for job in self._jobs.values() if job.state == "queued"]
        return sorted(queued, key=lambda job: (job.priority, job.submitted))

    def _forget_old_jobs(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.state not in ACTIVE_STATES]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]

    def _top_up_spares(self) -> None:
        """Keep a warm worker for each free slot. A new one imports TensorFlow (a few seconds of
        CPU that a running training would feel), so while every slot is busy one is started only
        if a job is waiting for it. After warm workers died at start, wait before the next."""
        self._spares = [worker for worker in self._spares if worker.alive()]
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        waiting = any(job.state == "queued" and not self._held(job) for job in self._jobs.values())
        wanted = max(self.slots - running, 1 if waiting else 0)
        while not self._closed and len(self._spares) < wanted and time.monotonic() >= self._next_spawn_at:
            worker = self._worker_factory(self._on_event, self._on_exit)
            self._workers.add(worker)
            self._spares.append(worker)
            if self._spare_failures:
                break  # one at a time until one starts

    def _take_spare(self):
        """A warm worker for a job: one that is ready; or, while workers start fine, one still
        warming up (the job waits in its input). None when there is none to give."""
        ready = [worker for worker in self._spares if worker.alive() and worker.ready.is_set()]
        starting = [worker for worker in self._spares if worker.alive() and not worker.ready.is_set()]
        chosen = ready or ([] if self._spare_failures else starting)
        if not chosen:
            return None
        self._spares.remove(chosen[0])
        return chosen[0]

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (lock held)."""
        if self._closed:
            return
        self._top_up_spares()
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        for job in [job for job in self._line() if not self._held(job)][: max(0, self.slots - running)]:
            worker = self._take_spare()
            if worker is None:
                break
            worker.job, job.worker = job, worker
            job.state, job.started = "starting", time.monotonic()
            job.last_event = job.started
            worker.send(protocol.Train(job.config.to_dict(), str(job.runs_dir), job.run_name, job.preset_name,
                                       job.owner))
        self._top_up_spares()

    def _on_event(self, worker, event) -> None:
        with self._lock:
            if isinstance(event, protocol.Ready):
                self._spare_failures, self._unavailable = 0, None
                if worker.job is not None:  # its job waited for it: the silence starts counting now
                    worker.job.last_event = time.monotonic()
                self._dispatch()
                self._changed.notify_all()
                return
            job = worker.job
            if job is None:
                return
            job.last_event = time.monotonic()
            if isinstance(event, Exception):  # the reader could not understand the worker
                log.warning("worker %s: %s", worker.pid, event)
                job.kill_reason = job.kill_reason or ("The training process sent something this server cannot read "
                                                      "and was stopped; nothing was saved.")
            elif isinstance(event, protocol.SnapshotEvent):
                if job.state in RUNNING_STATES:
                    job.record_snapshot(event.snapshot)
            elif isinstance(event, protocol.Batch):
                job.record_batch(event)
                if job.state == "starting":
                    job.state = "running"
            elif isinstance(event, protocol.Epoch):
                job.record_epoch(event)
            elif isinstance(event, protocol.Saving):
                job.state = "saving"
            elif isinstance(event, protocol.Finished):
                job.state = event.state
                job.message = (f"Run {event.run_name!r} saved: test −ELBO {event.test_neg_elbo:.1f} after "
                               f"{event.epochs_completed} epochs." + (f" {job.stop_note}" if job.stop_note else ""))
                self._learn_speed(job)
            elif isinstance(event, protocol.Failed):
                job.state, job.message = "failed", event.message
            self._changed.notify_all()

    def _on_exit(self, worker, returncode: int) -> None:
        with self._lock:
            self._workers.discard(worker)
            job = worker.job
            if job is not None:
                job.drop_live()  # the saved run (if any) takes over; memory goes back
                if job.state in ACTIVE_STATES:  # it never said how the job ended
                    job.state = "failed"
                    job.message = job.kill_reason or self._ended_sentence(worker, returncode)
                job.finished = time.monotonic()
                job.worker = None
                worker.job = None
                if job.discard:
                    self._delete_discarded(job)
            elif not self._closed and worker in self._spares:
                self._spare_died(worker, returncode)
            self._dispatch()
            self._changed.notify_all()

    def _ended_sentence(self, worker, returncode: int) -> str:
        if worker.ready.is_set() or not worker.last_error():
            return ended_unexpectedly(returncode)
        return f"The training process could not start ({worker.last_error()}); nothing was saved."

    def _spare_died(self, worker, returncode: int) -> None:
        """A warm worker exited before taking a job: retry later and later, and say why."""
        self._spares.remove(worker)
        self._spare_failures += 1
        delay = min(MAX_RESPAWN_DELAY_SECONDS, 2.0 ** (self._spare_failures - 1))
        self._next_spawn_at = time.monotonic() + delay
        reason = worker.last_error() or f"exit code {returncode}"
        log.warning("a warm training process exited early (%s); next try in %.0f s", reason, delay)
        if self._spare_failures >= 2:
            self._unavailable = f"Training is unavailable: the training process could not start ({reason})."

    @staticmethod
    def _delete_discarded(job: _Job) -> None:
        """A run the teacher cleared that was published before its process died: delete it."""
        try:
            run = runs.find_run(job.runs_dir, job.run_name)
            if _same_owner(run.metrics.get("owner"), job.owner):
                runs.delete_run(job.runs_dir, job.run_name)
        except (LabError, OSError):
            pass  # never saved, or already gone

    def _learn_speed(self, job: _Job) -> None:
        """How this machine's real durations compare with vae.cost's estimate, per architecture."""
        if job.started is None or job.state != "completed":
            return
        measured = time.monotonic() - job.started
        factors = self._speed_factors.setdefault(job.config.arch, collections.deque(maxlen=5))
        factors.append(measured / max(cost.estimated_seconds(job.config), 1.0))

    def _estimated_seconds(self, config: TrainConfig) -> float:
        factors = self._speed_factors.get(config.arch)
        return cost.estimated_seconds(config) * (statistics.median(factors) if factors else 1.0)

    def _remaining_seconds(self, job: _Job, now: float) -> float:
        eta = job.eta_seconds()
        if math.isfinite(eta):
            return eta
        return max(0.0, self._estimated_seconds(job.config) - (now - (job.started or now)))

    def _stalled(self, job: _Job, now: float) -> bool:
        if job.state not in RUNNING_STATES:
            return False
        if job.worker is not None and not job.worker.ready.is_set():  # still warming up: not silent yet
            return now - job.started > max(self.stall_seconds, STARTUP_STALL_SECONDS)
        return now - job.last_event > self.stall_seconds

    def _quiet(self, job: _Job, now: float) -> bool:
        """Silent for half the stall limit: shown as possibly stuck before the queue ends it."""
        ready = job.worker is None or job.worker.ready.is_set()
        return job.state in RUNNING_STATES and ready and now - job.last_event > self.stall_seconds / 2

    def _waiting_estimates(self) -> dict[str, tuple[int, float]]:
        """(position, seconds until start) of each queued job that is not held."""
        now = time.monotonic()
        remaining = [self._remaining_seconds(job, now) for job in self._jobs.values() if job.state in RUNNING_STATES]
        line = [job for job in self._line() if not self._held(job)]
        starts = start_estimates(remaining, [self._estimated_seconds(job.config) for job in line], self.slots)
        return {job.id: (position, start) for position, (job, start) in enumerate(zip(line, starts, strict=True), 1)}

    def _snapshot(self, job: _Job, now: float, estimates: dict[str, tuple[int, float]]) -> JobSnapshot:
        position, start = estimates.get(job.id, (0, 0.0))
        last = job.last_batch
        end = job.finished or now
        return JobSnapshot(
            id=job.id, state=job.state, run_name=job.run_name, config=job.config, preset_name=job.preset_name,
            position=position, estimated_start_seconds=start,
            epoch=last.epoch if last else 0, batch=last.batch if last else 0,
            batches_per_epoch=last.batches_per_epoch if last else 0,
            fraction_done=job.fraction_done(), eta_seconds=job.eta_seconds() if job.state != "saving" else 0.0,
            elapsed_seconds=end - job.started if job.started else 0.0,
            seconds_since_progress=now - job.last_event if job.started else 0.0,
            stalled=self._quiet(job, now),
            batch_points=tuple(job.batch_points), epoch_points=tuple(job.epoch_points), message=job.message,
            snapshots_received=job.snapshots_received, owner=job.owner, browser=job.browser,
            held=job.state == "queued" and self._held(job), time_limit_seconds=job.time_limit,
        )

    # --- housekeeping: what nobody asks for, on a timer ------------------------------------

    def _housekeeping(self) -> None:
        with self._lock:
            while not self._closed:
                self._tend(time.monotonic())
                self._changed.wait(HOUSEKEEPING_SECONDS)

    def _tend(self, now: float) -> None:
        """End stalled jobs, stop jobs past their time limit, tell workers whether anyone watches,
        and start a warm worker once a back-off has passed (lock held)."""
        for job in self._jobs.values():
            if job.state not in RUNNING_STATES or job.worker is None:
                continue
            if self._stalled(job, now):
                self._kill(job, self._stall_sentence())
            elif job.stop_asked is not None and now - job.stop_asked > STOP_GRACE_SECONDS:
                self._kill(job, f"{job.stop_note} It did not stop in time and was ended; nothing was saved.")
            elif job.time_limit is not None and job.stop_asked is None and now - job.started > job.time_limit:
                job.stop_asked = now
                job.stop_note = (f"It reached this class's time limit ({job.time_limit / 60:.0f} min) and was "
                                 "stopped; the partial run was kept.")
                if job.state in ("starting", "running"):
                    job.state = "stopping"
                job.worker.send(protocol.Stop())
            self._send_watch(job)
        if not self._spares and time.monotonic() >= self._next_spawn_at:
            self._dispatch()

    def _send_watch(self, job: _Job) -> None:
        """Tell the job's worker when watching starts or stops (lock held)."""
        wanted = time.monotonic() < job.watched_until
        if job.worker is not None and wanted != job.watch_sent:
            job.watch_sent = wanted
            job.worker.send(protocol.Watch(wanted))


def _same_owner(a: dict | None, b: dict | None) -> bool:
    """Two owner records of the same person: the same role and key (the teacher's: the role)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return a is None and b is None
    return (a.get("role"), a.get("key", "")) == (b.get("role"), b.get("key", ""))
