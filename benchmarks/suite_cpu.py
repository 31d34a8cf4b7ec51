"""Where the test suite's CPU time goes: runs the suite (the README's `make test` minus ruff and
lint-imports, i.e. `python -m pytest` with the project's options) and samples /proc four times a
second for every process it starts, however deep (xdist workers, Streamlit servers, training
processes, Celery workers, chromium, node, redis-server). Prints the wall time and, per kind of
process, how many ran and the CPU seconds they used; the ratio of CPU to wall time says how much
of the two cores the suite keeps busy.

A process's CPU is its own user + system time as last sampled (what it used in its last quarter
second, and processes that lived less than that, are missed: the totals are a little low).

Run: .venv/bin/python -m benchmarks.suite_cpu [pytest arguments, e.g. tests/test_pages.py]
"""

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from tests.support.processes import cpu_seconds, descendants

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


def sample(pid: int) -> tuple[str, float] | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return cmdline, cpu_seconds(pid)
    except OSError:
        return None


def kind_of(cmdline: str) -> str:
    return next((name for marker, name in KINDS if marker in cmdline), f"other: {cmdline[:70]}")


def main() -> None:
    started = time.monotonic()
    suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sys.argv[1:]])
    known: set[int] = set()
    seen: dict[int, tuple[str, float]] = {}
    while suite.poll() is None:
        known = descendants(suite.pid, known)
        for pid in known:
            if (now := sample(pid)) is not None and now[0]:
                seen[pid] = now
        time.sleep(0.25)
    wall = time.monotonic() - started
    by_kind = defaultdict(lambda: [0, 0.0])
    for cmdline, cpu in seen.values():
        by_kind[kind_of(cmdline)][0] += 1
        by_kind[kind_of(cmdline)][1] += cpu
    total = sum(cpu for _, cpu in by_kind.values())
    print(f"suite exit code {suite.returncode}; wall {wall:.0f} s; CPU {total:.0f} s "
          f"({total / wall:.2f} cores busy on average of {os.cpu_count()})")
    for name, (count, cpu) in sorted(by_kind.items(), key=lambda item: -item[1][1]):
        print(f"{cpu:8.0f} s CPU  {cpu / total:6.1%}  {count:5d} processes  {name}")
    sys.exit(suite.returncode)


if __name__ == "__main__":
    main()
