"""Which following students a web server should redraw, and when: the server is told the lead's
version each student's page was drawn with, and when the lead moves it redraws (pushes a run to)
those still showing an older one, each at most once every MIN_GAP_SECONDS, as the two-second check
each page ran before did at best. A student's page costs the server nothing while the lead stays
still. Pure Python; one per web server process (ui.follow runs the thread that asks it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

MIN_GAP_SECONDS = 2.0  # a following page is redrawn at most this often while the teacher drags
RETRY_SECONDS = 5.0  # a redraw that did not reach the page (cut short, say) is asked for again


@dataclass
class _Follower:
    drawn: int  # the lead's version this session's page was last drawn with
    pushed_at: float | None = None  # when a redraw was last asked for
    pushed_for: int | None = None  # the version it was asked for


class Followers:
    """Sessions that follow the teacher on this server, by session id. Thread-safe: pages tell it
    what they drew, one thread asks it whom to redraw."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, _Follower] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def drawn(self, session_id: str, version: int) -> None:
        """This session's page was just drawn with the lead at `version`."""
        with self._lock:
            follower = self._sessions.setdefault(session_id, _Follower(version))
            follower.drawn = version

    def forget(self, session_id: str) -> None:
        """It stepped away, signed in as the teacher, or is gone."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def due(self, version: int, now: float) -> list[str]:
        """The sessions to redraw now that the lead is at `version`, marked as asked."""
        with self._lock:
            chosen = [session_id for session_id, follower in self._sessions.items()
                      if follower.drawn != version and _may_push(follower, version, now)]
            for session_id in chosen:
                self._sessions[session_id].pushed_at = now
                self._sessions[session_id].pushed_for = version
            return chosen


def _may_push(follower: _Follower, version: int, now: float) -> bool:
    if follower.pushed_at is None:
        return True
    waited = now - follower.pushed_at
    if follower.pushed_for == version:  # asked already for this very version: only if it never came
        return waited >= RETRY_SECONDS
    return waited >= MIN_GAP_SECONDS
