"""A class of N students on one server: N websocket sessions (the app's own protocol, see
ws_client.py) open the latent explorer and move a slider about once a second, waiting for the
new point to reach the map (whose browser then decodes the digit itself), while one more
session queues default trainings that run back to back.
Bounded in time and count; stops by itself. Goal (issue 9): with 40 sessions and two trainings,
slider p95 <= 250 ms, 0 errors, both trainings saved.

Run: python benchmarks/classroom_load.py [--sessions 40] [--seconds 60] [--trainings 2]
"""

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import _common  # noqa: F401
from _ui import server_rss_mb
from ws_client import StreamlitClient

from tests.e2e.harness import AppServer
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.lab import train_and_save
from vae.runs import list_runs


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def reached_the_map(outcome, value: float) -> bool:
    """The map's state (sent to its browser component) carries the new z₁; or, for a run whose
    decoder cannot run in the browser, the server drew a new image."""
    states = [c["state"] for c in outcome.components if "state" in c and "z" in (c["state"] or {})]
    return any(abs(state["z"][0] - value) < 1e-6 for state in states) or bool(outcome.images)


def student(url: str, deadline: float, seed: int, latencies: list, errors: list) -> None:
    rng = random.Random(seed)
    try:
        client = StreamlitClient(url)
        client.open_page("")
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.5, 1.5))  # a person drags, looks, drags again
            started = time.perf_counter()
            value = round(rng.uniform(-4, 4), 2)
            outcome = client.set_slider("z1", value)
            if outcome.exceptions or not reached_the_map(outcome, value):
                errors.append(f"session {seed}: {outcome.exceptions or 'the new point did not reach the map'}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
        client.close()
    except Exception as error:  # any failure of a session is an error to report, not a crash
        errors.append(f"session {seed}: {type(error).__name__}: {error}")


def teacher_queues_trainings(url: str, count: int, errors: list) -> None:
    try:
        client = StreamlitClient(url)
        client.open_page("train")
        for _ in range(count):
            outcome = client.click("Start training")
            if outcome.exceptions:
                errors.append(f"training: {outcome.exceptions}")
        client.close()
    except Exception as error:
        errors.append(f"training: {type(error).__name__}: {error}")


def wait_for_saved_runs(runs_dir: Path, count: int, timeout: float) -> int:
    """The number of runs saved, waiting (bounded) until there are `count`."""
    deadline = time.monotonic() + timeout
    while len(list_runs(runs_dir).runs) < count and time.monotonic() < deadline:
        time.sleep(1)
    return len(list_runs(runs_dir).runs)


def run_load(url: str, sessions: int, seconds: float, trainings: int, runs_dir: Path) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    per_session: list[list[float]] = [[] for _ in range(sessions)]
    deadline = time.monotonic() + seconds
    runs_before = len(list_runs(runs_dir).runs)
    if trainings:
        teacher_queues_trainings(url, trainings, errors)
    threads = [threading.Thread(target=student, args=(url, deadline, n, per_session[n], errors), daemon=True)
               for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    for values in per_session:
        latencies += values
    saved_during_load = len(list_runs(runs_dir).runs) - runs_before
    saved = wait_for_saved_runs(runs_dir, runs_before + trainings, timeout=240) - runs_before
    medians = [statistics.median(v) for v in per_session if v]
    p95s = [percentile(v, 0.95) for v in per_session if v]
    return {
        "sessions": sessions, "moves": len(latencies), "errors": len(errors), "error_samples": errors[:5],
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "worst_session_median_ms": round(max(medians), 1) if medians else None,
        "worst_session_p95_ms": round(max(p95s), 1) if p95s else None,
        "stuck_sessions": sum(thread.is_alive() for thread in threads),
        "trainings_queued": trainings, "trainings_saved_during_load": saved_during_load,
        "trainings_saved": saved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--trainings", type=int, default=2)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="classroom-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=5000), load_mnist(), runs_dir, "class-demo")
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    try:
        figures = run_load(server.url, args.sessions, args.seconds, args.trainings, runs_dir)
        figures["server_rss_mb"] = round(server_rss_mb(server.process.pid))
    finally:
        server.stop()
    print(f"{figures['sessions']} sessions, {figures['moves']} slider moves in {args.seconds:.0f} s while "
          f"{args.trainings} default training(s) run back to back: median {figures['median_ms']} ms, "
          f"p95 {figures['p95_ms']} ms (goal 250); worst session p95 {figures['worst_session_p95_ms']} ms; "
          f"errors {figures['errors']}; server RSS {figures['server_rss_mb']} MB; trainings saved "
          f"{figures['trainings_saved']} of {args.trainings} ({figures['trainings_saved_during_load']} "
          "within the load's time)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
