"""Where the test suite's CPU time goes: runs the suite (the README's `make test` minus ruff and
lint-imports, i.e. `python -m pytest` with the project's options) and samples /proc four times a
second for every process it starts, however deep (xdist workers, Streamlit servers, training
processes, Celery workers, chromium, node, redis-server). Prints the wall time and, per kind of
process, how many ran and the CPU seconds they used; the ratio of CPU to wall time says how much
of the two cores the suite keeps busy.

With --by-file, it also prints the CPU of the processes each test file started (its servers,
browsers, training processes), told by the PYTEST_CURRENT_TEST a process inherits from the test
that started it: a browser or server a session fixture starts counts for the test that first
asked for it; and the CPU each test used inside its xdist worker (benchmarks/worker_cpu.py), by file
and for the costliest tests.

A process's CPU is its own user + system time as last sampled (what it used in its last quarter
second, and processes that lived less than that, are missed: the totals are a little low).

Run: .venv/bin/python -m benchmarks.suite_cpu [--by-file] [pytest arguments, e.g. tests/test_pages.py]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import worker_cpu as worker_cpu_plugin
from benchmarks.worker_cpu import kind_of, sample
from tests.support.processes import descendants


def test_file_of(pid: int) -> str:
    """The test file whose test started the process (PYTEST_CURRENT_TEST, as it inherited it)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "?"
    current = next((item[len(b"PYTEST_CURRENT_TEST="):] for item in environ
                    if item.startswith(b"PYTEST_CURRENT_TEST=")), b"")
    return current.decode(errors="replace").split("::")[0] or "(none)"


def main() -> None:
    by_file = "--by-file" in sys.argv
    arguments = [argument for argument in sys.argv[1:] if argument != "--by-file"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="suite-cpu-") as folder:
        worker_cpu = Path(folder) / "worker-cpu.jsonl"
        plugin = ["-p", "benchmarks.worker_cpu"] if by_file else []
        suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, *arguments],
                                 env={**os.environ, worker_cpu_plugin.OUTPUT_ENV: str(worker_cpu)})
        watch_and_report(suite, started, by_file, worker_cpu)


def watch_and_report(suite: subprocess.Popen, started: float, by_file: bool, worker_cpu: Path) -> None:
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
        print_worker_cpu(worker_cpu)
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


def print_worker_cpu(path: Path, costliest: int = 25) -> None:
    if not path.is_file():
        return
    tests = [json.loads(line) for line in path.read_text().splitlines() if line]
    by_file: dict[str, list[float]] = defaultdict(list)
    for test in tests:
        by_file[test["test"].split("::")[0]].append(test["cpu"])
    print(f"\nCPU each test file used inside its xdist worker (s; {sum(t['cpu'] for t in tests):.0f} s in all):")
    for name, cpus in sorted(by_file.items(), key=lambda item: -sum(item[1]))[:30]:
        print(f"{sum(cpus):8.1f}  {len(cpus):4d} tests  {name}")
    print(f"\nThe {costliest} tests that used the most CPU inside their worker (s):")
    for test in sorted(tests, key=lambda test: -test["cpu"])[:costliest]:
        print(f"{test['cpu']:8.1f}  {test['test']}")
    print(f"\nThe {costliest} tests that used the most CPU with what ran below their worker meanwhile (s):")
    for test in sorted(tests, key=lambda test: -total_cpu(test))[:costliest]:
        below = ", ".join(f"{kind} {cpu:.1f}" for kind, cpu in sorted(test["below"].items(), key=lambda item: -item[1])
                          if cpu >= 0.1)
        print(f"{total_cpu(test):8.1f}  {test['test']}: worker {test['cpu']:.1f}, {below}")
    # Two workers on two cores: a test that keeps less than one core busy leaves the rest idle unless
    # the other worker's test takes it (the wait for a stall, a page's refresh, a load test's window).
    below_one_core = sum(max(0.0, test["wall"] - total_cpu(test)) for test in tests)
    print(f"\nSummed over the tests: {sum(test['wall'] for test in tests):.0f} s of wall time, "
          f"{sum(map(total_cpu, tests)):.0f} s of CPU; the time a test kept less than one core busy: "
          f"{below_one_core:.0f} s")
    print(f"\nThe {costliest} tests that kept the fewest cores busy for the longest (s of wall time, CPU per second):")
    for test in sorted(tests, key=lambda test: -(test["wall"] - total_cpu(test)))[:costliest]:
        print(f"{test['wall'] - total_cpu(test):8.1f}  {test['test']}: {test['wall']:.1f} s, "
              f"{total_cpu(test) / max(test['wall'], 1e-9):.2f} cores")


def total_cpu(test: dict) -> float:
    return test["cpu"] + sum(test["below"].values())


if __name__ == "__main__":
    main()
