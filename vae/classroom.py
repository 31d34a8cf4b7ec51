"""Classroom mode: a teacher and students on one server (`make classroom`). Who may do what, the
teacher code, students' names, the limits a teacher sets, and the address students join at.
Pure Python (no Streamlit): the pages ask these functions, and the training queue enforces what
must hold even when two requests race.

Nobody has an account. The teacher is whoever enters the code printed in the terminal at start;
everyone else is a student, known by a name they type and a secret key kept in their session
(and their address bar, so a reload keeps it), of which runs and jobs store only a hash.
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

from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import LabError

CLASSROOM_ENV = "LATENT_LAB_CLASSROOM"  # "1": roles on (make classroom sets it; tests use it on 127.0.0.1)
TEACHER_CODE_ENV = "LATENT_LAB_TEACHER_CODE"  # fixes the teacher code (otherwise a new one at each start)
JOIN_ADDRESS_ENV = "LATENT_LAB_JOIN_ADDRESS"  # the address shown on the join screen, if the guess is wrong
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or off a screen
CODE_LENGTH = 8
MIN_CODE_LENGTH = 6
NAME_PATTERN = re.compile(r"[^\W_][\w .'-]{0,23}")  # any script's letters and digits; 1-24 characters

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
    return name


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


@dataclass(frozen=True)
class Limits:
    """What one student may ask of the training queue."""

    jobs: int = 1  # queued or running at once
    epochs: int = 10
    images: int = MNIST_TRAIN_SIZE

    def __post_init__(self):
        for field_name, low, high in (("jobs", 1, 5), ("epochs", 1, 200), ("images", 256, MNIST_TRAIN_SIZE)):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ClassroomError(f"Student limit {field_name}: must be a whole number from {low} to {high}.")


def check_training(person: Person, config: TrainConfig, limits: Limits) -> None:
    """Raise ClassroomError, in one sentence, if this person may not queue this training (the
    number of their jobs is counted by the queue itself, under its lock; a pause holds them there)."""
    if person.is_teacher:
        return
    if not person.name:
        raise ClassroomError("Type your name in the sidebar first: your runs are marked with it.")
    if config.epochs > limits.epochs:
        raise ClassroomError(f"In this class a training may have at most {limits.epochs} epochs.")
    if (config.train_subset or MNIST_TRAIN_SIZE) > limits.images:
        raise ClassroomError(f"In this class a training may use at most {limits.images:,} training images "
                             "(set “Training images” lower).")


class ClassroomState:
    """What the teacher sets, shared by every session (thread-safe). Pausing student training is
    the training queue's own switch (it holds their jobs)."""

    def __init__(self, limits: Limits | None = None):
        self._lock = threading.Lock()
        self._limits = limits or Limits()
        self._pinned: str | None = None
        self._pin_version = 0

    @property
    def limits(self) -> Limits:
        with self._lock:
            return self._limits

    def pinned(self) -> tuple[str | None, int]:
        """(the class run, a number that changes with each pin)."""
        with self._lock:
            return self._pinned, self._pin_version

    def set_limits(self, person: Person, **changes) -> Limits:
        require_teacher(person)
        limits = replace(self.limits, **changes)  # validated by Limits
        with self._lock:
            self._limits = limits
        return limits

    def pin(self, person: Person, run_name: str | None) -> None:
        require_teacher(person)
        with self._lock:
            self._pinned, self._pin_version = run_name, self._pin_version + 1


def require_teacher(person: Person) -> None:
    if not person.is_teacher:
        raise ClassroomError("Only the teacher can do that.")


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
