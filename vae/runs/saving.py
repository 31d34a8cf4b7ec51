"""Writing runs: a run appears in one step or not at all. It is written to a hidden temporary
folder inside the runs folder, flushed to disk, then renamed into place; of two writers of one
name exactly one wins."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from vae.config import TrainConfig
from vae.errors import RunError
from vae.i18n import _
from vae.numpy_model import save_weights
from vae.runs.names import run_path

TEMP_PREFIX = ".saving-"
# Written with every run since 0.2 so the web server never needs TensorFlow (older runs lack them;
# `python -m vae export-weights` adds them): both models as plain arrays, the test set's z_mean,
# and each test image's squared reconstruction error.
WEIGHTS_FILE = "weights.npz"
TEST_ENCODINGS_FILE = "test_z_mean.npy"
TEST_ERRORS_FILE = "test_sse.npy"
# Since 0.3: one snapshot of the latent space per epoch (vae.snapshots), for the epoch replay.
REPLAY_FILE = "replay.npz"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask is process-wide, so calling it later could race other threads.
_UMASK = _read_umask()


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable(root: Path) -> None:
    """Raise RunError now, before minutes of training, if runs cannot be saved under `root`."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=TEMP_PREFIX):
            pass
    except OSError as error:
        raise RunError(_("Cannot write runs to {root}: {error}").format(
            root=root, error=error.strerror or error)) from None


def save_run(root: Path, name: str, config: TrainConfig, encoder, decoder,
             history: pd.DataFrame, metrics: dict, test_z_mean: np.ndarray | None = None,
             test_sse: np.ndarray | None = None, replay: dict[str, np.ndarray] | None = None) -> Path:
    """Write a run atomically. Never replaces an existing run: a taken name raises RunError."""

    def write(staging: Path) -> None:
        (staging / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        history.to_csv(staging / "history.csv", index=False)
        (staging / "metrics.json").write_text(json.dumps({
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), **metrics,
        }, indent=2))
        encoder.save(staging / "encoder.keras")
        decoder.save(staging / "decoder.keras")
        write_numpy_files(staging, encoder, decoder, test_z_mean, test_sse)
        if replay is not None:
            with open(staging / REPLAY_FILE, "wb") as handle:
                np.savez_compressed(handle, **replay)

    return publish_run(root, name, write)


def publish_run(root: Path, name: str, write) -> Path:
    """`write(staging)` fills a hidden folder inside `root`; it is flushed to disk and renamed to
    `root/name` in one step. RunError if the name is taken or the disk fails (nothing is left)."""
    root = Path(root)
    final = run_path(root, name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise RunError(_("A run named {name!r} already exists; choose another name.").format(name=name))
        staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{name}-", dir=root))
        staging.chmod(0o777 & ~_UMASK)  # mkdtemp makes it private; a run is an ordinary folder
    except OSError as error:
        raise RunError(_("Cannot write runs to {root}: {error}").format(
            root=root, error=error.strerror or error)) from None
    try:
        write(staging)
        _fsync_tree(staging)
        _publish(staging, final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise RunError(_("Saving run {name!r} to {root} failed: {error}").format(
            name=name, root=root, error=error.strerror or error)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def write_numpy_files(folder: Path, encoder, decoder, test_z_mean=None, test_sse=None) -> None:
    """What the web server reads instead of the .keras files (Keras models in, plain arrays out)."""
    save_weights(folder / WEIGHTS_FILE, encoder, decoder)
    if test_z_mean is not None:
        np.save(folder / TEST_ENCODINGS_FILE, np.asarray(test_z_mean, np.float32), allow_pickle=False)
    if test_sse is not None:
        np.save(folder / TEST_ERRORS_FILE, np.asarray(test_sse, np.float32), allow_pickle=False)


def needs_numpy_files(path: Path) -> bool:
    return not all((path / file).is_file() for file in (WEIGHTS_FILE, TEST_ENCODINGS_FILE, TEST_ERRORS_FILE))


def add_numpy_files(path: Path, encoder, decoder, test_z_mean, test_sse) -> None:
    """Give a run saved by an older version what the web server reads. Each file is written
    beside the run, then renamed in: a crash leaves the run as it was."""
    staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{path.name}-", dir=path.parent))
    try:
        write_numpy_files(staging, encoder, decoder, test_z_mean, test_sse)
        _fsync_tree(staging)
        for file in staging.iterdir():
            os.replace(file, path / file.name)
        _fsync_dir(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, final: Path) -> None:
    # rename() onto an existing non-empty folder fails instead of merging: two writers racing
    # for one name cannot both win.
    try:
        os.rename(staging, final)
    except OSError as error:
        if final.exists():
            raise RunError(_("A run named {name!r} already exists; choose another name.").format(
                name=final.name)) from None
        raise error
    _fsync_dir(final.parent)
