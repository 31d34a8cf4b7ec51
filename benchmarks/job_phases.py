"""Where a warm training process's default job goes, phase by phase (issue 30 item 3): the default's
training prepared as a warm worker prepares it, then `--jobs` default jobs in a row, each through
`train_and_save` as the worker runs it, timed around the functions it calls (the training itself,
the test set's encodings, errors and -ELBO, the saving). Nobody watches, so no live snapshots
beyond each epoch's. Prints each job's phases and their medians.

Run: .venv/bin/python -m benchmarks.job_phases [--jobs 5]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from pathlib import Path

from vae.config import preset
from vae.datasets import load_dataset
from vae.training.download import DOWNLOADS

# (module, function) pairs timed where train_and_save calls them; nested ones are included in
# their callers' times (neg_elbo in test_metrics, write_numpy_files in save_run).
TIMED = {
    "vae.training.lab": ["train", "encode", "decode", "squared_error_per_image", "test_metrics", "replay_arrays"],
    "vae.evaluate": ["neg_elbo"],
    "vae.training.loop": ["_take_prepared"],
    "vae.runs": ["save_run"],
}


def time_calls(seconds: dict[str, float]) -> None:
    """Wrap each function in TIMED so that its calls add their seconds to `seconds[name]`."""
    import importlib

    def timed(function, name):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    for module_name, names in TIMED.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, timed(getattr(module, name), name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    from vae.training import lab, loop

    data = load_dataset("mnist", download=DOWNLOADS["mnist"])
    loop.prepare(preset("default"), data)
    seconds: dict[str, float] = {}
    time_calls(seconds)
    runs_dir = Path(tempfile.mkdtemp(prefix="job-phases-"))
    jobs = []
    for seed in range(args.jobs):
        seconds.clear()
        started = time.perf_counter()
        lab.train_and_save(preset("default").replace(seed=seed), data, runs_dir, f"job-{seed}", "default",
                           keep_trainer=True, live_seconds=4.0)
        phases = {"job": time.perf_counter() - started, **seconds}
        phases["after_training"] = phases["job"] - phases["train"]
        jobs.append(phases)
        print(f"job {seed}: " + ", ".join(f"{name} {value:.2f} s" for name, value in phases.items()), flush=True)
    medians = {name: round(statistics.median(job[name] for job in jobs), 3) for name in jobs[0]}
    print("medians: " + ", ".join(f"{name} {value:.2f} s" for name, value in medians.items()))
    print(json.dumps({"jobs": args.jobs, "median_seconds": medians}))


if __name__ == "__main__":
    main()
