"""The training queue's contract, against both backends with real processes: local worker
processes, and Celery workers through a real redis-server (two worker processes standing in for
two machines). Order, estimates, owners and the teacher first, cancel, stop (the partial run comes
back), a training process killed; then what survives: the web server killed and restarted with
jobs waiting; and, on Celery, a worker machine lost mid-job and the Redis server restarted."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from functools import partial

import pytest

from tests.conftest import TINY, wait_until
from tests.support.harness import ROOT
from tests.support.services import CeleryWorkers, RedisServer
from vae import classroom, runs
from vae.classroom import STUDENT, TEACHER, ClassroomPolicy, ClassroomState, Person
from vae.jobs import protocol, remote
from vae.jobs.celery_app import TASK, make_app
from vae.jobs.job import ACTIVE_STATES
from vae.jobs.policy import OpenPolicy
from vae.jobs.queue import TrainingQueue
from vae.jobs.remote import CeleryBackend
from vae.jobs.signing import Signer, sign_entry
from vae.jobs.store import JobStore

QUICK = TINY.replace(epochs=1, hidden_dim=16, train_subset=512)
LONG = TINY.replace(epochs=200, hidden_dim=16, train_subset=512)
# Holds a slot for about 40 s on this machine (vae.cost), well past the steps a test takes meanwhile on
# a loaded machine (LONG can finish in under 10 s); the test cancels it when done.
FILLER = LONG.replace(train_subset=4096)
THE_TEACHER = Person(TEACHER, "the teacher", browser="t" * 32)


def student(name: str) -> Person:
    key = classroom.key_hash(f"{name}-secret-key-0123456789")
    return Person(STUDENT, name, key, browser=key, address=f"10.0.0.{len(name)}")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def celery_workers(redis_server, tmp_path_factory, mnist, mnist_cache_dir):
    workers = CeleryWorkers(redis_server.url, 2, tmp_path_factory.mktemp("worker-logs"),
                            env={"LATENT_LAB_CACHE": str(mnist_cache_dir)})
    try:
        workers.wait_ready()
        yield workers
    finally:
        workers.stop()


@dataclass
class Backend:
    name: str  # "local" or "celery"
    broker: str  # the Redis address, or "local"

    def queue(self, store, policy=None) -> TrainingQueue:
        remote = partial(CeleryBackend, self.broker) if self.name == "celery" else None
        return TrainingQueue(slots=1, stall_seconds=60, store=store, policy=policy, backend=remote)


@pytest.fixture(scope="module", params=["local", "celery"])
def backend(request, mnist, mnist_cache_dir):
    os.environ["LATENT_LAB_CACHE"] = str(mnist_cache_dir)
    if request.param == "local":
        return Backend("local", "local")
    return Backend("celery", request.getfixturevalue("celery_workers").broker_url)


@pytest.fixture(scope="module")
def shared_queue(backend, tmp_path_factory):
    """One queue per backend for the module (a local one keeps a warm worker, as the app does)."""
    queue = backend.queue(JobStore(tmp_path_factory.mktemp("store") / "queue.sqlite3"))
    wait_until(lambda: not queue.unavailable() and queue.warm_workers(), 180, message="a ready worker")
    yield queue
    queue.shutdown()


@pytest.fixture
def make_queue(shared_queue):
    def make(policy=None):
        shared_queue.policy = policy or OpenPolicy()
        wait_until(lambda: shared_queue.warm_workers() >= capacity(shared_queue), 180, message="every worker warm")
        return shared_queue

    yield make
    shared_queue.stop_everything()
    assert shared_queue.wait_until_idle(60)
    shared_queue.policy = OpenPolicy()


def capacity(queue) -> int:
    """Trainings that run at once: the local slots, or the Celery workers alive."""
    return queue._pool.capacity(queue.slots)


def listed(runs_dir) -> list[str]:
    return sorted(run.name for run in runs.list_runs(runs_dir).runs)


def test_jobs_run_first_come_first_served_and_every_run_is_saved(make_queue, runs_dir):
    queue = make_queue()
    ids = [queue.submit(QUICK, runs_dir, name=f"run-{n}") for n in range(capacity(queue) + 2)]
    waiting = [snap for snap in queue.snapshots(active_only=True) if snap.state == "queued"]
    assert [snap.position for snap in waiting] == [1, 2]
    assert all(snap.estimated_start_seconds >= 0 for snap in waiting)
    assert queue.wait_until_idle(240)
    snaps = [queue.snapshot(job_id) for job_id in ids]
    assert [snap.state for snap in snaps] == ["completed"] * len(ids), [snap.message for snap in snaps]
    started = [queue._jobs[job_id].started for job_id in ids]
    assert started == sorted(started)  # no job started before one that came earlier
    assert listed(runs_dir) == sorted(f"run-{n}" for n in range(len(ids)))
    assert not runs.needs_numpy_files(runs_dir / "run-0") and (runs_dir / "run-0" / runs.REPLAY_FILE).is_file()
    assert snaps[0].batch_points and [point["epoch"] for point in snaps[0].epoch_points] == [1]
    assert snaps[0].snapshots_received >= 1 and queue.live_snapshot(ids[0]) is None  # ended: the run takes over


def test_the_teacher_goes_first_students_are_limited_and_only_owners_cancel(make_queue, runs_dir, class_db):
    state = ClassroomState(class_db)
    state.set_limits(THE_TEACHER, jobs_per_device=50, epochs=200)
    queue = make_queue(ClassroomPolicy(state))
    fillers = [queue.submit(FILLER, runs_dir, requester=student(f"Filler{n}")) for n in range(capacity(queue))]
    wait_until(lambda: all(queue.snapshot(job_id).epoch >= 1 for job_id in fillers), 120, message="the slots busy")
    ada, bob = student("Ada"), student("Bob")
    adas = queue.submit(QUICK, runs_dir, requester=ada)
    with pytest.raises(classroom.ClassroomError, match="You already have 1 training"):
        queue.submit(QUICK, runs_dir, requester=ada)
    teachers = queue.submit(QUICK, runs_dir, requester=THE_TEACHER)
    assert [snap.id for snap in queue.snapshots() if snap.state == "queued"] == [teachers, adas]
    with pytest.raises(Exception, match="Only the teacher and the person who started"):
        queue.cancel(adas, bob)
    queue.cancel(adas, ada)
    assert queue.snapshot(adas).state == "cancelled"
    queue.cancel(fillers[0], THE_TEACHER)  # the teacher's role alone stops anyone's: the partial run is kept
    assert wait_until(lambda: queue.snapshot(teachers).state == "completed", 180, message="the teacher's run")
    stopped = queue.snapshot(fillers[0])
    assert stopped.state == "stopped", stopped.message
    assert (runs_dir / stopped.run_name / "weights.npz").is_file()  # on Celery: it came back through Redis
    for filler in fillers[1:]:  # nothing left running into the next test
        queue.cancel(filler, THE_TEACHER)
    wait_until(lambda: not any(queue.snapshot(job).state in ACTIVE_STATES for job in fillers), 120,
               message="the fillers stopped")


def test_a_training_process_killed_mid_job_is_one_sentence_and_the_queue_goes_on(make_queue, runs_dir):
    queue = make_queue()
    doomed = queue.submit(LONG, runs_dir, name="doomed")
    after = queue.submit(QUICK, runs_dir, name="after")
    wait_until(lambda: queue.snapshot(doomed).epoch >= 1, 120, message="the first job training")
    os.kill(queue.pid_of(doomed), signal.SIGKILL)  # on Celery: the training process on the worker's machine
    assert wait_until(lambda: queue.snapshot(after).state == "completed", 180, message="the next job")
    # Not in that order on every backend: another worker may finish `after` before the kill is told.
    wait_until(lambda: queue.snapshot(doomed).state not in ACTIVE_STATES, 60, message="the failure")
    snap = queue.snapshot(doomed)
    assert snap.state == "failed" and snap.message == ("The training process ended unexpectedly (signal 9); "
                                                       "nothing was saved.")
    assert listed(runs_dir) == ["after"]


SERVER = textwrap.dedent("""
    import sys, time
    from functools import partial
    from pathlib import Path
    from vae.config import TrainConfig
    from vae.jobs.queue import TrainingQueue
    from vae.jobs.remote import CeleryBackend
    from vae.jobs.store import JobStore
    store_path, runs_dir, broker, submit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "submit"
    backend = partial(CeleryBackend, broker) if broker != "local" else None
    queue = TrainingQueue(stall_seconds=60, store=JobStore(Path(store_path)), backend=backend)
    if submit:
        long = TrainConfig(hidden_dim=16, epochs=8, batch_size=64, train_subset=512)
        quick = long.replace(epochs=1)
        first = queue.submit(long, runs_dir, name="running")
        for n in range(3):
            queue.submit(quick, runs_dir, name=f"waiting-{n}")
        deadline = time.monotonic() + 180
        while queue.snapshot(first).epoch < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = queue.snapshot(first)
        print("SUBMITTED" if snap.epoch >= 1 else f"NOT STARTED: {snap.state} {snap.message!r} "
              f"{queue.unavailable()!r}", flush=True)
        time.sleep(600)
    print("STATES", [(s.run_name, str(s.state), s.position) for s in queue.snapshots()], flush=True)
    queue.wait_until_idle(300)
    print("FINAL", [(s.run_name, str(s.state)) for s in queue.snapshots()], flush=True)
    print("MESSAGES", {s.run_name: s.message for s in queue.snapshots()}, flush=True)
""")


def run_server(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SERVER, *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_the_web_server_killed_with_jobs_waiting_finds_them_waiting_in_order(backend, request, tmp_path, runs_dir):
    store = tmp_path / "queue.sqlite3"
    workers = request.getfixturevalue("celery_workers") if backend.name == "celery" else None
    if workers:  # the test before may have left a worker warming a new training process up
        def idle_and_warm():
            states = workers.states()
            return len(states) == len(workers.processes) and all(
                state.get("ready") and not state.get("job") for state in states.values())
        wait_until(idle_and_warm, 180, message="every Celery worker idle and warm")
    first = run_server(store, runs_dir, backend.broker, "submit")
    try:
        said = first.stdout.readline().strip()
        assert said == "SUBMITTED", (said, workers.log_tails() if workers else "")
    finally:
        first.kill()  # SIGKILL: what a crash does
        first.wait(timeout=10)
    second = run_server(store, runs_dir, backend.broker, "resume")
    try:
        states = eval(second.stdout.readline().removeprefix("STATES"))
        waiting = [(name, position) for name, state, position in states if state == "queued"]
        assert [name for name, _ in waiting] == ["waiting-0", "waiting-1", "waiting-2"][-len(waiting):]
        assert [position for _, position in waiting] == list(range(1, len(waiting) + 1))
        final = dict(eval(second.stdout.readline().removeprefix("FINAL")))
        messages = eval(second.stdout.readline().removeprefix("MESSAGES"))
    finally:
        second.kill()
        second.wait(timeout=10)
    assert all(final[f"waiting-{n}"] == "completed" for n in range(3)), (final, messages)
    # Locally the running job's process ended with the server: interrupted. On Celery its worker
    # went on: the restarted server followed it to the end.
    assert final["running"] == ("interrupted" if backend.name == "local" else "completed"), (final, messages)
    assert set(listed(runs_dir)) == {"waiting-0", "waiting-1", "waiting-2"} | (
        set() if backend.name == "local" else {"running"})


# --- Celery only: a machine lost, Redis restarted --------------------------------------------------


@pytest.fixture
def celery_queue(celery_workers, tmp_path):
    queue = TrainingQueue(stall_seconds=60, store=JobStore(tmp_path / "queue.sqlite3"),
                          backend=partial(CeleryBackend, celery_workers.broker_url))
    wait_until(lambda: queue.warm_workers() >= 2, 60, message="both workers seen")
    yield queue
    queue.stop_everything()
    queue.wait_until_idle(60)
    queue.shutdown()


def test_a_job_waiting_for_its_worker_to_warm_up_is_not_sent_again(celery_workers, tmp_path, runs_dir, monkeypatch):
    """A dispatch is sent again only if no worker claimed it: not when the worker that did is still
    warming its training process up (a fresh clone's check once saw such a job run under its first
    dispatch, taken back as lost meanwhile, and end as "exit code 0" with nothing saved)."""
    monkeypatch.setattr(remote, "CLAIM_SECONDS", 1.0)  # 30 s in the app: far less than a warm-up takes
    queue = TrainingQueue(stall_seconds=60, store=JobStore(tmp_path / "queue.sqlite3"),
                          backend=partial(CeleryBackend, celery_workers.broker_url))
    try:
        wait_until(lambda: queue.warm_workers() >= 2, 60, message="both workers seen")
        # The workers' warm processes end while they wait (as if killed): each worker starts a new
        # one, and the first two jobs reach those while they still warm up (TensorFlow, MNIST) for
        # seconds; the next two are trained by the same processes, ready again.
        killed = celery_workers.training_processes()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: len(celery_workers.training_processes() - killed) == 2, 30,
                   message="new training processes started in their place")
        ids = [queue.submit(QUICK, runs_dir, name=f"warming-{n}") for n in range(4)]
        assert queue.wait_until_idle(300)
        snaps = [queue.snapshot(job_id) for job_id in ids]
        assert [snap.state for snap in snaps] == ["completed"] * 4, [snap.message for snap in snaps]
        assert listed(runs_dir) == [f"warming-{n}" for n in range(4)]
    finally:
        queue.stop_everything()
        queue.wait_until_idle(60)
        queue.shutdown()


def test_a_celery_worker_trains_job_after_job_in_the_same_warm_process(celery_queue, celery_workers, runs_dir):
    """As the local queue's: TensorFlow's import and MNIST are paid once per process, not per job."""
    wait_until(lambda: len(celery_workers.training_processes()) == 2 and celery_queue.warm_workers() >= 2, 120,
               message="both workers' training processes warm")
    before = celery_workers.training_processes()
    ids = [celery_queue.submit(QUICK, runs_dir, name=f"in-a-row-{n}") for n in range(4)]
    assert celery_queue.wait_until_idle(300)
    assert [celery_queue.snapshot(job_id).state for job_id in ids] == ["completed"] * 4
    assert celery_workers.training_processes() == before


def test_the_redis_server_restarted_mid_training_loses_no_run_and_no_curve(celery_queue, redis_server, runs_dir):
    ids = [celery_queue.submit(QUICK.replace(epochs=2), runs_dir, name=f"job-{n}") for n in range(3)]
    wait_until(lambda: celery_queue.snapshot(ids[0]).epoch >= 1, 120, message="the first jobs training")
    redis_server.stop()
    redis_server.start()  # its append-only file brings back what it held
    assert celery_queue.wait_until_idle(300)
    snaps = [celery_queue.snapshot(job_id) for job_id in ids]
    assert [snap.state for snap in snaps] == ["completed"] * 3, [(s.state, s.message) for s in snaps]
    assert all((runs_dir / snap.run_name).is_dir() for snap in snaps)
    assert all(len(snap.epoch_points) == 2 for snap in snaps)  # the curves carried on: every epoch's point


def test_a_redis_restart_while_a_worker_sends_its_run_back_loses_nothing(celery_queue, celery_workers,
                                                                          redis_server, runs_dir):
    job = celery_queue.submit(QUICK.replace(epochs=2), runs_dir, name="sent-back")
    wait_until(lambda: celery_queue.snapshot(job).state == "saving", 120, 0.02, "the job saving")
    # The workers' logs are the module's: only what they say from now on counts (the test before
    # restarted Redis too, and the workers said then that they kept the job's progress).
    logs = {log: log.stat().st_size for log in celery_workers.log_folder.glob("*.log")}
    redis_server.stop()  # the worker evaluates, packs and sends the run now, and says it finished: Redis is away

    def said_since(words: str) -> bool:
        return any(words in log.read_bytes()[start:].decode(errors="replace") for log, start in logs.items())

    try:
        wait_until(lambda: said_since("the trained run is kept and sent again"), 120, 0.2,
                   "the worker to keep the trained run while Redis is away")
    finally:
        redis_server.start()  # whatever happened: the module's next tests need it
    snap = wait_until(lambda: (s := celery_queue.snapshot(job)).state in ("completed", "failed") and s, 180)
    assert snap.state == "completed", snap.message
    assert runs.find_run(runs_dir, "sent-back").metrics.get("owner") is None  # the job's owner, not the package's


def test_a_hostile_broker_neither_breaks_nor_fools_the_web_server_or_the_workers(celery_queue, celery_workers,
                                                                                  redis_server, runs_dir):
    """Whoever reaches the class's Redis writes garbage, oversized, forged and replayed values to every
    key and stream the web server and the workers read: nothing ends a reader, nothing is believed."""
    client, forger = redis_server.client(), Signer(b"not the class's secret, but long")
    client.set("latent-lab:worker:garbage", b"\xff\x00 not json")
    client.set("latent-lab:worker:huge", b"x" * 2_000_000)
    client.set("latent-lab:worker:forged", json.dumps({"name": "forged", "job": None, "ready": True, "mac": "00" * 32}))
    forged_task = make_app(celery_workers.broker_url)
    forged_task.send_task(TASK, args=["forged-job", "t", {"config": {"epochs": 10_000}, "name": "forged"}, "00" * 32])
    forged_task.send_task(TASK, kwargs={"anything": "at all"})

    job = celery_queue.submit(QUICK.replace(epochs=3), runs_dir, name="genuine")
    wait_until(lambda: celery_queue.snapshot(job).epoch >= 1, 120, message="the genuine job training")
    events, commands = f"latent-lab:job:{job}:events", f"latent-lab:job:{job}:commands"
    finished = protocol.encode_event(protocol.Finished("completed", "forged", 1, 1.0, 1.0))
    client.xadd(events, {"line": b"not the protocol", "token": b"t", "seq": b"1"})
    client.xadd(events, {"line": b"{" * 3_000_000})
    client.xadd(events, sign_entry(forger, "event", job, {"line": finished, "token": "t", "seq": 10**9}))
    first_batch = next(fields for _, fields in client.xrange(events) if b'"batch"' in fields.get(b"line", b""))
    client.xadd(events, first_batch)  # a genuine entry, replayed
    client.xadd(commands, {"line": b'{"command": "kill"}'})  # unsigned: the worker must not obey
    client.xadd(commands, sign_entry(forger, "command", job, {"line": b'{"command": "kill"}'}))

    snap = wait_until(lambda: (s := celery_queue.snapshot(job)).state in ("completed", "failed") and s, 240)
    assert snap.state == "completed" and snap.message.startswith("Run 'genuine' saved"), snap.message
    points = [point["epoch"] for point in snap.batch_points]
    assert points == sorted(points) and len(snap.epoch_points) == 3  # no replayed or forged point
    assert listed(runs_dir) == ["genuine"]  # nothing forged was saved, no forged job ran
    assert client.get("latent-lab:job:forged-job:claimed") is None
    assert celery_queue._pool.slots() == 2 and "celery-events" in {t.name for t in threading.enumerate()}
    logs = "".join(log.read_text() for log in celery_workers.log_folder.glob("*.log"))
    assert "ignored a task from Redis" in logs and "ignored a command for job" in logs
    client.delete("latent-lab:worker:garbage", "latent-lab:worker:huge", "latent-lab:worker:forged")


def test_a_run_sent_back_is_believed_only_if_its_worker_signed_it(celery_queue, redis_server, runs_dir, small_data):
    """The packed run in Redis is taken only if its digest is the one on the worker's signed Finished
    line; its owner and config are the job's whatever the package says."""
    from vae.jobs.job import Job
    from vae.runs.transfer import pack_run
    from vae.training.lab import train_and_save

    forged_owner = {"role": "teacher", "name": "the teacher", "key": ""}  # and a config not the job's
    train_and_save(QUICK.replace(seed=9), small_data, runs_dir / "made", "packed", owner=forged_owner)
    packed = pack_run(runs_dir / "made" / "packed")
    backend, client = celery_queue._pool, redis_server.client()
    student_owner = {"role": "student", "name": "Ada", "key": "a" * 64}
    job = Job("feedbeef", QUICK, "landed", None, runs_dir, owner=student_owner)
    worker = remote.RemoteWorker(backend)
    worker.job = job
    finished = protocol.Finished("completed", "landed", 1, 1.0, 1.0)
    client.set("latent-lab:job:feedbeef:run", packed)
    refused = backend._receive_run(worker, finished, hashlib.sha256(b"what the worker packed").hexdigest())
    assert isinstance(refused, protocol.Failed) and "not the run its worker sent" in refused.message
    assert backend._receive_run(worker, finished, hashlib.sha256(packed).hexdigest()) is finished
    saved = runs.find_run(runs_dir, "landed")
    assert saved.metrics["owner"] == student_owner and saved.config == QUICK


def test_a_worker_machine_lost_mid_job_fails_its_job_and_the_other_takes_the_line(celery_queue, celery_workers,
                                                                                runs_dir, monkeypatch):
    monkeypatch.setattr(remote, "LOST_SECONDS", 5.0)  # 15 s in the app
    doomed = celery_queue.submit(LONG, runs_dir, name="doomed")
    wait_until(lambda: celery_queue.snapshot(doomed).epoch >= 1, 120, message="the job training")
    machine = wait_until(lambda: next((name for name, state in celery_workers.states().items()
                                       if state.get("job") == doomed), None), 30, message="its machine's report")
    celery_workers.kill(machine)  # the worker and its training process, as a machine switched off
    after = celery_queue.submit(QUICK, runs_dir, name="after")
    snap = wait_until(lambda: (s := celery_queue.snapshot(doomed)).state == "failed" and s, 60)
    assert snap.message == "The machine training this was lost (nothing heard from it for 5 s); nothing was saved."
    assert wait_until(lambda: celery_queue.snapshot(after).state == "completed", 120)
    celery_workers.processes.pop(machine)  # (the last test of the module: no machine is added back)


def test_commands_that_come_before_the_training_is_handed_over_follow_it_in_order():
    """A Stop or Watch read from Redis while the claimed job's process still warms up is held: the
    process reads its training first (as from the local queue's pipe), then them."""
    from vae.jobs import protocol
    from vae.jobs.celery_worker import Relay

    class Process:
        readies = 1  # it said "ready" once, before the job

        def __init__(self):
            self.sent, self.killed = [], False

        def send(self, command):
            self.sent.append(command)

        def kill(self):
            self.killed = True

    relay = Relay(client=None, job_id="j", token="t", signer=Signer.from_environment())
    relay.process = Process()
    relay._command(protocol.encode_command(protocol.Watch(True)))
    relay._command(protocol.encode_command(protocol.Stop()))
    assert relay.process.sent == []
    train = protocol.Train({}, "/tmp/x", "run", None, None)
    relay.hand_over(train)
    relay._command(protocol.encode_command(protocol.Watch(False)))
    assert relay.process.sent == [train, protocol.Watch(True), protocol.Stop(), protocol.Watch(False)]
    relay._command(b'{"command": "kill"}\n')
    assert relay.process.killed


def test_a_relay_ends_its_job_when_the_process_says_it_is_ready_again_and_passes_on_nothing_after():
    """The process trains job after job: its next "ready" ends this job (not the one it said before
    the job came, even if read late), and a Stop or kill that comes after is not for the next job."""
    from vae.jobs import protocol
    from vae.jobs.celery_worker import Relay

    class Process:
        readies, sent, killed = 1, [], False

        def send(self, command):
            self.sent.append(command)

        def kill(self):
            self.killed = True

    relay = Relay(client=None, job_id="j", token="t", signer=Signer.from_environment())
    process = relay.process = Process()
    relay.hand_over(protocol.Train({}, "/tmp/x", "run", None, None))
    relay.on_event(process, protocol.Ready(1))  # the "ready" it said before the job, read late
    assert not relay.over.is_set()
    process.readies = 2
    relay.on_event(process, protocol.Ready(1))
    assert relay.over.is_set() and relay.ready_again
    relay._command(protocol.encode_command(protocol.Stop()))
    relay._command(b'{"command": "kill"}\n')
    assert len(process.sent) == 1 and not process.killed
