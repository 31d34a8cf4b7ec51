"""Picks the `default` preset's optimizer, learning rate and batch size: the seed's network (dense
256, 2-D latent) on the true ELBO, 10 epochs on the full data, test -ELBO per setting and seed.

Phase 1 (the whole grid, seed 0; about 25 minutes on 2 cores):
    python benchmarks/sweep_default.py
Phase 2 (the best few again with more seeds, to tell a real difference from seed noise):
    python benchmarks/sweep_default.py --only adam:0.003:32 adam:0.003:128 --seeds 1 2
The 20-D settings of benchmarks/quality.py were chosen the same way, e.g.:
    python benchmarks/sweep_default.py --latent-dim 20 --hidden-dim 512 --only adam:0.001:32
"""

import argparse
import itertools
import json

import _common  # noqa: F401

from vae.config import TrainConfig
from vae.data import load_mnist
from vae.train import train


def parse_setting(text: str) -> tuple[str, float, int]:
    optimizer, learning_rate, batch_size = text.split(":")
    return optimizer, float(learning_rate), int(batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", type=parse_setting, nargs="+", help="settings as optimizer:lr:batch")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--hidden-dim", type=int, default=256)
    args = parser.parse_args()
    data = load_mnist()
    grid = args.only or list(itertools.product(("adam", "rmsprop"), (1e-3, 3e-3), (32, 64, 128)))
    results = []
    for (optimizer, learning_rate, batch_size), seed in itertools.product(grid, args.seeds):
        config = TrainConfig(epochs=args.epochs, optimizer=optimizer, learning_rate=learning_rate,
                             batch_size=batch_size, seed=seed, latent_dim=args.latent_dim,
                             hidden_dim=args.hidden_dim)
        result = train(config, data)
        row = {"optimizer": optimizer, "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed,
               "test_neg_elbo": round(float(result.history["test_loss"].iloc[-1]), 2),
               "seconds": round(result.seconds, 1)}
        results.append(row)
        print(f"latent={args.latent_dim} hidden={args.hidden_dim} "
              f"{optimizer:8s} lr={learning_rate:<6g} batch={batch_size:<4d} seed={seed} "
              f"test -ELBO={row['test_neg_elbo']:7.2f}  {row['seconds']:6.1f} s", flush=True)
    print(json.dumps({"best": min(results, key=lambda r: r["test_neg_elbo"]), "all": results}))


if __name__ == "__main__":
    main()
