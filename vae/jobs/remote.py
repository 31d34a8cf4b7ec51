"""The training queue's jobs on Celery workers, as the web server sees them (vae.jobs.celery_app
says what travels where). CeleryBackend stands where the local WorkerPool does: it hands the queue
one RemoteWorker per job while a worker is idle (the queue keeps the line, the policy and the
order; Celery and Redis carry each job to whichever worker is free), reads every job's event
stream in one thread, and turns what arrives into the same events and exits a local worker
process gives. A worker that stops sending heartbeats is lost: its job ends with one sentence. A
finished run comes back packed through Redis and is saved here, atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from pathlib import Path

import redis

from vae import cost
from vae.errors import LabError
from vae.jobs import protocol
from vae.jobs.backend import TrainingBackend
from vae.jobs.broker import with_retries
from vae.jobs.celery_app import TAKE_BACK_SCRIPT, TASK, claim_keys, key, make_app
from vae.jobs.signing import LogOnce, Signer, entry_is_signed, sign_entry
from vae.runs.transfer import save_packed_run

LOST_SECONDS = 15.0  # a claimed job's worker silent this long (while Redis answers) is lost
CLAIM_SECONDS = 30.0  # a dispatch no worker claimed in this long is sent again (a lost message)
MAX_HEARTBEAT_BYTES = 4096  # a worker's heartbeat is ~200 bytes; anything larger is not read
RUN_FETCH_SECONDS = 120.0  # a finished run is fetched again, later and later, while Redis is away
log = logging.getLogger(__name__)


def worker_states(values: list, signer: Signer, rejected) -> list[dict]:
    """The workers' heartbeats as read from Redis: what is not a heartbeat one of this class's
    workers signed (a value anyone who reaches Redis could write) is dropped, never believed or
    allowed to stop the reader."""
    states = []
    for value in values:
        try:
            state = json.loads(value) if value and len(value) <= MAX_HEARTBEAT_BYTES else None
            mac = state.pop("mac", None) if isinstance(state, dict) else None
        except (ValueError, TypeError, RecursionError):
            state, mac = None, None
        if isinstance(state, dict) and signer.verify(mac, "heartbeat", json.dumps(state, sort_keys=True)) and \
                isinstance(state.get("name"), str) and (state.get("job") is None or isinstance(state.get("job"), str)):
            states.append({"name": state["name"][:100], "job": state.get("job"), "ready": state.get("ready") is True})
        elif value:
            rejected("a worker heartbeat", value)
    return states


class RemoteWorker:
    """One dispatch of one job to the Celery workers: what the queue calls a worker (send, kill,
    alive, ready, pid), backed by Redis."""

    def __init__(self, backend: CeleryBackend):
        self.backend = backend
        self.job = None
        self.token = secrets.token_hex(8)  # this dispatch; a re-sent one gets a new token
        self.claimed = threading.Event()  # set when a worker has claimed the job (it may still be warming up)
        self.ready = threading.Event()  # set when its training process is ready and has the job
        self.pid: int | None = None  # the training process on the worker's machine, once claimed
        self.events_from = "0-0"
        self.last_seq: dict[str, int] = {}  # per dispatch: the last entry read (an older one is a replay)
        self.dispatched_at = 0.0
        self.last_heard = 0.0
        self.ended = False
        self.command: protocol.Train | None = None

    def alive(self) -> bool:
        return not self.ended

    def last_error(self) -> str:
        return ""

    def send(self, command: protocol.Command) -> None:
        if isinstance(command, protocol.Train):
            self.command = command
            self.backend.dispatch(self)
        else:
            self.backend.command(self, command)

    def kill(self) -> None:
        """Take the job back, or end it where it runs; the queue hears of its end at once."""
        self.backend.command(self, None)
        self.backend.end(self, -9)


class CeleryBackend(TrainingBackend):
    """Celery workers on other machines, as the queue's backend."""

    remote = True

    def __init__(self, broker_url: str, on_event, on_exit):
        super().__init__()
        # Short timeouts: a dispatch or a Stop happens under the queue's lock, and a Redis that does not
        # answer must not hold every page for long (the reader's XREAD blocks 1 s of these 3).
        self._redis = redis.Redis.from_url(broker_url, socket_timeout=3, socket_connect_timeout=2)
        self._take_back = self._redis.register_script(TAKE_BACK_SCRIPT)
        self._app = make_app(broker_url)
        self._signer = Signer.from_environment()  # what the workers send back is believed only if signed with it
        self._rejected = LogOnce()
        self._on_event, self._on_exit = on_event, on_exit
        self._lock = threading.Lock()
        self.workers: set[RemoteWorker] = set()  # dispatched, not yet ended
        self._reachable = True
        self._refused = False  # Redis refused the password (it was changed while the class ran)
        self._closed = False
        self._states: list[dict] = []  # the workers' heartbeats, refreshed by the reader thread
        self._states_at = 0.0
        threading.Thread(target=self._read, daemon=True, name="celery-events").start()

    # --- what the queue asks of a backend (as of vae.jobs.pool.WorkerPool) -------------------

    def top_up(self, wanted: int) -> None: ...

    def may_spawn(self) -> bool:
        return True

    def has_spare(self) -> bool:
        return self.idle_slots() > 0

    def started(self) -> None: ...

    def exited(self, worker, returncode: int, closing: bool) -> None:
        with self._lock:
            self.workers.discard(worker)

    def unavailable(self) -> str | None:
        if self._refused:
            return "Training is unavailable: the Redis server (LATENT_LAB_BROKER) refused this server's password."
        if not self._reachable:
            return "Training is unavailable: the Redis server (LATENT_LAB_BROKER) does not answer."
        if not self.slots():
            return "No training machine is connected yet: start one with `make worker`."
        return None

    def warm(self) -> int:
        """Workers idle with their training process ready (TensorFlow imported)."""
        ready = sum(bool(state.get("ready")) and state.get("job") is None for state in self._states)
        return min(ready, self.idle_slots())

    def kill_all(self) -> None:
        self._closed = True

    def take(self) -> RemoteWorker | None:
        """A handle for the next job, while the workers alive outnumber the jobs this server has
        handed them (every worker of the class works for this one server)."""
        with self._lock:
            if len(self.workers) >= self.slots():
                return None
            worker = RemoteWorker(self)
            self.workers.add(worker)
        return worker

    def slots(self) -> int:
        """Workers alive now (their heartbeats): what the queue's estimates divide the line by."""
        return len(self._states)

    def capacity(self, local_slots: int) -> int:
        return self.slots()

    def idle_slots(self) -> int:
        with self._lock:
            return max(0, self.slots() - len(self.workers))

    # --- Redis -------------------------------------------------------------------------------

    def _refresh_worker_states(self) -> None:
        """Every worker's heartbeat (vae.jobs.celery_worker), at most once a second."""
        if time.monotonic() - self._states_at < 1.0:
            return
        self._states_at = time.monotonic()
        try:
            names = list(self._redis.scan_iter(key("worker", "*"), count=100))
            values = self._redis.mget(names) if names else []
        except redis.RedisError as error:
            self._reachable = False
            self._refused = isinstance(error, redis.AuthenticationError) or "NOAUTH" in str(error)
            self._states = []
            return
        self._refused = False
        self._states = worker_states(values, self._signer, self._rejected)

    def dispatch(self, worker: RemoteWorker) -> None:
        job, command = worker.job, worker.command
        fields = {"config": command.config, "name": command.name, "preset": command.preset, "owner": command.owner,
                  "limits": command.limits}
        signature = self._signer.sign("task", job.id, worker.token, json.dumps(fields, sort_keys=True))
        worker.dispatched_at = worker.last_heard = time.monotonic()
        try:  # no retries here (under the queue's lock): a lost dispatch is sent again after CLAIM_SECONDS
            self._app.send_task(TASK, args=[job.id, worker.token, fields, signature],
                                task_id=f"{job.id}-{worker.token}", retry=False)
        except Exception as error:  # noqa: BLE001 - Celery and kombu raise their own types for a lost broker
            log.warning("dispatching %s: %s", job.id, error)

    def command(self, worker: RemoteWorker, command: protocol.Command | None) -> None:
        """A command for the task (None: kill); before any worker claimed the job, a cancelled
        dispatch, which the task skips when it arrives."""
        try:
            if not worker.claimed.is_set():  # (if a worker claimed it meanwhile, it reads the kill below)
                self._take_back(keys=claim_keys(worker.job.id, worker.token))
            line = b'{"command": "kill"}\n' if command is None else protocol.encode_command(command)
            self._redis.xadd(key("job", worker.job.id, "commands"),
                             sign_entry(self._signer, "command", worker.job.id, {"line": line}), maxlen=100)
        except redis.RedisError as error:
            log.warning("sending to job %s: %s", worker.job.id if worker.job else "?", error)

    def end(self, worker: RemoteWorker, returncode: int) -> None:
        with self._lock:
            if worker.ended:
                return
            worker.ended = True
        self._on_exit(worker, returncode)

    def _read(self) -> None:
        """One thread reads every dispatched job's events (XREAD on all their streams). Whatever
        goes wrong in one turn is logged, and the next turn comes: the reader never ends."""
        while not self._closed:
            try:
                self._read_once()
            except Exception:  # noqa: BLE001 - a reader that died would leave every job to the stall check
                log.exception("reading the jobs' streams")
                time.sleep(1)

    def _read_once(self) -> None:
        self._refresh_worker_states()
        with self._lock:
            streams = {key("job", worker.job.id, "events"): worker.events_from
                       for worker in self.workers if worker.job is not None}
        if not streams:
            time.sleep(0.2)
            self._check_lost()
            return
        try:
            answer = self._redis.xread(streams, block=1000, count=100)
            if not self._reachable:  # back after an outage: nobody was silent, Redis was
                for worker in list(self.workers):
                    worker.last_heard = time.monotonic()
            self._reachable = True
        except redis.RedisError:
            self._reachable = False
            time.sleep(1)
            return
        for stream, entries in answer or []:
            self._deliver(stream.decode(), entries)
        self._check_lost()

    def _deliver(self, stream: str, entries) -> None:
        with self._lock:
            worker = next((w for w in self.workers if w.job is not None and key("job", w.job.id, "events") == stream),
                          None)
        if worker is None:
            return
        for entry_id, fields in entries:
            worker.events_from = entry_id.decode()
            if not self._believed(worker, fields):
                continue
            worker.last_heard = time.monotonic()
            worker.claimed.set()  # a signed entry on its stream comes from the worker that claimed it
            worker.token = fields.get(b"token", b"").decode() or worker.token  # the dispatch that claimed it
            if b"line" in fields:
                self._event(worker, fields[b"line"], fields.get(b"run_sha256", b"").decode("ascii", "replace"))

    def _believed(self, worker: RemoteWorker, fields: dict) -> bool:
        """Signed by one of the class's workers for this job, and newer than the last entry read of
        its dispatch (an entry copied back into the stream is a replay)."""
        if not entry_is_signed(self._signer, "event", worker.job.id, fields):
            self._rejected(f"an entry on job {worker.job.id}'s stream", repr(sorted(fields.items()))[:100_000])
            return False
        token = fields.get(b"token", b"").decode("ascii", "replace")
        try:
            seq = int(fields.get(b"seq", b""))
        except ValueError:
            seq = 0
        if seq <= worker.last_seq.get(token, 0):
            self._rejected(f"a replayed entry on job {worker.job.id}'s stream", repr(sorted(fields.items())))
            return False
        worker.last_seq[token] = seq
        return True

    def _event(self, worker: RemoteWorker, line: bytes, run_sha256: str) -> None:
        try:
            event = protocol.decode_event(line)
        except protocol.ProtocolError:
            self._rejected(f"a line on job {worker.job.id}'s stream that is not the protocol", line)
            return
        if isinstance(event, protocol.Ready):
            worker.pid = event.pid
            worker.ready.set()
        if isinstance(event, protocol.Finished):
            event = self._receive_run(worker, event, run_sha256)
        self._on_event(worker, event)
        if isinstance(event, (protocol.Finished, protocol.Failed)):
            self.end(worker, 0)

    def kill(self, worker: RemoteWorker) -> None:
        worker.kill()

    def follow(self, job, token: str, command: protocol.Train) -> bool:
        """After the web server restarted: follow a job a worker may still be training, from the
        start of its stream (its curve comes back with it)."""
        worker = RemoteWorker(self)
        worker.job, worker.token, worker.command = job, token, command
        worker.dispatched_at = worker.last_heard = time.monotonic()
        job.worker = worker
        with self._lock:
            self.workers.add(worker)
        return True

    def _receive_run(self, worker: RemoteWorker, finished: protocol.Finished, run_sha256: str):
        """The run the worker saved on its machine, unpacked here with the same atomic save: only the
        bytes whose digest its worker signed, no larger than its config allows, saved under the
        job's name with the job's owner and config (never the package's). Fetched again, later and
        later, while Redis is away."""
        job = worker.job
        try:
            data = self._fetch_run(job)
            if hashlib.sha256(data).hexdigest() != run_sha256:
                raise LabError("what arrived is not the run its worker sent")
            save_packed_run(Path(job.runs_dir), job.run_name, data, job.config, owner=job.owner,
                            preset=job.preset_name)
            self._redis.delete(key("job", job.id, "run"))
        except (LabError, redis.RedisError, OSError) as error:
            return protocol.Failed(f"The run was trained but could not be saved here: {error}")
        return finished

    def _fetch_run(self, job) -> bytes:
        run_key, limit = key("job", job.id, "run"), 3 * cost.run_bytes(job.config) + 10_000_000

        def fetch() -> bytes:
            if self._redis.strlen(run_key) > limit:
                raise LabError("what arrived is larger than its config allows")
            data = self._redis.get(run_key)
            if data is None:
                raise LabError("the worker's saved run did not arrive")
            return data

        return with_retries(fetch, f"job {job.id}'s run is fetched again", RUN_FETCH_SECONDS)

    def _check_lost(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.ended or worker.job is None or not self._reachable:
                continue
            if worker.claimed.is_set() and now - worker.last_heard > LOST_SECONDS:
                worker.job.kill_reason = (f"The machine training this was lost (nothing heard from it for "
                                          f"{LOST_SECONDS:.0f} s); nothing was saved.")
                worker.kill()
            elif not worker.claimed.is_set() and now - worker.dispatched_at > CLAIM_SECONDS:
                self._send_again(worker)

    def _send_again(self, worker: RemoteWorker) -> None:
        """A dispatch no worker has claimed (its message lost): taken back, so that it can never run,
        and a new one sent. If a worker claimed it meanwhile, it stands (its word is on the way)."""
        try:
            taken_back = self._take_back(keys=claim_keys(worker.job.id, worker.token))
        except redis.RedisError:
            return  # Redis is away: tried again on the next turn
        if not taken_back:
            worker.claimed.set()
            worker.last_heard = time.monotonic()
            return
        worker.token = secrets.token_hex(8)
        self.dispatch(worker)

