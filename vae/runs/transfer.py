"""A run as one packed file, to travel from a worker on another machine to the web server (through
Redis: no shared filesystem). Unpacking believes nothing: only the files a run has, as regular
files, each and all within the sizes its config implies, then the same atomic save as any run."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from vae import cost
from vae.config import TrainConfig
from vae.errors import RunError
from vae.i18n import _
from vae.runs.saving import REPLAY_FILE, TEST_ENCODINGS_FILE, TEST_ERRORS_FILE, WEIGHTS_FILE, publish_run
from vae.runs.summary import MAX_JSON_BYTES, RUN_FILES

PACKED_FILES = (*RUN_FILES, WEIGHTS_FILE, TEST_ENCODINGS_FILE, TEST_ERRORS_FILE, REPLAY_FILE)


def pack_run(path: Path) -> bytes:
    """The run folder's files as one gzip-compressed tar (names only, no folders, no owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for file in sorted(Path(path).iterdir()):
            if file.name in PACKED_FILES and file.is_file():
                archive.add(file, arcname=file.name, recursive=False)
    return buffer.getvalue()


def unpacked_files(data: bytes, config: TrainConfig) -> dict[str, bytes]:
    """{file name: bytes} of a packed run; RunError unless it is exactly a run's files, each a
    regular file, in all at most three times what the config's run takes."""
    limit = 3 * cost.run_bytes(config) + 10_000_000
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                if not member.isfile() or member.name not in PACKED_FILES or member.name in files:
                    raise RunError(_("the packed run holds {name!r}, which is not a run's file").format(
                        name=member.name[:40]))
                if member.size > limit - sum(map(len, files.values())):
                    raise RunError(_("the packed run is larger than its config allows"))
                files[member.name] = archive.extractfile(member).read(member.size + 1)[: member.size]
    except (tarfile.TarError, EOFError, OSError) as error:
        raise RunError(_("the packed run cannot be read ({error})").format(error=type(error).__name__)) from None
    missing = [name for name in RUN_FILES if name not in files]
    if missing:
        raise RunError(_("the packed run has no {files}").format(files=", ".join(missing)))
    return files


def save_packed_run(root: Path, name: str, data: bytes, config: TrainConfig, owner: dict | None = None,
                    preset: str | None = None) -> Path:
    """Save a packed run under `name`, atomically (RunError: damaged, or the name taken). Its config,
    owner and preset are the job's, whatever the package says (a worker trains what it was asked;
    it does not say whose it is)."""
    files = unpacked_files(data, config)
    files["config.json"] = json.dumps(config.to_dict(), indent=2).encode()
    files["metrics.json"] = json.dumps(_metrics_of_job(files["metrics.json"], owner, preset), indent=2).encode()

    def write(staging: Path) -> None:
        for file_name, content in files.items():
            (staging / file_name).write_bytes(content)

    return publish_run(root, name, write)


def _metrics_of_job(data: bytes, owner: dict | None, preset: str | None) -> dict:
    try:
        metrics = json.loads(data) if len(data) <= MAX_JSON_BYTES else None
    except (ValueError, UnicodeDecodeError):
        metrics = None
    if not isinstance(metrics, dict):
        raise RunError(_("the packed run's metrics.json cannot be read"))
    metrics.pop("owner", None)
    return {**metrics, "preset": preset, **({"owner": owner} if owner else {})}
