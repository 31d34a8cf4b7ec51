"""Training against the hardware's floor (issue 19), or the cost of live reporting (issue 9).

Default: numpy's float32 matmul rate at the network's shape (128x784 by 784x256), measured in this
run, gives the floor of the seed's work (the 784-256-2 dense VAE, forward and backward on 60 000
images and a forward pass on the 10 000 test images, for 10 epochs: 1.53 TFLOP); then each candidate
recipe for the default is trained with --seeds seeds (the whole train() call, model building and
tracing included) and its test -ELBO measured. Prints seconds per epoch, the whole training's time,
its ratio to the floor and the test -ELBO, medians over the seeds. Goal: <= 154.5 nats (median) in
<= 1.5x the floor.

--overhead: seconds per epoch of a plain `model.fit` and of our `train()` with a listener like the
dashboard's, measured alternately in one run. Goal: ratio plain/ours >= 0.90.

--prepared: also the current default as a warm worker trains it, its training built and compiled
before the job arrives (vae.training.loop.prepare), timed from train()'s call as the others.

Run: .venv/bin/python -m benchmarks.train_speed [--seeds 3] [--candidates NAME ...] [--prepared]
     .venv/bin/python -m benchmarks.train_speed --overhead [--epochs 2] [--repeats 3] [--batch-size N]
"""

import argparse
import json
import statistics
import threading
import time

import keras
import numpy as np

from vae.config import preset
from vae.data import load_mnist
from vae.evaluate import test_metrics
from vae.training.loop import EVAL_BATCH_SIZE, prepare, train
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


SEED_IMAGES, TEST_IMAGES, SEED_EPOCHS = 60_000, 10_000, 10
# Candidate recipes for the default: the seed's network and 2-D latent space, the true ELBO; only
# the optimiser's schedule, batch size and epochs differ.
CANDIDATES = {
    "current (adam 5e-3 cosine, batch 128, 10 epochs)": {},
    "batch 256, lr 1e-2, 10 epochs": {"batch_size": 256, "learning_rate": 1e-2},
    "batch 256, lr 7e-3, 10 epochs": {"batch_size": 256, "learning_rate": 7e-3},
    "batch 512, lr 1.5e-2, 12 epochs": {"batch_size": 512, "learning_rate": 1.5e-2, "epochs": 12},
    "batch 128, lr 5e-3, 7 epochs": {"epochs": 7},
}


def matmul_flops_per_second(repeats: int = 200) -> float:
    """numpy's float32 matmul at the network's shape: the machine's practical rate for this work."""
    rng = np.random.default_rng(0)
    a, b = rng.random((128, 784), np.float32), rng.random((784, 256), np.float32)
    rates = []
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        rates.append(2 * 128 * 784 * 256 * repeats / (time.perf_counter() - started))
    return statistics.median(rates)


def seed_work_flops(hidden: int = 256, latent: int = 2) -> float:
    """Forward and backward (3x the forward's multiply-adds) on the training images, forward on the
    test images, every epoch: 2 flops per multiply-add."""
    forward = 784 * hidden + hidden * 2 * latent + latent * hidden + hidden * 784
    return SEED_EPOCHS * 2 * forward * (3 * SEED_IMAGES + TEST_IMAGES)


def floor_run(args) -> None:
    data = load_mnist()
    train(preset("default").replace(epochs=1, train_subset=2048), data, compiled=True)  # TensorFlow and XLA warm
    flops = matmul_flops_per_second()
    floor = seed_work_flops() / flops
    print(f"numpy float32 matmul (128x784 @ 784x256): {flops / 1e9:.0f} GFLOP/s; the seed's work "
          f"{seed_work_flops() / 1e12:.2f} TFLOP: floor {floor:.2f} s; 1.5x the floor {1.5 * floor:.2f} s", flush=True)
    figures = {"gflops": round(flops / 1e9, 1), "floor_seconds": round(floor, 2), "candidates": {}}
    for name in args.candidates or list(CANDIDATES):
        figures["candidates"][name] = measure(name, preset("default").replace(**CANDIDATES[name]), data, floor, args)
    if args.prepared:
        # As a warm worker runs a default job: the training built and compiled before it arrives.
        figures["prepared"] = measure("current, prepared as in a warm worker", preset("default"), data, floor, args,
                                      prepared=True)
    print(json.dumps(figures))


def measure(name, config, data, floor, args, prepared=False) -> dict:
    seconds, nats = [], []
    for seed in range(args.seeds):
        if prepared:
            prepare(config.replace(seed=seed + 1), data)  # another seed: the worker does not know the job's
        started = time.perf_counter()
        result = train(config.replace(seed=seed), data)
        seconds.append(time.perf_counter() - started)
        nats.append(test_metrics(result.encoder, result.decoder, config, data.x_test, data.y_test)["test_neg_elbo"])
    total, elbo = statistics.median(seconds), statistics.median(nats)
    print(f"{name}: {total / config.epochs:.2f} s/epoch, {total:.1f} s in all ({total / floor:.2f}x the floor), "
          f"test -ELBO {elbo:.2f} nats (median of {args.seeds} seeds: {', '.join(f'{v:.2f}' for v in nats)})",
          flush=True)
    return {"seconds": [round(v, 2) for v in seconds], "nats": [round(v, 2) for v in nats],
            "median_seconds": round(total, 2), "median_nats": round(elbo, 2), "ratio_to_floor": round(total / floor, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--overhead", action="store_true", help="the cost of live reporting (issue 9)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--candidates", nargs="*", choices=list(CANDIDATES))
    parser.add_argument("--prepared", action="store_true",
                        help="also the default as a warm worker trains it (vae.training.loop.prepare first)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    if not args.overhead:
        floor_run(args)
        return
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
