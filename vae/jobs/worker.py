"""A training worker process: `python -m vae.jobs.worker [--jobs N]`, started by the web server's
training queue (vae.jobs.process) to train up to N jobs in turn (1: one, as a Celery worker's). This
entry point sets what must be set before TensorFlow loads: the protocol owns the real stdout
(anything a library prints goes to stderr), Ctrl-C is the server's to handle, and the process runs
at a lower priority than the web server, so a person waiting for a page comes first and training
takes every cycle left (a thread inherits its priority when it is created, so this comes before
the thread that imports TensorFlow, and TensorFlow's thread pools, start). Then
vae.jobs.training_job runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from vae import settings as vae_settings
from vae import timeline
from vae.errors import ConfigError
from vae.jobs.process import TEMP_DIR_PREFIX
from vae.settings import settings

NICENESS_ENV = vae_settings.WORKER_NICENESS  # 0-19
BACKGROUND_NICENESS = 10


def niceness_and_threads() -> tuple[int, int]:
    """LATENT_LAB_WORKER_NICENESS and LATENT_LAB_TRAINING_THREADS (vae.settings): a bad value there is
    refused when the queue starts, so here it falls back to the defaults (10; 0, every core)."""
    try:
        current = settings()
    except ConfigError:
        return BACKGROUND_NICENESS, 0
    return current.worker_niceness, current.training_threads


def exit_without_leftovers(code: int) -> None:
    """End the process now (os._exit: no exit handlers), removing first the temporary folder its
    server gave it, with the module files TensorFlow's autograph left there: the server removes it
    too once it sees the exit, but a server that has gone (or is going) would not."""
    given = tempfile.gettempdir()  # the TMPDIR its server set, as Python (and TensorFlow) use it
    if os.path.basename(given.rstrip("/")).startswith(TEMP_DIR_PREFIX):
        shutil.rmtree(given, ignore_errors=True)
    os._exit(code)


def end_with_parent(poll_seconds: float = 0.5) -> None:
    """Exit as soon as the process that started this one has gone (however it ended): a worker
    still importing TensorFlow, or training, reads no stdin to notice its closing, and must not
    outlive a killed server. (Linux's parent-death signal would follow the thread that started the
    worker, and the queue starts them from threads that end.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        exit_without_leftovers(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def thread_limits(threads: int) -> dict[str, str]:
    """TensorFlow's own variables for LATENT_LAB_TRAINING_THREADS (vae.settings): read once, when it
    loads, so set before. 0: none set (TensorFlow uses every core)."""
    if not threads:
        return {}
    return {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)}


def jobs_wanted(argv: list[str]) -> int:
    """`--jobs N` (1 to 1000; 1 if absent): how many jobs this process trains before it ends."""
    parser = argparse.ArgumentParser(prog="python -m vae.jobs.worker")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="jobs to train in turn before ending (1 to 1000)")
    jobs = parser.parse_args(argv).jobs
    if not 1 <= jobs <= 1000:
        parser.error(f"--jobs must be from 1 to 1000, got {jobs}")
    return jobs


def main(argv: list[str] | None = None) -> int:
    jobs = jobs_wanted(sys.argv[1:] if argv is None else argv)
    end_with_parent()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    niceness, threads = niceness_and_threads()
    if hasattr(os, "nice"):
        os.nice(niceness)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.update(thread_limits(threads))
    timeline.mark("training process: started")
    # After the priority is lowered, on purpose: TensorFlow loads on a thread this starts.
    from vae.jobs import training_job

    code = training_job.serve(out, jobs)
    out.flush()
    # Not sys.exit: the thread following the server's commands is blocked reading stdin, and an
    # interpreter finalising under it aborts ("could not acquire lock for <stdin>").
    exit_without_leftovers(code)


if __name__ == "__main__":
    sys.exit(main())
