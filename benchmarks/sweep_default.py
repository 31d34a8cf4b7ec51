"""Picks the `default` preset by quality *and* time, since a class shares one training queue: the
seed's network (dense 256, 2-D latent) on the true ELBO, full data, test -ELBO and training seconds
per setting and seed. Goal: test -ELBO <= 154 nats in <= 15 s of training (median of 3 seeds).

Settings are optimizer:lr:batch[:schedule[:epochs]] (schedule: constant or cosine). Examples:
    python benchmarks/sweep_default.py                      # the first (batch 32/64/128) grid, seed 0
    python benchmarks/sweep_default.py --only adam:0.005:256:cosine adam:0.003:128:cosine --seeds 0 1 2
The 20-D settings of benchmarks/quality.py were chosen the same way, e.g.:
    python benchmarks/sweep_default.py --latent-dim 20 --hidden-dim 512 --only adam:0.001:32
"""

import argparse
import itertools
import json
import statistics

from vae.config import TrainConfig
from vae.data import load_mnist
from vae.training.loop import train


def parse_setting(text: str) -> dict:
    parts = text.split(":")
    setting = {"optimizer": parts[0], "learning_rate": float(parts[1]), "batch_size": int(parts[2])}
    if len(parts) > 3:
        setting["schedule"] = parts[3]
    if len(parts) > 4:
        setting["epochs"] = int(parts[4])
    return setting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", type=parse_setting, nargs="+",
                        help="settings as optimizer:lr:batch[:schedule[:epochs]]")
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--hidden-dim", type=int, default=256)
    args = parser.parse_args()
    data = load_mnist()
    grid = args.only or [
        {"optimizer": o, "learning_rate": lr, "batch_size": b}
        for o, lr, b in itertools.product(("adam", "rmsprop"), (1e-3, 3e-3), (32, 64, 128))
    ]
    # Every setting names its schedule and epochs, so the medians below group like with like.
    grid = [{"schedule": "constant", "epochs": args.epochs, **setting} for setting in grid]
    results = []
    for setting, seed in itertools.product(grid, args.seeds):
        config = TrainConfig(**setting, seed=seed, latent_dim=args.latent_dim,
                             hidden_dim=args.hidden_dim)
        result = train(config, data)
        row = {**setting, "seed": seed,
               "test_neg_elbo": round(float(result.history["test_loss"].iloc[-1]), 2),
               "seconds": round(result.seconds, 1)}
        results.append(row)
        print(f"latent={args.latent_dim} hidden={args.hidden_dim} {config.optimizer:8s} "
              f"lr={config.learning_rate:<6g} batch={config.batch_size:<4d} {config.schedule:8s} "
              f"epochs={config.epochs:<3d} seed={seed} test -ELBO={row['test_neg_elbo']:7.2f}  "
              f"{row['seconds']:6.1f} s", flush=True)
    summary = []
    for setting in grid:
        rows = [r for r in results if all(r[k] == v for k, v in setting.items())]
        summary.append({**setting, "median_test_neg_elbo": statistics.median(r["test_neg_elbo"] for r in rows),
                        "median_seconds": statistics.median(r["seconds"] for r in rows), "seeds": len(rows)})
        print(f"median over {len(rows)} seed(s): {setting} test -ELBO {summary[-1]['median_test_neg_elbo']:.2f} "
              f"in {summary[-1]['median_seconds']:.1f} s")
    print(json.dumps({"summary": summary, "all": results}))


if __name__ == "__main__":
    main()
