"""One worker process as the web server sees it: `python -m vae.jobs.worker`, a fresh interpreter
(never a fork of this threaded server), its protocol lines read by a thread that always reports
the process's end, whatever it printed, and the last lines of its stderr kept to say why it could
not start."""

from __future__ import annotations

import collections
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from vae.jobs import protocol
from vae.settings import ROOT

# How many jobs one local worker process trains, one after another, before it ends and a new one
# starts (it also ends sooner if its memory grows: vae.jobs.training_job.REUSE_MAX_RSS_BYTES).
JOBS_PER_PROCESS = 50
TEMP_DIR_PREFIX = "latent-lab-training-"  # each worker's own temporary folder (its TMPDIR)
STDERR_DRAIN_SECONDS = 2.0  # after a worker exits, how long its stderr may take to be read to the end
log = logging.getLogger(__name__)


class WorkerProcess:
    """One `python -m vae.jobs.worker` process: a fresh interpreter (never a fork of this threaded
    server), training one job or (`takes_more`: started with `--jobs N`) several in turn. A
    reader thread turns its stdout into events and always reports its exit, whatever it sent;
    another keeps the last lines of its stderr, to say why it could not start."""

    COMMAND = (sys.executable, "-m", "vae.jobs.worker")

    def __init__(self, on_event, on_exit, command: tuple[str, ...] = COMMAND, takes_more: bool = False):
        self.takes_more = takes_more  # it says "ready" again after a job instead of exiting
        # Its own temporary folder, removed once it has exited (and by the worker itself as it
        # ends: vae.jobs.worker.exit_without_leftovers): TensorFlow's autograph writes a module file
        # there for each traced function and deletes it only at a normal exit, which a training
        # process never has (os._exit, or killed). Without this they piled up in /tmp.
        self.temp_dir = tempfile.mkdtemp(prefix=TEMP_DIR_PREFIX)
        self.process = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, "TMPDIR": self.temp_dir})
        self.ready = threading.Event()
        self.readies = 0  # how many times it said "ready": once more after each job, if it takes more
        self.job = None  # the vae.jobs.job.Job it trains, once it has one
        self.started = time.monotonic()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._on_event, self._on_exit = on_event, on_exit
        self._send_lock = threading.Lock()
        self._exit_handled = threading.Event()
        threading.Thread(target=self._read, daemon=True, name=f"worker-{self.pid}").start()
        self._stderr_reader = threading.Thread(target=self._keep_stderr, daemon=True, name=f"worker-{self.pid}-stderr")
        self._stderr_reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """Until its exit has been handled: the pool counts a worker that died, but whose death is
        not yet told, as still there, so it neither starts another in its place without the
        back-off nor loses the failure."""
        return not self._exit_handled.is_set()

    def send(self, command: protocol.Command) -> None:
        with self._send_lock:
            try:
                self.process.stdin.write(protocol.encode_command(command))
                self.process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # it has exited; its reader reports how

    def kill(self) -> None:
        if self.alive():
            self.process.kill()

    def last_error(self) -> str:
        """The last line it wrote to stderr (a traceback's last line says what went wrong)."""
        lines = [line for line in self.stderr_tail if line.strip()]
        return lines[-1].strip()[:200] if lines else ""

    def _read(self) -> None:
        try:
            while True:
                line = self.process.stdout.readline(protocol.MAX_LINE_BYTES + 1)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) > protocol.MAX_LINE_BYTES:
                    raise protocol.ProtocolError(f"a line longer than {protocol.MAX_LINE_BYTES:,} bytes")
                event = protocol.decode_event(line)
                if isinstance(event, protocol.Ready):
                    self.readies += 1  # before the event is handed on: a handler sees it counted
                    self.ready.set()
                self._on_event(self, event)
        except Exception as error:  # noqa: BLE001 - whatever went wrong, the job ends and the line moves on
            if not isinstance(error, protocol.ProtocolError):
                log.exception("reading worker %s", self.pid)
            self._on_event(self, error)
            self.kill()
        finally:
            self.process.wait()
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            # Its last words first: last_error() read before the stderr reader reaches the end
            # would miss why it exited (bounded: a child it left may hold the pipe open).
            self._stderr_reader.join(STDERR_DRAIN_SECONDS)
            try:
                self._on_exit(self, self.process.returncode)
            finally:
                self._exit_handled.set()

    def _keep_stderr(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr_tail.append(line)
            sys.stderr.write(line)


def reusable_worker(on_event, on_exit) -> WorkerProcess:
    """A worker that trains up to JOBS_PER_PROCESS jobs, saying it is ready before each (the local
    queue's, and a Celery worker's)."""
    return WorkerProcess(on_event, on_exit, (*WorkerProcess.COMMAND, "--jobs", str(JOBS_PER_PROCESS)),
                         takes_more=True)


def ended_unexpectedly(returncode: int) -> str:
    """One sentence for a worker that exited without saying how its job ended."""
    from vae.jobs.job import ENDED_BY_SIGNAL, ENDED_WITH_CODE

    if returncode < 0:
        return ENDED_BY_SIGNAL.format(signal=-returncode)
    return ENDED_WITH_CODE.format(code=returncode)
