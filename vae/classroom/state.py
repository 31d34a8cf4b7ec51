"""What the teacher sets and who has joined, shared by every session, and the policy the training
queue applies where it acts (vae.jobs.queue asks it who may do what and who comes first)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import replace

from vae.classroom.limits import Limits, check_capacity, check_training, time_limit_seconds
from vae.classroom.people import (
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
from vae.i18n import _, ngettext

NAMES_SCHEMA = """
CREATE TABLE IF NOT EXISTS names (
    key_hash TEXT PRIMARY KEY,      -- the student's browser key, hashed
    name TEXT NOT NULL,
    identity TEXT NOT NULL UNIQUE,  -- the name with case, punctuation and look-alikes aside (people.name_identity)
    address TEXT NOT NULL,          -- the device it was given from
    joined REAL NOT NULL);
"""
LIMITS, PINNED = "classroom.limits", "classroom.pinned"  # settings in the class's store
OLD_NAMES = "classroom.names"  # where stores before version 2 kept names (one JSON value)


class ClassroomState:
    """What the teacher sets, and who has joined, kept in the class's store (vae.database): every
    process of the class reads the same, and a restart keeps it. Pausing student training is the
    training queue's own switch (it holds their jobs)."""

    def __init__(self, database):
        self._db = database
        database.ensure(NAMES_SCHEMA)
        self._take_old_names()

    @property
    def limits(self) -> Limits:
        try:
            return Limits(**self._db.setting(LIMITS, {}))
        except (TypeError, ClassroomError):  # from another version: the defaults
            return Limits()

    def pinned(self) -> tuple[tuple[str, str] | None, int]:
        """((the class run's name, its created_at) or None, a number that changes with each pin)."""
        stored = self._db.setting(PINNED)
        if isinstance(stored, list):  # as a store before version 2 kept it
            return tuple(stored), 0
        stored = stored if isinstance(stored, dict) else {}
        run = stored.get("run")
        return (tuple(run) if run else None), int(stored.get("version", 0))

    def set_limits(self, person: Person, **changes) -> Limits:
        require_teacher(person)
        limits = replace(self.limits, **changes)  # validated by Limits
        self._db.set_setting(LIMITS, dataclasses.asdict(limits))
        return limits

    def pin(self, person: Person, run_name: str | None, created_at: str = "") -> None:
        """Pin a run by its identity: its name *and* when it was made, so a later run given the
        same name (after this one was deleted) is not shown to the class in its place."""
        require_teacher(person)
        with self._db.transaction() as db:
            stored = self._db.setting_in(db, PINNED)
            version = int(stored.get("version", 0)) + 1 if isinstance(stored, dict) else 1
            self._db.set_setting(PINNED, {"run": [run_name, created_at] if run_name else None, "version": version}, db)

    # --- names ---------------------------------------------------------------------------------

    def name_of(self, key_hash: str) -> str:
        names = self._db.cached("names", lambda: dict(self._db.rows("SELECT key_hash, name FROM names")))
        return names.get(key_hash, "")

    def names(self) -> list[tuple[str, str, str]]:
        """Who has joined: (name, key hash, address), in the order they joined."""
        return self._db.rows("SELECT name, key_hash, address FROM names ORDER BY joined, name")

    def register_name(self, key_hash: str, name: str, address: str) -> str:
        """Give a student's key a name: validated, unique in the class (case, spaces, punctuation and
        look-alike letters aside), and at most the teacher's names-per-device from one address."""
        name = validate_student_name(name)
        per_device = self.limits.names_per_device
        with self._db.transaction() as db:
            holder = db.execute("SELECT name FROM names WHERE identity = ? AND key_hash != ?",
                                (name_identity(name), key_hash)).fetchone()
            if holder is not None:
                raise ClassroomError(_("Someone in this class is already called {name}: add an initial or a "
                                       "surname.").format(name=holder[0]))
            known = db.execute("SELECT 1 FROM names WHERE key_hash = ?", (key_hash,)).fetchone()
            from_here = db.execute("SELECT COUNT(*) FROM names WHERE address = ? AND key_hash != ?",
                                   (address, key_hash)).fetchone()[0]
            if known is None and from_here >= per_device:
                raise ClassroomError(ngettext(
                    "{count} students have already joined from this device, the most one device may have; join "
                    "from your own, or ask the teacher.",
                    "{count} students have already joined from this device, the most one device may have; join "
                    "from your own, or ask the teacher.", from_here).format(count=from_here))
            db.execute("INSERT INTO names VALUES (?, ?, ?, ?, ?) ON CONFLICT(key_hash) DO UPDATE SET "
                       "name = excluded.name, identity = excluded.identity, address = excluded.address",
                       (key_hash, name, name_identity(name), address, time.time()))
        return name

    def free_name(self, person: Person, name: str) -> bool:
        """The teacher frees a name: whoever had it is asked for a name again (their runs stay
        theirs: they are known by their key), and anyone may take it. False if no one had it."""
        require_teacher(person)
        with self._db.transaction() as db:
            return db.execute("DELETE FROM names WHERE identity = ?", (name_identity(name),)).rowcount > 0

    def end_class(self, person: Person) -> int:
        """Every name is freed (the next class starts with none); returns how many there were."""
        require_teacher(person)
        with self._db.transaction() as db:
            return db.execute("DELETE FROM names").rowcount

    def _take_old_names(self) -> None:
        """Names a store before version 2 kept as one value move to the names table, once."""
        old = self._db.setting(OLD_NAMES)
        if not isinstance(old, dict):
            return
        with self._db.transaction() as db:
            for key_hash, value in old.items():
                try:
                    name, address = (str(part) for part in value)
                    name = validate_student_name(name)
                except (TypeError, ValueError, ClassroomError):
                    continue
                db.execute("INSERT OR IGNORE INTO names VALUES (?, ?, ?, ?, ?)",
                           (key_hash, name, name_identity(name), address, time.time()))
            self._db.forget_settings(OLD_NAMES, db=db)


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

    def limits_for(self, owner: dict | None) -> dict | None:
        """A student's limits, sent with the training so its process checks them again."""
        return dataclasses.asdict(self.state.limits) if owner_role(owner) == STUDENT else None
