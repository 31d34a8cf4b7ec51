"""The training queue: order, estimates and permissions with stand-in workers (fast), then real
worker processes: progress streamed, stop, and every fault (killed, crashed, stalled, server gone)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY, wait_until
from vae import runs
from vae.training_queue import QueueError, TrainingQueue, ended_unexpectedly, slots_from_environment

ROOT = Path(__file__).resolve().parent.parent
SMALL = TINY.replace(epochs=2, train_subset=512)


class StandInWorker:
    """Records what the queue sends; the test plays the worker's part."""

    made: list[StandInWorker] = []

    def __init__(self, on_event, on_exit):
        self.on_event, self.on_exit = on_event, on_exit
        self.sent, self.job, self.killed = [], None, False
        self.pid = 10_000 + len(StandInWorker.made)
        StandInWorker.made.append(self)

    def alive(self):
        return not self.killed

    def send(self, message):
        self.sent.append(message)

    def kill(self):
        self.killed = True
        self.on_exit(self, -signal.SIGKILL)

    def report(self, event, **fields):
        self.on_event(self, {"event": event, **fields})

    def batch(self, epoch, batch, of=10, epochs=2, elapsed=1.0):
        self.report("batch", epoch=epoch, epochs=epochs, batch=batch, batches_per_epoch=of,
                    metrics={"loss": 200.0, "reconstruction_loss": 190.0, "kl_loss": 10.0}, elapsed_seconds=elapsed)


@pytest.fixture
def fake_queue():
    StandInWorker.made = []
    queue = TrainingQueue(slots=1, stall_seconds=5, worker_factory=StandInWorker)
    yield queue
    queue.shutdown()


def worker_of(queue, job_id) -> StandInWorker:
    return next(w for w in StandInWorker.made if w.job is not None and w.job.id == job_id)


def test_jobs_run_in_order_one_slot_at_a_time(fake_queue, runs_dir):
    first, _ = fake_queue.submit(SMALL, runs_dir, "default")
    second, _ = fake_queue.submit(SMALL, runs_dir, "default")
    third, _ = fake_queue.submit(SMALL.replace(epochs=4), runs_dir, "default")
    states = {s.id: (s.state, s.position) for s in fake_queue.snapshots()}
    assert states == {first: ("starting", 0), second: ("queued", 1), third: ("queued", 2)}
    # The warm spare got the first job, and a new spare was started at once.
    worker = worker_of(fake_queue, first)
    assert worker.sent[0]["command"] == "train" and worker.sent[0]["config"] == SMALL.to_dict()
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

    worker.report("finished", state="completed", run_name=snap.run_name, epochs_completed=2,
                  test_neg_elbo=180.0, train_seconds=8.0)
    worker.on_exit(worker, 0)
    assert fake_queue.snapshot(first).state == "completed"
    assert fake_queue.snapshot(second).state == "starting" and fake_queue.snapshot(third).position == 1


def test_only_the_token_holder_may_cancel_or_stop(fake_queue, runs_dir):
    running, running_token = fake_queue.submit(SMALL, runs_dir)
    queued, queued_token = fake_queue.submit(SMALL, runs_dir)
    for job_id, token in [(queued, None), (queued, running_token), (running, "guess"), (running, queued_token)]:
        with pytest.raises(QueueError, match="Only the person who started"):
            fake_queue.cancel(job_id, token)
    assert fake_queue.snapshot(queued).state == "queued"
    assert fake_queue.owns(queued, queued_token) and not fake_queue.owns(queued, running_token)
    fake_queue.cancel(queued, queued_token)
    assert fake_queue.snapshot(queued).state == "cancelled"
    fake_queue.cancel(running, running_token)
    assert fake_queue.snapshot(running).state == "stopping"
    assert worker_of(fake_queue, running).sent[-1] == {"command": "stop"}
    with pytest.raises(QueueError, match="no longer known"):
        fake_queue.cancel("nope", "x")


def test_a_worker_that_dies_without_a_word_fails_its_job_and_the_queue_moves_on(fake_queue, runs_dir):
    first, _ = fake_queue.submit(SMALL, runs_dir)
    second, _ = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, first)
    worker.batch(1, 1)
    worker.kill()
    snap = fake_queue.snapshot(first)
    assert snap.state == "failed"
    assert snap.message == "The training process ended unexpectedly (signal 9); nothing was saved."
    assert fake_queue.snapshot(second).state == "starting"
    assert ended_unexpectedly(3) == "The training process ended unexpectedly (exit code 3); nothing was saved."


def test_a_silent_worker_is_reported_stalled_and_stop_kills_it(fake_queue, runs_dir, monkeypatch):
    job, token = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, job)
    worker.batch(1, 1)
    assert not fake_queue.snapshot(job).stalled
    later = time.monotonic() + 6
    monkeypatch.setattr("vae.training_queue.time.monotonic", lambda: later)
    snap = fake_queue.snapshot(job)
    assert snap.stalled and snap.seconds_since_progress >= 5
    fake_queue.cancel(job, token)
    assert worker.killed
    assert "stalled (no progress for over 5 s)" in fake_queue.snapshot(job).message


def test_snapshots_are_kept_while_a_job_runs_and_dropped_when_it_ends(fake_queue, runs_dir):
    from vae import snapshots

    job, _ = fake_queue.submit(SMALL, runs_dir)
    worker = worker_of(fake_queue, job)
    worker.batch(1, 1)
    snap = snapshots.Snapshot(0.5, 2, np.zeros((4, 2), np.float32), snapshots.plane_for(np.zeros((4, 2))),
                              np.zeros((100, 784), np.uint8))
    worker.report("snapshot", **snapshots.to_message(snap))
    assert fake_queue.live_snapshot(job).epoch == 0.5 and fake_queue.live_snapshot(job, epoch_end=True) is None
    worker.report("snapshot", **{**snapshots.to_message(snap), "epoch": 1.0})
    worker.report("snapshot", epoch=2.0, z="garbage")  # malformed: logged and ignored
    assert fake_queue.live_snapshot(job, epoch_end=True).epoch == 1.0
    assert fake_queue.snapshot(job).snapshots_received == 2
    worker.kill()
    assert fake_queue.live_snapshot(job) is None


def test_classroom_owners_limits_pause_and_the_teachers_stop(fake_queue, runs_dir):
    ada = {"role": "student", "name": "Ada", "key": "a" * 32}
    teacher_job, _ = fake_queue.submit(SMALL, runs_dir, owner={"role": "teacher", "name": "", "key": ""})
    fake_queue.hold_students(True)
    adas, adas_token = fake_queue.submit(SMALL, runs_dir, owner=ada, max_active_per_owner=1)
    with pytest.raises(QueueError, match="You already have 1 training"):
        fake_queue.submit(SMALL, runs_dir, owner=ada, max_active_per_owner=1)
    fake_queue.submit(SMALL, runs_dir, owner={**ada, "key": "b" * 32}, max_active_per_owner=1)  # Bob may
    assert worker_of(fake_queue, teacher_job).sent[0]["owner"]["role"] == "teacher"
    worker_of(fake_queue, teacher_job).report("finished", state="completed", run_name="x", epochs_completed=2,
                                              test_neg_elbo=200.0, train_seconds=1.0)
    worker_of(fake_queue, teacher_job).kill()
    held = fake_queue.snapshot(adas)
    assert held.state == "queued" and held.held  # the slot is free, but students are paused
    fake_queue.hold_students(False)
    assert fake_queue.snapshot(adas).state == "starting" and not fake_queue.snapshot(adas).held
    assert worker_of(fake_queue, adas).sent[0]["owner"] == ada
    with pytest.raises(QueueError, match="Only the person"):
        fake_queue.cancel(adas, "not-the-token")
    fake_queue.cancel(adas, None, teacher=True)  # the page vouches that this session is the teacher's
    assert fake_queue.snapshot(adas).state == "stopping"


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
        assert slots_from_environment() == int(value)
    else:
        with pytest.raises(Exception, match="LATENT_LAB_TRAINING_SLOTS"):
            slots_from_environment()


# --- Real worker processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def queue(tmp_path_factory, mnist, mnist_cache_dir):
    """One real queue for this module (each warm worker costs a TensorFlow import)."""
    old = os.environ.get("LATENT_LAB_CACHE")
    os.environ["LATENT_LAB_CACHE"] = str(mnist_cache_dir)
    real = TrainingQueue(slots=1, stall_seconds=4)
    yield real
    real.shutdown()
    if old is None:
        os.environ.pop("LATENT_LAB_CACHE", None)
    else:
        os.environ["LATENT_LAB_CACHE"] = old


def listed(runs_dir):
    return [run.name for run in runs.list_runs(runs_dir).runs]


def test_real_workers_stream_progress_save_runs_and_exit(queue, runs_dir):
    first, _ = queue.submit(SMALL, runs_dir, "default", name="one")
    second, _ = queue.submit(SMALL.replace(epochs=1), runs_dir, name="two")
    assert queue.snapshot(second).position == 1
    assert queue.wait_until_idle(180)
    one, two = queue.snapshot(first), queue.snapshot(second)
    assert (one.state, two.state) == ("completed", "completed"), (one.message, two.message)
    assert "Run 'one' saved" in one.message
    assert len(one.batch_points) >= 2 and [p["epoch"] for p in one.epoch_points] == [1, 2]
    assert set(listed(runs_dir)) == {"one", "two"}
    assert not runs.needs_numpy_files(runs_dir / "one")
    assert one.snapshots_received >= 2 and (runs_dir / "one" / runs.REPLAY_FILE).is_file()
    assert queue.live_snapshot(first) is None  # ended: the saved run takes over
    # Each worker trains one job and exits: only the warm spare is left.
    assert wait_until(lambda: len(queue.worker_pids()) == 1, 30, 0.05)


def test_stop_keeps_the_partial_run(queue, runs_dir):
    job, token = queue.submit(TINY.replace(epochs=200, train_subset=512), runs_dir, name="stopped-one")
    wait_until(lambda: queue.snapshot(job).batch_points, 120, 0.05)
    # While it trains, the latent space arrives with the decoder, for the explorer to draw with.
    live = wait_until(lambda: queue.live_snapshot(job, epoch_end=True), 60, 0.05)
    assert live.epochs == 200 and live.decoder is not None
    assert live.decoder(live.z[:2]).shape == (2, 784)
    queue.cancel(job, token)
    assert queue.wait_until_idle(120)
    snap = queue.snapshot(job)
    assert snap.state == "stopped" and snap.epoch < 200
    assert listed(runs_dir) == ["stopped-one"]


def test_a_worker_killed_mid_training_is_explained_nothing_is_listed_and_the_queue_goes_on(queue, runs_dir):
    doomed, _ = queue.submit(TINY.replace(epochs=200, train_subset=512), runs_dir, name="doomed")
    after, _ = queue.submit(SMALL.replace(epochs=1), runs_dir, name="after")
    wait_until(lambda: queue.snapshot(doomed).batch_points, 120, 0.05)
    os.kill(queue.pid_of(doomed), signal.SIGKILL)
    assert queue.wait_until_idle(120)
    snap = queue.snapshot(doomed)
    assert snap.state == "failed"
    assert snap.message == "The training process ended unexpectedly (signal 9); nothing was saved."
    assert queue.snapshot(after).state == "completed"
    assert listed(runs_dir) == ["after"]


def test_a_failure_inside_the_worker_is_one_sentence(queue, runs_dir):
    job, _ = queue.submit(SMALL, runs_dir, name="late-clash")
    (runs_dir / "late-clash").mkdir()  # the name is taken after the request was accepted
    assert queue.wait_until_idle(120)
    snap = queue.snapshot(job)
    assert snap.state == "failed" and snap.message == "A run named 'late-clash' already exists; choose another name."


def test_a_stalled_worker_is_reported_and_can_be_stopped(queue, runs_dir):
    job, token = queue.submit(TINY.replace(epochs=200, train_subset=512), runs_dir, name="frozen")
    wait_until(lambda: queue.snapshot(job).batch_points, 120, 0.05)
    pid = queue.pid_of(job)
    os.kill(pid, signal.SIGSTOP)  # frozen: alive, but silent
    try:
        snap = wait_until(lambda: (s := queue.snapshot(job)).stalled and s, 30, 0.05)
        assert snap.state in ("running", "stopping")
        queue.cancel(job, token)
        assert queue.wait_until_idle(60)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGCONT)
    snap = queue.snapshot(job)
    assert snap.state == "failed" and "stalled" in snap.message and "nothing was saved" in snap.message
    assert listed(runs_dir) == []


def test_memory_error_in_a_job_is_one_sentence(monkeypatch):
    import threading

    from vae import lab, worker

    sent = []

    class Stream:
        def send(self, event, **fields):
            sent.append((event, fields))

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(lab, "train_and_save", out_of_memory)
    worker.run_job({"config": SMALL.to_dict(), "runs_dir": "/nowhere", "name": "x"}, Stream(), threading.Event(), None)
    assert sent == [("failed", {"message": "The training process ran out of memory; try a smaller model or batch."})]


def test_a_worker_given_nonsense_says_so_and_exits(mnist, mnist_cache_dir):
    env = {**os.environ, "LATENT_LAB_CACHE": str(mnist_cache_dir), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "vae.worker"], input="not json\n", capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "ready"
    assert events[-1] == {"event": "failed",
                          "message": "The training process received a request it does not understand."}
    assert done.returncode == 2


SERVER_STAND_IN = textwrap.dedent("""
    import sys, time
    from vae.config import TrainConfig
    from vae.training_queue import TrainingQueue
    queue = TrainingQueue()
    job, _ = queue.submit(TrainConfig(hidden_dim=32, epochs=500, batch_size=64, train_subset=512), sys.argv[1])
    while not queue.snapshot(job).batch_points:
        time.sleep(0.1)
    print(" ".join(map(str, queue.worker_pids())), flush=True)
    time.sleep(600)
""")


def test_workers_exit_when_the_server_is_killed_and_nothing_half_written_is_listed(
        runs_dir, mnist, mnist_cache_dir):
    env = {**os.environ, "LATENT_LAB_CACHE": str(mnist_cache_dir), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER_STAND_IN, str(runs_dir)], stdout=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT)
    try:
        pids = [int(pid) for pid in server.stdout.readline().split()]
        assert pids  # the training worker (a warm spare starts only once the slot is free)
        server.kill()
        server.wait(timeout=10)
        wait_until(lambda: not any(_alive(pid) for pid in pids), 20, 0.05)
    finally:
        server.kill()
    assert listed(runs_dir) == []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"  # a zombie has exited; its parent is gone
