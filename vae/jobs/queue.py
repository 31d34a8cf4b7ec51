"""The training queue: requests from every browser session wait in one line and run, N at a time,
each in its own worker process (vae.jobs.worker). The web server never imports TensorFlow.

A warm worker (vae.jobs.pool) is kept waiting, so a job starts at once; a worker trains job after
job (vae.jobs.training_job), until it has used its share of memory or jobs and exits, its memory
going back to the system. Progress arrives as protocol lines
(vae.jobs.protocol) that a reader thread per worker (vae.jobs.process) turns into a job's state
(vae.jobs.job), which any session can snapshot. A housekeeping thread ends what would otherwise
wedge the line: a job with no progress for the stall limit, a job past its time limit.

Who may cancel or stop a job, who comes first and what a request may cost are a policy's to say
(vae.jobs.policy; vae.classroom.ClassroomPolicy in the app); the queue counts, under its lock, and asks.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from functools import partial
from pathlib import Path

from vae import runs, timeline
from vae.config import TrainConfig
from vae.i18n import N_, _, ngettext
from vae.jobs import protocol
from vae.jobs.admission import QueueError, admit, check_request
from vae.jobs.broker import broker_from_environment
from vae.jobs.estimates import SpeedLearner, start_estimates
from vae.jobs.housekeeping import Housekeeping
from vae.jobs.job import ACTIVE_STATES, RUNNING_STATES, Job, JobSnapshot
from vae.jobs.live_files import LiveWriter
from vae.jobs.policy import OpenPolicy, Requester, same_owner
from vae.jobs.pool import WorkerPool
from vae.jobs.process import ended_unexpectedly, reusable_worker
from vae.jobs.remote import CeleryBackend
from vae.jobs.store import INTERRUPTED, VIEW, JobStore, restore
from vae.settings import DEFAULT_STALL_SECONDS, settings
from vae.snapshots import Snapshot
from vae.states import JobState

__all__ = ["QueueError", "TrainingQueue", "workers_sentence"]

KEEP_FINISHED = 50  # finished jobs remembered (for their owners' pages)
WATCH_SECONDS = 10.0  # a live view that asked for a snapshot this recently counts as watching
FOLLOW_SECONDS = 0.2  # with several web servers: how often the queue's process looks at the store's changes
VIEW_SECONDS = 0.5  # and at most how often it writes its view (places in line, estimates) there
log = logging.getLogger(__name__)


def workers_sentence(remote: bool, count: int) -> str:
    """Who trains, for a sentence, in the session's language: "one at a time on this machine" or
    "on 3 training machines (Celery)". `count`: the slots, or the training machines (remote)."""
    if not remote:
        return _("one at a time on this machine") if count == 1 else _("{slots} at a time on this machine").format(
            slots=count)
    return ngettext("on {count} training machine (Celery)", "on {count} training machines (Celery)", count).format(
        count=count)


class TrainingQueue(Housekeeping):
    """One queue of training requests with `slots` running at once, served by the policy's
    priority, then first come, first served. Thread-safe: every browser session shares one."""

    def __init__(self, slots: int = 1, stall_seconds: float = DEFAULT_STALL_SECONDS, worker_factory=None,
                 policy=None, store: JobStore | None = None, backend=None, live: LiveWriter | None = None,
                 warm: bool = True):
        """`store`: where the line survives a restart (vae.jobs.store); `backend(on_event, on_exit)`:
        who runs the jobs, if not local worker processes (vae.jobs.remote.CeleryBackend). `live`:
        this is the queue's own process of a class on several web servers (vae.classroom.dispatch):
        it takes submissions and requests from the store, and writes live progress to files. `warm`:
        a worker is kept ready for each free slot (else one starts when a job waits for it)."""
        self.slots = slots
        self.warm = warm
        self.stall_seconds = stall_seconds
        self.policy = policy or OpenPolicy()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, Job] = {}  # every job, in order of submission
        self._pool = (backend or partial(WorkerPool, worker_factory or reusable_worker))(self._on_event, self._on_exit)
        self._remote = self._pool.remote  # declared by its backend (vae.jobs.backend)
        self._store = store
        self._speed = SpeedLearner()
        self._closed = False
        self._students_held = bool(store.setting("students_held", False)) if store else False
        self._live = live
        atexit.register(self.shutdown)
        with self._lock:
            for job in restore(store, self._pool) if store else []:
                self._jobs[job.id] = job
                self._save(job)
            if live:
                live.keep_only(set(self._jobs))
            self._dispatch()
        self._housekeeper = threading.Thread(target=self._housekeeping, daemon=True, name="queue-housekeeping")
        self._housekeeper.start()
        if live and store:
            threading.Thread(target=self._follow_store, daemon=True, name="queue-follows-store").start()

    @classmethod
    def from_environment(cls, policy=None, store: JobStore | None = None,
                         live: LiveWriter | None = None) -> TrainingQueue:
        """Slots and stall limit from the environment; on Celery when LATENT_LAB_BROKER is set."""
        broker = broker_from_environment()
        backend = partial(CeleryBackend, broker) if broker else None
        current = settings()
        return cls(current.training_slots, current.stall_seconds, policy=policy, store=store,
                   backend=backend, live=live, warm=current.warm_training)

    # --- requests --------------------------------------------------------------------------

    def submit(self, config: TrainConfig, runs_dir: Path, preset_name: str | None = None,
               name: str | None = None, requester=None) -> str:
        """Queue a training that saves into `runs_dir`; returns its job id. Raises at once, before
        any waiting, for what would make it fail or what the policy refuses: a bad or taken name, an
        unwritable folder, a request too costly, or too many queued for this person, device, class."""
        requester = requester or Requester()
        runs_dir = Path(runs_dir)
        disk = check_request(config, runs_dir, requester, self.policy)
        with self._lock:
            if self._closed:
                raise QueueError(_("The training queue is shutting down."))
            job = admit(list(self._jobs.values()), config, runs_dir, preset_name, name, requester, self.policy, disk)
            timeline.mark(f"queue: job {job.id} submitted")
            self._jobs[job.id] = job
            if self._store:
                self._store.add(job)
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
                raise QueueError(_("That training is no longer known (the server may have restarted)."))
            if not self.policy.may_change(requester, job.owner):
                raise QueueError(_("Only the teacher and the person who started a training can cancel or stop it."))
            self._cancel(job)

    # A job's message is kept (and stored) in English, marked N_: the page that shows it translates it.
    def _cancel(self, job: Job) -> None:
        with self._lock:
            now = time.monotonic()
            if job.state == JobState.QUEUED:
                self._end_queued(job, N_("Cancelled before it started."))
            elif job.state == JobState.SAVING and job.worker is not None:
                self._kill(job, N_("Stopped while it was being saved: the run was not kept."))
            elif job.state in RUNNING_STATES and job.worker is not None:
                if self._stalled(job, now):
                    self._kill(job, self._stall_sentence())
                else:
                    job.state = JobState.STOPPING
                    job.worker.send(protocol.Stop())
            self._save(job)

    def discard(self, requester, which) -> int:
        """End every active job whose owner `which(owner)` picks and the requester may change, and
        keep nothing they save (a run one publishes before it dies is deleted). The teacher's
        "clear all student runs": returns how many were ended."""
        ended = 0
        with self._lock:
            for job in list(self._jobs.values()):
                if job.state in ACTIVE_STATES and which(job.owner) and self.policy.may_change(requester, job.owner):
                    ended += 1
                    self._discard(job)
        return ended

    def _discard(self, job: Job) -> None:
        with self._lock:
            if job.state not in ACTIVE_STATES:
                return
            job.discard = True
            if job.state == JobState.QUEUED:
                self._end_queued(job, N_("Cancelled: the teacher cleared the students' runs."))
            elif job.worker is not None:
                self._kill(job, N_("Stopped: the teacher cleared the students' runs; nothing was kept."))
            self._changed.notify_all()

    def hold_students(self, held: bool) -> None:
        """Pause (or resume) the jobs the policy ranks after the teacher's: they wait; running ones finish."""
        with self._lock:
            self._students_held = bool(held)
            if self._store:
                self._store.set_setting("students_held", self._students_held)
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
            jobs.sort(key=lambda job: (job.state == JobState.QUEUED, order.get(job.id, 0)))
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

    def workers_text(self) -> str:
        """Who trains, for a sentence: "one at a time on this machine" or "on 3 training machines"."""
        return workers_sentence(bool(self._remote), self._workers_count())

    def _workers_count(self) -> int:
        return self._pool.capacity(self.slots)  # the local pool answers its slots; Celery, its workers alive

    def unavailable(self) -> str | None:
        """Why training cannot start now (warm workers keep dying at start), in one sentence; else None."""
        with self._lock:
            return self._pool.unavailable()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.pid for worker in self._pool.workers if worker.alive()]

    def warm_workers(self) -> int:
        """Spare workers that have imported TensorFlow and wait for a job."""
        with self._lock:
            return self._pool.warm()

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
                if job.state == JobState.QUEUED:
                    self._end_queued(job, N_("Cancelled before it started."))
                elif job.state in RUNNING_STATES and job.worker is not None:
                    self._kill(job, N_("The training was stopped by the server; nothing was saved."))
            self._changed.notify_all()

    def shutdown(self) -> None:
        """Refuse new requests and kill every local worker (their runs are not saved)."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                if job.state in RUNNING_STATES:
                    job.kill_reason = job.kill_reason or INTERRUPTED
            self._changed.notify_all()
            self._pool.kill_all()  # local workers only: Celery's go on, and a restarted server follows them

    # --- inside ----------------------------------------------------------------------------

    def _end_queued(self, job: Job, message: str) -> None:
        job.state, job.message, job.finished = JobState.CANCELLED, message, time.monotonic()
        self._save(job)
        self._changed.notify_all()

    def _save(self, job: Job) -> None:
        """Write what must survive a restart, when it has changed (lock held)."""
        stored = (job.state, job.message, job.started, job.finished, getattr(job.worker, "token", None))
        if self._store and stored != job.stored:
            job.stored = stored
            self._store.update(job)

    def _held(self, job: Job) -> bool:
        return self._students_held and job.priority > 0

    def _line(self) -> list[Job]:
        """Queued jobs in the order they will be served: by priority, then by arrival."""
        queued = [job for job in self._jobs.values() if job.state == JobState.QUEUED]
        return sorted(queued, key=lambda job: (job.priority, job.submitted))

    def _forget_old_jobs(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.state not in ACTIVE_STATES]
        forgotten = finished[: max(0, len(finished) - KEEP_FINISHED)]
        for job_id in forgotten:
            del self._jobs[job_id]
        if self._store and forgotten:
            self._store.forget(forgotten)
        if self._live and forgotten:
            self._live.forget(forgotten)

    def _top_up_spares(self) -> None:
        """Keep a warm worker for each free slot (unless `warm` is off). A new one imports TensorFlow
        (a few seconds of CPU that a running training would feel), so while every slot is busy, or
        with `warm` off, one is started only if a job is waiting for it."""
        if self._closed:
            return
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        waiting = any(job.state == JobState.QUEUED and not self._held(job) for job in self._jobs.values())
        # A worker that takes job after job comes back warm when its job ends: none is started to
        # wait beside it.
        returning = sum(worker.job is not None and getattr(worker, "takes_more", False)
                        for worker in self._pool.workers)
        spares = self.slots - max(running, returning) if self.warm else 0
        self._pool.top_up(max(spares, 1 if waiting and not returning else 0))

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (lock held)."""
        if self._closed:
            return
        self._top_up_spares()
        running = sum(job.state in RUNNING_STATES for job in self._jobs.values())
        line = [job for job in self._line() if not self._held(job)]
        for job in line if self._remote else line[: max(0, self.slots - running)]:  # remote: while a worker is idle
            worker = self._pool.take()
            if worker is None:
                break
            worker.job, job.worker = job, worker
            timeline.mark(f"queue: job {job.id} handed to a training process")
            job.state, job.started = JobState.STARTING, time.monotonic()
            job.last_event = job.started
            worker.send(protocol.Train(job.config.to_dict(), str(job.runs_dir), job.run_name, job.preset_name,
                                       job.owner, self.policy.limits_for(job.owner)))
            self._save(job)
        self._top_up_spares()

    def _on_event(self, worker, event) -> None:
        with self._lock:
            if isinstance(event, protocol.Ready):
                self._pool.started()
                if worker.job is not None and worker.job.state not in ACTIVE_STATES:
                    self._release(worker)  # ready again after its job (vae.jobs.training_job): the next one's
                    self._pool.give_back(worker)
                elif worker.job is not None:  # its job waited for it: the silence starts counting now
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
                job.kill_reason = job.kill_reason or N_("The training process sent something this server cannot "
                                                        "read and was stopped; nothing was saved.")
            else:
                job.apply(event)
                if isinstance(event, protocol.SnapshotEvent):
                    timeline.mark(f"queue: job {job.id} live snapshot received")
                self._save(job)
                if self._live:
                    self._write_live(job, event)
                if isinstance(event, protocol.Finished) and job.state == JobState.COMPLETED:
                    self._speed.learn(job.config, time.monotonic() - job.started)  # better estimates next time
            self._changed.notify_all()

    def _on_exit(self, worker, returncode: int) -> None:
        with self._lock:
            self._pool.exited(worker, returncode, self._closed)
            job = worker.job
            if job is not None:
                if job.state in ACTIVE_STATES:  # it never said how the job ended
                    job.state = JobState.INTERRUPTED if job.kill_reason == INTERRUPTED else JobState.FAILED
                    job.message = job.kill_reason or self._ended_sentence(worker, returncode)
                self._release(worker)
            self._dispatch()
            self._changed.notify_all()

    def _release(self, worker) -> None:
        """Part a worker from its ended job (lock held)."""
        job = worker.job
        job.drop_live()  # the saved run (if any) takes over; memory goes back
        if self._live:
            self._live.drop_snapshots(job.id)
        job.finished = time.monotonic()
        self._save(job)
        job.worker = None
        worker.job = None
        if job.discard:  # cleared by the teacher: a run it published before it died goes too
            runs.delete_if_owned(job.runs_dir, job.run_name, lambda owner, job=job: same_owner(owner, job.owner))

    def _ended_sentence(self, worker, returncode: int) -> str:
        if worker.ready.is_set() or not worker.last_error():
            return ended_unexpectedly(returncode)
        return _("The training process could not start ({error}); nothing was saved.").format(
            error=worker.last_error())

    def _waiting_estimates(self) -> dict[str, tuple[int, float]]:
        """(position, seconds until start) of each queued job that is not held."""
        now = time.monotonic()
        remaining = [job.remaining_seconds(now, self._speed.seconds(job.config))
                     for job in self._jobs.values() if job.state in RUNNING_STATES]
        line = [job for job in self._line() if not self._held(job)]
        slots = max(1, self._pool.capacity(self.slots))
        starts = start_estimates(remaining, [self._speed.seconds(job.config) for job in line], slots)
        return {job.id: (position, start) for position, (job, start) in enumerate(zip(line, starts, strict=True), 1)}

    def _snapshot(self, job: Job, now: float, estimates: dict[str, tuple[int, float]]) -> JobSnapshot:
        position, start = estimates.get(job.id, (0, 0.0))
        quiet = job.silent_seconds(now) > self.stall_seconds / 2  # shown as maybe stuck before it is ended
        return job.snapshot(now, position, start, quiet, held=job.state == JobState.QUEUED and self._held(job))

    # --- the queue's own process of a class on several web servers ---------------------------------

    def _write_live(self, job: Job, event) -> None:
        """What every web server reads of a running job: its curve's points and latest snapshots."""
        try:
            if isinstance(event, protocol.Batch | protocol.Epoch):
                self._live.progress(job.id, event)
            elif isinstance(event, protocol.SnapshotEvent) and job.live is event.snapshot:
                self._live.snapshot(job)
        except OSError as error:  # a full disk: the pages show less, the training goes on
            log.warning("writing %s's live progress: %s", job.id, error)

    def _follow_store(self) -> None:
        """Take up what the web servers wrote to the store (new jobs, requests, the pause) whenever
        its count of changes moves; publish this process's view for their pages."""
        seen, published, last_view = None, 0.0, None
        while not self._closed:
            try:
                changes = self._store.changes()
                if changes != seen:
                    seen = changes
                    self._take_up()
                if time.monotonic() - published >= VIEW_SECONDS:
                    published, view = time.monotonic(), self._view()
                    if view != last_view:
                        self._store.set_setting(VIEW, view)
                        last_view = view
            except Exception:  # noqa: BLE001 - a busy or replaced store: looked at again in a moment
                log.exception("following the class's store")
            time.sleep(FOLLOW_SECONDS)

    def _take_up(self) -> None:
        known = set(self._jobs)
        new = [job for job in self._store.jobs() if job.id not in known and job.state == JobState.QUEUED]
        requests = self._store.take_requests()
        held = bool(self._store.fresh_setting("students_held", False))
        with self._lock:
            for job in new:
                job.stored = (job.state, job.message, job.started, job.finished, None)
                self._jobs[job.id] = job
            for job_id, kind in requests:
                job = self._jobs.get(job_id)
                if job is not None:
                    self._cancel(job) if kind == "cancel" else self._discard(job)
            self._students_held = held
            self._forget_old_jobs()
            self._dispatch()
            self._changed.notify_all()

    def _view(self) -> dict:
        """What only this process knows, for the web servers' pages: each active job's place in line,
        estimated start, whether it is quiet or held, its last progress and training process."""
        with self._lock:
            now, wall = time.monotonic(), time.time()
            estimates = self._waiting_estimates()
            jobs = {}
            for job in self._jobs.values():
                if job.state in ACTIVE_STATES:
                    snap = self._snapshot(job, now, estimates)  # as this process's own pages would see it
                    jobs[job.id] = {
                        "position": snap.position, "start": round(snap.estimated_start_seconds),
                        "quiet": snap.stalled, "held": snap.held,
                        "progress_at": round(wall - (now - job.last_event)) if job.last_event else None,
                        "pid": self.pid_of(job.id)}
            return {"jobs": jobs, "unavailable": self._pool.unavailable(), "warm": self._pool.warm(),
                    "workers": self.workers_text(), "remote": bool(self._remote),
                    "workers_count": self._workers_count(), "stall_seconds": self.stall_seconds,
                    "worker_pids": self.worker_pids()}

    def _watched_from_files(self, job: Job) -> None:
        """A web server marked the job watched: for WATCH_SECONDS from then (lock held)."""
        marked = self._live.watched_at(job.id)
        if marked:
            job.watched_until = max(job.watched_until, time.monotonic() - (time.time() - marked) + WATCH_SECONDS)
