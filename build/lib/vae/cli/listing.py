"""`python -m vae list`: saved runs with their test -ELBO (no TensorFlow)."""

from __future__ import annotations

import sys

from vae import runs


def run(args) -> int:
    listing = runs.list_runs(args.runs_dir)
    for problem in listing.problems:
        print(f"warning: skipped {problem}", file=sys.stderr)
    if not listing.runs:
        print("No saved runs. Train one with: python -m vae train")
        return 0
    print(f"{'name':32s} {'preset':11s} {'model':5s} {'arch':5s} {'latent':>6s} {'epochs':>6s} "
          f"{'status':9s} {'test -ELBO':>10s}")
    for run in listing.runs:
        c, m = run.config, run.metrics
        elbo = f"{run.test_neg_elbo:.2f}" if run.test_neg_elbo is not None else "?"
        print(f"{run.name:32s} {str(m.get('preset') or 'custom'):11s} {c.model:5s} {c.arch:5s} "
              f"{c.latent_dim:6d} {m.get('epochs_completed', c.epochs):6} {m.get('status', '?'):9s} {elbo:>10s}")
    return 0
