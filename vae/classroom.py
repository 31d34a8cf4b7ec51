"""Classroom mode: a teacher and students on one server (`make classroom`). Who may do what, the
teacher code, students' names, the limits a teacher sets, and the address students join at.
Pure Python (no Streamlit): the pages ask these functions, and the training queue enforces what
must hold even when two requests race.

Nobody has an account. The teacher is whoever enters the code printed in the terminal at start;
everyone else is a student, known by a name they type and a secret key their browser keeps (a
cookie, never the address bar, so nothing on a projected screen or in a shared link grants a
right), of which runs and jobs store only a hash. What a new session could mint (a key) is never
the only thing a limit counts: students' trainings are also counted per device (the connection's
address) and for the whole class, and the teacher's own work is never refused for students' load.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import socket
import threading
from dataclasses import dataclass, replace

from vae import cost, runs
from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import LabError

CLASSROOM_ENV = "LATENT_LAB_CLASSROOM"  # "1": roles on (make classroom sets it; tests use it on 127.0.0.1)
TEACHER_CODE_ENV = "LATENT_LAB_TEACHER_CODE"  # fixes the teacher code (otherwise a new one at each start)
JOIN_ADDRESS_ENV = "LATENT_LAB_JOIN_ADDRESS"  # the address shown on the join screen, if the guess is wrong
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or off a screen
CODE_LENGTH = 8
MIN_CODE_LENGTH = 6
NAME_PATTERN = re.compile(r"[^\W_][\w .'-]{0,23}")  # any script's letters and digits; 1-24 characters
THIS_MACHINE = "this machine"  # the address of a session on the server's own machine (loopback)
MAX_NAMES_PER_DEVICE = 4  # students who may name themselves from one address (a shared lab computer)
STUDENT_MAX_MEMORY_BYTES = 2_000_000_000  # one student job's batches (vae.cost.memory_bytes)

TEACHER, STUDENT, LOCAL = "teacher", "student", "local"


class ClassroomError(LabError):
    """A request classroom mode refuses, in one sentence for the person who made it."""


# --- The teacher code -----------------------------------------------------------------------


def new_teacher_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text: str) -> str:
    """What was typed, as compared: upper case, without spaces and dashes."""
    return re.sub(r"[\s-]", "", str(text)).upper()


def check_teacher_code(code: str) -> str:
    """A code fixed by the environment: at least MIN_CODE_LENGTH letters or digits."""
    if len(normalise_code(code)) < MIN_CODE_LENGTH or not normalise_code(code).isalnum():
        raise ClassroomError(f"{TEACHER_CODE_ENV}: the teacher code must be at least {MIN_CODE_LENGTH} "
                             "letters or digits")
    return code


def fixed_teacher_code() -> str | None:
    """LATENT_LAB_TEACHER_CODE, checked, if it is set; ClassroomError if it is too short."""
    code = os.environ.get(TEACHER_CODE_ENV)
    return check_teacher_code(code) if code else None


def code_matches(given: str, expected: str) -> bool:
    """In constant time: how long a comparison takes says nothing about how much of it matched."""
    return hmac.compare_digest(normalise_code(given).encode(), normalise_code(expected).encode())


# --- People ---------------------------------------------------------------------------------


def validate_student_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not NAME_PATTERN.fullmatch(name):
        raise ClassroomError("Your name: 1–24 letters, digits, spaces, ' . - or _, starting with a letter or digit.")
    if "teacher" in name_identity(name):
        raise ClassroomError("Names with “teacher” in them are kept for the teacher: type your own name.")
    return name


def name_identity(name: str) -> str:
    """What makes two names the same person's on a screen: case, spaces and punctuation aside."""
    return "".join(character for character in name.casefold() if character.isalnum())


def new_student_key() -> str:
    return secrets.token_urlsafe(16)


def key_hash(key: str) -> str:
    """What runs and jobs keep of a student's secret key: enough to recognise it, not to use it."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Person:
    """Who is asking. LOCAL: not in classroom mode, everyone may do everything (as before)."""

    role: str
    name: str = ""
    key_hash: str = ""  # a student's; empty for the teacher and in local mode
    browser: str = ""  # the hash of this browser's key, whatever the role: which jobs are "yours"
    address: str = THIS_MACHINE  # the connection's address: the device a limit counts

    @property
    def is_teacher(self) -> bool:
        return self.role in (TEACHER, LOCAL)

    def owner(self) -> dict | None:
        """What a run or job records of whoever made it (None in local mode)."""
        if self.role == LOCAL:
            return None
        return {"role": self.role, "name": self.name, "key": self.key_hash}


def owner_role(owner: dict | None) -> str:
    """A run or job with no owner was made outside classroom mode: the teacher's, prepared before class."""
    return owner.get("role", TEACHER) if isinstance(owner, dict) else TEACHER


def student_name(owner: dict | None) -> str | None:
    """The name of the student who made a run or job; None for the teacher's (and local ones)."""
    return str(owner.get("name", "?")) if owner_role(owner) == STUDENT else None


def owns(person: Person, owner: dict | None) -> bool:
    return (person.role == STUDENT and bool(person.key_hash) and owner_role(owner) == STUDENT
            and hmac.compare_digest(str(owner.get("key", "")), person.key_hash))


def may_see(person: Person, owner: dict | None) -> bool:
    """Students see the teacher's runs and their own; the teacher sees everything."""
    return person.is_teacher or owner_role(owner) == TEACHER or owns(person, owner)


def may_change(person: Person, owner: dict | None) -> bool:
    """Delete a run, stop or cancel a job: the teacher any, a student only their own."""
    return person.is_teacher or owns(person, owner)


# --- What a teacher sets --------------------------------------------------------------------


LIMIT_RANGES = {  # field: (low, high, what a person reads)
    "jobs": (1, 5, "Trainings per student"),
    "jobs_per_device": (1, 50, "Trainings per device"),
    "class_jobs": (1, 200, "Student trainings in all"),
    "epochs": (1, 200, "Epochs at most"),
    "images": (256, MNIST_TRAIN_SIZE, "Training images at most"),
    "minutes": (1, 60, "Minutes of training at most"),
    "disk_mb": (1, 10_000, "Disk per student (MB)"),
    "class_disk_mb": (10, 100_000, "Disk for all students (MB)"),
}


@dataclass(frozen=True)
class Limits:
    """What students may ask of the training queue (the teacher sets them; none binds the teacher)."""

    jobs: int = 1  # one student's trainings queued or running at once
    jobs_per_device: int = 2  # ... from one address, whatever names and keys its sessions use
    class_jobs: int = 30  # ... of every student together
    epochs: int = 10
    images: int = MNIST_TRAIN_SIZE
    minutes: int = 3  # of training, as estimated on this machine (vae.cost): bounds width, batch, architecture
    disk_mb: int = 50  # saved runs per student
    class_disk_mb: int = 2_000  # saved runs of every student together

    def __post_init__(self):
        for field_name, (low, high, label) in LIMIT_RANGES.items():
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ClassroomError(f"{label}: must be a whole number from {low} to {high}.")


def check_training(person: Person, config: TrainConfig, limits: Limits) -> None:
    """Raise ClassroomError, in one sentence, if this person may not ask for this training at all
    (how many they, their device and the class have running is the queue's to count, under its
    lock: see ClassroomPolicy.check_capacity). Its cost is worked out from the config alone."""
    if person.is_teacher:
        return
    if not person.name:
        raise ClassroomError("Type your name first: your runs are marked with it.")
    if config.epochs > limits.epochs:
        raise ClassroomError(f"In this class a training may have at most {limits.epochs} epochs.")
    if (config.train_subset or MNIST_TRAIN_SIZE) > limits.images:
        raise ClassroomError(f"In this class a training may use at most {limits.images:,} training images "
                             "(set “Training images” lower).")
    seconds = cost.estimated_seconds(config)
    if seconds > 60 * limits.minutes:
        raise ClassroomError(f"This training would take about {cost.duration_text(seconds)} here; this class allows "
                             f"at most {limits.minutes} min per training. Use fewer epochs, images or hidden units, "
                             "the dense architecture, or a larger batch.")
    if cost.memory_bytes(config) > STUDENT_MAX_MEMORY_BYTES:
        raise ClassroomError(f"This training would need about {cost.memory_bytes(config) / 1e9:.1f} GB of memory; "
                             f"a student's may use {STUDENT_MAX_MEMORY_BYTES / 1e9:.0f} GB. Use a smaller batch.")


@dataclass(frozen=True)
class Load:
    """What is queued or running, and on disk, when a request arrives (counted by the queue)."""

    owner_jobs: int  # the requester's own (same role and key) trainings, queued or running
    device_jobs: int  # students' trainings from the requester's address
    class_jobs: int  # every student's trainings
    owner_bytes: int  # the requester's saved runs, and what their queued trainings will save
    class_bytes: int  # every student's, likewise
    free_bytes: int  # free on the runs folder's disk, less what every queued training will save


FREE_DISK_MARGIN_BYTES = 200_000_000  # never fill the disk: the server, its logs and the OS need room


def check_capacity(person: Person, config: TrainConfig, limits: Limits, load: Load) -> None:
    """Raise ClassroomError if queueing this training now would pass a limit. The teacher is
    bound only by the disk itself: students' load never refuses the teacher's work."""
    needed = cost.run_bytes(config)
    if load.free_bytes - needed < FREE_DISK_MARGIN_BYTES:
        raise ClassroomError(f"The disk is nearly full ({max(load.free_bytes, 0) / 1e6:,.0f} MB free): delete some "
                             "runs before training another.")
    if person.is_teacher:
        return
    if load.owner_jobs >= limits.jobs:
        raise ClassroomError(f"You already have {load.owner_jobs} training(s) queued or running, the most this class "
                             "allows; wait for one to finish or cancel it.")
    if load.device_jobs >= limits.jobs_per_device:
        raise ClassroomError(f"This device already has {load.device_jobs} training(s) queued or running, the most "
                             "this class allows per device; wait for one to finish.")
    if load.class_jobs >= limits.class_jobs:
        raise ClassroomError(f"The class already has {load.class_jobs} trainings queued or running, the most the "
                             "teacher allows; try again when some have run.")
    if load.owner_bytes + needed > limits.disk_mb * 1_000_000:
        raise ClassroomError(f"Your runs take {load.owner_bytes / 1e6:.0f} MB and this one would add about "
                             f"{needed / 1e6:.0f} MB; each student may keep {limits.disk_mb} MB. Delete one of yours "
                             "first.")
    if load.class_bytes + needed > limits.class_disk_mb * 1_000_000:
        raise ClassroomError(f"Students' runs take {load.class_bytes / 1e6:.0f} MB, the most the teacher allows "
                             f"is {limits.class_disk_mb} MB; ask the teacher to clear some.")


def time_limit_seconds(owner: dict | None, limits: Limits) -> float | None:
    """How long a job may run before it is stopped (its partial run kept): a student's, twice
    their estimate's limit (estimates err) and at least a minute more; the teacher's: no limit."""
    if owner_role(owner) != STUDENT:
        return None
    return max(2 * 60 * limits.minutes, 60 * limits.minutes + 60)


class ClassroomState:
    """What the teacher sets, and who has joined, shared by every session (thread-safe). Pausing
    student training is the training queue's own switch (it holds their jobs)."""

    def __init__(self, limits: Limits | None = None):
        self._lock = threading.Lock()
        self._limits = limits or Limits()
        self._pinned: tuple[str, str] | None = None  # (run name, its created_at): the class run
        self._pin_version = 0
        self._names: dict[str, tuple[str, str]] = {}  # key hash -> (name, address)

    @property
    def limits(self) -> Limits:
        with self._lock:
            return self._limits

    def pinned(self) -> tuple[tuple[str, str] | None, int]:
        """((the class run's name, its created_at) or None, a number that changes with each pin)."""
        with self._lock:
            return self._pinned, self._pin_version

    def set_limits(self, person: Person, **changes) -> Limits:
        require_teacher(person)
        limits = replace(self.limits, **changes)  # validated by Limits
        with self._lock:
            self._limits = limits
        return limits

    def pin(self, person: Person, run_name: str | None, created_at: str = "") -> None:
        """Pin a run by its identity: its name *and* when it was made, so a later run given the
        same name (after this one was deleted) is not shown to the class in its place."""
        require_teacher(person)
        with self._lock:
            self._pinned = (run_name, created_at) if run_name else None
            self._pin_version += 1

    def name_of(self, key_hash: str) -> str:
        with self._lock:
            return self._names.get(key_hash, ("", ""))[0]

    def register_name(self, key_hash: str, name: str, address: str) -> str:
        """Give a student's key a name: validated, unique in the class (case, spaces and
        punctuation aside), and at most MAX_NAMES_PER_DEVICE names from one address."""
        name = validate_student_name(name)
        with self._lock:
            others = {k: v for k, v in self._names.items() if k != key_hash}
            holder = next((taken for taken, _ in others.values() if name_identity(taken) == name_identity(name)), None)
            if holder is not None:
                raise ClassroomError(f"Someone in this class is already called {holder}: add an initial or a "
                                     "surname.")
            from_here = sum(where == address for _, where in others.values())
            if key_hash not in self._names and from_here >= MAX_NAMES_PER_DEVICE:
                raise ClassroomError(f"{from_here} students have already joined from this device, the most one "
                                     "device may have; join from your own, or ask the teacher.")
            self._names[key_hash] = (name, address)
        return name


class ClassroomPolicy:
    """The rules the training queue applies where it acts (it counts, under its lock; this
    decides). Local mode is the same rules with everyone LOCAL, who may do everything."""

    def __init__(self, state: ClassroomState):
        self.state = state

    def check_request(self, person: Person, config: TrainConfig) -> None:
        check_training(person, config, self.state.limits)

    def check_capacity(self, person: Person, config: TrainConfig, load: Load) -> None:
        check_capacity(person, config, self.state.limits, load)

    def may_change(self, person: Person, owner: dict | None) -> bool:
        return may_change(person, owner)

    def priority(self, owner: dict | None) -> int:
        """The queue serves lower numbers first: the teacher's trainings before students'."""
        return 1 if owner_role(owner) == STUDENT else 0

    def time_limit_seconds(self, owner: dict | None) -> float | None:
        return time_limit_seconds(owner, self.state.limits)


def require_teacher(person: Person) -> None:
    if not person.is_teacher:
        raise ClassroomError("Only the teacher can do that.")


@dataclass(frozen=True)
class Cleared:
    deleted: int  # student runs deleted
    stopped: int  # student trainings ended (what they would have saved is deleted too)
    failed: list[str]  # "name: why" of each run that could not be deleted


def clear_student_runs(person: Person, queue, runs_dir) -> Cleared:
    """The end of class: stop every student training first (the queue deletes what they save even
    if it lands after this), then delete every student run on disk. The teacher's stay."""

    require_teacher(person)
    stopped = queue.discard(person, lambda owner: owner_role(owner) == STUDENT)
    deleted, failed = 0, []
    for run in runs.list_runs(runs_dir).runs:
        if owner_role(run.metrics.get("owner")) == STUDENT:
            try:
                runs.delete_run(runs_dir, run.name)
                deleted += 1
            except (LabError, OSError) as error:
                failed.append(f"{run.name}: {error}")
    return Cleared(deleted, stopped, failed)


# --- Joining --------------------------------------------------------------------------------


def lan_address() -> str:
    """This machine's address on the local network, without any internet lookup: the kernel is
    asked which interface would route to a private address (a UDP "connect" sends no packet)."""
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
                address = sock.getsockname()[0]
            except OSError:
                continue
            if not address.startswith(("0.", "127.")):
                return address
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        address = "127.0.0.1"
    return address


def join_url(host: str, port: int) -> str:
    return f"http://{host}:{port}" if port != 80 else f"http://{host}"


def join_address(port: int) -> str:
    """What students open: LATENT_LAB_JOIN_ADDRESS's host if set, else this machine's LAN address."""
    return join_url(os.environ.get(JOIN_ADDRESS_ENV) or lan_address(), port)


# --- `make classroom` -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Print the teacher code and the address students join at, then become the web server
    (listening on every interface, roles on). `python -m vae.classroom [--port 8501]`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="make classroom", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    try:
        code = fixed_teacher_code() or new_teacher_code()
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\n  Latent Lab, classroom mode\n  Students join at:  {join_address(args.port)}\n"
          f"  Teacher code:      {code}   (type it in the sidebar under Teacher; keep it to yourself)\n",
          flush=True)
    environment = {**os.environ, CLASSROOM_ENV: "1", TEACHER_CODE_ENV: code}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "streamlit", "run", os.path.join(root, "app.py"),
               "--server.address", "0.0.0.0", "--server.port", str(args.port)]
    os.execve(sys.executable, command, environment)  # the server takes over this process (Ctrl-C stops it)


if __name__ == "__main__":
    raise SystemExit(main())
