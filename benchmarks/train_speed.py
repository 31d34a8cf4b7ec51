"""Cost of live reporting: seconds per epoch of a plain `model.fit` and of our `train()` with a
listener like the dashboard's, measured alternately in one run. Goal: ratio plain/ours >= 0.90.

Run: .venv/bin/python -m benchmarks.train_speed [--epochs 2] [--repeats 3] [--batch-size N]
"""

import argparse
import json
import statistics
import threading
import time

import keras

from vae.config import preset
from vae.data import load_mnist
from vae.training.loop import EVAL_BATCH_SIZE, train
from vae.training.model import build_model, steps_per_execution


class DashboardLikeListener:
    """Keeps every report under a lock, as the dashboard's shared training state does."""

    def __init__(self):
        self.lock = threading.Lock()
        self.points = []

    def on_batch(self, progress):
        with self.lock:
            self.points.append((progress.epoch, progress.batch, progress.metrics))

    def on_epoch(self, summary):
        with self.lock:
            self.points.append((summary.epoch, summary.test))


def plain_fit_seconds(config, data) -> float:
    keras.utils.set_random_seed(config.seed)
    batches_per_epoch = -(-len(data.x_train) // config.batch_size)
    model = build_model(config, steps_per_execution(config.batch_size, batches_per_epoch),
                        total_steps=config.epochs * batches_per_epoch)
    started = time.perf_counter()
    model.fit(data.x_train, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
              validation_data=(data.x_test, data.x_test), validation_batch_size=EVAL_BATCH_SIZE, verbose=0)
    return (time.perf_counter() - started) / config.epochs


def our_train_seconds(config, data) -> float:
    # result.seconds starts where plain_fit_seconds starts: after the model is built.
    return train(config, data, [DashboardLikeListener()]).seconds / config.epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    data = load_mnist()
    config = preset("default").replace(epochs=args.epochs)
    if args.batch_size:
        config = config.replace(batch_size=args.batch_size)
    our_train_seconds(config.replace(epochs=1, train_subset=2048), data)  # warm up TensorFlow
    plain, ours = [], []
    for repeat in range(args.repeats):
        plain.append(plain_fit_seconds(config, data))
        ours.append(our_train_seconds(config, data))
        print(f"repeat {repeat + 1}: plain fit {plain[-1]:.2f} s/epoch, train() {ours[-1]:.2f} s/epoch", flush=True)
    plain_median, ours_median = statistics.median(plain), statistics.median(ours)
    print(f"median seconds per epoch (batch {config.batch_size}): plain fit {plain_median:.2f}, "
          f"train() with live reporting {ours_median:.2f}; throughput ratio {plain_median / ours_median:.3f}")
    print(json.dumps({"plain_fit_seconds_per_epoch": round(plain_median, 3),
                      "train_seconds_per_epoch": round(ours_median, 3),
                      "throughput_ratio": round(plain_median / ours_median, 3)}))


if __name__ == "__main__":
    main()
