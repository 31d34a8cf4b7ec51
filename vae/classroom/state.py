"""What the teacher sets and who has joined, shared by every session, and the policy the training
queue applies where it acts (vae.jobs.queue asks it who may do what and who comes first)."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import replace

from vae.classroom.limits import Limits, check_capacity, check_training, time_limit_seconds
from vae.classroom.people import (
    MAX_NAMES_PER_DEVICE,
    STUDENT,
    ClassroomError,
    Person,
    may_change,
    name_identity,
    owner_role,
    require_teacher,
    validate_student_name,
)
from vae.config import TrainConfig


class ClassroomState:
    """What the teacher sets, and who has joined, shared by every session (thread-safe). Pausing
    student training is the training queue's own switch (it holds their jobs)."""

    def __init__(self, limits: Limits | None = None, store=None):
        """`store` (vae.jobs.store.JobStore): where what the teacher set and who joined survive a
        restart of the server."""
        self._lock = threading.Lock()
        self._store = store
        self._limits = limits or self._stored_limits() or Limits()
        pinned = store.setting("classroom.pinned") if store else None
        self._pinned: tuple[str, str] | None = tuple(pinned) if pinned else None  # (run name, its created_at)
        self._pin_version = 0
        names = store.setting("classroom.names", {}) if store else {}
        self._names: dict[str, tuple[str, str]] = {k: tuple(v) for k, v in names.items()}  # key hash -> (name, address)

    def _stored_limits(self) -> Limits | None:
        try:
            return Limits(**self._store.setting("classroom.limits")) if self._store else None
        except (TypeError, ClassroomError):  # none stored, or from another version
            return None

    def _keep(self, name: str, value) -> None:
        if self._store is not None:
            self._store.set_setting(name, value)

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
            self._keep("classroom.limits", dataclasses.asdict(limits))
        return limits

    def pin(self, person: Person, run_name: str | None, created_at: str = "") -> None:
        """Pin a run by its identity: its name *and* when it was made, so a later run given the
        same name (after this one was deleted) is not shown to the class in its place."""
        require_teacher(person)
        with self._lock:
            self._pinned = (run_name, created_at) if run_name else None
            self._keep("classroom.pinned", self._pinned)
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
            self._keep("classroom.names", self._names)
        return name


class ClassroomPolicy:
    """The rules the training queue applies where it acts (it counts, under its lock; this
    decides). Local mode is the same rules with everyone LOCAL, who may do everything."""

    def __init__(self, state):
        """`state`: the ClassroomState, or a function that returns the one in force."""
        self._state = state

    @property
    def state(self) -> ClassroomState:
        return self._state() if callable(self._state) else self._state

    def check_request(self, person: Person, config: TrainConfig) -> None:
        check_training(person, config, self.state.limits)

    def check_capacity(self, person: Person, config: TrainConfig, load) -> None:
        check_capacity(person, config, self.state.limits, load)

    def may_change(self, person: Person, owner: dict | None) -> bool:
        return may_change(person, owner)

    def priority(self, owner: dict | None) -> int:
        """The queue serves lower numbers first: the teacher's trainings before students'."""
        return 1 if owner_role(owner) == STUDENT else 0

    def time_limit_seconds(self, owner: dict | None) -> float | None:
        return time_limit_seconds(owner, self.state.limits)
