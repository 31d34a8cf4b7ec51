"""Test -ELBO and the importance-weighted bound (K = 100) of presets on each data set, over several
seeds, with their medians: the figures issue 28 asks for (the default on Fashion-MNIST <= 262 nats,
median of 3 seeds), beside its plain-Keras anchors (seed 0):

    VAE, MNIST 155.06 / 152.62;  VAE, Fashion-MNIST 264.39 / 263.40.

Run: .venv/bin/python -m benchmarks.quality_seeds [--datasets mnist fashion-mnist] [--presets default]
     [--seeds 0 1 2]  (about 45 s per training on 2 cores)
"""

import argparse
import json
import statistics

from vae.config import preset
from vae.datasets import DATASETS, load_dataset
from vae.evaluate import IW_SAMPLES, iw_neg_log_likelihood, neg_elbo
from vae.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"], choices=list(DATASETS))
    parser.add_argument("--presets", nargs="+", default=["default"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    print(f"{'data set':14s} {'preset':10s} {'seed':>4s} {'test -ELBO':>10s} {'IW K=100':>9s} {'seconds':>8s}")
    medians = {}
    for dataset in args.datasets:
        data = load_dataset(dataset)
        for name in args.presets:
            elbos, bounds = [], []
            for seed in args.seeds:
                config = preset(name).replace(seed=seed, dataset=dataset)
                result = train(config, data)
                elbo = neg_elbo(result.encoder, result.decoder, data.x_test, seed=seed)["neg_elbo"]
                bound = iw_neg_log_likelihood(result.encoder, result.decoder, data.x_test, IW_SAMPLES, seed)
                elbos.append(elbo)
                bounds.append(bound)
                print(f"{dataset:14s} {name:10s} {seed:4d} {elbo:10.2f} {bound:9.2f} {result.seconds:8.1f}", flush=True)
            medians[f"{dataset}/{name}"] = {"neg_elbo": round(statistics.median(elbos), 2),
                                            "iw_nll_k100": round(statistics.median(bounds), 2)}
            print(f"{dataset:14s} {name:10s} {'med':>4s} {statistics.median(elbos):10.2f} "
                  f"{statistics.median(bounds):9.2f}", flush=True)
    print(json.dumps({"seeds": args.seeds, "medians": medians}))


if __name__ == "__main__":
    main()
