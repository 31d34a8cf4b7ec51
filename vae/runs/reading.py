"""Reading a run's files as untrusted data (vae.array_files): sizes bounded before anything is
unpacked, models checked to run before any page calls them, tables checked for the columns the
charts draw. Any fault at all is one RunError sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vae import cost
from vae.array_files import UnreadableArrays, load_npy, load_npz
from vae.config import TrainConfig
from vae.errors import RunError
from vae.i18n import _
from vae.numpy_model import UnsupportedModel, check_shapes, load_weights
from vae.runs.saving import REPLAY_FILE, TEST_ENCODINGS_FILE, TEST_ERRORS_FILE, WEIGHTS_FILE
from vae.runs.summary import RunSummary
from vae.snapshots import GRID_SIDE, SUBSET, replay_from_arrays

MAX_HISTORY_BYTES = 2_000_000  # history.csv: one short line per epoch, at most 1000 epochs
# Kept for callers; the messages below say it in full (one sentence each, for translation).
OLDER_RUN_HINT = "run `python -m vae export-weights {name}` once to add what this version needs"


def load_numpy_models(run: RunSummary):
    """(encoder, decoder) of a run as NumpyModels, without TensorFlow; RunError if unreadable.
    The file may unpack to at most twice what the run's config needs, and both models must run
    on a test input and give the shapes the config says, before any page calls them."""
    path = run.path
    if not (path / WEIGHTS_FILE).is_file():
        raise RunError(_("run {run!r} has no {file} (saved by an older Latent Lab): run `python -m vae export-weights "
                         "{run}` once to add what this version needs").format(run=run.name, file=WEIGHTS_FILE))
    try:
        encoder, decoder = load_weights(path / WEIGHTS_FILE, max_bytes=2 * cost.weights_bytes(run.config) + 1_000_000)
        check_shapes(encoder, decoder, run.config.latent_dim, run.config.label_inputs)
    except (UnreadableArrays, UnsupportedModel, OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise RunError(_("run {run!r}: {file} cannot be read ({error})").format(
            run=run.name, file=WEIGHTS_FILE, error=error)) from None
    return encoder, decoder


def _load_array(run: RunSummary, file: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = load_npy(run.path / file, max_bytes=4 * int(np.prod(shape)) + 4096)
    except FileNotFoundError:
        raise RunError(_("run {run!r}: {file} is missing: run `python -m vae export-weights {run}` once to add what "
                         "this version needs").format(run=run.name, file=file)) from None
    except (UnreadableArrays, OSError) as error:
        raise RunError(_("run {run!r}: {file} cannot be read ({error})").format(
            run=run.name, file=file, error=error)) from None
    if array.shape != shape or array.dtype != np.float32:
        raise RunError(_("run {run!r}: {file} holds {dtype} {shape}, expected float32 {expected}").format(
            run=run.name, file=file, dtype=array.dtype, shape=array.shape, expected=shape))
    return array


def load_test_encodings(run: RunSummary, n_test: int) -> np.ndarray:
    """The saved z_mean of every test image; RunError if absent or not the expected shape."""
    return _load_array(run, TEST_ENCODINGS_FILE, (n_test, run.config.latent_dim))


def load_test_errors(run: RunSummary, n_test: int) -> np.ndarray:
    """The saved squared reconstruction error of every test image; RunError if absent or wrong."""
    return _load_array(run, TEST_ERRORS_FILE, (n_test,))


def replay_bytes_bound(config: TrainConfig) -> int:
    """The most replay.npz may unpack to for this config: one frame per epoch, and some slack."""
    return config.epochs * (SUBSET * 2 * 2 + GRID_SIDE**2 * 784 + 64) + 100_000


def load_replay(run: RunSummary):
    """The run's per-epoch snapshots (vae.snapshots.Replay); RunError if absent or unreadable."""
    if not (run.path / REPLAY_FILE).is_file():
        raise RunError(_("run {run!r} has no epoch snapshots: it was saved before Latent Lab kept them "
                         "(train it again to watch its replay)").format(run=run.name))
    try:
        return replay_from_arrays(load_npz(run.path / REPLAY_FILE, replay_bytes_bound(run.config)), run.config.epochs)
    except (UnreadableArrays, OSError, ValueError, KeyError) as error:
        raise RunError(_("run {run!r}: {file} cannot be read ({error})").format(
            run=run.name, file=REPLAY_FILE, error=error)) from None


HISTORY_METRICS = ("loss", "reconstruction_loss", "kl_loss")
HISTORY_COLUMNS = ("epoch", *HISTORY_METRICS, *(f"test_{name}" for name in HISTORY_METRICS))


def load_history(run: RunSummary) -> pd.DataFrame:
    """history.csv, with every column the charts draw, all numbers; RunError otherwise."""
    path = run.path / "history.csv"
    try:
        if path.stat().st_size > MAX_HISTORY_BYTES:
            raise ValueError(_("it is larger than {limit:,} bytes").format(limit=MAX_HISTORY_BYTES))
        history = pd.read_csv(path)
    except (OSError, ValueError) as error:  # pandas' parser and decoding errors are ValueErrors
        raise RunError(_("run {run!r}: {file} cannot be read ({error})").format(
            run=run.name, file="history.csv", error=error)) from None
    missing = [column for column in HISTORY_COLUMNS if column not in history.columns]
    if missing:
        raise RunError(_("run {run!r}: history.csv has no {columns} column").format(
            run=run.name, columns=", ".join(missing)))
    if not all(pd.api.types.is_numeric_dtype(history[column]) for column in HISTORY_COLUMNS):
        raise RunError(_("run {run!r}: history.csv holds values that are not numbers").format(run=run.name))
    return history
