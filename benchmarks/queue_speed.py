"""The training queue on its own (no browser): how soon a training starts when a warm worker is
waiting, and how long a class's worth of default trainings queued at once takes to be saved, with
how many training processes it took and their memory after each save.
Goals: first progress point <= 2 s after the request (issue 9); 30 default trainings <= 6 minutes
(issue 30). `--one-job-processes`: every job in a new process, as before issue 30 (the comparison).

Run: .venv/bin/python -m benchmarks.queue_speed [--starts 5] [--jobs 30] [--epochs N] [--slots 1]
     [--one-job-processes]
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from vae.config import preset
from vae.jobs import process
from vae.jobs.queue import TrainingQueue
from vae.runs import list_runs


def resident_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None


def wait_for_warm_worker(queue: TrainingQueue, timeout: float = 120) -> None:
    """Until a spare has imported TensorFlow and loaded MNIST (it says "ready")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue.warm_workers():
            return
        time.sleep(0.05)
    raise RuntimeError("no warm worker within the timeout")


def seconds_to_first_progress(queue: TrainingQueue, runs_dir: Path) -> float:
    """Submit a default training to an idle queue with a warm worker; stop it after its first point."""
    wait_for_warm_worker(queue)
    time.sleep(2)  # let the spare settle, as it would between two people's clicks
    started = time.perf_counter()
    job = queue.submit(preset("default"), runs_dir, "default")
    while not queue.snapshot(job).batch_points:
        if not queue.snapshot(job).active:
            raise RuntimeError(queue.snapshot(job).message)
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    queue.cancel(job)
    queue.wait_until_idle(120)
    return elapsed


def class_of_trainings(queue: TrainingQueue, runs_dir: Path, jobs: int, epochs: int | None) -> dict:
    config = preset("default") if epochs is None else preset("default").replace(epochs=epochs)
    wait_for_warm_worker(queue)
    started = time.perf_counter()
    ids = [queue.submit(config, runs_dir, "default") for _ in range(jobs)]
    finished_at, pids, memory = [], set(), []
    while len(finished_at) < jobs:
        alive = queue.worker_pids()
        pids.update(alive)
        done = sum(not queue.snapshot(job_id).active for job_id in ids)
        while len(finished_at) < done:
            finished_at.append(time.perf_counter() - started)
            rss = [mb for pid in alive if (mb := resident_mb(pid)) is not None]
            memory.append(max(rss, default=0.0))
            print(f"  {len(finished_at)}/{jobs} saved after {finished_at[-1]:.0f} s; training processes so far "
                  f"{len(pids)}, the largest holding {memory[-1]:.0f} MB", flush=True)
        time.sleep(0.2)
    states = [queue.snapshot(job_id).state for job_id in ids]
    train_seconds = [run.metrics["train_seconds"] for run in list_runs(runs_dir).runs]
    return {"jobs": jobs, "epochs": config.epochs, "completed": states.count("completed"),
            "total_seconds": round(finished_at[-1], 1), "training_processes": len(pids),
            "largest_process_mb_first_last": [round(memory[0]), round(memory[-1])],
            "median_train_seconds": round(statistics.median(train_seconds), 1) if train_seconds else None,
            "median_seconds_between_saves": round(statistics.median(
                b - a for a, b in zip(finished_at, finished_at[1:], strict=False)), 1) if jobs > 1 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--epochs", type=int, help="override the default preset's epochs (a shorter check)")
    parser.add_argument("--slots", type=int, default=1, help="trainings at once (LATENT_LAB_TRAINING_SLOTS)")
    parser.add_argument("--one-job-processes", action="store_true", help="a new process for every job (the old way)")
    args = parser.parse_args()
    queue = TrainingQueue(slots=args.slots, worker_factory=process.WorkerProcess if args.one_job_processes else None)
    try:
        starts = [seconds_to_first_progress(queue, Path(tempfile.mkdtemp(prefix="queue-start-")))
                  for _ in range(args.starts)]
        print(f"first progress point after the request: median {statistics.median(starts):.2f} s "
              f"over {len(starts)} (goal <= 2 s): {', '.join(f'{s:.2f}' for s in starts)}", flush=True)
        figures = {"slots": args.slots, "first_progress_median_s": round(statistics.median(starts), 2),
                   "first_progress_s": [round(s, 2) for s in starts]}
        if args.jobs:
            batch = class_of_trainings(queue, Path(tempfile.mkdtemp(prefix="queue-class-")), args.jobs, args.epochs)
            print(f"{batch['jobs']} default trainings ({batch['epochs']} epochs) queued at once: "
                  f"{batch['completed']} completed, all saved after {batch['total_seconds']:.0f} s "
                  f"(goal 360 s for 30) by {batch['training_processes']} training processes; "
                  f"median training {batch['median_train_seconds']} s, "
                  f"median gap between saves {batch['median_seconds_between_saves']} s")
            figures.update(batch)
    finally:
        queue.shutdown()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
