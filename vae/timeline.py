"""Where the time goes across processes, for a benchmark (benchmarks/first_digit.py): `mark(event)`
appends one line, "seconds pid event", to the file LATENT_LAB_TIMELINE names. The seconds are
CLOCK_MONOTONIC's, one clock for every process on the machine, so the web server's, the queue's and
a training process's lines sort into one timeline. Without the setting it does nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

from vae.settings import settings


def mark(event: str) -> None:
    path = settings().timeline_file
    if path is None:
        return
    # One short write in append mode: lines from several processes do not interleave.
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{time.monotonic():.4f} {os.getpid()} {event}\n")


def read(path) -> list[tuple[float, int, str]]:
    """The timeline's lines, in time order."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        seconds, pid, event = line.split(" ", 2)
        entries.append((float(seconds), int(pid), event))
    return sorted(entries)
