"""What a worker process does once its priority and output are set (vae.jobs.worker): import
TensorFlow and load MNIST, say it is ready ("warm"), take exactly one job from stdin, stream its
progress to stdout (vae.jobs.protocol, one message per line), and return: its memory goes back to
the system, and the next job gets a new process. When stdin closes (the server exited or was
killed), the process exits at once: no orphans."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from typing import BinaryIO

from vae import timeline
from vae.classroom.limits import check_within, limits_from
from vae.config import TrainConfig, preset
from vae.datasets import load_dataset
from vae.errors import DataError, LabError
from vae.jobs import protocol
from vae.training.download import DOWNLOADS
from vae.training.lab import train_and_save
from vae.training.loop import prepare

EXIT_BAD_JOB = 2
# Live snapshots of the latent space between epochs, while someone watches: one after the first
# group of batches, then at most one per this many seconds.
LIVE_SNAPSHOT_SECONDS = 4.0


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


def watch_commands(stdin: BinaryIO, stop: threading.Event, watching: threading.Event) -> None:
    """Sets `stop` on Stop, `watching` on Watch; exits the process the moment stdin closes."""
    for line in stdin:
        try:
            command = protocol.decode_command(line)
        except protocol.ProtocolError:
            continue
        if isinstance(command, protocol.Stop):
            stop.set()
        elif isinstance(command, protocol.Watch):
            (watching.set if command.on else watching.clear)()
    os._exit(0)  # the server is gone: abandon the job (saves are atomic, so nothing half-written shows)


def run_job(job: protocol.Train, stream: ProgressStream, stop: threading.Event, watching: threading.Event,
            warm_data) -> None:
    """`warm_data`: MNIST as loaded while warming up, or None if it could not be."""
    try:
        config = TrainConfig.from_dict(job.config)
        if job.limits is not None:  # a student's: checked again here, whatever the server let through
            check_within(config, limits_from(job.limits))
        data = warm_data if config.dataset == "mnist" and warm_data is not None else load_dataset(
            config.dataset, download=DOWNLOADS[config.dataset])  # its DataError is the job's one sentence

        class SavingNotice:  # says when training is over and the test set is being evaluated
            def on_batch(self, progress): ...

            def on_epoch(self, summary):
                if summary.epoch == summary.epochs or stop.is_set():
                    stream.send(protocol.Saving())

        saved = train_and_save(config, data, Path(job.runs_dir), job.name, job.preset, [stream, SavingNotice()],
                               stop, live_seconds=LIVE_SNAPSHOT_SECONDS, owner=job.owner, watching=watching)
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


def warm_up(data) -> None:
    """Build and compile the default's training before a job arrives (vae.training.loop.prepare):
    a default job, the most common in a class, then starts without compiling (~1.3 s sooner), and
    TensorFlow's and XLA's first-use costs in this process are paid for any other job."""
    prepare(preset("default"), data)


def serve(out: BinaryIO) -> int:
    """The worker's life after start-up: warm, one job, done. Returns the process's exit status."""
    stream = ProgressStream(out)
    try:
        data = load_dataset("mnist", download=DOWNLOADS["mnist"])
        timeline.mark("training process: MNIST loaded")
        warm_up(data)
        timeline.mark("training process: warm (the default's training compiled)")
    except DataError:
        data = None  # a MNIST job says why when it comes; a Fashion-MNIST job does not need it
    stream.send(protocol.Ready(os.getpid()))

    stdin = sys.stdin.buffer
    line = stdin.readline()
    if not line:
        return 0
    timeline.mark("training process: job read")
    try:
        job = protocol.decode_command(line)
        if not isinstance(job, protocol.Train):
            raise protocol.ProtocolError("the first command is not a training")
    except protocol.ProtocolError:
        stream.send(protocol.Failed("The training process received a request it does not understand."))
        return EXIT_BAD_JOB
    stop, watching = threading.Event(), threading.Event()
    threading.Thread(target=watch_commands, args=(stdin, stop, watching), daemon=True, name="commands").start()
    run_job(job, stream, stop, watching, data)
    return 0
