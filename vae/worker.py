"""A training worker process: `python -m vae.worker`, started by the web server's training queue.

It imports TensorFlow and loads MNIST first, then says it is ready ("warm"), so a training starts
at once when a job arrives. It takes exactly one job from stdin, streams its progress to stdout as
JSON lines, and exits: its memory goes back to the system, and the next job gets a new process.

Protocol (one JSON object per line):
  server -> worker: {"command": "train", "config": {...}, "runs_dir": "...", "name": "...", "preset": ...,
                     "owner": {...} or null (classroom mode: who queued it, kept in the run's metrics)}
                    {"command": "stop"}  (ends training after the current group of batches; the run is kept)
  worker -> server: {"event": "ready"}, {"event": "batch", ...}, {"event": "epoch", ...},
                    {"event": "snapshot", ...} (vae.snapshots.to_message: the latent space now, and the decoder),
                    {"event": "saving"}, {"event": "finished", ...} or {"event": "failed", "message": ...}
When stdin closes (the server exited or was killed), the worker exits at once: no orphans.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TextIO

# A worker runs at a lower priority than the web server: a person waiting for a page comes first,
# training takes every cycle left. LATENT_LAB_WORKER_NICENESS (0-19) changes it.
NICENESS_ENV = "LATENT_LAB_WORKER_NICENESS"
BACKGROUND_NICENESS = 10
EXIT_BAD_JOB = 2
# Live snapshots of the latent space (with the decoder's weights, ~1 MB as a line) between
# epochs: one after the first group of batches, then at most one per this many seconds.
LIVE_SNAPSHOT_SECONDS = 4.0


class ProgressStream:
    """A TrainingListener that writes each report as one JSON line (from Keras's threads)."""

    def __init__(self, out: TextIO):
        self._out = out
        self._lock = threading.Lock()

    def send(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, **fields}, allow_nan=True)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def on_batch(self, progress) -> None:
        self.send("batch", epoch=progress.epoch, epochs=progress.epochs, batch=progress.batch,
                  batches_per_epoch=progress.batches_per_epoch, metrics=progress.metrics,
                  elapsed_seconds=progress.elapsed_seconds)

    def on_epoch(self, summary) -> None:
        self.send("epoch", epoch=summary.epoch, epochs=summary.epochs, train=summary.train, test=summary.test,
                  elapsed_seconds=summary.elapsed_seconds)

    def on_snapshot(self, snapshot) -> None:
        from vae.snapshots import to_message

        self.send("snapshot", **to_message(snapshot))


def watch_commands(stdin: TextIO, stop: threading.Event) -> None:
    """Sets `stop` on a stop command; exits the process the moment stdin closes."""
    for line in stdin:
        try:
            command = json.loads(line).get("command")
        except (ValueError, AttributeError):
            continue
        if command == "stop":
            stop.set()
    os._exit(0)  # the server is gone: abandon the job (saves are atomic, so nothing half-written shows)


def run_job(job: dict, stream: ProgressStream, stop: threading.Event, data) -> None:
    from vae.config import TrainConfig
    from vae.errors import LabError
    from vae.lab import train_and_save

    try:
        config = TrainConfig.from_dict(job["config"])

        class SavingNotice:  # says when training is over and the test set is being evaluated
            def on_batch(self, progress): ...

            def on_epoch(self, summary):
                if summary.epoch == summary.epochs or stop.is_set():
                    stream.send("saving")

        saved = train_and_save(config, data, Path(job["runs_dir"]), job["name"], job.get("preset"),
                               [stream, SavingNotice()], stop, live_seconds=LIVE_SNAPSHOT_SECONDS,
                               owner=job.get("owner"))
    except LabError as error:
        stream.send("failed", message=str(error))
        return
    except MemoryError:
        stream.send("failed", message="The training process ran out of memory; try a smaller model or batch.")
        return
    except Exception as error:  # reported to the page in one sentence; the traceback goes to stderr
        traceback.print_exc()
        stream.send("failed", message=f"Training failed unexpectedly: {type(error).__name__}: {error}")
        return
    metrics = saved.metrics
    stream.send("finished", state=metrics["status"], run_name=saved.name,
                epochs_completed=metrics["epochs_completed"], test_neg_elbo=metrics["test_neg_elbo"],
                train_seconds=metrics["train_seconds"])


def niceness() -> int:
    try:
        return min(19, max(0, int(os.environ.get(NICENESS_ENV, BACKGROUND_NICENESS))))
    except ValueError:
        return BACKGROUND_NICENESS


def warm_up(data) -> None:
    """Train a tiny model on a few images once: TensorFlow's first `fit` in a process sets up
    what every later one reuses (~0.4 s saved on the real job's start, measured)."""
    from vae.config import TrainConfig
    from vae.train import train

    train(TrainConfig(hidden_dim=8, epochs=1, batch_size=128, train_subset=256), data.subset(256, 256))


def main() -> int:
    # Our protocol owns the real stdout; anything a library prints goes to stderr instead.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal: the server decides
    if hasattr(os, "nice"):
        os.nice(niceness())
    stream = ProgressStream(protocol)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import vae.model  # noqa: F401  (TensorFlow and Keras: the slow part of starting, done before a job arrives)
    from vae.data import load_mnist
    from vae.errors import DataError

    try:
        data = load_mnist()
        warm_up(data)
    except DataError as error:
        data, data_error = None, str(error)
    stream.send("ready", pid=os.getpid())

    line = sys.stdin.readline()
    if not line:
        return 0
    try:
        job = json.loads(line)
        assert job.get("command") == "train"
    except (ValueError, AssertionError):
        stream.send("failed", message="The training process received a request it does not understand.")
        return EXIT_BAD_JOB
    if data is None:
        stream.send("failed", message=data_error)
        return 0
    stop = threading.Event()
    threading.Thread(target=watch_commands, args=(sys.stdin, stop), daemon=True, name="commands").start()
    run_job(job, stream, stop, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
