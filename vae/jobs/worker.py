"""A training worker process: `python -m vae.jobs.worker`, started by the web server's training
queue (vae.jobs.process). This entry point sets what must be set before TensorFlow loads: the
protocol owns the real stdout (anything a library prints goes to stderr), Ctrl-C is the server's
to handle, and the process runs at a lower priority than the web server, so a person waiting for a
page comes first and training takes every cycle left (a thread inherits its priority when it is
created, so this comes before TensorFlow starts its thread pools). Then vae.jobs.training_job runs.
"""

from __future__ import annotations

import os
import signal
import sys

NICENESS_ENV = "LATENT_LAB_WORKER_NICENESS"  # 0-19
BACKGROUND_NICENESS = 10


def niceness() -> int:
    try:
        return min(19, max(0, int(os.environ.get(NICENESS_ENV, BACKGROUND_NICENESS))))
    except ValueError:
        return BACKGROUND_NICENESS


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(niceness())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vae.jobs import training_job  # TensorFlow loads here: after the priority is lowered, on purpose

    code = training_job.serve(out)
    out.flush()
    # Not sys.exit: the thread following the server's commands is blocked reading stdin, and an
    # interpreter finalising under it aborts ("could not acquire lock for <stdin>").
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
