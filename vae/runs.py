"""Saved runs: `runs/<name>/` with config.json, history.csv, metrics.json, encoder.keras, decoder.keras.

A run appears in one step or not at all: it is written to a hidden temporary folder, flushed to
disk, then renamed into place. Listing skips (and reports) anything it cannot read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from vae import cost
from vae.array_files import UnreadableArrays, load_npy, load_npz
from vae.config import TrainConfig
from vae.errors import RunError

RUNS_DIR_ENV = "LATENT_LAB_RUNS_DIR"
RUN_FILES = ("config.json", "history.csv", "metrics.json", "encoder.keras", "decoder.keras")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
TEMP_PREFIX = ".saving-"
TRASH_PREFIX = ".deleting-"
MAX_JSON_BYTES = 1_000_000  # config.json, metrics.json: a few KB when we write them
MAX_HISTORY_BYTES = 2_000_000  # history.csv: one short line per epoch, at most 1000 epochs
STATUSES = ("completed", "stopped")
STALE_SECONDS = 600  # a save takes seconds: a .saving-/.deleting- folder this old was left by a crash
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    name: str
    config: TrainConfig
    metrics: dict
    path: Path

    @property
    def created_at(self) -> str:
        return str(self.metrics.get("created_at", ""))

    @property
    def test_neg_elbo(self) -> float | None:
        value = self.metrics.get("test_neg_elbo")
        return float(value) if isinstance(value, (int, float)) else None

    def one_line(self) -> str:
        elbo = f"{self.test_neg_elbo:.1f}" if self.test_neg_elbo is not None else "?"
        preset = self.metrics.get("preset") or "custom"
        status = "" if self.metrics.get("status", "completed") == "completed" else f", {self.metrics['status']}"
        return (f"{self.name} — {preset}, latent {self.config.latent_dim}, "
                f"{self.metrics.get('epochs_completed', self.config.epochs)} epochs, −ELBO {elbo}{status}")


@dataclass(frozen=True)
class RunProblem:
    """A run folder that cannot be read: its name (so it can still be deleted) and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass
class RunListing:
    runs: list[RunSummary] = field(default_factory=list)  # newest first
    problems: list[RunProblem] = field(default_factory=list)  # one per run folder that was skipped


def default_runs_dir() -> Path:
    if os.environ.get(RUNS_DIR_ENV):
        return Path(os.environ[RUNS_DIR_ENV])
    return Path(__file__).resolve().parent.parent / "runs"


def validate_run_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 40 else f"{str(name)[:40]!r}…"
        raise RunError(
            f"Run name {shown!r} is not allowed: use 1–80 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit."
        )
    return name


def run_path(root: Path, name: str) -> Path:
    return Path(root) / validate_run_name(name)


def read_summary(path: Path) -> RunSummary:
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    if missing:
        raise RunError(f"run {path.name!r} is missing {', '.join(missing)}")
    try:
        config = TrainConfig.from_dict(_read_json(path / "config.json"))
        metrics = _read_json(path / "metrics.json")
    except (ValueError, TypeError, OSError, RecursionError) as error:  # JSON and ConfigError are ValueErrors
        raise RunError(f"run {path.name!r} has an unreadable config.json or metrics.json ({error})") from None
    if not isinstance(metrics, dict):
        raise RunError(f"run {path.name!r}: metrics.json is not a JSON object")
    problem = _metrics_problem(metrics)
    if problem:
        raise RunError(f"run {path.name!r}: metrics.json {problem}")
    return RunSummary(path.name, config, metrics, path)


def _read_json(path: Path):
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_JSON_BYTES:,} bytes")
    return json.loads(path.read_bytes().decode("utf-8"))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What the pages read from metrics.json, and what each must be: a hand-edited or damaged file is
# refused here, once, rather than failing in whichever page reads the field.
_METRIC_CHECKS = {
    "created_at": (lambda v: isinstance(v, str), "a text"),
    "test_neg_elbo": (_is_number, "a number"),
    "test_reconstruction_loss": (_is_number, "a number"),
    "test_kl_loss": (_is_number, "a number"),
    "mean_sse": (_is_number, "a number"),
    "train_seconds": (_is_number, "a number"),
    "epochs_completed": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number"),
    "status": (lambda v: v in STATUSES, f"one of {', '.join(STATUSES)}"),
    "preset": (lambda v: v is None or isinstance(v, str), "a text"),
    "per_class_sse": (lambda v: isinstance(v, list) and len(v) == 10 and all(x is None or _is_number(x) for x in v),
                      "a list of 10 numbers"),
    "owner": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), "an object of texts"),
}


def _metrics_problem(metrics: dict) -> str | None:
    for key, (valid, kind) in _METRIC_CHECKS.items():
        if key in metrics and not valid(metrics[key]):
            return f"has {key} that is not {kind}"
    return None


def list_runs(root: Path | None = None) -> RunListing:
    """Every readable run, newest first; unreadable ones are skipped with a reason, never raised."""
    root = Path(root or default_runs_dir())
    listing = RunListing()
    if not root.is_dir():
        return listing
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_dir() or not NAME_PATTERN.fullmatch(path.name):
            continue
        try:
            listing.runs.append(read_summary(path))
        except RunError as error:
            log.warning("skipping %s", error)
            listing.problems.append(RunProblem(path.name, str(error)))
    listing.runs.sort(key=lambda run: (run.created_at, run.name), reverse=True)
    return listing


@dataclass(frozen=True)
class DiskUsage:
    runs: list[tuple[dict | None, int]]  # each run folder's owner (None: the teacher's, or unreadable) and bytes
    free_bytes: int  # free on the runs folder's disk


def folder_bytes(path: Path) -> int:
    total = 0
    for file in Path(path).rglob("*"):
        with contextlib.suppress(OSError):
            if file.is_file():
                total += file.stat().st_size
    return total


def disk_usage(root: Path) -> DiskUsage:
    """What saved runs take, by owner, and what is left on the disk (for quotas)."""
    root = Path(root)
    listing = list_runs(root)
    used = [(run.metrics.get("owner"), folder_bytes(run.path)) for run in listing.runs]
    used += [(None, folder_bytes(root / problem.name)) for problem in listing.problems]
    try:
        free = shutil.disk_usage(root if root.is_dir() else root.parent).free
    except OSError:
        free = 0
    return DiskUsage(used, free)


def unique_run_name(root: Path, stem: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = validate_run_name(f"{stem}-{stamp}")
    name, n = base, 2
    while (Path(root) / name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


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
        raise RunError(f"Cannot write runs to {root}: {error.strerror or error}") from None


# Written with every run since 0.2 so the web server never needs TensorFlow (older runs lack them;
# `python -m vae export-weights` adds them): both models as plain arrays, the test set's z_mean,
# and each test image's squared reconstruction error.
WEIGHTS_FILE = "weights.npz"
TEST_ENCODINGS_FILE = "test_z_mean.npy"
TEST_ERRORS_FILE = "test_sse.npy"
# Since 0.3: one snapshot of the latent space per epoch (vae.snapshots), for the epoch replay.
REPLAY_FILE = "replay.npz"


def save_run(root: Path, name: str, config: TrainConfig, encoder, decoder,
             history: pd.DataFrame, metrics: dict, test_z_mean: np.ndarray | None = None,
             test_sse: np.ndarray | None = None, replay: dict[str, np.ndarray] | None = None) -> Path:
    """Write a run atomically. Never replaces an existing run: a taken name raises RunError."""
    root = Path(root)
    final = run_path(root, name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise RunError(f"A run named {name!r} already exists; choose another name.")
        staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{name}-", dir=root))
        staging.chmod(0o777 & ~_UMASK)  # mkdtemp makes it private; a run is an ordinary folder
    except OSError as error:
        raise RunError(f"Cannot write runs to {root}: {error.strerror or error}") from None
    try:
        (staging / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        history.to_csv(staging / "history.csv", index=False)
        (staging / "metrics.json").write_text(json.dumps({
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **metrics,
        }, indent=2))
        encoder.save(staging / "encoder.keras")
        decoder.save(staging / "decoder.keras")
        write_numpy_files(staging, encoder, decoder, test_z_mean, test_sse)
        if replay is not None:
            with open(staging / REPLAY_FILE, "wb") as handle:
                np.savez_compressed(handle, **replay)
        _fsync_tree(staging)
        _publish(staging, final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise RunError(f"Saving run {name!r} to {root} failed: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def write_numpy_files(folder: Path, encoder, decoder, test_z_mean=None, test_sse=None) -> None:
    """What the web server reads instead of the .keras files (Keras models in, plain arrays out)."""
    from vae.numpy_model import save_weights

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
            raise RunError(f"A run named {final.name!r} already exists; choose another name.") from None
        raise error
    _fsync_dir(final.parent)


def load_models(path: Path):
    """(encoder, decoder) from a run folder, with Keras's safe mode: no code inside files runs."""
    import keras

    models = []
    for file in ("encoder.keras", "decoder.keras"):
        try:
            models.append(keras.saving.load_model(path / file, safe_mode=True, compile=False))
        except Exception as error:  # Keras raises many types for a bad zip, bad JSON, unsafe code
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise RunError(f"run {path.name!r}: {file} cannot be loaded ({reason})") from None
    return tuple(models)


OLDER_RUN_HINT = "run `python -m vae export-weights {name}` once to add what this version needs"


def load_numpy_models(run: RunSummary):
    """(encoder, decoder) of a run as NumpyModels, without TensorFlow; RunError if unreadable.
    The file may unpack to at most twice what the run's config needs, and both models must run
    on a test input and give the shapes the config says, before any page calls them."""
    from vae.numpy_model import UnsupportedModel, check_shapes, load_weights

    path = run.path
    if not (path / WEIGHTS_FILE).is_file():
        raise RunError(f"run {run.name!r} has no {WEIGHTS_FILE} (saved by an older Latent Lab): "
                       + OLDER_RUN_HINT.format(name=run.name))
    try:
        encoder, decoder = load_weights(path / WEIGHTS_FILE, max_bytes=2 * cost.weights_bytes(run.config) + 1_000_000)
        check_shapes(encoder, decoder, run.config.latent_dim)
    except (UnreadableArrays, UnsupportedModel, OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise RunError(f"run {run.name!r}: {WEIGHTS_FILE} cannot be read ({error})") from None
    return encoder, decoder


def _load_array(run: RunSummary, file: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = load_npy(run.path / file, max_bytes=4 * int(np.prod(shape)) + 4096)
    except FileNotFoundError:
        raise RunError(f"run {run.name!r}: {file} is missing: {OLDER_RUN_HINT.format(name=run.name)}") from None
    except (UnreadableArrays, OSError) as error:
        raise RunError(f"run {run.name!r}: {file} cannot be read ({error})") from None
    if array.shape != shape or array.dtype != np.float32:
        raise RunError(f"run {run.name!r}: {file} holds {array.dtype} {array.shape}, expected float32 {shape}")
    return array


def load_test_encodings(run: RunSummary, n_test: int) -> np.ndarray:
    """The saved z_mean of every test image; RunError if absent or not the expected shape."""
    return _load_array(run, TEST_ENCODINGS_FILE, (n_test, run.config.latent_dim))


def load_test_errors(run: RunSummary, n_test: int) -> np.ndarray:
    """The saved squared reconstruction error of every test image; RunError if absent or wrong."""
    return _load_array(run, TEST_ERRORS_FILE, (n_test,))


def replay_bytes_bound(config: TrainConfig) -> int:
    """The most replay.npz may unpack to for this config: one frame per epoch, and some slack."""
    from vae.snapshots import GRID_SIDE, SUBSET

    return config.epochs * (SUBSET * 2 * 2 + GRID_SIDE**2 * 784 + 64) + 100_000


def load_replay(run: RunSummary):
    """The run's per-epoch snapshots (vae.snapshots.Replay); RunError if absent or unreadable."""
    from vae.snapshots import replay_from_arrays

    if not (run.path / REPLAY_FILE).is_file():
        raise RunError(f"run {run.name!r} has no epoch snapshots: it was saved before Latent Lab kept them "
                       "(train it again to watch its replay)")
    try:
        return replay_from_arrays(load_npz(run.path / REPLAY_FILE, replay_bytes_bound(run.config)), run.config.epochs)
    except (UnreadableArrays, OSError, ValueError, KeyError) as error:
        raise RunError(f"run {run.name!r}: {REPLAY_FILE} cannot be read ({error})") from None


HISTORY_METRICS = ("loss", "reconstruction_loss", "kl_loss")
HISTORY_COLUMNS = ("epoch", *HISTORY_METRICS, *(f"test_{name}" for name in HISTORY_METRICS))


def load_history(run: RunSummary) -> pd.DataFrame:
    """history.csv, with every column the charts draw, all numbers; RunError otherwise."""
    path = run.path / "history.csv"
    try:
        if path.stat().st_size > MAX_HISTORY_BYTES:
            raise ValueError(f"it is larger than {MAX_HISTORY_BYTES:,} bytes")
        history = pd.read_csv(path)
    except (OSError, ValueError) as error:  # pandas' parser and decoding errors are ValueErrors
        raise RunError(f"run {run.name!r}: history.csv cannot be read ({error})") from None
    missing = [column for column in HISTORY_COLUMNS if column not in history.columns]
    if missing:
        raise RunError(f"run {run.name!r}: history.csv has no {', '.join(missing)} column")
    if not all(pd.api.types.is_numeric_dtype(history[column]) for column in HISTORY_COLUMNS):
        raise RunError(f"run {run.name!r}: history.csv holds values that are not numbers")
    return history


def find_run(root: Path, name: str) -> RunSummary:
    path = run_path(Path(root), name)
    if not path.is_dir():
        raise RunError(f"No run named {name!r} in {root}.")
    return read_summary(path)


def delete_run(root: Path, name: str) -> None:
    """Remove a run: renamed out of sight first, so a crash never leaves half a run listed."""
    path = run_path(Path(root), name)
    if not path.is_dir():
        raise RunError(f"No run named {name!r} in {root}.")
    trash = path.with_name(f"{TRASH_PREFIX}{name}-{time.time_ns()}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def remove_stale_temporaries(root: Path, older_than_seconds: float = 3600) -> int:
    """Clear what crashed saves and deletes left behind; recent ones may still be in progress."""
    removed = 0
    root = Path(root)
    if not root.is_dir():
        return 0
    for path in root.iterdir():
        if path.name.startswith((TEMP_PREFIX, TRASH_PREFIX)):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > older_than_seconds:
                    shutil.rmtree(path)
                    removed += 1
    return removed

