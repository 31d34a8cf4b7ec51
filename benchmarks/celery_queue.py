"""The queue on Celery against the local queue, measured in one run on this machine (a real
redis-server, real Celery worker processes standing in for machines):

1. cost per job: from Start to the first progress point with a warm worker (goal <= 2 s, as
   local), and a default training's whole time, Start to saved (goal <= local + 1 s), medians of
   --repeats on each backend (Celery's first, then local's, one training at a time);
2. two worker processes standing in for two machines: --jobs short trainings (1 epoch of 2000
   images) queued at once: all saved, first come first served (no job starts before an earlier
   one), and how the jobs spread across the workers.

    .venv/bin/python -m benchmarks.celery_queue [--repeats 2] [--jobs 30]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import redis

from tests.support.services import CeleryWorkers, RedisServer
from tests.support.waiting import wait_until
from vae.config import preset
from vae.data import default_cache_dir
from vae.jobs.celery_app import key
from vae.jobs.queue import TrainingQueue
from vae.jobs.remote import CeleryBackend
from vae.jobs.signing import SECRET_ENV


def one_training(queue: TrainingQueue, config) -> tuple[float, float]:
    """(seconds from Start to the first progress point, seconds from Start to saved)."""
    runs_dir = Path(tempfile.mkdtemp(prefix="celery-bench-"))
    wait_until(lambda: queue.warm_workers() and not queue.snapshots(active_only=True), 300, 0.1)
    started = time.perf_counter()
    job = queue.submit(config, runs_dir, "default")
    wait_until(lambda: queue.snapshot(job).batch_points, 300, 0.02)
    first = time.perf_counter() - started
    wait_until(lambda: not queue.snapshot(job).active, 900, 0.05)
    total = time.perf_counter() - started
    snap = queue.snapshot(job)
    assert snap.state == "completed", snap.message
    return first, total


def cost_per_job(name: str, queue: TrainingQueue, repeats: int) -> dict:
    """Each training starts once the worker is warm again, so no TensorFlow import overlaps it."""
    figures = {"first": [], "total": []}
    for _ in range(repeats):
        first, total = one_training(queue, preset("default"))
        figures["first"].append(round(first, 2))
        figures["total"].append(round(total, 1))
        print(f"  {name}: first progress {first:.2f} s, default training saved after {total:.1f} s", flush=True)
    return figures


def many_short(celery: TrainingQueue, broker: str, jobs: int) -> dict:
    runs_dir = Path(tempfile.mkdtemp(prefix="celery-many-"))
    config = preset("default").replace(epochs=1, train_subset=2000)
    wait_until(lambda: celery.warm_workers() >= 2, 300, 0.1)
    started = time.perf_counter()
    ids = [celery.submit(config, runs_dir, "default") for _ in range(jobs)]
    celery.wait_until_idle(3600)
    seconds = time.perf_counter() - started
    snaps = [celery.snapshot(job_id) for job_id in ids]
    client = redis.Redis.from_url(broker)
    workers = [json.loads(client.get(key("job", job_id, "claimed")))["worker"] for job_id in ids]
    starts = [celery._jobs[job_id].started for job_id in ids]
    return {"jobs": jobs, "seconds": round(seconds, 1), "saved": sum((runs_dir / s.run_name).is_dir() for s in snaps),
            "completed": sum(s.state == "completed" for s in snaps), "fifo_kept": starts == sorted(starts),
            "per_worker": dict(collections.Counter(workers))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    # The web server and its workers sign what they send each other (vae.jobs.signing): one secret
    # for this run, in the environment both read, unless one is set already.
    os.environ.setdefault(SECRET_ENV, secrets.token_hex(32))
    folder = Path(tempfile.mkdtemp(prefix="celery-bench-"))
    server = RedisServer(folder / "redis")
    workers = CeleryWorkers(server.url, 2, folder, env={"LATENT_LAB_CACHE": str(default_cache_dir())})
    local = celery = None
    cost = {}
    try:
        workers.wait_ready()
        celery = TrainingQueue(backend=partial(CeleryBackend, server.url))
        print("cost per job: Celery, then local (one machine's cores, one training at a time):", flush=True)
        cost["celery"] = cost_per_job("celery", celery, args.repeats)
        print(f"{args.jobs} short trainings on two workers:", flush=True)
        spread = many_short(celery, server.url, args.jobs)
        celery.shutdown()
        workers.stop()  # their idle training processes would not take a core, but memory and clarity
        local = TrainingQueue(slots=1)
        cost["local"] = cost_per_job("local", local, args.repeats)
    finally:
        for queue in (local, celery):
            if queue is not None:
                queue.shutdown()
        workers.stop()
        server.stop()
    median = {name: {k: statistics.median(v) for k, v in values.items()} for name, values in cost.items()}
    print(f"first progress point after Start (median): local {median['local']['first']:.2f} s, "
          f"Celery {median['celery']['first']:.2f} s (goal <= 2 s)")
    print(f"a default training, Start to saved (median): local {median['local']['total']:.1f} s, "
          f"Celery {median['celery']['total']:.1f} s: Celery costs "
          f"{median['celery']['total'] - median['local']['total']:+.1f} s (goal <= +1 s)")
    print(f"{spread['jobs']} short trainings queued at once on two workers: {spread['completed']} completed, "
          f"{spread['saved']} saved, in {spread['seconds']:.0f} s; first come first served: {spread['fifo_kept']}; "
          f"per worker: {spread['per_worker']}")
    print(json.dumps({"cost": cost, "spread": spread}))


if __name__ == "__main__":
    main()
