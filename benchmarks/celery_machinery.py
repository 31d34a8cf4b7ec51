"""What Celery's own machinery would do for the queue, measured against what Latent Lab built on Redis
(docs/scaling.md, "Celery as Celery"): a plain Celery worker (solo pool, no TensorFlow) on a
redis-server with a password, both on 127.0.0.1.

1. Liveness: `app.control.inspect().active()` (a broadcast, answered by each worker between tasks)
   against reading the workers' heartbeat keys (one MGET), each timed while the worker is idle and
   while it runs a 3-second task (a training is one long task on the solo pool).
2. Taking a dispatch back: a task revoked while no worker is connected (`app.control.revoke`), then
   a worker started (as `make worker` starts one: --without-mingle): does the task still run?
3. Sending a run back (5 MB, about a default run packed): as the task's result through Celery's
   Redis result backend (JSON, so the bytes travel as base64: pickle would let whoever reaches Redis
   run code in the web server), against the worker's own SET and the server's GET, as Latent Lab does.

    .venv/bin/python -m benchmarks.celery_machinery
"""

from __future__ import annotations

import base64
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "machinery"
BROKER = os.environ.get("MACHINERY_BROKER", "redis://127.0.0.1:1/0")
RUN_BYTES = 5_000_000
app = Celery("machinery", broker=BROKER, backend=BROKER)
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_default_queue=QUEUE, task_ignore_result=True,
                worker_hijack_root_logger=False)


@app.task(name="machinery.as_result", ignore_result=False)
def as_result(seed: int) -> str:
    return base64.b64encode(random.Random(seed).randbytes(RUN_BYTES)).decode()


@app.task(name="machinery.as_key")
def as_key(seed: int) -> None:
    redis.Redis.from_url(app.conf.broker_url).set(f"machinery:run:{seed}", random.Random(seed).randbytes(RUN_BYTES))


@app.task(name="machinery.work")
def work(label: str, seconds: float = 0.0) -> None:
    client = redis.Redis.from_url(app.conf.broker_url)
    client.set(f"machinery:started:{label}", "1")
    time.sleep(seconds)
    client.rpush("machinery:ran", label)
    client.set(f"machinery:heartbeat:{label}", "1", ex=10)


def start_worker(url: str, name: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "MACHINERY_BROKER": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "benchmarks.celery_machinery", "worker",
                             "--pool=solo", "-Q", QUEUE, "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                             "--loglevel=WARNING"], cwd=ROOT, env=env, stdout=open(log, "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)


def wait_for(condition, seconds: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def timed(action, runs: int = 9) -> tuple[float, list]:
    """Median milliseconds of `runs` calls, and the last answer."""
    times, answer = [], None
    for _ in range(runs):
        started = time.perf_counter()
        answer = action()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), answer


def main() -> None:
    from tests.support.services import RedisServer

    folder = Path(tempfile.mkdtemp(prefix="machinery-"))
    server = RedisServer(folder / "redis", durable=False)
    app.conf.broker_url = app.conf.result_backend = server.url
    client = server.client()
    worker = start_worker(server.url, "first", folder / "first.log")
    try:
        assert wait_for(lambda: app.control.inspect(timeout=0.5).ping(), 60), "the worker did not start"
        inspect = app.control.inspect(timeout=1.0)
        idle_ms, idle_answer = timed(lambda: inspect.active())
        heartbeat_ms, _ = timed(lambda: client.mget(["machinery:heartbeat:a", "machinery:heartbeat:b"]))
        work.delay("busy", 30.0)
        assert wait_for(lambda: client.exists("machinery:started:busy"), 30), "the task did not start"
        busy_ms, busy_answer = timed(lambda: app.control.inspect(timeout=1.0).active(), runs=3)
        print(f"liveness, worker idle: inspect().active() median {idle_ms:.0f} ms (answered: {bool(idle_answer)}); "
              f"heartbeat MGET median {heartbeat_ms:.2f} ms")
        print(f"liveness, worker running a task on the solo pool: inspect().active() median {busy_ms:.0f} ms, "
              f"answered: {bool(busy_answer)} (a silent busy worker looks the same as a lost one)")
        worker.kill()  # its task is left unacknowledged (Redis gives it back after an hour): out of the way
        worker.wait(30)

        client.delete("machinery:ran")
        task = work.delay("revoked-before-any-worker")
        app.control.revoke(task.id)  # broadcast: no worker is connected to hear it
        worker = start_worker(server.url, "second", folder / "second.log")
        ran = wait_for(lambda: b"revoked-before-any-worker" in client.lrange("machinery:ran", 0, -1), 60)
        print(f"a task revoked while no worker was connected, then a worker started: it ran: {ran}")

        stored = {}

        def through_result(seed: int) -> bytes:
            result = as_result.delay(seed)
            answer = base64.b64decode(result.get(timeout=60))
            stored["result"] = client.strlen(f"celery-task-meta-{result.id}")
            return answer

        def through_key(seed: int) -> bytes:
            client.delete(f"machinery:run:{seed}")
            as_key.delay(seed)
            wait_for(lambda: client.exists(f"machinery:run:{seed}"), 60, 0.005)
            return client.get(f"machinery:run:{seed}")

        result_ms, _ = timed(lambda: through_result(1), runs=5)
        key_ms, _ = timed(lambda: through_key(2), runs=5)
        print(f"a 5 MB run sent back: as the task's result (JSON, base64) median {result_ms:.0f} ms; "
              f"the worker's SET and the server's GET median {key_ms:.0f} ms (ratio {result_ms / key_ms:.1f}); "
              f"held in Redis: {stored['result'] / 1e6:.2f} MB against {client.strlen('machinery:run:2') / 1e6:.2f} MB")
    finally:
        worker.terminate()
        worker.wait(30)
        server.stop()


if __name__ == "__main__":
    main()
