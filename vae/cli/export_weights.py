"""`python -m vae export-weights`: give runs saved by version 0.1 what the web server reads
(weights.npz, the test set's encodings and errors), each file written atomically."""

from __future__ import annotations

from vae import runs
from vae.datasets import load_dataset
from vae.evaluate import decode, encode, given_for, squared_error_per_image
from vae.training.download import DOWNLOADS
from vae.training.keras_files import load_models


def run(args) -> int:
    runs_dir = args.runs_dir or runs.default_runs_dir()
    summaries = ([runs.find_run(runs_dir, name) for name in args.names] if args.names
                 else [run for run in runs.list_runs(runs_dir).runs if runs.needs_numpy_files(run.path)])
    if not summaries:
        print("Every run already has its numpy files; nothing to do.")
        return 0
    for summary in summaries:
        dataset = summary.config.dataset
        data = load_dataset(dataset, download=DOWNLOADS[dataset], path=args.mnist if dataset == "mnist" else None)
        encoder, decoder = load_models(summary.path)
        given = given_for(summary.config, data.y_test)
        z_mean = encode(encoder, data.x_test, given)[0]
        runs.add_numpy_files(summary.path, encoder, decoder, z_mean,
                             squared_error_per_image(data.x_test, decode(decoder, z_mean, given)))
        print(f"Updated run {summary.name}")
    return 0
