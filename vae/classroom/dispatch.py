"""The training queue of a class on several web servers (`make classroom SERVERS=3`), in a process of
its own that the launcher supervises: it keeps the queue (vae.jobs.queue: the line, taken up from
the class's store, and the training processes) and answers the web servers' calls to it on
127.0.0.1 (vae.classroom.sharing: the port the launcher chose and the key it hands every process of
the class in the environment). Killed, it is started again on the same port: the line comes back
from the store (a training that was running ends, with one sentence), and the web servers' next
calls reach the new one. `python -m vae.classroom.dispatch --port P`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from vae import runs
from vae.classroom import sharing
from vae.classroom.state import ClassroomPolicy, ClassroomState
from vae.errors import LabError
from vae.jobs.queue import TrainingQueue
from vae.jobs.store import JobStore


def shared_objects(runs_dir) -> dict[str, object]:
    """What the web servers of the class use through this process: the training queue (with its
    training processes). The board, names and settings are in the class's store, which each web
    server reads itself (vae.database)."""
    runs.remove_stale_temporaries(runs_dir, older_than_seconds=runs.STALE_SECONDS)
    store = JobStore.beside(runs_dir)
    state = ClassroomState(store.database)
    return {"training_queue": TrainingQueue.from_environment(policy=ClassroomPolicy(state), store=store)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.classroom.dispatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="where to answer, on 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        _, key = sharing.address_and_key()
        objects = shared_objects(runs.default_runs_dir())
        sharing.serve(objects, key, args.port)
    except (LabError, OSError) as error:
        print(f"error: the training queue cannot start: {error}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    objects["training_queue"].shutdown()  # its training processes end with it
    return 0


if __name__ == "__main__":
    sys.exit(main())
