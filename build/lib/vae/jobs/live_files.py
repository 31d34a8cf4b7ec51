"""A running job's live progress as files beside the runs (`runs/.live/<job id>/`), for a class on
several web servers: what changes many times a second stays out of the class's store, yet every web
server sees it, and one started again reads it back from the start.

The training queue's process writes (LiveWriter): each batch and epoch line its training process
sent, appended to `progress.jsonl` in the protocol's own words (vae.jobs.protocol); the latest
snapshot of the latent space of each kind (latest, latest epoch end, latest with a decoder) as a
file replaced whole, never half-written. Web servers read (LiveReader), each file again only when
it has grown or been replaced. A web server whose page watches touches `watched`: the queue's
process asks the training process for live snapshots while that is recent."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vae.jobs import protocol
from vae.jobs.job import Job
from vae.snapshots import Snapshot

LIVE_FOLDER = ".live"  # hidden: run listings skip dot folders
PROGRESS = "progress.jsonl"
WATCHED = "watched"
SNAPSHOT_KINDS = ("latest", "epoch_end", "decoder")
MAX_PROGRESS_BYTES = 64_000_000  # read no further: a job's curve is thinned in memory long before this
TOUCH_SECONDS = 1.0  # a web server marks a job watched at most this often


def live_folder(runs_dir: Path) -> Path:
    return Path(runs_dir) / LIVE_FOLDER


class LiveWriter:
    """The queue's process's side: one folder per job it runs."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _job(self, job_id: str) -> Path:
        return self.folder / job_id

    def progress(self, job_id: str, event: protocol.Batch | protocol.Epoch) -> None:
        path = self._job(job_id)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / PROGRESS, "ab") as stream:
            stream.write(protocol.encode_event(event))

    def snapshot(self, job: Job) -> None:
        """The job's latest snapshots (those that changed with the last one), each replaced whole."""
        path = self._job(job.id)
        path.mkdir(parents=True, exist_ok=True)
        latest = {"latest": job.live, "epoch_end": job.live_epoch_end, "decoder": job.live_decoder}
        for kind, snapshot in latest.items():
            if snapshot is not None and snapshot is job.live:
                header = json.dumps({"received": job.snapshots_received}).encode() + b"\n"
                _replace(path / kind, header + protocol.encode_event(protocol.SnapshotEvent(snapshot)))

    def drop_snapshots(self, job_id: str) -> None:
        """The job ended: its saved run takes over; its curve stays for its owner's page."""
        for kind in SNAPSHOT_KINDS:
            (self._job(job_id) / kind).unlink(missing_ok=True)

    def watched_at(self, job_id: str) -> float:
        """When a web server last marked the job watched (wall clock; 0 if never)."""
        try:
            return (self._job(job_id) / WATCHED).stat().st_mtime
        except OSError:
            return 0.0

    def forget(self, job_ids) -> None:
        for job_id in job_ids:
            shutil.rmtree(self._job(job_id), ignore_errors=True)

    def keep_only(self, job_ids: set[str]) -> None:
        """At start: folders of jobs the store no longer has go."""
        if self.folder.is_dir():
            self.forget([path.name for path in self.folder.iterdir() if path.name not in job_ids])


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@dataclass
class _Progress:
    """What one web server has read of a job's progress file."""

    job: Job
    offset: int = 0
    inode: int = 0
    partial: bytes = b""


@dataclass
class _SnapshotFile:
    stamp: tuple = ()
    snapshot: Snapshot | None = None
    header_stamp: tuple = ()
    received: int = 0


@dataclass
class LiveReader:
    """A web server's side: the jobs' curves and snapshots as the files say, read incrementally."""

    folder: Path
    _progress: dict[str, _Progress] = field(default_factory=dict)
    _snapshots: dict[tuple[str, str], _SnapshotFile] = field(default_factory=dict)
    _touched: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, job: Job) -> Job:
        """`job` (a stand-in made from the store's row) with its batch and epoch points, as far as
        the file has them; the same object again while the file has not grown."""
        path = self.folder / job.id / PROGRESS
        with self._lock:
            read = self._progress.get(job.id)
            try:
                stat = path.stat()
            except OSError:
                return read.job if read else job
            if read is None or read.inode != stat.st_ino or stat.st_size < read.offset:
                read = self._progress[job.id] = _Progress(job, inode=stat.st_ino)
            if stat.st_size > read.offset and read.offset < MAX_PROGRESS_BYTES:
                with open(path, "rb") as stream:
                    stream.seek(read.offset)
                    data = read.partial + stream.read(MAX_PROGRESS_BYTES - read.offset)
                read.offset += len(data) - len(read.partial)
                *lines, read.partial = data.split(b"\n")
                for line in lines:
                    _apply(read.job, line)
            return read.job

    def snapshot(self, job_id: str, kind: str) -> Snapshot | None:
        """The job's latest snapshot of `kind` (decoded once per new file); None before one."""
        cached, stamp = self._snapshot_file(job_id, kind)
        if stamp is None:
            return None
        with self._lock:
            if cached.stamp != stamp:
                cached.stamp = stamp
                try:
                    event = protocol.decode_event((self.folder / job_id / kind).read_bytes().split(b"\n", 1)[1])
                    cached.snapshot = event.snapshot if isinstance(event, protocol.SnapshotEvent) else None
                except (OSError, IndexError, protocol.ProtocolError):
                    cached.snapshot = None
            return cached.snapshot

    def received(self, job_id: str) -> int:
        """How many snapshots the job had sent at its latest (its file's first line only)."""
        cached, stamp = self._snapshot_file(job_id, "latest")
        if stamp is None:
            return 0
        with self._lock:
            if cached.header_stamp != stamp:
                cached.header_stamp = stamp
                try:
                    with open(self.folder / job_id / "latest", "rb") as stream:
                        cached.received = int(json.loads(stream.readline(200))["received"])
                except (OSError, ValueError, KeyError, TypeError):
                    pass
            return cached.received

    def _snapshot_file(self, job_id: str, kind: str) -> tuple[_SnapshotFile, tuple | None]:
        with self._lock:
            cached = self._snapshots.setdefault((job_id, kind), _SnapshotFile())
        try:
            stat = (self.folder / job_id / kind).stat()
        except OSError:
            return cached, None
        return cached, (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def watch(self, job_id: str) -> None:
        """Mark the job watched (at most once a second from this web server)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(job_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return
            self._touched[job_id] = now
        folder = self.folder / job_id
        if folder.is_dir():
            (folder / WATCHED).touch()

    def forget_others(self, job_ids: set[str]) -> None:
        """Drop what was read of jobs no longer listed."""
        with self._lock:
            for job_id in [key for key in self._progress if key not in job_ids]:
                del self._progress[job_id]
            for key in [key for key in self._snapshots if key[0] not in job_ids]:
                del self._snapshots[key]


def _apply(job: Job, line: bytes) -> None:
    try:
        event = protocol.decode_event(line)
    except protocol.ProtocolError:
        return  # a line cut by a crash of the queue's process: the next ones still count
    if isinstance(event, protocol.Batch):
        job.record_batch(event)
    elif isinstance(event, protocol.Epoch):
        job.record_epoch(event)
