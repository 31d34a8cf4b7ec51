"""What runs take on disk, deleting them, and clearing what crashed saves and deletes left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vae.errors import RunError
from vae.i18n import _
from vae.runs.names import run_path
from vae.runs.saving import TEMP_PREFIX
from vae.runs.summary import find_run, list_runs

TRASH_PREFIX = ".deleting-"
STALE_SECONDS = 600  # a save takes seconds: a .saving-/.deleting- folder this old was left by a crash


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


def delete_run(root: Path, name: str) -> None:
    """Remove a run: renamed out of sight first, so a crash never leaves half a run listed."""
    path = run_path(Path(root), name)
    if not path.is_dir():
        raise RunError(_("No run named {name!r} in {root}.").format(name=name, root=root))
    trash = path.with_name(f"{TRASH_PREFIX}{name}-{time.time_ns()}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def delete_if_owned(root: Path, name: str, is_owner) -> bool:
    """Delete the run `name` if it exists and `is_owner(its metrics' owner)`; True if deleted."""
    try:
        if is_owner(find_run(root, name).metrics.get("owner")):
            delete_run(root, name)
            return True
    except (RunError, OSError):
        pass  # never saved, or already gone
    return False


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
