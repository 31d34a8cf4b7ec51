"""How often the teacher code may be tried: per device (its network address) and for the whole class,
counted in the class's store, so neither a new browser session nor another web server starts the
count afresh. The server's own machine is limited as a device but never by the class's count: a
flood of wrong codes from the room must not lock the teacher out of the laptop at the front."""

from __future__ import annotations

import time

from vae.classroom.people import THIS_MACHINE, ClassroomError
from vae.i18n import _

SCHEMA = """
CREATE TABLE IF NOT EXISTS sign_in_tries (at REAL NOT NULL, address TEXT NOT NULL);
"""
DEVICE_TRIES, DEVICE_WINDOW_SECONDS = 5, 30.0  # wrong codes from one device, then it waits
CLASS_TRIES, CLASS_WINDOW_SECONDS = 20, 60.0  # wrong codes from every device together, then all wait


class SignInLimits:
    def __init__(self, database, clock=time.time):
        self._db, self._clock = database, clock
        database.ensure(SCHEMA)

    def attempt(self, address: str) -> None:
        """Count a try from `address` (as wrong until `succeeded` says otherwise), or refuse it in one
        sentence if that device, or the class, has had its share of wrong codes just now."""
        now = self._clock()
        with self._db.transaction() as db:
            oldest = now - max(DEVICE_WINDOW_SECONDS, CLASS_WINDOW_SECONDS)
            db.execute("DELETE FROM sign_in_tries WHERE at < ?", (oldest,))
            device = [at for (at,) in db.execute(
                "SELECT at FROM sign_in_tries WHERE address = ? AND at > ? ORDER BY at",
                (address, now - DEVICE_WINDOW_SECONDS))]
            if len(device) >= DEVICE_TRIES:
                wait = _wait(device, DEVICE_TRIES, DEVICE_WINDOW_SECONDS, now)
                raise ClassroomError(_("Too many tries from this device: wait {seconds} s and try again.").format(
                    seconds=wait))
            everyone = [at for (at,) in db.execute("SELECT at FROM sign_in_tries WHERE at > ? ORDER BY at",
                                                   (now - CLASS_WINDOW_SECONDS,))]
            if address != THIS_MACHINE and len(everyone) >= CLASS_TRIES:
                raise ClassroomError(_("Too many wrong teacher codes in this class just now: wait {seconds} s and "
                                       "try again.").format(
                    seconds=_wait(everyone, CLASS_TRIES, CLASS_WINDOW_SECONDS, now)))
            db.execute("INSERT INTO sign_in_tries VALUES (?, ?)", (now, address))

    def succeeded(self, address: str) -> None:
        """The code was right: this device's tries are forgotten."""
        self._db.execute("DELETE FROM sign_in_tries WHERE address = ?", (address,))


def _wait(times: list[float], allowed: int, window: float, now: float) -> int:
    """Seconds until fewer than `allowed` of `times` (sorted) are inside the window."""
    return max(1, round(times[-allowed] + window - now))
