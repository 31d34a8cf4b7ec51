"""The queue's state in SQLite (vae.jobs.store): what a restarted server finds (stand-in workers:
fast), and the classroom's settings kept beside it. The restart with real processes, on both
backends, is tests/test_queue_backends.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from types import SimpleNamespace

from tests.conftest import TINY, wait_until
from tests.test_training_queue import StandInWorker
from vae import classroom
from vae.classroom import STUDENT, TEACHER, ClassroomPolicy, ClassroomState, Limits, Person
from vae.jobs.backend import TrainingBackend
from vae.jobs.protocol import Train
from vae.jobs.queue import TrainingQueue
from vae.jobs.store import STORE_FILE, JobStore, restore

SMALL = TINY.replace(epochs=2, train_subset=512)
THE_TEACHER = Person(TEACHER, "the teacher", browser="t" * 32)
ADA = Person(STUDENT, "Ada", classroom.key_hash("ada-key-0123456789abcdef"), browser="a" * 32, address="10.0.0.5")


def queue_on(store: JobStore, policy=None) -> TrainingQueue:
    StandInWorker.made = []
    return TrainingQueue(slots=1, worker_factory=StandInWorker, store=store, policy=policy)


def test_a_restarted_server_finds_waiting_jobs_waiting_in_their_order_and_the_running_one_interrupted(runs_dir):
    path = runs_dir / STORE_FILE
    first = queue_on(JobStore(path))
    ids = [first.submit(SMALL, runs_dir, name=f"job-{n}") for n in range(4)]
    first.cancel(ids[3])
    first.hold_students(True)
    # The server dies (no shutdown: nothing is written at exit, everything was written as it changed).
    again = queue_on(JobStore(path))
    snaps = {snap.run_name: snap for snap in again.snapshots()}
    assert snaps["job-0"].state == "interrupted"
    assert snaps["job-0"].message.startswith("The server stopped while this training ran")
    assert [snaps[f"job-{n}"].state for n in (1, 2, 3)] == ["starting", "queued", "cancelled"]
    assert snaps["job-2"].position == 1 and again.students_held  # the line, and the pause, as they were
    assert [snap.run_name for snap in again.snapshots(active_only=True)] == ["job-1", "job-2"]
    first.shutdown(), again.shutdown()


def test_a_run_saved_just_before_the_server_died_counts_as_completed(runs_dir, small_data):
    from vae.training.lab import train_and_save

    path = runs_dir / STORE_FILE
    first = queue_on(JobStore(path))
    job = first.submit(SMALL, runs_dir, name="just-saved")
    train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "just-saved")  # its worker saved it, then: crash
    again = queue_on(JobStore(path))
    assert again.snapshot(job).state == "completed"
    first.shutdown(), again.shutdown()


class DispatchedWorker(StandInWorker):
    token = "dispatch-1"  # as a Celery dispatch has: what a restarted server follows the job by


class FollowingBackend:
    """A restarted server's Celery backend, as far as restoring goes: it follows a running job, and
    here reads its Ready at once (as the real reader may, before the queue hears of it)."""

    remote = True

    def follow(self, job, token, command):
        job.worker = SimpleNamespace(token=token, ready=threading.Event())
        job.worker.ready.set()
        return True


def test_a_job_followed_after_a_restart_counts_its_silence_from_the_restart(runs_dir):
    path = runs_dir / STORE_FILE
    first = TrainingQueue(slots=1, worker_factory=DispatchedWorker, store=JobStore(path))
    job_id = first.submit(SMALL, runs_dir, name="followed")
    # The server dies while a Celery worker trains it; the new one follows the job again.
    followed = next(job for job in restore(JobStore(path), FollowingBackend()) if job.id == job_id)
    assert followed.worker.token == "dispatch-1"
    # Not silent since the clock's zero: the queue's stall check would have ended it at once (CI saw it).
    assert followed.silent_seconds(time.monotonic()) < 5
    first.shutdown()


class WorkersSeenLate(TrainingBackend):
    """A Celery backend whose reader has not yet read the workers' heartbeats when the first job is
    queued (a server just started, or restarted with a line waiting): no worker to give, then one."""

    remote = True

    def __init__(self, on_event, on_exit):
        super().__init__()
        self.on_event, self.on_exit, self.seen = on_event, on_exit, False

    def take(self):
        if not self.seen or self.workers:
            return None
        worker = StandInWorker(self.on_event, self.on_exit)
        self.workers.add(worker)
        return worker

    def has_spare(self) -> bool:
        return self.seen and not self.workers

    def top_up(self, wanted) -> None: ...

    def may_spawn(self) -> bool:
        return True

    def started(self) -> None: ...

    def exited(self, worker, returncode, closing) -> None:
        self.workers.discard(worker)

    def unavailable(self) -> str | None:
        return None if self.seen else "No training machine is connected yet."

    def warm(self) -> int:
        return int(self.has_spare())

    def kill_all(self) -> None: ...


def test_a_job_queued_before_the_remote_workers_are_seen_goes_to_the_first_one_seen(runs_dir):
    """Nothing the queue hears (no worker of its own says "ready") would hand the job over: its
    housekeeping does, once the backend has a worker idle."""
    queue = TrainingQueue(slots=1, store=JobStore(runs_dir / STORE_FILE), backend=WorkersSeenLate)
    try:
        job = queue.submit(SMALL, runs_dir, name="early")
        assert queue.snapshot(job).state == "queued"
        queue._pool.seen = True  # the reader's first heartbeats
        wait_until(lambda: queue.snapshot(job).state != "queued", 10, 0.05, message="the job handed over")
        (worker,) = queue._pool.workers
        assert isinstance(worker.sent[0], Train) and worker.sent[0].name == "early"
    finally:
        queue.shutdown()


def test_the_store_is_sqlite_in_wal_mode_beside_the_runs_and_survives_a_reopen(runs_dir):
    store = JobStore.beside(runs_dir)
    queue = queue_on(store)
    queue.submit(SMALL, runs_dir, name="kept")
    queue.shutdown()
    with sqlite3.connect(runs_dir / STORE_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (name, state, message), = db.execute("SELECT run_name, state, message FROM jobs").fetchall()
    assert (name, state) == ("kept", "interrupted") and message.startswith("The server stopped while this training ran")


def test_what_the_teacher_set_and_who_joined_survive_a_restart(runs_dir):
    path = runs_dir / STORE_FILE
    state = ClassroomState(JobStore(path).database)
    state.set_limits(THE_TEACHER, epochs=5, minutes=2)
    state.pin(THE_TEACHER, "class-run", "2026-11-30T09:00:00+00:00")
    state.register_name(ADA.key_hash, "Ada", "10.0.0.5")
    again = ClassroomState(JobStore(path).database)
    assert again.limits == Limits(epochs=5, minutes=2)
    assert again.pinned()[0] == ("class-run", "2026-11-30T09:00:00+00:00")
    assert again.name_of(ADA.key_hash) == "Ada"
    # The owners kept with jobs are hashes: a restarted queue still knows whose is whose.
    queue = queue_on(JobStore(path), ClassroomPolicy(again))
    job = queue.submit(SMALL, runs_dir, requester=Person(STUDENT, "Ada", ADA.key_hash, ADA.browser, ADA.address))
    restarted = queue_on(JobStore(path), ClassroomPolicy(again))
    assert restarted.snapshot(job).owner == {"role": STUDENT, "name": "Ada", "key": ADA.key_hash}
    assert restarted.snapshot(job).browser == ADA.browser
    queue.shutdown(), restarted.shutdown()


def test_a_packed_run_is_unpacked_only_as_a_runs_files(small_data, tmp_path):
    """What comes back from a Celery worker through Redis: a run's files, and nothing else."""
    import io
    import tarfile

    import pytest

    from vae import runs
    from vae.runs.transfer import pack_run, save_packed_run
    from vae.training.lab import train_and_save

    saved = train_and_save(TINY.replace(epochs=1), small_data, tmp_path / "worker", "remote-run")
    packed = pack_run(saved.path)
    here = tmp_path / "server"
    save_packed_run(here, "remote-run", packed, TINY.replace(epochs=1))
    run = runs.read_summary(here / "remote-run")
    assert runs.load_numpy_models(run) and sorted(p.name for p in run.path.iterdir()) == sorted(
        p.name for p in saved.path.iterdir())
    with pytest.raises(runs.RunError, match="already exists"):
        save_packed_run(here, "remote-run", packed, TINY)

    def tampered(add, instead_of: str = "") -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as original, \
                tarfile.open(fileobj=buffer, mode="w:gz") as copy:
            for member in original:
                if member.name != instead_of:
                    copy.addfile(member, original.extractfile(member))
            add(copy)
        return buffer.getvalue()

    def a_link(archive):
        link = tarfile.TarInfo("weights.npz")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)

    def an_escape(archive):
        info = tarfile.TarInfo("../../outside.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"bad"))

    def a_giant(archive):  # 30 MB of zeros (30 KB packed) for a run whose config implies ~1 MB
        info = tarfile.TarInfo("replay.npz")
        info.size = 30_000_000
        archive.addfile(info, io.BytesIO(bytes(info.size)))

    # The link is the only weights.npz: refused as a link, not as a second file of one name.
    for bad, message in [(tampered(a_link, instead_of="weights.npz"), "not a run's file"),
                         (tampered(an_escape), "not a run's file"),
                         (tampered(a_giant, instead_of="replay.npz"), "larger than its config allows"),
                         (b"garbage", "cannot be read")]:
        with pytest.raises(runs.RunError, match=message):
            save_packed_run(here, "other", bad, TINY)
        assert not (here / "other").exists() and not (tmp_path / "outside.txt").exists()
