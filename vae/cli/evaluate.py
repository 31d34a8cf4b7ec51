"""`python -m vae evaluate NAME`: a saved run's test figures, from its Keras files."""

from __future__ import annotations

import json

from vae import runs
from vae.datasets import DATASETS, load_dataset
from vae.evaluate import given_for, iw_neg_log_likelihood, test_metrics
from vae.runs.reading import load_numpy_models
from vae.training.download import DOWNLOADS
from vae.training.keras_files import load_models


def run(args) -> int:
    runs_dir = args.runs_dir or runs.default_runs_dir()
    summary = runs.find_run(runs_dir, args.name)
    encoder, decoder = load_models(summary.path)
    dataset = DATASETS[summary.config.dataset]
    data = load_dataset(dataset.name, download=DOWNLOADS[dataset.name],
                        path=args.mnist if dataset.name == "mnist" else None)
    metrics = test_metrics(encoder, decoder, summary.config, data.x_test, data.y_test)
    print(f"Run {summary.name}: {summary.config.describe()}")
    print(f"Test -ELBO {metrics['test_neg_elbo']:.2f} nats per image = reconstruction "
          f"{metrics['test_reconstruction_loss']:.2f} + KL {metrics['test_kl_loss']:.2f}")
    if args.iw_samples:
        metrics.update(likelihood_bound(summary, data.x_test, data.y_test, args.iw_samples))
    print(f"Mean per-image sum of squared errors on the {dataset.title} test set, by {dataset.item}:")
    for label, sse in enumerate(metrics["per_class_sse"]):
        name = dataset.class_name(label)
        print(f"  {name}: {sse:.2f}" if sse is not None else f"  {name}: no images")
    if args.json:
        print(json.dumps({"name": summary.name, "dataset": dataset.name, "condition": summary.config.condition,
                          **metrics}, allow_nan=False))
    return 0


def likelihood_bound(summary, images, labels, samples: int) -> dict:
    """The importance-weighted bound, from the run's saved arrays in numpy; an autoencoder has no
    posterior to sample, so no bound (None, said in a line)."""
    key = f"test_iw_nll_k{samples}"
    if summary.config.model == "ae":
        print("No importance-weighted bound: an autoencoder defines no likelihood to bound.")
        return {key: None}
    encoder, decoder = load_numpy_models(summary)
    bound = iw_neg_log_likelihood(encoder, decoder, images, samples, seed=summary.config.seed,
                                  given=given_for(summary.config, labels))
    given = " | y" if summary.config.conditional else ""
    print(f"Test -log p(x{given}) <= {bound:.2f} nats per image (importance-weighted bound, K = {samples})")
    return {key: bound, "iw_samples": samples}
