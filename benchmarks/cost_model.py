"""Fits vae/cost.py's MachineSpeed to this machine: trains and saves a handful of configurations
that differ in architecture, width, batch size and images, times each from start to saved, and
fits seconds = startup + dense FLOPs / rate + conv FLOPs / rate + steps x cost per step by least
squares. Prints each configuration's measured and predicted seconds and the fitted constants.

    .venv/bin/python -m benchmarks.cost_model [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from vae.config import TrainConfig
from vae.cost import THIS_MACHINE, MachineSpeed, estimated_seconds, training_work
from vae.data import load_mnist
from vae.training.lab import train_and_save

CONFIGS = [
    TrainConfig(epochs=1),  # the default's work per epoch
    TrainConfig(epochs=2, train_subset=20_000),
    TrainConfig(epochs=1, batch_size=32, train_subset=20_000),
    TrainConfig(epochs=1, hidden_dim=1024, batch_size=256, train_subset=20_000),
    TrainConfig(epochs=1, hidden_dim=64, batch_size=8, train_subset=4_000),
    TrainConfig(epochs=1, arch="conv", train_subset=6_000),
    TrainConfig(epochs=1, arch="conv", hidden_dim=64, batch_size=32, train_subset=3_000),
    TrainConfig(epochs=3, arch="conv", train_subset=2_000),
]


def measure(config: TrainConfig, data, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            train_and_save(config, data, Path(folder), "timed")
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def fit(configs, seconds) -> MachineSpeed:
    rows = []
    for config in configs:
        work = training_work(config)
        dense, conv = (0.0, work.flops) if config.arch == "conv" else (work.flops, 0.0)
        rows.append([1.0, dense, conv, work.steps])
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(seconds), rcond=None)
    startup, per_dense, per_conv, per_step = solution
    return MachineSpeed(1 / per_dense, 1 / per_conv, per_step, startup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_mnist()
    measure(TrainConfig(hidden_dim=8, epochs=1, train_subset=512), data, 1)  # TensorFlow's first-use costs
    seconds = []
    for config in CONFIGS:
        seconds.append(measure(config, data, args.repeats))
        print(f"measured {seconds[-1]:6.1f} s  (shipped estimate {estimated_seconds(config):6.1f} s)  "
              f"{config.arch} h{config.hidden_dim} batch {config.batch_size} × {config.train_subset or 60000} "
              f"images × {config.epochs} epochs: {training_work(config).flops / 1e9:.0f} GFLOP, "
              f"{training_work(config).steps} steps", flush=True)
    speed = fit(CONFIGS, seconds)
    print(f"\nfitted: {speed}")
    for config, measured in zip(CONFIGS, seconds, strict=True):
        print(f"  {config.arch} h{config.hidden_dim} b{config.batch_size}: measured {measured:.1f} s, "
              f"fitted {speed.seconds(config):.1f} s, shipped {THIS_MACHINE.seconds(config):.1f} s")


if __name__ == "__main__":
    main()
