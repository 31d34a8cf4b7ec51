"""A training machine's side of the Celery queue: `python -m vae.jobs.celery_worker` (what
`make worker` runs). A Celery worker with one slot (the solo pool: it never forks) keeps
one warm training process ready (`python -m vae.jobs.worker --jobs N`, TensorFlow imported),
exactly as the local queue does; a job hands it its training, relays its protocol lines to the
job's Redis stream and the web server's commands back, and sends the saved run back packed. The
same process takes the next job when it says it is ready again (it ends after JOBS_PER_PROCESS
jobs, or sooner once its memory has grown: vae.jobs.training_job); one that ended, or was
killed, is replaced by a new one. A heartbeat says the worker is alive and whether it is busy.
Run several on one machine for more slots (`WORKERS=2`)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from vae.classroom.limits import check_within, limits_from
from vae.config import TrainConfig
from vae.errors import LabError
from vae.jobs import protocol
from vae.jobs.broker import check_setup, with_retries
from vae.jobs.celery_app import (
    CLAIM_SCRIPT,
    CLAIMED,
    CLAIMED_BY_ANOTHER,
    HEARTBEAT_SECONDS,
    QUEUE,
    RUN_TTL_SECONDS,
    STREAM_MAXLEN,
    TASK,
    WORKER_TTL_SECONDS,
    claim_keys,
    key,
    make_app,
)
from vae.jobs.process import WorkerProcess, ended_unexpectedly, reusable_worker
from vae.jobs.signing import LogOnce, Signer, entry_is_signed, sign_entry
from vae.runs.names import NAME_PATTERN
from vae.runs.transfer import pack_run

READY_TIMEOUT_SECONDS = 300.0  # importing TensorFlow on a slow machine
OUTAGE_SECONDS = 600.0  # what is for Redis is kept and sent again, later and later, while it is away this long
log = logging.getLogger(__name__)


class Relay:
    """One job between its Redis streams and the local training process."""

    def __init__(self, client: redis.Redis, job_id: str, token: str, signer: Signer):
        self.client, self.job_id, self.token, self.signer = client, job_id, token, signer
        self.events = key("job", job_id, "events")
        self._seq = 0  # each entry's number: the web server refuses one it has seen (a replay)
        self._send_lock = threading.Lock()
        self._rejected = LogOnce()
        self.finished: protocol.Finished | None = None
        self.said_failed = False  # the training process said how it failed (already relayed)
        self.unreadable = False  # it printed something that is not the protocol
        self.over = threading.Event()  # the job is over: its process said it is ready again, or ended
        self.ready_again = False  # ...ready again, for the next job
        self.returncode = 0
        self.process: WorkerProcess | None = None
        self._readies_at_hand_over: int | None = None
        self._lock = threading.Lock()
        self._held: list[protocol.Command] | None = []  # commands that came before the training was handed over

    def claimed(self, worker_name: str) -> None:
        """Say at once that this worker has the job (the web server then never sends it again), and
        keep saying it is alive while the training process finishes warming up."""
        self._xadd({"claimed": worker_name})
        threading.Thread(target=self.follow_commands, daemon=True, name="commands").start()
        threading.Thread(target=self.beat, daemon=True, name="beat").start()

    def hand_over(self, train: protocol.Train) -> None:
        """The training to the process, then any Stop or Watch that came before it, in order (the
        process reads its training first, as from the local queue's pipe)."""
        with self._lock:
            self._readies_at_hand_over = self.process.readies
            self.process.send(train)
            held, self._held = self._held, None
        for command in held:
            self.process.send(command)

    def publish(self, event: protocol.Event, **extra: str) -> None:
        self._xadd({"line": protocol.encode_event(event), **extra})

    def _xadd(self, fields: dict) -> None:
        """One signed, numbered entry on the job's stream; kept and sent again while Redis is away
        (the training process waits meanwhile: its lines are not lost)."""
        with self._send_lock:
            self._seq += 1
            entry = sign_entry(self.signer, "event", self.job_id, {**fields, "token": self.token, "seq": self._seq})
            try:
                with_retries(lambda: self.client.xadd(self.events, entry, maxlen=STREAM_MAXLEN),
                             "the job's progress is kept and sent again", OUTAGE_SECONDS)
            except redis.RedisError as error:
                log.warning("job %s: a line was lost after %.0f s without Redis (%s)", self.job_id, OUTAGE_SECONDS,
                            error)

    def on_event(self, process, event) -> None:
        if isinstance(event, protocol.Ready):
            # Said before the job was handed over: already relayed. Said again after: the job is
            # over, and the process waits for the next one.
            if self._readies_at_hand_over is not None and process.readies > self._readies_at_hand_over:
                self.ready_again = True
                self.over.set()
            return
        if isinstance(event, Exception):
            self.unreadable = True
            process.kill()
        elif isinstance(event, protocol.Finished):
            self.finished = event  # sent on once the run has been packed and handed over
        else:
            self.said_failed = self.said_failed or isinstance(event, protocol.Failed)
            self.publish(event)

    def on_exit(self, process, returncode: int) -> None:
        self.returncode = returncode
        self.over.set()

    def follow_commands(self) -> None:
        """The web server's Stop, Watch and kill, handed to the training process: every one sent for
        this job, from the first (one sent before this worker claimed it was meant for it too)."""
        stream, since = key("job", self.job_id, "commands"), "0-0"
        while not self.over.is_set():
            try:
                answer = self.client.xread({stream: since}, block=1000, count=10)
            except redis.RedisError:
                time.sleep(1)
                continue
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    since = entry_id
                    if entry_is_signed(self.signer, "command", self.job_id, fields):
                        self._command(fields.get(b"line", b""))
                    else:
                        self._rejected(f"a command for job {self.job_id}", repr(sorted(fields.items())))

    def _command(self, line: bytes) -> None:
        if self.over.is_set():
            return  # the process may be the next job's already: a late Stop or kill is not for it
        if line.strip() == b'{"command": "kill"}':
            self.process.kill()
            return
        with contextlib.suppress(protocol.ProtocolError):
            command = protocol.decode_command(line)
            with self._lock:
                if self._held is not None:
                    self._held.append(command)
                    return
            self.process.send(command)

    def beat(self) -> None:
        while not self.over.wait(HEARTBEAT_SECONDS):
            self._xadd({"beat": "1"})


class TrainingMachine:
    """This worker's warm training process, and its heartbeat to the web server."""

    def __init__(self, broker_url: str, name: str, signer: Signer):
        self.client = redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5)
        self.signer = signer
        self._rejected = LogOnce()
        self._claim = self.client.register_script(CLAIM_SCRIPT)
        self.name = name
        self.busy_with: str | None = None
        self.relay: Relay | None = None
        self._warm_lock = threading.Lock()  # the heartbeat's thread replaces a dead idle process too
        self.warm = self._start()
        threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat").start()

    def _start(self) -> WorkerProcess:
        return reusable_worker(self._route_event, self._route_exit)

    def _route_event(self, process, event) -> None:
        relay = self.relay
        if relay is not None and relay.process is process:
            relay.on_event(process, event)

    def _route_exit(self, process, returncode: int) -> None:
        relay = self.relay
        if relay is not None and relay.process is process:
            relay.on_exit(process, returncode)

    def _replace_if_ended(self, once_warm: bool = False) -> WorkerProcess:
        """The warm process; a new one in its place if it ended while it waited (killed, out of
        memory), so the next job does not fail on it. `once_warm`: only if it had been ready (the
        heartbeat's check: one that dies while starting is not restarted every beat; the next job
        tries once more and says why it could not start). Lock held."""
        if self.warm.process.poll() is not None and (self.warm.ready.is_set() or not once_warm):
            self.warm = self._start()
        return self.warm

    def _heartbeat(self) -> None:
        while True:
            with self._warm_lock:
                warm = self._replace_if_ended(once_warm=True) if self.busy_with is None else self.warm
            state = {"name": self.name, "host": socket.gethostname(), "job": self.busy_with,
                     "ready": warm.ready.is_set() and warm.process.poll() is None}
            state["mac"] = self.signer.sign("heartbeat", json.dumps(state, sort_keys=True))
            with contextlib.suppress(redis.RedisError):
                self.client.set(key("worker", self.name), json.dumps(state), ex=WORKER_TTL_SECONDS)
            time.sleep(HEARTBEAT_SECONDS)

    def train(self, job_id: str, token: str, fields: dict, signature: str | None = None) -> str:
        """One job, start to end; what the web server hears is on the job's stream. A task the
        class's web server did not sign (anyone who reaches Redis can queue one) is not run."""
        if not (isinstance(job_id, str) and isinstance(token, str) and isinstance(fields, dict)) or \
                not self.signer.verify(signature, "task", job_id, token, json.dumps(fields, sort_keys=True)):
            self._rejected("a task", repr((job_id, token, fields))[:100_000])
            return "refused: not signed by this class's web server"
        outcome = self._claim(keys=claim_keys(job_id, token), args=[json.dumps({"token": token, "worker": self.name})])
        if outcome != CLAIMED:
            return "claimed by another dispatch" if outcome == CLAIMED_BY_ANOTHER else "taken back before it started"
        relay = self.relay = Relay(self.client, job_id, token, self.signer)
        with self._warm_lock:
            self.busy_with = job_id
            process = relay.process = self._replace_if_ended()
        relay.claimed(self.name)
        keep = False  # the process, for the next job
        try:
            refusal = task_refusal(fields)
            if refusal:
                relay.publish(protocol.Ready(os.getpid()))
                relay.publish(protocol.Failed(refusal))
                keep = True  # it never saw this job
                return "refused"
            if not self._wait_ready(process):
                relay.publish(protocol.Ready(os.getpid()))
                relay.publish(protocol.Failed(f"The training process could not start on {self.name} "
                                              f"({process.last_error() or 'no word from it'}); nothing was saved."))
                return "failed to start"
            outcome = self._run(relay, process, fields)
            keep = relay.ready_again
            return outcome
        finally:
            relay.over.set()  # its heartbeat and command threads end
            with self._warm_lock:
                if not (keep and process.process.poll() is None):
                    process.kill()
                    self.warm = self._start()
                self.busy_with, self.relay = None, None

    @staticmethod
    def _wait_ready(process: WorkerProcess) -> bool:
        """Until the process is warm, or has died (or was killed: the job taken back meanwhile)."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not process.ready.wait(0.5):
            if process.process.poll() is not None or time.monotonic() > deadline:
                return False
        return process.process.poll() is None

    def _run(self, relay: Relay, process: WorkerProcess, fields: dict) -> str:
        relay.publish(protocol.Ready(process.pid))
        with tempfile.TemporaryDirectory(prefix="latent-lab-job-") as folder:
            relay.hand_over(protocol.Train(fields["config"], folder, fields["name"], fields.get("preset"),
                                           fields.get("owner"), fields.get("limits")))
            relay.over.wait()
            if relay.finished is not None:
                packed = pack_run(Path(folder) / fields["name"])
                try:
                    with_retries(lambda: self.client.set(key("job", relay.job_id, "run"), packed, ex=RUN_TTL_SECONDS),
                                 "the trained run is kept and sent again", OUTAGE_SECONDS)
                except redis.RedisError as error:
                    log.warning("job %s: the run could not be sent (%s)", relay.job_id, error)
                relay.publish(relay.finished, run_sha256=hashlib.sha256(packed).hexdigest())
                return "finished"
        if relay.unreadable:
            relay.publish(protocol.Failed("The training process sent something its worker cannot read and was "
                                          "stopped; nothing was saved."))
        elif not relay.said_failed:
            relay.publish(protocol.Failed(ended_unexpectedly(relay.returncode)))
        return "ended"


def task_refusal(fields: dict) -> str | None:
    """Why a (signed) task is not run, in one sentence, or None: its config and name are checked
    as the web server checked them, and a student's against the class's limits again."""
    try:
        config = TrainConfig.from_dict(fields.get("config"))
        if not isinstance(fields.get("name"), str) or not NAME_PATTERN.fullmatch(fields["name"]):
            return "The training's run name is not one this worker can save; nothing was run."
        limits = fields.get("limits")
        if limits is not None:
            if not isinstance(limits, dict):
                return "The class's limits sent with this training cannot be read; nothing was run."
            check_within(config, limits_from(limits))
    except (LabError, TypeError, ValueError, AttributeError) as error:
        return f"This worker refused the training: {error}"
    return None


def run_several(name: str, count: int) -> int:
    """`count` worker processes on this machine, one slot each; Ctrl-C stops them all."""
    children = [subprocess.Popen([sys.executable, "-m", "vae.jobs.celery_worker", "--name", f"{name}-{n + 1}"])
                for n in range(count)]
    try:
        return max(child.wait() for child in children)
    except KeyboardInterrupt:
        for child in children:
            child.terminate()
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.jobs.celery_worker", description=__doc__)
    parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="this worker's name (unique among the class's workers)")
    parser.add_argument("--workers", type=int, default=1, help="slots on this machine: one worker process each")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16:
        print("error: --workers must be from 1 to 16", file=sys.stderr)
        return 2
    try:
        broker = check_setup()  # a refused password is one sentence and exit 2, never a worker that waits
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if broker is None:
        print("error: set LATENT_LAB_BROKER to the class's Redis, e.g. redis://:PASSWORD@192.168.1.23:6379/0",
              file=sys.stderr)
        return 2
    signer = Signer.from_environment()
    if args.workers > 1:
        return run_several(args.name, args.workers)
    app = make_app(broker)
    machine = TrainingMachine(broker, args.name, signer)

    @app.task(name=TASK)
    def train(job_id=None, token=None, fields=None, signature=None, *_) -> str:
        return machine.train(job_id, token, fields, signature)

    app.worker_main(["worker", "--pool=solo", "--concurrency=1", "-Q", QUEUE, "-n", f"{args.name}@%h",
                     "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
