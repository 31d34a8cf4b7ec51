"""A pytest plugin for benchmarks/suite_cpu.py. For each test, one JSON line appended to the file
LATENT_LAB_WORKER_CPU names: its wall time; the CPU it used inside the process that ran it (an
xdist worker: the test's own Python, AppTest's script threads, Playwright's client, Keras trained
in-process), its setup and teardown included; and what the processes below that worker used
meanwhile (its browsers, servers, training processes, whichever test started them). A thread or
process the test left running counts for the tests after it."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from pathlib import Path

import pytest

from tests.support.processes import cpu_seconds, descendants

OUTPUT_ENV = "LATENT_LAB_WORKER_CPU"
KINDS = [  # (what the command line holds, the kind's name); first match wins
    ("chrom", "chromium (the browser tests)"),
    ("node", "node (Playwright's driver, the decoder's tests)"),
    ("redis-server", "redis-server"),
    ("vae.jobs.worker", "training processes (vae.jobs.worker)"),
    ("celery", "Celery workers"),
    ("streamlit", "Streamlit servers"),
    ("vae.classroom", "class processes (vae.classroom: launcher, queue, join)"),
    ("exec(eval(", "pytest-xdist workers (the tests themselves, AppTest included)"),
    ("pytest", "pytest (the controller)"),
]


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def kind_of(cmdline: str) -> str:
    return next((name for marker, name in KINDS if marker in cmdline), f"other: {cmdline[:70]}")


def sample(pid: int) -> tuple[str, float] | None:
    """A process's command line and the CPU it has used so far; None if it has gone."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return cmdline, cpu_seconds(pid)
    except OSError:
        return None


def below_this_process() -> dict[int, tuple[str, float]]:
    """Every process below this one: its kind and the CPU it has used so far."""
    found = {}
    for pid in descendants(os.getpid()) - {os.getpid()}:
        if (now := sample(pid)) is not None:
            found[pid] = (kind_of(now[0]), now[1])
    return found


class Watch:
    """Samples the processes below this one twice a second while a test runs, so that one the test
    started and ended is counted up to its last sample."""

    def __init__(self) -> None:
        self.before = below_this_process()
        self.last = dict(self.before)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True, name="worker-cpu-watch")
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.5):
            self._update()

    def _update(self) -> None:
        """The CPU now; the kind as first seen (an ended process's command line reads empty)."""
        for pid, (kind, cpu) in below_this_process().items():
            self.last[pid] = (self.last.get(pid, (kind, 0.0))[0], cpu)

    def used_by_kind(self) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        self._update()
        used: dict[str, float] = {}
        for pid, (kind, cpu) in self.last.items():
            short = kind.split(" (")[0]
            used[short] = round(used.get(short, 0.0) + cpu - self.before.get(pid, (kind, 0.0))[1], 3)
        return used


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get(OUTPUT_ENV)
    if not path:
        yield
        return
    started, before, watch = time.monotonic(), own_cpu_seconds(), Watch()
    yield
    below = watch.used_by_kind()
    with open(path, "a") as out:  # one short write per line: lines from two workers do not mix
        out.write(json.dumps({"test": item.nodeid, "wall": round(time.monotonic() - started, 3),
                              "cpu": round(own_cpu_seconds() - before, 3), "below": below}) + "\n")
