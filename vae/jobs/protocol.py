"""The wire between the web server's training queue and a worker process: one JSON object per
line, each way. Every message is a typed value here, encoded and decoded in this one module; the
decoder believes nothing (a worker can crash mid-line, a bug can print to the wrong stream), so
anything that is not exactly a known message raises ProtocolError with a short reason.

server -> worker:  Train(config, runs_dir, name, preset, owner, limits), Stop(), Watch(on)
worker -> server:  Ready(pid), Batch(...), Epoch(...), SnapshotEvent(snapshot), Saving(),
                   Finished(...), Failed(message)
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np

from vae.numpy_model import model_arrays_of, model_from_arrays
from vae.progress import BatchProgress, EpochSummary
from vae.snapshots import Snapshot
from vae.states import SAVED_STATUSES

METRICS = ("loss", "reconstruction_loss", "kl_loss")
# The longest line a worker may send: a live snapshot with a decoder at the streaming budget
# (vae.snapshots' LIVE_DECODER_MAX_BYTES as base64) and its points and grid, with room to spare.
MAX_LINE_BYTES = 8_000_000
FINISHED_STATES = SAVED_STATUSES  # a Finished training's run status


class ProtocolError(ValueError):
    """A line that is not a message of this protocol."""


# --- Server -> worker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Train:
    config: dict
    runs_dir: str
    name: str
    preset: str | None
    owner: dict | None  # classroom mode: who queued it (kept in the run's metrics)
    limits: dict | None = None  # a student's: the class's limits, which the training process checks again


@dataclass(frozen=True)
class Stop:
    """End training after the current group of batches; the run is saved as stopped."""


@dataclass(frozen=True)
class Watch:
    """Whether anyone is watching: live snapshots (with the decoder) are sent only while on."""

    on: bool


Command = Train | Stop | Watch


def encode_command(command: Command) -> bytes:
    if isinstance(command, Train):
        fields = {"command": "train", "config": command.config, "runs_dir": command.runs_dir, "name": command.name,
                  "preset": command.preset, "owner": command.owner, "limits": command.limits}
    elif isinstance(command, Watch):
        fields = {"command": "watch", "on": command.on}
    else:
        fields = {"command": "stop"}
    return json.dumps(fields).encode() + b"\n"


def decode_command(line: bytes | str) -> Command:
    message = _object(line)
    kind = message.get("command")
    if kind == "train":
        owner, limits = message.get("owner"), message.get("limits")
        return Train(_field(message, "config", dict), _field(message, "runs_dir", str), _field(message, "name", str),
                     _optional(message, "preset", str), owner if isinstance(owner, dict) else None,
                     limits if isinstance(limits, dict) else None)
    if kind == "stop":
        return Stop()
    if kind == "watch":
        return Watch(_field(message, "on", bool))
    raise ProtocolError(f"unknown command {str(kind)[:40]!r}")


# --- Worker -> server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    pid: int


# A batch's and an epoch's report are the training loop's own values (vae.progress), sent as they are.
Batch = BatchProgress
Epoch = EpochSummary


@dataclass(frozen=True)
class SnapshotEvent:
    snapshot: Snapshot


@dataclass(frozen=True)
class Saving:
    """Training is over; the test set is being evaluated and the run saved."""


@dataclass(frozen=True)
class Finished:
    state: str  # completed | stopped
    run_name: str
    epochs_completed: int
    test_neg_elbo: float
    train_seconds: float


@dataclass(frozen=True)
class Failed:
    message: str


Event = Ready | Batch | Epoch | SnapshotEvent | Saving | Finished | Failed


def encode_event(event: Event) -> bytes:
    if isinstance(event, SnapshotEvent):
        fields = {"event": "snapshot", **snapshot_message(event.snapshot)}
    else:
        fields = {"event": _EVENT_NAMES[type(event)], **dataclasses.asdict(event)}
    return json.dumps(fields, allow_nan=False).encode() + b"\n"


def decode_event(line: bytes | str) -> Event:
    """The message on one line; ProtocolError if it is not exactly one of ours."""
    message = _object(line)
    kind = message.get("event")
    try:
        if kind == "ready":
            return Ready(_field(message, "pid", int))
        if kind == "batch":
            batch = Batch(_count(message, "epoch"), _count(message, "epochs"), _count(message, "batch"),
                          _count(message, "batches_per_epoch"), _metrics(message, "metrics"),
                          _number(message, "elapsed_seconds"))
            if batch.epoch > batch.epochs or batch.batch > batch.batches_per_epoch:
                raise ProtocolError("a batch beyond its training's length")
            return batch
        if kind == "epoch":
            return Epoch(_count(message, "epoch"), _count(message, "epochs"), _metrics(message, "train"),
                         _metrics(message, "test"), _number(message, "elapsed_seconds"))
        if kind == "snapshot":
            return SnapshotEvent(snapshot_from_message(message))
        if kind == "saving":
            return Saving()
        if kind == "finished":
            state = _field(message, "state", str)
            if state not in FINISHED_STATES:
                raise ProtocolError(f"unknown final state {state[:20]!r}")
            return Finished(state, _field(message, "run_name", str), _field(message, "epochs_completed", int),
                            _number(message, "test_neg_elbo"), _number(message, "train_seconds"))
        if kind == "failed":
            return Failed(_field(message, "message", str)[:1000])
    except (KeyError, TypeError, ValueError) as error:  # a snapshot's arrays, decoded by numpy
        if isinstance(error, ProtocolError):
            raise
        raise ProtocolError(f"a malformed {kind} message ({type(error).__name__})") from None
    raise ProtocolError(f"unknown event {str(kind)[:40]!r}")


_EVENT_NAMES = {Ready: "ready", Batch: "batch", Epoch: "epoch", Saving: "saving", Finished: "finished",
                Failed: "failed"}


# --- Snapshots as messages: arrays as base64 --------------------------------------------------------


def _encode_array(array: np.ndarray) -> dict:
    array = np.ascontiguousarray(array)
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode()}


def _decode_array(record: dict) -> np.ndarray:
    if np.dtype(record["dtype"]).kind not in "fiu":
        raise ValueError(f"unexpected array type {record['dtype']!r}")
    return np.frombuffer(base64.b64decode(record["data"], validate=True),
                         np.dtype(record["dtype"])).reshape(record["shape"])


def snapshot_message(snapshot: Snapshot) -> dict:
    message = {"epoch": snapshot.epoch, "epochs": snapshot.epochs, "plane": snapshot.plane,
               "z": _encode_array(snapshot.z), "grid": _encode_array(snapshot.grid)}
    if snapshot.decoder is not None:
        message["decoder"] = {name: _encode_array(array) if array.dtype.kind != "U" else str(array)
                              for name, array in model_arrays_of(snapshot.decoder, "decoder").items()}
    return message


def snapshot_from_message(message: dict) -> Snapshot:
    """The inverse of snapshot_message; ValueError/KeyError/TypeError if malformed."""
    decoder = None
    if "decoder" in message:
        arrays = {name: np.asarray(value) if isinstance(value, str) else _decode_array(value)
                  for name, value in message["decoder"].items()}
        decoder = model_from_arrays(arrays, "decoder")
    z, grid = _decode_array(message["z"]), _decode_array(message["grid"])
    if z.ndim != 2 or grid.ndim != 2 or grid.shape[1] != 784 or grid.dtype != np.uint8:
        raise ValueError("a snapshot's arrays have unexpected shapes")
    plane = message["plane"]
    components = np.asarray(plane["components"], np.float64)
    if components.shape != (2, z.shape[1]) or np.shape(plane["mean"]) != (z.shape[1],):
        raise ValueError("a snapshot's plane does not fit its points")
    return Snapshot(float(message["epoch"]), int(message["epochs"]), z.astype(np.float32), dict(plane), grid, decoder)


# --- Checking fields -----------------------------------------------------------------------------------


def _object(line: bytes | str) -> dict:
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError(f"a line of {len(line):,} bytes")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("a line that is not UTF-8") from None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        raise ProtocolError(f"a line that is not JSON: {line[:60]!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"a line that is not a JSON object: {line[:60]!r}")
    return message


def _field(message: dict, name: str, kind: type):
    value = message.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{message.get('event') or message.get('command')}: {name} is not a {kind.__name__}")
    return value


def _optional(message: dict, name: str, kind: type):
    return None if message.get(name) is None else _field(message, name, kind)


def _count(message: dict, name: str) -> int:
    value = _field(message, name, int)
    if value < 1:
        raise ProtocolError(f"{message.get('event')}: {name} is {value}")
    return value


def _number(message: dict, name: str) -> float:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"{message.get('event')}: {name} is not a finite number")
    return float(value)


def _metrics(message: dict, name: str) -> dict[str, float]:
    values = _field(message, name, dict)
    return {metric: _number(values, metric) for metric in METRICS}
