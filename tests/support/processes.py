"""Processes as /proc shows them: a test that kills a server checks its workers went with it."""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command's name (which may hold spaces and parentheses)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def command_line(pid: int) -> bytes:
    """The process's arguments, each ended by a NUL as /proc gives them; b"" once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def niceness(pid: int) -> int:
    """The process's niceness: /proc/<pid>/stat's 19th field."""
    return int(_stat_fields(pid)[16])


def parents() -> dict[int, int]:
    """Every process now, with its parent."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found[int(stat.parent.name)] = int(_stat_fields(int(stat.parent.name))[1])
        except OSError:
            continue
    return found


def children_of(pid: int) -> list[int]:
    return [child for child, parent in parents().items() if parent == pid]


def descendants(root: int, known: frozenset[int] | set[int] = frozenset()) -> set[int]:
    """`root` and every process below it, however deep, from one reading of /proc; `known`: processes
    seen below it before (kept: an orphan is still its)."""
    now = parents()
    found, grew = set(known) | {root}, True
    while grew:
        new = {pid for pid, parent in now.items() if parent in found and pid not in found}
        found |= new
        grew = bool(new)
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; its parent is gone or has not reaped it)."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
