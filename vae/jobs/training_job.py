"""What a worker process does once its priority and output are set (vae.jobs.worker): load
MNIST, import TensorFlow (on a thread: TrainingCode), say it is ready ("warm"), take a job from
stdin, stream its progress to stdout (vae.jobs.protocol, one message per line), and then either
say it is ready again and take the next (up to `jobs` in all, while its memory stays under
REUSE_MAX_RSS_BYTES: the next job pays no TensorFlow import, data load or compile, and nothing
else competes with the running training for the cores) or return, its memory going back to the
system. When stdin closes (the server exited or was killed), the process exits at once: no orphans.

A job that arrives while TensorFlow still loads is read at once, and its model's untrained
snapshot (vae.training.untrained: the weights its training will start from) is sent as soon as
someone watches: the first digit a person sees costs no TensorFlow. This module therefore imports
none at module level (tests/test_training_queue.py checks it)."""

from __future__ import annotations

import importlib
import os
import queue
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vae import snapshots, timeline
from vae.classroom.limits import check_within, limits_from
from vae.config import TrainConfig, preset
from vae.datasets import load_dataset
from vae.errors import DataError, LabError
from vae.jobs import protocol
from vae.jobs.worker import exit_without_leftovers
from vae.progress import test_inputs
from vae.settings import settings
from vae.training.download import DOWNLOADS
from vae.training.untrained import untrained_model

EXIT_BAD_JOB = 2
# A process that has trained takes another job only while it holds less than this (1.3-1.4 GB
# after each of 30 default jobs in a row, not growing: benchmarks/queue_speed.py prints it); past
# it, it ends and a new process starts, as after every job before.
REUSE_MAX_RSS_BYTES = 2_000_000_000
# Live snapshots of the latent space between epochs, while someone watches: one after the first
# group of batches, then at most one per this many seconds.
LIVE_SNAPSHOT_SECONDS = 4.0
# While TensorFlow loads, how often a job read early looks whether someone has started watching.
WATCH_POLL_SECONDS = 0.05


class TrainingCode:
    """The training code (vae.training.lab and .loop: TensorFlow and Keras), imported on a thread
    from the moment this is made, so the process reads a job meanwhile. The thread
    is made after vae.jobs.worker lowered the process's priority, so it and TensorFlow's own
    threads inherit it."""

    MODULES = ("vae.training.lab", "vae.training.loop")

    def __init__(self):
        self._loaded = threading.Event()
        self._modules: dict = {}
        self._error: BaseException | None = None
        threading.Thread(target=self._load, daemon=True, name="import-tensorflow").start()

    def _load(self) -> None:
        try:
            self._modules = {name: importlib.import_module(name) for name in self.MODULES}
            timeline.mark("training process: TensorFlow imported")
        except BaseException as error:  # noqa: BLE001 - raised again where the code is needed
            self._error = error
        finally:
            self._loaded.set()

    def loaded(self, timeout: float | None = 0) -> bool:
        """Has the import ended (waiting up to `timeout` seconds; None: until it has)?"""
        return self._loaded.wait(timeout)

    def module(self, name: str):
        """`name` once imported; the import's own exception if it failed."""
        self.loaded(None)
        if self._error is not None:
            raise self._error
        return self._modules[name]


class DataSets:
    """The data sets this process has loaded (MNIST from its start), kept for its later jobs: a job
    on the same data reuses the arrays, and with them the trainer the job before it left
    (vae.training.loop.train's keep_trainer)."""

    def __init__(self, loaded: dict | None = None):
        self._loaded = dict(loaded or {})

    def get(self, name: str):
        """The data set `name` (vae.datasets), loaded once; DataError if it cannot be (a later job
        tries again)."""
        if name not in self._loaded:
            self._loaded[name] = load_dataset(name, download=DOWNLOADS[name])
        return self._loaded[name]

    def loaded(self, name: str):
        """The data set if it is loaded already, else None."""
        return self._loaded.get(name)


class ProgressStream:
    """A TrainingListener that writes each report as one protocol line (from Keras's threads)."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._lock = threading.Lock()
        self._first = {"batch", "snapshot"}  # noted on the timeline once (vae.timeline)

    def send(self, event: protocol.Event) -> None:
        try:
            line = protocol.encode_event(event)
        except ValueError as error:  # a NaN that slipped through: never let a report stop training
            print(f"latent lab worker: dropped a report ({error})", file=sys.stderr, flush=True)
            return
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def on_batch(self, progress: protocol.Batch) -> None:
        self._note_first("batch", "training process: first batches trained")
        self.send(progress)

    def on_epoch(self, summary: protocol.Epoch) -> None:
        self.send(summary)

    def on_snapshot(self, snapshot) -> None:
        self.send(protocol.SnapshotEvent(snapshot))
        self._note_first("snapshot", "training process: first live snapshot sent")

    def _note_first(self, what: str, event: str) -> None:
        if what in self._first:
            self._first.discard(what)
            timeline.mark(event)


@dataclass
class JobCommands:
    """A job read from stdin, with the Stop and Watch the server sends for it."""

    job: protocol.Train | None  # None: the line was not a training the server could have meant
    stop: threading.Event = field(default_factory=threading.Event)
    watching: threading.Event = field(default_factory=threading.Event)


class CommandReader:
    """Reads stdin on its own thread for the process's whole life: each Train becomes the next job
    (next_job), each Stop and Watch goes to the job read last; a Stop that arrives after its job
    ended (sent as it finished) therefore reaches nothing, since the next job's Train comes after
    it. Calls `on_close` (by default: exits the process) the moment stdin closes."""

    def __init__(self, stdin: BinaryIO, on_close=lambda: exit_without_leftovers(0)):
        self._jobs: queue.Queue[JobCommands] = queue.Queue()
        self._current: JobCommands | None = None
        self._on_close = on_close
        threading.Thread(target=self._read, args=(stdin,), daemon=True, name="commands").start()

    def next_job(self) -> JobCommands:
        return self._jobs.get()

    def wait_for_job_or(self, code: TrainingCode) -> bool:
        """Wait until a job (or a line where one was due) arrives or the training code has loaded,
        whichever comes first: True if a job waits."""
        while not code.loaded(WATCH_POLL_SECONDS):
            if self.job_waiting():
                return True
        return self.job_waiting()

    def job_waiting(self) -> bool:
        """Has a job (or a line where one was due) arrived that next_job has not taken yet?"""
        return not self._jobs.empty()

    def _read(self, stdin: BinaryIO) -> None:
        for line in stdin:
            try:
                command = protocol.decode_command(line)
            except protocol.ProtocolError:
                if self._current is None:  # where the first job was due: the server is told, the process ends
                    self._jobs.put(JobCommands(None))
                    return
                continue
            if isinstance(command, protocol.Train):
                self._current = JobCommands(command)
                self._jobs.put(self._current)
            elif self._current is None:
                continue  # a Stop or Watch before any job: nothing to apply it to
            elif isinstance(command, protocol.Stop):
                self._current.stop.set()
            elif isinstance(command, protocol.Watch):
                (self._current.watching.set if command.on else self._current.watching.clear)()
        self._on_close()  # the server is gone: abandon the job (saves are atomic, so nothing half-written shows)


def untrained_snapshot(job: protocol.Train, watching: threading.Event, datasets: DataSets, stream: ProgressStream,
                       code: TrainingCode) -> snapshots.Snapshot | None:
    """For a job read while TensorFlow still loads: once someone watches, the snapshot of its model
    as it will start, sent at once (vae.training.untrained). None (nothing sent) if the import ends
    first, or the job is not within its limits or its data does not load (run_job says why)."""
    try:
        config = TrainConfig.from_dict(job.config)
        if job.limits is not None:
            check_within(config, limits_from(job.limits))
        data = datasets.get(config.dataset)  # Fashion-MNIST: loaded now, kept for the training
    except (LabError, TypeError, ValueError, KeyError):
        return None  # run_job says what is wrong with it
    while not code.loaded(0):
        if watching.wait(WATCH_POLL_SECONDS):
            encoder, decoder = untrained_model(config)
            images = test_inputs(config, data)[: snapshots.SUBSET]
            snapshot = snapshots.take_live(encoder, decoder, config.label_inputs, images, 0.0, config.epochs,
                                           None, watched=True)
            stream.on_snapshot(snapshot)
            return snapshot
    return None


def run_job(job: protocol.Train, stream: ProgressStream, stop: threading.Event, watching: threading.Event,
            datasets: DataSets, code: TrainingCode, keep_trainer: bool = False,
            first_snapshot: snapshots.Snapshot | None = None) -> None:
    """`datasets`: those this process has loaded. `first_snapshot`: the untrained model's, sent
    already (untrained_snapshot)."""
    try:
        config = TrainConfig.from_dict(job.config)
        if job.limits is not None:  # a student's: checked again here, whatever the server let through
            check_within(config, limits_from(job.limits))
        data = datasets.get(config.dataset)  # its DataError is the job's one sentence

        class SavingNotice:  # says when training is over and the test set is being evaluated
            def on_batch(self, progress): ...

            def on_epoch(self, summary):
                if summary.epoch == summary.epochs or stop.is_set():
                    stream.send(protocol.Saving())

        lab = code.module("vae.training.lab")
        saved = lab.train_and_save(config, data, Path(job.runs_dir), job.name, job.preset,
                                   [stream, SavingNotice()], stop, live_seconds=LIVE_SNAPSHOT_SECONDS,
                                   owner=job.owner, watching=watching, keep_trainer=keep_trainer,
                                   first_snapshot=first_snapshot)
    except LabError as error:
        stream.send(protocol.Failed(str(error)))
        return
    except MemoryError:
        stream.send(protocol.Failed("The training process ran out of memory; try a smaller model or batch."))
        return
    except Exception as error:  # reported to the page in one sentence; the traceback goes to stderr
        traceback.print_exc()
        stream.send(protocol.Failed(f"Training failed unexpectedly: {type(error).__name__}: {error}"))
        return
    metrics = saved.metrics
    stream.send(protocol.Finished(metrics["status"], saved.name, metrics["epochs_completed"],
                                  metrics["test_neg_elbo"], metrics["train_seconds"]))


def warm_up(data, code: TrainingCode) -> None:
    """Build and compile the default's training before a job arrives (vae.training.loop.prepare):
    a default job, the most common in a class, then starts without compiling (~1.3 s sooner), and
    TensorFlow's and XLA's first-use costs in this process are paid for any other job."""
    code.module("vae.training.loop").prepare(preset("default"), data)


def resident_bytes() -> int:
    """This process's resident memory now (Linux), or 0 where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def serve(out: BinaryIO, jobs: int = 1) -> int:
    """The worker's life after start-up: MNIST loaded, then TensorFlow imported on a thread (a job
    that arrives meanwhile is read, and its untrained model shown, at once), warm, then up to `jobs`
    jobs, one at a time, saying it is ready before each. Returns the process's exit status."""
    stream = ProgressStream(out)
    commands = CommandReader(sys.stdin.buffer)  # reading now: a job may arrive while this process warms up
    datasets = DataSets()
    try:
        datasets.get("mnist")
        timeline.mark("training process: MNIST loaded")
    except DataError:
        pass  # a MNIST job says why when it comes; a Fashion-MNIST job does not need it
    # Only now: loaded beside TensorFlow's import, MNIST took ~2 s instead of ~0.5 (one interpreter
    # lock), and a job's untrained snapshot needs MNIST, not TensorFlow.
    code = TrainingCode()
    early = first_snapshot = None
    if commands.wait_for_job_or(code) and not code.loaded(0):
        early = commands.next_job()
        timeline.mark("training process: job read (TensorFlow still loading)")
        if early.job is not None:
            first_snapshot = untrained_snapshot(early.job, early.watching, datasets, stream, code)
    code.module("vae.training.lab")  # TensorFlow's import failing ends the process here, saying why
    # A job that already waits is not kept waiting for a compile it may not need: its training
    # builds its own (and shows its model's first snapshot before compiling: vae.training.loop).
    # LATENT_LAB_PREPARE_DEFAULT=0: none is compiled (a class on another preset, the test suite).
    if (early is None and settings().prepare_default and datasets.loaded("mnist") is not None
            and not commands.job_waiting()):
        warm_up(datasets.loaded("mnist"), code)
        timeline.mark("training process: warm (the default's training compiled)")
    return take_jobs(stream, commands, jobs, datasets, code, early, first_snapshot)


def take_jobs(stream: ProgressStream, commands: CommandReader, jobs: int, datasets: DataSets, code: TrainingCode,
              early: JobCommands | None = None, first_snapshot: snapshots.Snapshot | None = None) -> int:
    """Up to `jobs` jobs, one at a time, saying it is ready before each (the first may be `early`,
    read while TensorFlow loaded, its untrained snapshot sent); fewer if this process has grown
    past REUSE_MAX_RSS_BYTES. Returns the process's exit status."""
    for taken in range(1, jobs + 1):
        stream.send(protocol.Ready(os.getpid()))
        next_job, early = early, None
        if next_job is None:
            next_job = commands.next_job()
            timeline.mark("training process: job read")
        if next_job.job is None:
            stream.send(protocol.Failed("The training process received a request it does not understand."))
            return EXIT_BAD_JOB
        another = taken < jobs
        run_job(next_job.job, stream, next_job.stop, next_job.watching, datasets, code, keep_trainer=another,
                first_snapshot=first_snapshot if taken == 1 else None)
        if another and resident_bytes() > REUSE_MAX_RSS_BYTES:
            break
    return 0
