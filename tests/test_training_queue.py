"""The training queue: order, priorities, estimates, permissions and the classroom's limits with
stand-in workers (fast); what the reader does with any line a worker may print (scripted
processes); what keeps the line from wedging (stalls, time limits, Stop while saving, workers that
die at start); then real worker processes: progress streamed, stop, and every fault."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY, wait_until
from tests.support.processes import niceness, running
from vae import classroom, cost, runs, snapshots
from vae.classroom import STUDENT, TEACHER, ClassroomPolicy, ClassroomState, Person
from vae.errors import DataError, LabError
from vae.jobs import housekeeping, policy, process, protocol, training_job
from vae.jobs import queue as training_queue
from vae.jobs.estimates import start_estimates
from vae.jobs.job import ACTIVE_STATES
from vae.jobs.queue import QueueError, TrainingQueue
from vae.settings import settings
from vae.training.untrained import untrained_model

ROOT = Path(__file__).resolve().parent.parent
SMALL = TINY.replace(epochs=2, train_subset=512)
THE_TEACHER = Person(TEACHER, "the teacher", browser="t" * 32)


def student(name: str, address: str = "10.0.0.5") -> Person:
    key = classroom.key_hash(f"{name}-secret-key-0123456789")
    return Person(STUDENT, name, key, browser=key, address=address)


class StandInWorker:
    """Records what the queue sends; the test plays the worker's part, through the protocol's
    own decoder (so what a test sends is what a real worker's line would be)."""

    made: list[StandInWorker] = []

    def __init__(self, on_event, on_exit):
        self.on_event, self.on_exit = on_event, on_exit
        self.sent, self.job, self.killed = [], None, False
        self.ready = threading.Event()
        self.ready.set()
        self.pid = 10_000 + len(StandInWorker.made)
        StandInWorker.made.append(self)

    def alive(self):
        return not self.killed

    def send(self, command):
        self.sent.append(command)

    def kill(self):
        if not self.killed:
            self.killed = True
            self.on_exit(self, -signal.SIGKILL)

    def last_error(self):
        return ""

    def report(self, event, **fields):
        self.on_event(self, protocol.decode_event(json.dumps({"event": event, **fields}).encode()))

    def batch(self, epoch, batch, of=10, epochs=2, elapsed=1.0):
        self.report("batch", epoch=epoch, epochs=epochs, batch=batch, batches_per_epoch=of,
                    metrics={"loss": 200.0, "reconstruction_loss": 190.0, "kl_loss": 10.0}, elapsed_seconds=elapsed)

    def finish(self, run_name="x", state="completed"):
        self.report("finished", state=state, run_name=run_name, epochs_completed=2, test_neg_elbo=180.0,
                    train_seconds=8.0)
        self.kill()  # a worker exits after its one job


def make_queue(policy=None, stall_seconds=5.0, slots=1):
    StandInWorker.made = []
    return TrainingQueue(slots=slots, stall_seconds=stall_seconds, worker_factory=StandInWorker, policy=policy)


@pytest.fixture
def fake_queue():
    queue = make_queue()
    yield queue
    queue.shutdown()


@pytest.fixture
def class_queue(class_db):
    state = ClassroomState(class_db)
    queue = make_queue(ClassroomPolicy(state))
    yield queue, state
    queue.shutdown()


def worker_of(queue, job_id) -> StandInWorker:
    return next(w for w in StandInWorker.made if w.job is not None and w.job.id == job_id)


def test_jobs_run_in_order_one_slot_at_a_time(fake_queue, runs_dir):
    first = fake_queue.submit(SMALL, runs_dir, "default")
    second = fake_queue.submit(SMALL, runs_dir, "default")
    third = fake_queue.submit(SMALL.replace(epochs=4), runs_dir, "default")
    states = {s.id: (s.state, s.position) for s in fake_queue.snapshots()}
    assert states == {first: ("starting", 0), second: ("queued", 1), third: ("queued", 2)}
    # The warm spare got the first job, and a new spare was started at once.
    worker = worker_of(fake_queue, first)
    assert worker.sent[0] == protocol.Train(SMALL.to_dict(), str(runs_dir), worker.job.run_name, "default", None)
    assert len([w for w in StandInWorker.made if w.job is None and w.alive()]) == 1
    # Names are reserved while queued: three jobs in one second still get three names.
    names = [s.run_name for s in fake_queue.snapshots()]
    assert len(set(names)) == 3 and all(n.startswith("default-") for n in names)

    worker.batch(1, 5, elapsed=2.0)  # a quarter done after 2 s: about 6 s left
    snap = fake_queue.snapshot(first)
    assert snap.state == "running" and snap.fraction_done == pytest.approx(0.25)
    assert snap.eta_seconds == pytest.approx(6.0)
    waiting = {s.id: s.estimated_start_seconds for s in fake_queue.snapshots() if s.state == "queued"}
    assert waiting[second] == pytest.approx(6.0)
    assert waiting[third] > waiting[second]  # after the second one's estimated duration

    worker.finish(snap.run_name)
    assert fake_queue.snapshot(first).state == "completed"
    assert fake_queue.snapshot(second).state == "starting" and fake_queue.snapshot(third).position == 1


def test_a_worker_that_dies_without_a_word_fails_its_job_and_the_queue_moves_on(fake_queue, runs_dir):
    first = fake_queue.submit(SMALL, runs_dir)
    second = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, first)
    worker.batch(1, 1)
    worker.kill()
    snap = fake_queue.snapshot(first)
    assert snap.state == "failed"
    assert snap.message == "The training process ended unexpectedly (signal 9); nothing was saved."
    assert fake_queue.snapshot(second).state == "starting"


class ReusedStandIn(StandInWorker):
    """A worker that takes job after job (vae.jobs.process.reusable_worker): after its job it says
    it is ready again instead of exiting."""

    takes_more = True

    def finish(self, run_name="x", state="completed"):
        self.report("finished", state=state, run_name=run_name, epochs_completed=2, test_neg_elbo=180.0,
                    train_seconds=8.0)
        self.report("ready", pid=self.pid)


def test_a_worker_that_takes_more_jobs_trains_the_next_and_none_warms_beside_it(runs_dir):
    StandInWorker.made = []
    queue = TrainingQueue(slots=1, stall_seconds=5.0, worker_factory=ReusedStandIn)
    try:
        first, second = queue.submit(SMALL, runs_dir, "default"), queue.submit(SMALL, runs_dir, "default")
        worker = worker_of(queue, first)
        # A job waits, but the worker training comes back warm: no second process takes the cores.
        assert StandInWorker.made == [worker]
        worker.batch(1, 1)
        worker.finish("default-1")
        assert queue.snapshot(first).state == "completed" and worker_of(queue, second) is worker
        assert isinstance(worker.sent[-1], protocol.Train) and StandInWorker.made == [worker]
        worker.finish("default-2")
        assert queue.snapshot(second).state == "completed" and worker.job is None
        assert queue._pool.spares == [worker]  # warm for whatever comes next
        worker.kill()  # it may end (its memory, its count of jobs): a new one is started
        wait_until(lambda: len(StandInWorker.made) == 2, 10, message="a new warm worker")
    finally:
        queue.shutdown()


def test_without_warm_training_a_worker_starts_only_when_a_job_waits_and_stays_for_the_next(runs_dir):
    """LATENT_LAB_WARM_TRAINING=0 (a machine that rarely trains, a test server): no process imports
    TensorFlow until a training is asked for; the one started then stays warm after its job."""
    StandInWorker.made = []
    queue = TrainingQueue(slots=1, stall_seconds=5.0, worker_factory=ReusedStandIn, warm=False)
    try:
        assert StandInWorker.made == []
        first = queue.submit(SMALL, runs_dir, "default")
        worker = worker_of(queue, first)
        assert StandInWorker.made == [worker]
        worker.finish("default-1")
        assert queue.snapshot(first).state == "completed" and queue._pool.spares == [worker]
        worker.kill()  # it ends: none is started until another job waits
        # Not even once the pool's back-off for a spare that died has passed, at a housekeeping pass
        # (run here, at once, rather than waited for).
        wait_until(queue._pool.may_spawn, 10, 0.05, message="the back-off to pass")
        with queue._lock:
            queue._tend(time.monotonic())
        assert len(StandInWorker.made) == 1
        second = queue.submit(SMALL, runs_dir, "default")  # (after the pool's back-off for a spare that died)
        wait_until(lambda: len(StandInWorker.made) == 2 and StandInWorker.made[1].job is not None, 10,
                   message="a worker started for the job")
        assert worker_of(queue, second) is StandInWorker.made[1]
    finally:
        queue.shutdown()


def test_start_estimates_fill_the_slot_that_frees_first():
    assert start_estimates([10.0], [5.0, 5.0], slots=1) == [10.0, 15.0]
    assert start_estimates([10.0], [5.0, 5.0, 5.0], slots=2) == [0.0, 5.0, 10.0]
    assert start_estimates([], [], slots=1) == []


def test_who_may_cancel_or_stop_is_the_policys_to_say(class_queue, runs_dir):
    queue, state = class_queue
    state.set_limits(THE_TEACHER, jobs_per_device=5)
    ada, bob = student("Ada"), student("Bob")
    running = queue.submit(SMALL, runs_dir, requester=ada)
    queued = queue.submit(SMALL, runs_dir, requester=bob)
    for job_id, who in [(queued, ada), (running, bob), (running, Person(STUDENT, "Eve", "", browser="e"))]:
        with pytest.raises(QueueError, match="Only the teacher and the person who started"):
            queue.cancel(job_id, who)
    assert queue.snapshot(queued).state == "queued"
    queue.cancel(queued, bob)
    assert queue.snapshot(queued).state == "cancelled"
    queue.cancel(running, THE_TEACHER)  # the teacher's role alone is enough
    assert queue.snapshot(running).state == "stopping"
    assert worker_of(queue, running).sent[-1] == protocol.Stop()
    with pytest.raises(QueueError, match="no longer known"):
        queue.cancel("nope", ada)


def test_the_teachers_jobs_go_first_and_are_never_refused_for_students_load(class_queue, runs_dir):
    queue, state = class_queue
    state.set_limits(THE_TEACHER, class_jobs=3, jobs_per_device=50)
    students = [student(f"S{n}", address=f"10.0.0.{n}") for n in range(4)]
    ids = [queue.submit(SMALL, runs_dir, requester=who) for who in students[:3]]
    with pytest.raises(LabError, match="The class already has 3 trainings"):
        queue.submit(SMALL, runs_dir, requester=students[3])
    teachers = queue.submit(SMALL, runs_dir, requester=THE_TEACHER)
    line = [s.id for s in queue.snapshots() if s.state == "queued"]
    assert line == [teachers, ids[1], ids[2]]  # ahead of every waiting student
    assert queue.snapshot(teachers).position == 1
    worker_of(queue, ids[0]).finish()
    assert queue.snapshot(teachers).state == "starting"


def test_a_flood_from_one_device_gets_one_sentence_whatever_keys_it_makes_up(class_queue, runs_dir):
    queue, state = class_queue
    sessions = [student(f"Bot{n}", address="10.0.0.66") for n in range(20)]  # a fresh key each
    refused = []
    for who in sessions:
        try:
            queue.submit(SMALL, runs_dir, requester=who)
        except LabError as error:
            refused.append(str(error))
    assert len(refused) == 20 - state.limits.jobs_per_device
    assert state.limits.jobs_per_device > 1  # the plural sentence
    assert set(refused) == {f"This device already has {state.limits.jobs_per_device} trainings queued or running, "
                            "the most this class allows per device; wait for one to finish."}
    queue.submit(SMALL, runs_dir, requester=student("Real", address="10.0.0.7"))  # other devices still may


def test_limits_count_a_students_own_jobs_and_pause_holds_them(class_queue, runs_dir):
    queue, state = class_queue
    teacher_job = queue.submit(SMALL, runs_dir, requester=THE_TEACHER)
    queue.hold_students(True)
    ada = student("Ada")
    adas = queue.submit(SMALL, runs_dir, requester=ada)
    with pytest.raises(LabError, match="You already have 1 training"):
        queue.submit(SMALL, runs_dir, requester=ada)
    assert worker_of(queue, teacher_job).sent[0].owner["role"] == "teacher"
    worker_of(queue, teacher_job).finish()
    held = queue.snapshot(adas)
    assert held.state == "queued" and held.held  # the slot is free, but students are paused
    queue.hold_students(False)
    assert queue.snapshot(adas).state == "starting" and not queue.snapshot(adas).held
    assert worker_of(queue, adas).sent[0].owner == ada.owner()


def test_a_training_too_costly_for_the_class_is_refused_before_queueing(class_queue, runs_dir):
    queue, state = class_queue
    ada = student("Ada")
    costly = TINY.replace(arch="conv", hidden_dim=2048, batch_size=8, epochs=10, train_subset=None)
    with pytest.raises(LabError, match=r"would take about .* this class allows at most 3 min"):
        queue.submit(costly, runs_dir, requester=ada)
    with pytest.raises(LabError, match="GB of memory"):
        queue.submit(TINY.replace(arch="conv", batch_size=60_000, epochs=1, train_subset=None), runs_dir,
                     requester=ada)
    queue.submit(costly, runs_dir, requester=THE_TEACHER)  # the teacher is trusted with any cost
    assert not queue.snapshots(active_only=True)[0].time_limit_seconds  # and has no time limit


def test_a_students_disk_quota_counts_saved_runs_and_queued_ones(class_queue, runs_dir, small_data):
    from vae.training.lab import train_and_save

    queue, state = class_queue
    ada = student("Ada")
    train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "adas-old", owner=ada.owner())
    used, needed = runs.folder_bytes(runs_dir / "adas-old"), cost.run_bytes(TINY)
    state.set_limits(THE_TEACHER, disk_mb=1, jobs=5)
    assert needed < 1_000_000 < used + needed  # one run fits a student's quota, two do not
    with pytest.raises(LabError, match="each student may keep 1 MB. Delete one of yours first"):
        queue.submit(TINY, runs_dir, requester=ada)
    queue.submit(TINY, runs_dir, requester=student("Bob"))  # Bob's quota is his own
    with pytest.raises(LabError, match="each student may keep 1 MB"):  # what Bob's queued job will save counts
        queue.submit(TINY, runs_dir, requester=student("Bob"))


def test_clearing_discards_running_student_jobs_and_what_they_publish(class_queue, runs_dir, small_data):
    from vae.training.lab import train_and_save

    queue, state = class_queue
    state.set_limits(THE_TEACHER, jobs_per_device=5)
    ada, bob = student("Ada"), student("Bob")
    adas = queue.submit(SMALL, runs_dir, requester=ada)
    bobs = queue.submit(SMALL, runs_dir, requester=bob)
    teachers = queue.submit(SMALL, runs_dir, requester=THE_TEACHER)
    name = queue.snapshot(adas).run_name
    worker = worker_of(queue, adas)
    worker.report("saving")
    # Ada's worker publishes its run just as the teacher clears (the race the old code lost).
    train_and_save(TINY.replace(epochs=1), small_data, runs_dir, name, owner=ada.owner())
    cleared = classroom.clear_student_runs(THE_TEACHER, queue, runs_dir)
    assert (cleared.stopped, cleared.deleted) == (2, 0)  # Ada's run went with her job, before the listing
    assert worker.killed and not (runs_dir / name).exists()
    assert queue.snapshot(adas).state == "failed" and "cleared" in queue.snapshot(adas).message
    assert queue.snapshot(bobs).state == "cancelled" and queue.snapshot(teachers).state == "starting"
    with pytest.raises(classroom.ClassroomError):
        classroom.clear_student_runs(ada, queue, runs_dir)


def test_snapshots_are_kept_while_a_job_runs_and_asking_for_one_turns_watching_on(fake_queue, runs_dir, monkeypatch):
    monkeypatch.setattr(training_queue, "WATCH_SECONDS", 0.3)
    job = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, job)
    worker.batch(1, 1)
    snap = snapshots.Snapshot(0.5, 2, np.zeros((4, 2), np.float32), snapshots.plane_for(np.zeros((4, 2))),
                              np.zeros((100, 784), np.uint8))
    worker.on_event(worker, protocol.SnapshotEvent(snap))
    assert fake_queue.live_snapshot(job).epoch == 0.5 and fake_queue.live_snapshot(job, epoch_end=True) is None
    assert worker.sent[-1] == protocol.Watch(True)
    worker.on_event(worker, protocol.SnapshotEvent(snapshots.Snapshot(1.0, 2, snap.z, snap.plane, snap.grid)))
    assert fake_queue.live_snapshot(job, epoch_end=True).epoch == 1.0
    assert fake_queue.snapshot(job).snapshots_received == 2
    wait_until(lambda: worker.sent[-1] == protocol.Watch(False), 10, message="watching to stop")
    worker.kill()
    assert fake_queue.live_snapshot(job) is None


@pytest.mark.parametrize("stage", ["running", "saving"])
def test_a_silent_worker_is_ended_by_the_queue_and_the_next_one_starts(runs_dir, stage):
    queue = make_queue(stall_seconds=0.5)
    try:
        job = queue.submit(SMALL, runs_dir)
        after = queue.submit(SMALL, runs_dir)
        worker = worker_of(queue, job)
        worker.batch(1, 1)
        if stage == "saving":
            worker.report("saving")
        wait_until(lambda: worker.killed, 10, message="the stalled worker to be ended")
        assert "stalled (no progress for over 0 s)" in queue.snapshot(job).message or \
            "stalled (no progress for over 1 s)" in queue.snapshot(job).message
        assert queue.snapshot(after).state == "starting"
    finally:
        queue.shutdown()


def test_stop_while_saving_ends_the_process_and_keeps_nothing(fake_queue, runs_dir):
    job = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, job)
    worker.batch(2, 10)
    worker.report("saving")
    fake_queue.cancel(job)
    assert worker.killed
    assert fake_queue.snapshot(job).message == "Stopped while it was being saved: the run was not kept."


def test_a_job_past_its_time_limit_is_stopped_and_then_killed(runs_dir, monkeypatch):
    class Strict(policy.OpenPolicy):
        def time_limit_seconds(self, owner):
            return 0.3

    monkeypatch.setattr(housekeeping, "STOP_GRACE_SECONDS", 0.3)
    queue = make_queue(Strict())
    try:
        polite, stubborn = queue.submit(SMALL, runs_dir), queue.submit(SMALL, runs_dir)
        worker = worker_of(queue, polite)
        wait_until(lambda: protocol.Stop() in worker.sent, 10, message="a stop at the time limit")
        worker.finish(queue.snapshot(polite).run_name, state="stopped")
        stopped = queue.snapshot(polite)  # stopped at its limit and kept, not ended for want of an answer
        assert stopped.state == "stopped" and "reached this class's time limit" in stopped.message
        assert "did not stop in time" not in stopped.message
        worker = worker_of(queue, stubborn)  # never answers its Stop
        wait_until(lambda: worker.killed, 10, message="the stubborn one to be ended")
        assert "did not stop in time" in queue.snapshot(stubborn).message
    finally:
        queue.shutdown()


def test_requests_that_would_fail_are_refused_before_queueing(fake_queue, runs_dir, tmp_path):
    (runs_dir / "taken").mkdir(parents=True)
    with pytest.raises(runs.RunError, match="already exists"):
        fake_queue.submit(SMALL, runs_dir, name="taken")
    fake_queue.submit(SMALL, runs_dir, name="mine")
    with pytest.raises(runs.RunError, match="already exists"):  # reserved by a queued job
        fake_queue.submit(SMALL, runs_dir, name="mine")
    with pytest.raises(runs.RunError, match="not allowed"):
        fake_queue.submit(SMALL, runs_dir, name="../up")
    with pytest.raises(Exception, match="batch_size"):
        fake_queue.submit(SMALL.replace(batch_size=1024), runs_dir)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(runs.RunError, match="Cannot write runs"):
        fake_queue.submit(SMALL, blocker / "runs")


@pytest.mark.parametrize("value, ok", [("1", True), ("4", True), ("0", False), ("two", False), ("99", False)])
def test_slots_setting_is_checked(monkeypatch, value, ok):
    monkeypatch.setenv("LATENT_LAB_TRAINING_SLOTS", value)
    if ok:
        assert settings().training_slots == int(value)
    else:
        with pytest.raises(Exception, match="LATENT_LAB_TRAINING_SLOTS"):
            settings()


# --- Any line a worker may print: scripted worker processes (no TensorFlow) ---------------------------

SCRIPTED_WORKER = textwrap.dedent("""
    import os, sys
    out = sys.stdout.buffer
    out.write(b'{"event": "ready", "pid": 1}\\n'); out.flush()
    sys.stdin.buffer.readline()  # the job
    out.write(b'{"event": "batch", "epoch": 1, "epochs": 2, "batch": 1, "batches_per_epoch": 4, '
              b'"metrics": {"loss": 1, "reconstruction_loss": 1, "kl_loss": 0}, "elapsed_seconds": 1}\\n')
    out.write(eval(sys.argv[1])); out.flush()  # the test's bad line, as a Python bytes expression
    sys.stdin.buffer.readline()  # waits: only the queue's kill ends it
""")
BAD_LINES = {
    "not-json": repr(b"Traceback (most recent call last):\n"),
    "not-an-object": repr(b"[1, 2, 3]\n"),
    "not-utf8": repr(b'{"event": "saving", "x": "\xff\xfe"}\n'),
    "unknown-event": repr(b'{"event": "reboot"}\n'),
    "wrong-types": repr(b'{"event": "batch", "epoch": "one"}\n'),
    "too-long": f"""b'{{"event": "failed", "message": "' + b'x' * {protocol.MAX_LINE_BYTES + 10} + b'"}}\\n'""",
}


@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_any_bad_line_ends_its_job_with_one_sentence_and_the_queue_moves_on(runs_dir, line):
    command = (sys.executable, "-c", SCRIPTED_WORKER, line)
    queue = TrainingQueue(worker_factory=lambda on_event, on_exit: process.WorkerProcess(on_event, on_exit, command))
    try:
        job = queue.submit(SMALL, runs_dir)
        after = queue.submit(SMALL, runs_dir)
        wait_until(lambda: queue.snapshot(job).state == "failed", 30, message="the job to end")
        assert queue.snapshot(job).message == ("The training process sent something this server cannot read and "
                                               "was stopped; nothing was saved.")
        wait_until(lambda: queue.snapshot(after).state in ("running", "failed"), 30, message="the next job")
    finally:
        queue.shutdown()


LITTERING_WORKER = textwrap.dedent("""
    import os, sys, tempfile
    with open(os.path.join(tempfile.gettempdir(), "autograph_like.py"), "w") as left:
        left.write("# what TensorFlow deletes only at a normal exit")
    print(tempfile.gettempdir(), file=sys.stderr, flush=True)
    os._exit(0)  # as a training process ends: no exit handlers run
""")


def test_a_worker_process_leaves_no_temporary_files_behind():
    ended = threading.Event()
    worker = process.WorkerProcess(lambda *_: None, lambda *_: ended.set(),
                                   (sys.executable, "-c", LITTERING_WORKER))
    assert ended.wait(30) and wait_until(lambda: not worker.alive(), 10, message="its exit handled")
    used = Path(worker.stderr_tail[0].strip())
    assert used == Path(worker.temp_dir) and used.parent == Path(tempfile.gettempdir())
    assert not used.exists()  # the folder, and the file left in it, are gone


@pytest.mark.parametrize("ours", [True, False])
def test_a_worker_ending_itself_removes_the_temporary_folder_its_server_gave_it_and_no_other(tmp_path, ours):
    """What a worker does when its server has gone (vae.jobs.worker.exit_without_leftovers): no
    server is left to remove the folder. A TMPDIR it was not given (a person's own) is left alone."""
    folder = tmp_path / ((process.TEMP_DIR_PREFIX if ours else "") + "abc123")
    folder.mkdir()
    (folder / "left.py").write_text("#")
    ended = subprocess.run([sys.executable, "-c", "from vae.jobs.worker import exit_without_leftovers; "
                            "exit_without_leftovers(3)"], env={**os.environ, "TMPDIR": str(folder)}, timeout=60)
    assert ended.returncode == 3 and folder.exists() != ours


def test_a_training_process_runs_at_the_niceness_set(monkeypatch):
    """The product's default is 10 (tests/test_settings.py): a training gives way to the web server."""
    monkeypatch.setenv("LATENT_LAB_WORKER_NICENESS", "7")
    worker = process.WorkerProcess(lambda *_: None, lambda *_: None)
    try:
        # Set first thing, before TensorFlow loads.
        wait_until(lambda: worker.alive() and niceness(worker.pid) == 7, 30, 0.05,
                   message="the training process at niceness 7")
    finally:
        worker.kill()


DYING_WORKER = "import sys; sys.stderr.write(\"ModuleNotFoundError: No module named 'tensorflow'\\n\"); sys.exit(1)"


def test_workers_that_die_at_start_are_retried_with_back_off_and_the_reason_is_shown(runs_dir):
    spawned = []

    def factory(on_event, on_exit):
        spawned.append(time.monotonic())
        return process.WorkerProcess(on_event, on_exit, (sys.executable, "-c", DYING_WORKER))

    queue = TrainingQueue(worker_factory=factory)
    try:
        reason = wait_until(queue.unavailable, 30, message="training to be reported unavailable")
        assert reason.startswith("Training is unavailable: the training process could not start "
                                 "(ModuleNotFoundError: No module named 'tensorflow').")
        job = queue.submit(SMALL, runs_dir)  # waits: no worker is handed a job before one starts
        wait_until(lambda: len(spawned) >= 3, 30, message="two retries")
        gaps = [later - earlier for earlier, later in zip(spawned, spawned[1:], strict=False)]
        assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps  # 1 s, then 2 s apart: not at once, forever
        assert queue.snapshot(job).state == "queued"
    finally:
        queue.shutdown()


# --- Real worker processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def queue(tmp_path_factory, mnist, mnist_cache_dir):
    """One real queue for this module (each warm worker costs a TensorFlow import)."""
    old = os.environ.get("LATENT_LAB_CACHE")
    os.environ["LATENT_LAB_CACHE"] = str(mnist_cache_dir)
    # Generous: a loaded machine (a browser test on the other core) can keep a job silent for over
    # 10 s before its first batch; the frozen-worker test shortens it once its job is seen training.
    real = TrainingQueue(slots=1, stall_seconds=60)
    yield real
    real.shutdown()
    if old is None:
        os.environ.pop("LATENT_LAB_CACHE", None)
    else:
        os.environ["LATENT_LAB_CACHE"] = old


def listed(runs_dir):
    return [run.name for run in runs.list_runs(runs_dir).runs]


def test_stop_keeps_the_partial_run_and_the_decoder_streams_only_when_watched(queue, runs_dir):
    job = queue.submit(TINY.replace(epochs=200, train_subset=512), runs_dir, name="stopped-one")
    snap = wait_until(lambda: s if (s := queue.snapshot(job)).epoch >= 2 or s.state not in ACTIVE_STATES else None,
                      120, 0.05, "two epochs")
    assert snap.state in ACTIVE_STATES, (snap.state, snap.message)  # not ended early (say, as stalled)
    # Nobody has asked yet: the epoch ends stream their latent space, but not the decoder.
    unwatched = queue._jobs[job].live_epoch_end
    assert unwatched is not None and unwatched.decoder is None
    # Asking is watching: the worker is told, and the decoder arrives, for the explorer to draw with.
    live = wait_until(lambda: queue.live_decoder_snapshot(job), 60, 0.05)
    assert live.epochs == 200 and live.decoder(live.z[:2]).shape == (2, 784)
    queue.cancel(job)
    assert queue.wait_until_idle(120)
    snap = queue.snapshot(job)
    assert snap.state == "stopped" and snap.epoch < 200
    assert listed(runs_dir) == ["stopped-one"]


def test_one_warm_process_trains_job_after_job_as_a_new_one_would(queue, runs_dir):
    first = queue.submit(SMALL.replace(seed=4), runs_dir, name="first-in-turn")
    second = queue.submit(SMALL.replace(seed=4), runs_dir, name="second-in-turn")
    seen = set()  # every training process alive, from submission to idle

    def idle_and_seen():
        seen.update(queue.worker_pids())
        return all(queue.snapshot(job).state not in ACTIVE_STATES for job in (first, second))

    wait_until(idle_and_seen, 240, 0.05, "both jobs to end")
    assert [queue.snapshot(job).state for job in (first, second)] == ["completed", "completed"]
    assert len(seen) == 1 and queue.worker_pids() == list(seen)  # one process trained both, and waits
    # The second started from what a new process would have: the same settings, the same model.
    decoders = [runs.load_numpy_models(runs.find_run(runs_dir, name))[1] for name in ("first-in-turn",
                                                                                      "second-in-turn")]
    z = np.random.default_rng(0).normal(size=(16, SMALL.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(decoders[0](z), decoders[1](z), atol=1e-5)


def test_a_failure_inside_the_worker_is_one_sentence(queue, runs_dir):
    job = queue.submit(SMALL, runs_dir, name="late-clash")
    (runs_dir / "late-clash").mkdir()  # the name is taken after the request was accepted
    assert queue.wait_until_idle(120)
    snap = queue.snapshot(job)
    assert snap.state == "failed" and snap.message == "A run named 'late-clash' already exists; choose another name."


def test_a_frozen_worker_is_ended_by_the_queue_without_anyone_pressing_stop(queue, runs_dir):
    job = queue.submit(TINY.replace(epochs=200, train_subset=512), runs_dir, name="frozen")
    snap = wait_until(lambda: s if (s := queue.snapshot(job)).batch_points or s.state not in ACTIVE_STATES else None,
                      120, 0.05, "the first batch")
    assert snap.state in ACTIVE_STATES, (snap.state, snap.message)
    pid = queue.pid_of(job)
    os.kill(pid, signal.SIGSTOP)  # frozen: alive, but silent
    # From now on, 2 s of silence is a stall: set once the process is frozen, so that it can only be
    # this freeze the queue finds (a worker starved of the CPU before it would be ended just the same).
    generous, queue.stall_seconds = queue.stall_seconds, 2
    try:
        assert queue.wait_until_idle(60)
    finally:
        queue.stall_seconds = generous
        if running(pid):
            os.kill(pid, signal.SIGCONT)
    snap = queue.snapshot(job)
    assert snap.state == "failed" and "stalled" in snap.message and "nothing was saved" in snap.message
    assert listed(runs_dir) == []


class LoadedCode:
    """vae.jobs.training_job.TrainingCode as the test says: loaded from the start, or once `load()`."""

    def __init__(self, modules: dict | None = None, loaded: bool = True):
        self.modules, self.done = modules or {}, threading.Event()
        if loaded:
            self.done.set()

    def load(self):
        self.done.set()

    def loaded(self, timeout=0):
        return self.done.wait(timeout)

    def module(self, name):
        self.done.wait()
        return self.modules[name]


class JobLoop:
    """vae.jobs.training_job's loop of jobs in this process: commands written to a pipe, jobs
    recorded instead of trained (each says whether Stop and Watch reached it)."""

    def __init__(self, monkeypatch, jobs: int):
        self.events, self.trained, self.closed = [], [], threading.Event()
        # Each job as it ended: its name, whether it kept its trainer, whether Stop and Watch reached it.
        self.ended: list[tuple[str, bool, bool, bool]] = []
        read_end, self.write_end = os.pipe()
        commands = training_job.CommandReader(os.fdopen(read_end, "rb"), on_close=self.closed.set)
        monkeypatch.setattr(training_job, "run_job", self.run_job)
        self.may_end = {}  # job name -> Event the test sets to let that job end
        self.result: list[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(
            training_job.take_jobs(self, commands, jobs, None, LoadedCode())), daemon=True)
        self.thread.start()

    def send(self, event):  # the ProgressStream
        self.events.append(event)

    def command(self, command):
        os.write(self.write_end, protocol.encode_command(command))

    def run_job(self, job, stream, stop, watching, data, code, keep_trainer=False, first_snapshot=None):
        self.trained.append((job.name, keep_trainer, stop, watching))
        self.may_end.setdefault(job.name, threading.Event()).wait(30)
        self.ended.append((job.name, keep_trainer, stop.is_set(), watching.is_set()))

    def readies(self):
        return sum(isinstance(event, protocol.Ready) for event in self.events)


def train_command(name):
    return protocol.Train(SMALL.to_dict(), "/nowhere", name, None, None)


def test_a_worker_takes_job_after_job_and_a_late_stop_reaches_no_other(monkeypatch):
    loop = JobLoop(monkeypatch, jobs=3)
    try:
        wait_until(lambda: loop.readies() == 1, 10, message="ready for the first job")
        loop.command(train_command("one"))
        loop.command(protocol.Watch(True))
        wait_until(lambda: loop.trained and loop.trained[0][3].is_set(), 10, message="the first job, watched")
        loop.may_end.setdefault("one", threading.Event()).set()
        wait_until(lambda: loop.readies() == 2, 10, message="ready again")
        loop.command(protocol.Stop())  # sent as "one" ended: it reaches neither "one" nor "two"
        loop.command(train_command("two"))
        loop.may_end.setdefault("two", threading.Event()).set()
        wait_until(lambda: loop.readies() == 3, 10, message="ready for the last")
        loop.command(train_command("three"))
        loop.command(protocol.Stop())
        wait_until(lambda: len(loop.trained) == 3 and loop.trained[2][2].is_set(), 10, message="the Stop read")
        loop.may_end.setdefault("three", threading.Event()).set()
        loop.thread.join(10)
        # Every job but the last keeps its trainer for the next; Stop and Watch reach only their own.
        assert loop.ended == [("one", True, False, True), ("two", True, False, False), ("three", False, True, False)]
        assert loop.result == [0] and loop.readies() == 3  # its count of jobs done: it ends
    finally:
        os.close(loop.write_end)
    wait_until(loop.closed.is_set, 10, message="the reader to see stdin close")


@pytest.mark.parametrize(("job_first", "prepare"), [(True, "1"), (False, "1"), (False, "0")])
def test_a_job_that_arrives_while_a_worker_warms_up_is_not_kept_waiting_for_the_compile(monkeypatch, job_first,
                                                                                        prepare):
    """A worker reads its commands from its start: a job sent while it loads MNIST is taken without
    the default's compile (the job's training builds its own); with none waiting it compiles, unless
    LATENT_LAB_PREPARE_DEFAULT=0 (the product's default is 1, the suite's 0)."""
    monkeypatch.setenv("LATENT_LAB_PREPARE_DEFAULT", prepare)
    read_end, write_end = os.pipe()
    reader = training_job.CommandReader(os.fdopen(read_end, "rb"), on_close=lambda: None)
    monkeypatch.setattr(training_job, "CommandReader", lambda stdin: reader)
    if job_first:
        os.write(write_end, protocol.encode_command(train_command("early")))

    def load_dataset(name, download):  # once the reader has read what was sent
        wait_until(lambda: reader.job_waiting() == job_first, 10, message="the command read")
        return "mnist arrays"

    warmed, taken = [], []
    monkeypatch.setattr(training_job, "TrainingCode", lambda: LoadedCode({"vae.training.lab": "the code"}))
    monkeypatch.setattr(training_job, "load_dataset", load_dataset)
    monkeypatch.setattr(training_job, "warm_up", lambda data, code: warmed.append(data))
    monkeypatch.setattr(training_job, "take_jobs", lambda stream, commands, jobs, data, *early: taken.append(
        (commands, data)) or 0)
    try:
        assert training_job.serve(io.BytesIO(), jobs=1) == 0
        assert warmed == ([] if job_first or prepare == "0" else ["mnist arrays"])
        assert [(commands, datasets.loaded("mnist")) for commands, datasets in taken] == [(reader, "mnist arrays")]
    finally:
        os.close(write_end)


def test_a_job_read_while_tensorflow_loads_shows_its_untrained_model_before_it_has(monkeypatch, small_data):
    """A job that arrives before the training code has loaded is read at once; once someone
    watches, its dense model's untrained snapshot is sent with no TensorFlow, and its training
    is handed that snapshot (it starts from the same weights: tests/test_untrained.py)."""
    read_end, write_end = os.pipe()
    reader = training_job.CommandReader(os.fdopen(read_end, "rb"), on_close=lambda: None)
    events, trained, result = [], [], []

    class Recorder(training_job.ProgressStream):
        def send(self, event):
            events.append(event)

    def train_and_save(config, data, runs_dir, name, preset_name, listeners, stop, **options):
        trained.append((name, options["first_snapshot"]))
        raise LabError("not trained here")

    code = LoadedCode({"vae.training.lab": type("Lab", (), {"train_and_save": staticmethod(train_and_save)})},
                      loaded=False)
    monkeypatch.setattr(training_job, "CommandReader", lambda stdin: reader)
    monkeypatch.setattr(training_job, "ProgressStream", Recorder)
    monkeypatch.setattr(training_job, "TrainingCode", lambda: code)
    monkeypatch.setattr(training_job, "load_dataset", lambda name, download: small_data)
    thread = threading.Thread(target=lambda: result.append(training_job.serve(io.BytesIO(), jobs=1)), daemon=True)
    thread.start()
    try:
        os.write(write_end, protocol.encode_command(train_command("early")))
        os.write(write_end, protocol.encode_command(protocol.Watch(True)))
        wait_until(lambda: any(isinstance(event, protocol.SnapshotEvent) for event in events), 30,
                   message="the untrained snapshot")
        (sent,) = [event.snapshot for event in events if isinstance(event, protocol.SnapshotEvent)]
        assert sent.epoch == 0.0 and sent.decoder is not None and not code.loaded()
        assert not any(isinstance(event, protocol.Ready) for event in events)  # ready once the code is there
        encoder, _decoder = untrained_model(SMALL)
        np.testing.assert_allclose(sent.z, encoder(small_data.x_test[: snapshots.SUBSET])[0], atol=1e-6)
        code.load()
        thread.join(30)
        assert result == [0] and trained == [("early", sent)]
        assert events[-1] == protocol.Failed("not trained here")
    finally:
        os.close(write_end)


class LoadsAtLook(LoadedCode):
    """TrainingCode that has loaded once it is asked for the `nth` time: the caller has waited that long."""

    def __init__(self, nth: int):
        super().__init__(loaded=False)
        self.nth, self.looks = nth, 0

    def loaded(self, timeout=0):
        self.looks += 1
        if self.looks >= self.nth:
            self.load()
        return super().loaded(timeout)


def test_no_untrained_snapshot_before_tensorflow_when_no_one_watches_or_the_data_does_not_load(
        small_data, monkeypatch):
    sent = io.BytesIO()
    stream = training_job.ProgressStream(sent)
    watching = threading.Event()
    watching.set()
    dense = train_command("d")
    datasets = training_job.DataSets({"mnist": small_data})
    # No one watches while TensorFlow loads (it is loaded at the third look, not after a set time):
    # nothing is made or sent.
    loading = LoadsAtLook(3)
    assert training_job.untrained_snapshot(dense, threading.Event(), datasets, stream, loading) is None
    assert loading.looks == 3 and sent.getvalue() == b""
    # Someone watches, but TensorFlow has loaded already: the training's own snapshots come soon enough.
    assert training_job.untrained_snapshot(dense, watching, datasets, stream, LoadedCode()) is None
    assert sent.getvalue() == b""

    def no_data(name, download):
        raise DataError("no data here")

    monkeypatch.setattr(training_job, "load_dataset", no_data)
    nothing = training_job.DataSets()
    assert training_job.untrained_snapshot(dense, watching, nothing, stream, LoadedCode(loaded=False)) is None


@pytest.mark.parametrize("arch", ["dense", "conv"])
def test_a_fashion_job_read_early_loads_its_data_once_for_its_snapshot_and_its_training(monkeypatch, small_data,
                                                                                         arch):
    loads = []

    def load_dataset(name, download):
        loads.append(name)
        return small_data

    monkeypatch.setattr(training_job, "load_dataset", load_dataset)
    sent = []
    stream = type("Stream", (), {"on_snapshot": lambda self, snapshot: sent.append(snapshot)})()
    watching = threading.Event()
    watching.set()
    datasets = training_job.DataSets()
    config = SMALL.replace(dataset="fashion-mnist", arch=arch)
    fashion = protocol.Train(config.to_dict(), "/nowhere", "f", None, None)
    snapshot = training_job.untrained_snapshot(fashion, watching, datasets, stream, LoadedCode(loaded=False))
    assert sent == [snapshot] and snapshot.epoch == 0.0 and snapshot.decoder is not None
    encoder, _decoder = untrained_model(config)
    np.testing.assert_allclose(snapshot.z, encoder(small_data.x_test[: snapshots.SUBSET])[0], atol=1e-5)
    assert datasets.get("fashion-mnist") is small_data and loads == ["fashion-mnist"]  # kept for the training


def test_a_training_process_reads_its_job_before_tensorflow_has_loaded():
    """Nothing vae.jobs.worker imports at start loads TensorFlow: it loads on TrainingCode's thread."""
    done = subprocess.run([sys.executable, "-c", "import sys, vae.jobs.worker, vae.jobs.training_job; "
                           "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_worker_that_has_grown_takes_no_more_jobs(monkeypatch):
    monkeypatch.setattr(training_job, "REUSE_MAX_RSS_BYTES", 0)
    loop = JobLoop(monkeypatch, jobs=50)
    try:
        loop.command(train_command("only"))
        loop.may_end.setdefault("only", threading.Event()).set()
        loop.thread.join(10)
        assert loop.result == [0] and loop.readies() == 1 and [name for name, *_ in loop.ended] == ["only"]
    finally:
        os.close(loop.write_end)


def test_a_line_that_is_no_command_where_the_first_job_is_due_ends_the_worker(monkeypatch):
    loop = JobLoop(monkeypatch, jobs=50)
    try:
        os.write(loop.write_end, b"not json\n")
        loop.thread.join(10)
        assert loop.result == [training_job.EXIT_BAD_JOB] and loop.trained == []
        assert loop.events[-1] == protocol.Failed("The training process received a request it does not understand.")
    finally:
        os.close(loop.write_end)


def test_memory_error_in_a_job_is_one_sentence(monkeypatch):
    sent = []

    class Stream:
        def send(self, event):
            sent.append(event)

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    lab = type("Lab", (), {"train_and_save": staticmethod(out_of_memory)})
    job = protocol.Train(SMALL.to_dict(), "/nowhere", "x", None, None)
    training_job.run_job(job, Stream(), threading.Event(), threading.Event(),
                         training_job.DataSets({"mnist": "arrays"}), LoadedCode({"vae.training.lab": lab}))
    assert sent == [protocol.Failed("The training process ran out of memory; try a smaller model or batch.")]


def test_a_worker_given_nonsense_says_so_and_exits(mnist, mnist_cache_dir):
    env = {**os.environ, "LATENT_LAB_CACHE": str(mnist_cache_dir), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "vae.jobs.worker"], input=b"not json\n", capture_output=True,
                          timeout=120, env=env, cwd=ROOT)
    events = [protocol.decode_event(line) for line in done.stdout.splitlines()]
    assert isinstance(events[0], protocol.Ready)
    assert events[-1] == protocol.Failed("The training process received a request it does not understand.")
    assert done.returncode == 2


SERVER_STAND_IN = textwrap.dedent("""
    import sys, time
    from vae.config import TrainConfig
    from vae.jobs.queue import TrainingQueue
    queue = TrainingQueue()
    job = queue.submit(TrainConfig(hidden_dim=32, epochs=500, batch_size=64, train_subset=512), sys.argv[1])
    while not queue.snapshot(job).batch_points:
        time.sleep(0.1)
    print(" ".join(map(str, queue.worker_pids())), flush=True)
    time.sleep(600)
""")


def test_workers_exit_when_the_server_is_killed_mid_training_and_no_run_is_listed(
        runs_dir, mnist, mnist_cache_dir):
    """(A process killed while it saves: tests/test_faults.py.)"""
    env = {**os.environ, "LATENT_LAB_CACHE": str(mnist_cache_dir), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER_STAND_IN, str(runs_dir)], stdout=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT)
    try:
        pids = [int(pid) for pid in server.stdout.readline().split()]
        assert pids  # the training worker (a warm spare starts only once the slot is free)
        server.kill()
        server.wait(timeout=10)
        wait_until(lambda: not any(running(pid) for pid in pids), 20, 0.05)
    finally:
        server.kill()
    assert listed(runs_dir) == []
