"""Where the test suite's CPU time goes: runs the suite (the README's `make test` minus ruff and
lint-imports, i.e. `python -m pytest` with the project's options) and samples /proc four times a
second for every process it starts, however deep (xdist workers, Streamlit servers, training
processes, Celery workers, chromium, node, redis-server). Prints the wall time and, per kind of
process, how many ran and the CPU seconds they used; the ratio of CPU to wall time says how much
of the two cores the suite keeps busy.

With --by-file, it also prints the CPU of the processes each test file started (its servers,
browsers, training processes), told by the PYTEST_CURRENT_TEST a process inherits from the test
that started it: a browser or server a session fixture starts counts for the test that first
asked for it. The test workers' own CPU is not split this way (the junit report's times do that).

A process's CPU is its own user + system time as last sampled (what it used in its last quarter
second, and processes that lived less than that, are missed: the totals are a little low).

Run: .venv/bin/python -m benchmarks.suite_cpu [--by-file] [pytest arguments, e.g. tests/test_pages.py]
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


def test_file_of(pid: int) -> str:
    """The test file whose test started the process (PYTEST_CURRENT_TEST, as it inherited it)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "?"
    current = next((item[len(b"PYTEST_CURRENT_TEST="):] for item in environ
                    if item.startswith(b"PYTEST_CURRENT_TEST=")), b"")
    return current.decode(errors="replace").split("::")[0] or "(none)"


def kind_of(cmdline: str) -> str:
    return next((name for marker, name in KINDS if marker in cmdline), f"other: {cmdline[:70]}")


def main() -> None:
    by_file = "--by-file" in sys.argv
    arguments = [argument for argument in sys.argv[1:] if argument != "--by-file"]
    started = time.monotonic()
    suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments])
    known: set[int] = set()
    seen: dict[int, tuple[str, float]] = {}
    files: dict[int, str] = {}
    while suite.poll() is None:
        known = descendants(suite.pid, known)
        for pid in known:
            if (now := sample(pid)) is not None and now[0]:
                seen[pid] = now
                if by_file and pid not in files:
                    files[pid] = test_file_of(pid)
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
    if by_file:
        print_by_file(seen, files)
    sys.exit(suite.returncode)


def print_by_file(seen: dict[int, tuple[str, float]], files: dict[int, str]) -> None:
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for pid, (cmdline, cpu) in seen.items():
        if files.get(pid, "(none)") != "(none)":
            table[files[pid]][kind_of(cmdline).split(" (")[0]] += cpu
    print("\nCPU of the processes each test file started (s):")
    for name, kinds in sorted(table.items(), key=lambda item: -sum(item[1].values())):
        parts = ", ".join(f"{kind} {cpu:.0f}" for kind, cpu in sorted(kinds.items(), key=lambda item: -item[1]))
        print(f"{sum(kinds.values()):8.0f}  {name}: {parts}")


if __name__ == "__main__":
    main()
