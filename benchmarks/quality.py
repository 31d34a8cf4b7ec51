"""Test-set quality of the recipes, 10 epochs each on the full data (about 10 minutes on 2 cores).

Prints a table, then one JSON line with neg_elbo_latent2, neg_elbo_latent20, tutorial_kl_loss,
tutorial_neg_elbo, ae_mean_sse and vae_mean_sse, and each VAE's importance-weighted bound on
-log p(x) with K = 100 (iw_nll_*). Targets (issue 3): latent 2 <= 158, latent 20 <= 104; the AE
reconstructs better than the VAE; the tutorial's KL collapses to ~0. Anchor (issue 28, plain Keras,
seed 0): the default's recipe 155.06 test -ELBO, 152.62 IW bound.

Run: .venv/bin/python -m benchmarks.quality [--epochs 10]
"""

import argparse
import json

from vae.config import preset
from vae.data import load_mnist
from vae.evaluate import IW_SAMPLES, iw_neg_log_likelihood, test_metrics
from vae.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    data = load_mnist()
    default = preset("default").replace(epochs=args.epochs)
    recipes = {
        "default (dense, latent 2)": default,
        # The 20-D settings that did best in benchmarks/results-latent20.txt (wider, slower lr).
        "dense, latent 20": default.replace(latent_dim=20, hidden_dim=512, learning_rate=1e-3),
        "tutorial (seed recipe)": preset("tutorial").replace(epochs=args.epochs),
        "autoencoder (latent 2)": preset("autoencoder").replace(epochs=args.epochs),
    }
    print(f"{'recipe':28s} {'test -ELBO':>10s} {'IW K=100':>9s} {'recon':>8s} {'KL':>7s} {'mean SSE':>9s} "
          f"{'seconds':>8s}")
    figures = {}
    for label, config in recipes.items():
        result = train(config, data)
        metrics = test_metrics(result.encoder, result.decoder, config, data.x_test, data.y_test)
        metrics["iw_nll"] = float("nan") if config.model == "ae" else iw_neg_log_likelihood(
            result.encoder, result.decoder, data.x_test, IW_SAMPLES, config.seed)
        figures[label] = metrics
        print(f"{label:28s} {metrics['test_neg_elbo']:10.2f} {metrics['iw_nll']:9.2f} "
              f"{metrics['test_reconstruction_loss']:8.2f} "
              f"{metrics['test_kl_loss']:7.2f} {metrics['mean_sse']:9.2f} {result.seconds:8.1f}", flush=True)
    default_fig, latent20, tutorial, ae = figures.values()
    print(json.dumps({
        "neg_elbo_latent2": round(default_fig["test_neg_elbo"], 2),
        "neg_elbo_latent20": round(latent20["test_neg_elbo"], 2),
        "tutorial_kl_loss": round(tutorial["test_kl_loss"], 3),
        "tutorial_neg_elbo": round(tutorial["test_neg_elbo"], 2),
        "default_kl_loss": round(default_fig["test_kl_loss"], 3),
        "ae_mean_sse": round(ae["mean_sse"], 2),
        "vae_mean_sse": round(default_fig["mean_sse"], 2),
        "iw_nll_latent2": round(default_fig["iw_nll"], 2),
        "iw_nll_latent20": round(latent20["iw_nll"], 2),
        "iw_nll_tutorial": round(tutorial["iw_nll"], 2),
    }))


if __name__ == "__main__":
    main()
