"""The training queue of a class on several web servers (`make classroom SERVERS=3`), in a process of
its own that the launcher supervises: it keeps the queue (vae.jobs.queue: the line, taken up from
the class's store, and the training processes). It listens on nothing: the web servers write
submissions and requests to the store, where it takes them up, and read the jobs' states there and
their live progress from the files it writes (vae.jobs.store_queue, vae.jobs.live_files). Killed, it
is started again: the line comes back from the store (a training that was running ends, with one
sentence), and what was asked meanwhile waited in the store. `python -m vae.classroom.dispatch`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from vae import runs
from vae import settings as vae_settings
from vae.classroom.state import ClassroomPolicy, ClassroomState
from vae.errors import LabError
from vae.jobs.live_files import LiveWriter, live_folder
from vae.jobs.queue import TrainingQueue
from vae.jobs.store import JobStore
from vae.settings import settings

QUEUE_PROCESS_ENV = vae_settings.QUEUE_PROCESS  # "1" in a class's web servers: the queue runs in its own process


def queue_in_own_process() -> bool:
    """True in a web server of a class on several: the queue is vae.classroom.dispatch's."""
    return settings().queue_process


def start_queue(runs_dir) -> TrainingQueue:
    """The class's one training queue, taking up the line the store keeps."""
    runs.remove_stale_temporaries(runs_dir, older_than_seconds=runs.STALE_SECONDS)
    store = JobStore.beside(runs_dir)
    state = ClassroomState(store.database)
    return TrainingQueue.from_environment(policy=ClassroomPolicy(state), store=store,
                                          live=LiveWriter(live_folder(runs_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.classroom.dispatch", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    try:
        queue = start_queue(runs.default_runs_dir())
    except (LabError, OSError) as error:
        print(f"error: the training queue cannot start: {error}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    queue.shutdown()  # its training processes end with it
    return 0


if __name__ == "__main__":
    sys.exit(main())
