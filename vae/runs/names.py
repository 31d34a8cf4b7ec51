"""Where runs live and what they may be called: a name is checked before any path is built, so no
request reaches a file outside the runs folder."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from vae import settings as vae_settings
from vae.errors import RunError
from vae.i18n import _
from vae.settings import settings

RUNS_DIR_ENV = vae_settings.RUNS_DIR
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def default_runs_dir() -> Path:
    """LATENT_LAB_RUNS_DIR, or the repository's runs/ (vae.settings)."""
    return settings().runs_dir


def validate_run_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 40 else f"{str(name)[:40]!r}…"
        raise RunError(_(
            "Run name {shown!r} is not allowed: use 1–80 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit."
        ).format(shown=shown))
    return name


def run_path(root: Path, name: str) -> Path:
    return Path(root) / validate_run_name(name)



def unique_run_name(root: Path, stem: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = validate_run_name(f"{stem}-{stamp}")
    name, n = base, 2
    while (Path(root) / name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def free_run_name(root: Path, name: str | None, stem: str | None, reserved: set[str]) -> str:
    """`name` if no run has it and no queued job has reserved it (RunError otherwise); with no
    name, a new one made from `stem` and the time."""
    if name:
        if run_path(root, name).exists() or name in reserved:
            raise RunError(_("A run named {name!r} already exists; choose another name.").format(name=name))
        return name
    name = unique_run_name(root, stem or "custom")
    base, n = name, 2
    while name in reserved:
        name, n = f"{base}-{n}", n + 1
    return name
