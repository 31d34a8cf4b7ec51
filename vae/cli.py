"""`python -m vae train | list | evaluate`: the core from a terminal, with one-line errors."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from vae.config import ARCHS, LOSSES, MODELS, OPTIMIZERS, PRESETS, SCHEDULES, preset
from vae.errors import DataError, LabError, TrainingDiverged


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; we want one line
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m vae", description="Train and inspect Latent Lab VAEs on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model and save it as a run")
    train.add_argument("--preset", default="default", choices=list(PRESETS))
    train.add_argument("--latent-dim", type=int)
    train.add_argument("--hidden-dim", type=int)
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    train.add_argument("--loss", choices=LOSSES)
    train.add_argument("--beta", type=float)
    train.add_argument("--arch", choices=ARCHS)
    train.add_argument("--model", choices=MODELS)
    train.add_argument("--seed", type=int)
    train.add_argument("--train-subset", type=int, help="train on the first N images only")
    train.add_argument("--name", help="run name (default: <preset>-<date>-<time>)")
    train.add_argument("--runs-dir", type=Path)
    train.add_argument("--mnist", type=Path, help="a Keras-format mnist.npz to use")

    listing = commands.add_parser("list", help="list saved runs with their test -ELBO")
    listing.add_argument("--runs-dir", type=Path)

    evaluate = commands.add_parser("evaluate", help="evaluate a saved run on the test set")
    evaluate.add_argument("name")
    evaluate.add_argument("--runs-dir", type=Path)
    evaluate.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    evaluate.add_argument("--mnist", type=Path, help="a Keras-format mnist.npz to use")
    export = commands.add_parser(
        "export-weights", help="add weights.npz and the test-set files to runs saved by an older version")
    export.add_argument("names", nargs="*", help="runs to update (default: every run that needs it)")
    export.add_argument("--runs-dir", type=Path)
    export.add_argument("--mnist", type=Path, help="a Keras-format mnist.npz to use")
    return parser


CONFIG_FLAGS = ("latent_dim", "hidden_dim", "epochs", "batch_size", "optimizer", "learning_rate",
                "schedule", "loss", "beta", "arch", "model", "seed", "train_subset")


def config_from_args(args):
    changes = {key: getattr(args, key) for key in CONFIG_FLAGS if getattr(args, key) is not None}
    return preset(args.preset).replace(**changes)


class _ProgressBars:
    """One tqdm bar per epoch on a terminal, test figures printed as each epoch ends. When stderr
    is not a terminal (a log file, CI) there is no bar: one line per epoch, nothing else."""

    def __init__(self, interactive: bool | None = None):
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._lock = threading.Lock()
        self._interactive = sys.stderr.isatty() if interactive is None else interactive

    def on_batch(self, progress):
        if not self._interactive:
            return
        with self._lock:
            if self._bar is None:
                self._bar = self._tqdm(total=progress.batches_per_epoch, unit="batch", leave=True,
                                       desc=f"epoch {progress.epoch}/{progress.epochs}", file=sys.stderr)
            self._bar.n = progress.batch
            self._bar.set_postfix(loss=f"{progress.metrics['loss']:.1f}", refresh=False)
            self._bar.refresh()

    def on_epoch(self, summary):
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        test = summary.test
        print(f"epoch {summary.epoch}/{summary.epochs} ({summary.elapsed_seconds:.0f} s): "
              f"test -ELBO {test['loss']:.2f} = reconstruction "
              f"{test['reconstruction_loss']:.2f} + KL {test['kl_loss']:.2f}", flush=True)


def command_train(args) -> int:
    from vae import runs
    from vae.data import load_mnist
    from vae.lab import train_and_save

    config = args.config
    runs_dir = args.runs_dir or runs.default_runs_dir()
    data = load_mnist(args.mnist)
    print(f"Training {config.describe()} ({args.preset} preset) on {data.source}. Ctrl-C stops and keeps the run.")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        saved = train_and_save(config, data, runs_dir, args.name, args.preset, [_ProgressBars()], stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    m = saved.metrics
    print(f"Status: {m['status']} after {m['epochs_completed']} epochs, {m['train_seconds']:.0f} s. "
          f"Test -ELBO {m['test_neg_elbo']:.2f} (reconstruction {m['test_reconstruction_loss']:.2f}, "
          f"KL {m['test_kl_loss']:.2f}); mean per-image SSE {m['mean_sse']:.2f}.")
    print(f"Saved run: {saved.name}")
    return 0


def command_list(args) -> int:
    from vae import runs

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


def command_evaluate(args) -> int:
    from vae import runs
    from vae.data import load_mnist

    runs_dir = args.runs_dir or runs.default_runs_dir()
    summary = runs.find_run(runs_dir, args.name)
    from vae.evaluate import test_metrics  # after the name check: TensorFlow takes seconds to load

    encoder, decoder = runs.load_models(summary.path)
    data = load_mnist(args.mnist)
    metrics = test_metrics(encoder, decoder, summary.config, data.x_test, data.y_test)
    print(f"Run {summary.name}: {summary.config.describe()}")
    print(f"Test -ELBO {metrics['test_neg_elbo']:.2f} nats per image = reconstruction "
          f"{metrics['test_reconstruction_loss']:.2f} + KL {metrics['test_kl_loss']:.2f}")
    print("Mean per-image sum of squared errors on the test set, by digit:")
    for digit, sse in enumerate(metrics["per_class_sse"]):
        print(f"  {digit}: {sse:.2f}" if sse is not None else f"  {digit}: no images")
    if args.json:
        print(json.dumps({"name": summary.name, **metrics}, allow_nan=False))
    return 0


def command_export_weights(args) -> int:
    from vae import runs

    runs_dir = args.runs_dir or runs.default_runs_dir()
    summaries = ([runs.find_run(runs_dir, name) for name in args.names] if args.names
                 else [run for run in runs.list_runs(runs_dir).runs if runs.needs_numpy_files(run.path)])
    if not summaries:
        print("Every run already has its numpy files; nothing to do.")
        return 0
    from vae.data import load_mnist
    from vae.evaluate import decode, encode, squared_error_per_image

    data = load_mnist(args.mnist)
    for summary in summaries:
        encoder, decoder = runs.load_models(summary.path)
        z_mean = encode(encoder, data.x_test)[0]
        runs.add_numpy_files(summary.path, encoder, decoder, z_mean,
                             squared_error_per_image(data.x_test, decode(decoder, z_mean)))
        print(f"Updated run {summary.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            # Checked before TensorFlow loads, so a typo is reported at once.
            args.config = config_from_args(args)
            if args.name is not None:
                from vae.runs import validate_run_name

                validate_run_name(args.name)
        command = {"train": command_train, "list": command_list, "evaluate": command_evaluate,
                   "export-weights": command_export_weights}[args.command]
        return command(args)
    except UsageError as error:
        return _fail(error, 2)
    except (DataError, TrainingDiverged) as error:
        return _fail(error, 1)
    except LabError as error:  # bad settings, names, runs: the person's input
        return _fail(error, 2)


def _fail(error: Exception, status: int) -> int:
    print(f"python -m vae: error: {error}", file=sys.stderr)
    return status
