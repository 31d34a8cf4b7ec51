"""The training queue as each web server of a class on several sees it (`make classroom
SERVERS=3`): the queue itself runs in its own process (vae.classroom.dispatch), and nothing passes
between them but the class's store and the jobs' live files.

- A submission is checked here by the same rules (vae.jobs.admission) and written to the store in
  the transaction that reads the line; the queue's process takes it up within a moment.
- Cancel, discard and the pause are requests written to the store; the queue's process acts on
  them (the rules about who may are checked here, against the job as the store has it).
- A job's state is read from the store (written only by the queue's process); its curve and live
  snapshots from its files (vae.jobs.live_files); its place in line, estimated start and training
  process from the view the queue's process publishes in the store.

If the queue's process is down (killed, being started again), submissions wait in the store and
the pages keep drawing; nothing here waits on it."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from vae.config import TrainConfig
from vae.i18n import _
from vae.jobs.admission import QueueError, admit, check_request
from vae.jobs.job import ACTIVE_STATES, Job, JobSnapshot
from vae.jobs.live_files import LiveReader, live_folder
from vae.jobs.policy import OpenPolicy, Requester
from vae.jobs.queue import workers_sentence
from vae.jobs.store import VIEW, JobStore
from vae.settings import DEFAULT_STALL_SECONDS
from vae.snapshots import Snapshot
from vae.states import JobState

IDLE_POLL_SECONDS = 0.2


class StoreQueue:
    """The pages' training queue, on a web server of a class on several: the same methods as
    vae.jobs.queue.TrainingQueue, through the store."""

    def __init__(self, store: JobStore, runs_dir: Path, policy=None):
        self._store = store
        self.policy = policy or OpenPolicy()
        self._live = LiveReader(live_folder(runs_dir))

    # --- requests --------------------------------------------------------------------------

    def submit(self, config: TrainConfig, runs_dir: Path, preset_name: str | None = None,
               name: str | None = None, requester=None) -> str:
        requester = requester or Requester()
        runs_dir = Path(runs_dir)
        disk = check_request(config, runs_dir, requester, self.policy)
        job = self._store.add_admitted(
            lambda jobs: admit(jobs, config, runs_dir, preset_name, name, requester, self.policy, disk))
        return job.id

    def cancel(self, job_id: str, requester=None) -> None:
        job = next((job for job in self._store.jobs() if job.id == job_id), None)
        if job is None:
            raise QueueError(_("That training is no longer known (the server may have restarted)."))
        if not self.policy.may_change(requester or Requester(), job.owner):
            raise QueueError(_("Only the teacher and the person who started a training can cancel or stop it."))
        if job.state in ACTIVE_STATES:
            self._store.ask("cancel", [job_id])

    def discard(self, requester, which) -> int:
        """Ask the queue's process to end every active job whose owner `which(owner)` picks and the
        requester may change, keeping nothing they save; how many were asked."""
        chosen = [job.id for job in self._store.jobs() if job.state in ACTIVE_STATES and which(job.owner)
                  and self.policy.may_change(requester, job.owner)]
        if chosen:
            self._store.ask("discard", chosen)
        return len(chosen)

    def hold_students(self, held: bool) -> None:
        self._store.set_shared_setting("students_held", bool(held))

    @property
    def students_held(self) -> bool:
        return bool(self._store.setting("students_held", False))

    # --- reading ---------------------------------------------------------------------------

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        return next((snap for snap in self.snapshots() if snap.id == job_id), None)

    def snapshots(self, active_only: bool = False) -> list[JobSnapshot]:
        """As TrainingQueue.snapshots: running and ended jobs in the order they came, then the line.
        Built at most once per FRESH_SECONDS for every rerun of this web server (and again after
        its own writes): pages ask several times a rerun, and each build reads the jobs' files."""
        every = self._store.database.cached("queue.snapshots", self._build_snapshots)
        return [snap for snap in every if not active_only or snap.active]

    def _build_snapshots(self) -> list[JobSnapshot]:
        jobs = self._store.jobs()
        view = self._view().get("jobs", {})
        self._live.forget_others({job.id for job in jobs})
        jobs.sort(key=_line_order)
        now = time.monotonic()
        return [self._snapshot(job, view.get(job.id, {}), now) for job in jobs]

    def _snapshot(self, job: Job, seen: dict, now: float) -> JobSnapshot:
        progress = self._live.progress(Job(job.id, job.config, job.run_name, job.preset_name, job.runs_dir))
        shown = replace(job, last_batch=progress.last_batch, batch_points=progress.batch_points,
                        epoch_points=progress.epoch_points, snapshots_received=self._live.received(job.id))
        progress_at = seen.get("progress_at")
        shown.last_event = now - (time.time() - progress_at) if progress_at else (job.started or now)
        return shown.snapshot(now, seen.get("position", 0), float(seen.get("start", 0.0)),
                              bool(seen.get("quiet")) and job.state in ACTIVE_STATES, bool(seen.get("held")))

    def live_snapshot(self, job_id: str, epoch_end: bool = False) -> Snapshot | None:
        """As TrainingQueue.live_snapshot: asking marks the job watched, so the training process
        streams its snapshots."""
        if not self._active(job_id):
            return None
        self._live.watch(job_id)
        return self._live.snapshot(job_id, "epoch_end" if epoch_end else "latest")

    def live_decoder_snapshot(self, job_id: str) -> Snapshot | None:
        if not self._active(job_id):
            return None
        self._live.watch(job_id)
        return self._live.snapshot(job_id, "decoder")

    def _active(self, job_id: str) -> bool:
        return any(snap.id == job_id for snap in self.snapshots(active_only=True))

    def _view(self) -> dict:
        view = self._store.setting(VIEW, {})
        return view if isinstance(view, dict) else {}

    @property
    def stall_seconds(self) -> float:
        return float(self._view().get("stall_seconds", DEFAULT_STALL_SECONDS))

    def workers_text(self) -> str:
        """As TrainingQueue.workers_text, in this session's language, from what the queue's process published."""
        view = self._view()
        if isinstance(view.get("workers_count"), int):
            return workers_sentence(bool(view.get("remote")), view["workers_count"])
        return _(str(view.get("workers", "one at a time on this machine")))  # a view published before they were

    def unavailable(self) -> str | None:
        return self._view().get("unavailable")

    def warm_workers(self) -> int:
        return int(self._view().get("warm", 0))

    def worker_pids(self) -> list[int]:
        return list(self._view().get("worker_pids", []))

    def pid_of(self, job_id: str) -> int | None:
        return self._view().get("jobs", {}).get(job_id, {}).get("pid")

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until no job is queued or running (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while any(job.state in ACTIVE_STATES for job in self._store.jobs()):
            if time.monotonic() > deadline:
                return False
            time.sleep(IDLE_POLL_SECONDS)
        return True


def _line_order(job: Job) -> tuple:
    """Started and ended jobs first, in the order they came (a stable sort keeps it), then the line."""
    queued = job.state == JobState.QUEUED
    return (queued, (job.priority, job.submitted) if queued else (0, 0.0))
