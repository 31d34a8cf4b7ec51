"""`python -m vae train | list | evaluate | export-weights`: the core from a terminal, with one-line
errors. The flags of `train` come from vae.config.FIELDS, the same source as the Train form.

Each command is a module of this package. Only the commands that train or read Keras files
(train, evaluate, export_weights) load TensorFlow, so a command module is imported once its name
is known: `python -m vae list` answers without waiting seconds for TensorFlow."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from vae.config import FIELDS, PRESETS, TrainConfig, preset
from vae.errors import DataError, LabError, TrainingDiverged
from vae.evaluate import IW_SAMPLES, MAX_IW_SAMPLES
from vae.runs import default_runs_dir, find_run, validate_run_name
from vae.settings import FASHION_MNIST

COMMANDS = {"train": "train", "list": "listing", "evaluate": "evaluate", "export-weights": "export_weights"}


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; we want one line
        raise UsageError(message)


def flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, with its help, bounds and choices from vae.config.FIELDS."""
    for name, field in FIELDS.items():
        if field.choices:
            parser.add_argument(flag(name), choices=list(field.choices), help=field.help)
        else:
            kind = float if field.is_float else int
            parser.add_argument(flag(name), type=kind, metavar=kind.__name__.upper(),
                                help=f"{field.help} ({field.low:g} to {field.high:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m vae", description="Train and inspect Latent Lab VAEs on MNIST and Fashion-MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model and save it as a run")
    train.add_argument("--preset", default="default", choices=list(PRESETS))
    add_config_flags(train)
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
    evaluate.add_argument("--iw-samples", type=int, default=IW_SAMPLES, metavar="K",
                          help=f"samples per image of the importance-weighted bound on -log p(x) "
                               f"(default {IW_SAMPLES}; 0 to skip it; at most {MAX_IW_SAMPLES})")
    export = commands.add_parser(
        "export-weights", help="add weights.npz and the test-set files to runs saved by an older version")
    export.add_argument("names", nargs="*", help="runs to update (default: every run that needs it)")
    export.add_argument("--runs-dir", type=Path)
    export.add_argument("--mnist", type=Path, help="a Keras-format mnist.npz to use")
    return parser


def config_from_args(args) -> TrainConfig:
    changes = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    return preset(args.preset).replace(**changes)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        # What a person typed is checked before a command's module loads TensorFlow: a typo is
        # reported at once, in one line.
        if args.command == "train":
            args.config = config_from_args(args)
            if args.mnist is not None and args.config.dataset != "mnist":
                raise UsageError(f"--mnist names MNIST's file; for Fashion-MNIST set {FASHION_MNIST} to its folder")
            if args.name is not None:
                validate_run_name(args.name)
        elif args.command == "evaluate":
            if not 0 <= args.iw_samples <= MAX_IW_SAMPLES:  # its cost grows with K: bounded before it is paid
                raise UsageError(f"--iw-samples must be 0 to {MAX_IW_SAMPLES}, not {args.iw_samples}")
            find_run(args.runs_dir or default_runs_dir(), args.name)
        command = importlib.import_module(f"vae.cli.{COMMANDS[args.command]}")
        return command.run(args)
    except UsageError as error:
        return _fail(error, 2)
    except (DataError, TrainingDiverged) as error:
        return _fail(error, 1)
    except LabError as error:  # bad settings, names, runs: the person's input
        return _fail(error, 2)


def _fail(error: Exception, status: int) -> int:
    print(f"python -m vae: error: {error}", file=sys.stderr)
    return status
