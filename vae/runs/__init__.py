"""Saved runs: `runs/<name>/` with config.json, history.csv, metrics.json, encoder.keras,
decoder.keras, and what the web server reads without TensorFlow (weights.npz, test_z_mean.npy,
test_sse.npy, replay.npz). Names (names), summaries and listing (summary), the atomic save
(saving), reading files as untrusted data (reading), disk use and deletion (disk), the likelihood
figures kept by a run's content (bounds). The names below are the package's whole surface, so
callers write `runs.list_runs(...)`."""

from vae.errors import RunError
from vae.runs.bounds import remembered_likelihood
from vae.runs.disk import (
    STALE_SECONDS,
    TRASH_PREFIX,
    DiskUsage,
    delete_if_owned,
    delete_run,
    disk_usage,
    folder_bytes,
    remove_stale_temporaries,
)
from vae.runs.names import (
    NAME_PATTERN,
    RUNS_DIR_ENV,
    default_runs_dir,
    free_run_name,
    run_path,
    unique_run_name,
    validate_run_name,
)
from vae.runs.reading import (
    HISTORY_COLUMNS,
    OLDER_RUN_HINT,
    load_history,
    load_numpy_models,
    load_replay,
    load_test_encodings,
    load_test_errors,
    replay_bytes_bound,
)
from vae.runs.saving import (
    REPLAY_FILE,
    TEMP_PREFIX,
    TEST_ENCODINGS_FILE,
    TEST_ERRORS_FILE,
    WEIGHTS_FILE,
    add_numpy_files,
    check_writable,
    needs_numpy_files,
    save_run,
    write_numpy_files,
)
from vae.runs.summary import RUN_FILES, RunListing, RunProblem, RunSummary, find_run, list_runs, read_summary

__all__ = [
    "HISTORY_COLUMNS", "NAME_PATTERN", "OLDER_RUN_HINT", "REPLAY_FILE", "RUNS_DIR_ENV", "RUN_FILES", "STALE_SECONDS",
    "TEMP_PREFIX", "TEST_ENCODINGS_FILE", "TEST_ERRORS_FILE", "TRASH_PREFIX", "WEIGHTS_FILE", "DiskUsage",
    "RunError", "RunListing", "RunProblem", "RunSummary", "add_numpy_files", "check_writable", "default_runs_dir",
    "delete_if_owned", "delete_run", "disk_usage", "find_run", "folder_bytes", "free_run_name", "list_runs",
    "load_history", "load_numpy_models", "load_replay", "load_test_encodings", "load_test_errors",
    "needs_numpy_files", "read_summary", "remembered_likelihood", "remove_stale_temporaries", "replay_bytes_bound",
    "run_path", "save_run", "unique_run_name", "validate_run_name", "write_numpy_files",
]
