"""A class on several web servers reaches its training queue only through the class's store and the
jobs' live files (vae.jobs.store_queue, vae.jobs.live_files): each web server's StoreQueue writes
submissions and requests, the queue's process (a TrainingQueue with `live`) takes them up and is the
only writer of a job's state. Here the queue's process is played in this process with stand-in
workers; tests/test_class_store.py and tests/e2e/test_server_faults.py run the real processes."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from tests.conftest import wait_until
from tests.support.harness import ROOT
from tests.test_training_queue import SMALL, THE_TEACHER, StandInWorker, student, worker_of
from vae import snapshots
from vae.classroom import ClassroomPolicy, ClassroomState, clear_student_runs, pause_students
from vae.jobs import protocol
from vae.jobs import queue as training_queue
from vae.jobs.live_files import LiveWriter, live_folder
from vae.jobs.queue import QueueError, TrainingQueue
from vae.jobs.store import JobStore
from vae.jobs.store_queue import StoreQueue


def the_queues_process(runs_dir, slots=1) -> TrainingQueue:
    store = JobStore.beside(runs_dir)
    StandInWorker.made = []
    return TrainingQueue(slots=slots, stall_seconds=30.0, worker_factory=StandInWorker,
                         policy=ClassroomPolicy(ClassroomState(store.database)), store=store,
                         live=LiveWriter(live_folder(runs_dir)))


def a_web_server(runs_dir) -> StoreQueue:
    store = JobStore.beside(runs_dir)
    return StoreQueue(store, runs_dir, ClassroomPolicy(ClassroomState(store.database)))


@pytest.fixture
def class_queue(runs_dir):
    queue = the_queues_process(runs_dir)
    yield queue, a_web_server(runs_dir)
    queue.shutdown()


def state_of(web: StoreQueue, job_id: str) -> str | None:
    snap = web.snapshot(job_id)
    return snap.state if snap else None


def test_a_submission_written_by_a_web_server_is_run_by_the_queues_process(class_queue, runs_dir):
    queue, web = class_queue
    job = web.submit(SMALL, runs_dir, "default", requester=THE_TEACHER)
    wait_until(lambda: state_of(web, job) == "starting", 10, message="the queue's process to start it")
    worker = worker_of(queue, job)
    assert worker.sent[0].name == web.snapshot(job).run_name
    worker.batch(1, 4)
    worker.report("epoch", epoch=1, epochs=2, train={"loss": 1.0, "reconstruction_loss": 1.0, "kl_loss": 0.0},
                  test={"loss": 2.0, "reconstruction_loss": 2.0, "kl_loss": 0.0}, elapsed_seconds=1.0)
    wait_until(lambda: web.snapshot(job).state == "running", 10, message="running, as the store says")
    snap = web.snapshot(job)
    assert (snap.epoch, snap.batch, snap.fraction_done) == (1, 4, pytest.approx(0.2))
    assert [point["test_loss"] for point in snap.epoch_points] == [2.0]
    worker.finish(snap.run_name)
    wait_until(lambda: state_of(web, job) == "completed", 10, message="completed")
    assert "saved" in web.snapshot(job).message


def test_a_restarted_web_server_reads_a_running_jobs_curve_from_its_start(class_queue, runs_dir):
    queue, web = class_queue
    job = web.submit(SMALL, runs_dir, requester=THE_TEACHER)
    wait_until(lambda: state_of(web, job) == "starting", 10, message="started")
    worker = worker_of(queue, job)
    for batch in range(1, 6):
        worker.batch(1, batch)
    wait_until(lambda: len(web.snapshot(job).batch_points) == 5, 10, message="five points")
    again = a_web_server(runs_dir)  # a web server started again knows nothing but the files
    epochs = [point["epoch"] for point in web.snapshot(job).batch_points]
    assert [point["epoch"] for point in again.snapshot(job).batch_points] == epochs


def test_live_snapshots_reach_every_web_server_and_asking_turns_watching_on(class_queue, runs_dir, monkeypatch):
    monkeypatch.setattr(training_queue, "WATCH_SECONDS", 3.0)
    queue, web = class_queue
    job = web.submit(SMALL, runs_dir, requester=THE_TEACHER)
    wait_until(lambda: state_of(web, job) == "starting", 10, message="started")
    worker = worker_of(queue, job)
    worker.batch(1, 1)
    assert web.live_snapshot(job) is None  # before the first, and it marks the job watched
    wait_until(lambda: protocol.Watch(True) in worker.sent, 10, message="the worker to be asked for snapshots")
    grid = np.arange(100 * 784, dtype=np.uint32).astype(np.uint8).reshape(100, 784)
    snap = snapshots.Snapshot(1.0, 2, np.ones((4, 2), np.float32), snapshots.plane_for(np.ones((4, 2))), grid)
    worker.on_event(worker, protocol.SnapshotEvent(snap))
    other = a_web_server(runs_dir)
    wait_until(lambda: other.live_snapshot(job, epoch_end=True) is not None, 10, message="the snapshot's file")
    assert np.array_equal(other.live_snapshot(job, epoch_end=True).grid, grid)
    wait_until(lambda: other.snapshot(job).snapshots_received == 1, 10, message="the count (kept 0.25 s)")
    worker.kill()
    wait_until(lambda: state_of(web, job) == "failed", 10, message="ended")
    assert web.live_snapshot(job) is None and not (live_folder(runs_dir) / job / "latest").exists()


def test_cancel_discard_and_the_pause_are_requests_the_queues_process_acts_on(class_queue, runs_dir):
    queue, web = class_queue
    ada, bob = student("Ada"), student("Bob", "10.0.0.6")
    running = web.submit(SMALL, runs_dir, requester=ada)
    waiting = web.submit(SMALL, runs_dir, requester=bob)
    wait_until(lambda: state_of(web, running) == "starting", 10, message="started")
    with pytest.raises(QueueError, match="Only the teacher and the person"):
        web.cancel(waiting, ada)
    web.cancel(waiting, bob)
    wait_until(lambda: state_of(web, waiting) == "cancelled", 10, message="cancelled")
    pause_students(THE_TEACHER, web, True)
    held = web.submit(SMALL, runs_dir, requester=bob)
    wait_until(lambda: web.snapshot(held).held, 10, message="held, as the queue's process says")
    assert web.students_held
    cleared = clear_student_runs(THE_TEACHER, web, runs_dir)
    assert cleared.stopped == 2
    wait_until(lambda: {state_of(web, running), state_of(web, held)} == {"failed", "cancelled"}, 10,
               message="both ended")
    assert "cleared" in web.snapshot(running).message


def test_two_web_servers_cannot_both_take_a_students_last_place(class_queue, runs_dir):
    queue, web = class_queue
    ada = student("Ada")
    results, barrier = [], threading.Barrier(4)

    def submit():
        barrier.wait()
        try:
            results.append(a_web_server(runs_dir).submit(SMALL, runs_dir, requester=ada))
        except Exception as error:  # noqa: BLE001 - kept for the assertion, whatever it is
            results.append(error)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    taken = [result for result in results if isinstance(result, str)]
    refusals = [str(result) for result in results if not isinstance(result, str)]
    # One place taken; the other three refused by the limit (not a locked store or a name taken).
    assert len(taken) == 1 and len(refusals) == 3, results
    assert all(refusal.startswith("You already have 1 training queued or running") for refusal in refusals), refusals


# Run by a new interpreter of its own (not multiprocessing's spawn, which first runs the parent's
# __main__ again: in a pytest worker that AppTest has used, a page of the app).
SUBMIT_FROM_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from tests.conftest import TINY
from tests.test_store_queue import a_web_server
runs_dir = Path(sys.argv[1])
print(a_web_server(runs_dir).submit(TINY, runs_dir, name="while-it-was-down"))
"""


def test_a_submission_made_while_the_queues_process_is_down_waits_in_the_store_and_runs(runs_dir):
    JobStore.beside(runs_dir)  # the store exists, as the launcher leaves it
    other = subprocess.run([sys.executable, "-c", SUBMIT_FROM_ANOTHER_PROCESS, str(runs_dir)], cwd=ROOT,
                           capture_output=True, text=True, timeout=180)
    assert other.returncode == 0, other.stderr[-2000:]
    job = other.stdout.split()[-1]
    web = a_web_server(runs_dir)
    assert state_of(web, job) == "queued"
    queue = the_queues_process(runs_dir)  # started again: it takes up the line from the store
    try:
        wait_until(lambda: state_of(web, job) == "starting", 10, message="the waiting job to start")
        assert worker_of(queue, job).sent[0].name == "while-it-was-down"
    finally:
        queue.shutdown()
