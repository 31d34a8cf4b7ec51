"""A class of N students on one server: N websocket sessions (the app's own protocol, see
ws_client.py) open the latent explorer and move a slider about once a second, waiting for the
new point to reach the map (whose browser then decodes the digit itself), while one more
session queues default trainings that run back to back.
Bounded in time and count; stops by itself. Goal (issue 9): with 40 sessions and two trainings,
slider p95 <= 250 ms, 0 errors, both trainings saved. With --classroom (issue 12) the server runs in
classroom mode: the session that queues the trainings signs in as the teacher first, then keeps
the Classroom page (its tools, the connected count) open, reloading it every 5 s.

Run: python benchmarks/classroom_load.py [--sessions 40] [--seconds 60] [--trainings 2] [--classroom]
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


TEACHER_CODE = "LOAD-TEST-CODE"


def sign_in_as_teacher(client: StreamlitClient, code: str) -> bool:
    """On the Classroom page, as a teacher does: the code, then Sign in. True if it took."""
    client.open_page("classroom")
    client.set_text("Teacher code (printed where the app was started)", code)
    return "Signed in as the teacher." in client.click("Sign in").texts


def teacher_queues_trainings(url: str, count: int, errors: list, classroom: bool = False) -> StreamlitClient | None:
    """Queues `count` default trainings; in classroom mode signs in as the teacher first and
    returns the (still open) session."""
    try:
        client = StreamlitClient(url)
        if classroom and not sign_in_as_teacher(client, TEACHER_CODE):
            errors.append("teacher: could not sign in")
        client.open_page("train")
        for _ in range(count):
            outcome = client.click("Start training")
            if outcome.exceptions:
                errors.append(f"training: {outcome.exceptions}")
        if classroom:
            return client
        client.close()
    except Exception as error:
        errors.append(f"training: {type(error).__name__}: {error}")
    return None


def teacher_watches(client: StreamlitClient, deadline: float, latencies: list, errors: list) -> None:
    """The teacher's Classroom page, reloaded every 5 s while the class works."""
    try:
        while time.monotonic() < deadline:
            time.sleep(5)
            started = time.perf_counter()
            outcome = client.open_page("classroom")
            if outcome.exceptions or "Signed in as the teacher." not in outcome.texts:
                errors.append(f"teacher: {outcome.exceptions or 'the tools were not drawn'}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
        client.close()
    except Exception as error:
        errors.append(f"teacher: {type(error).__name__}: {error}")


def wait_for_saved_runs(runs_dir: Path, count: int, timeout: float) -> int:
    """The number of runs saved, waiting (bounded) until there are `count`."""
    deadline = time.monotonic() + timeout
    while len(list_runs(runs_dir).runs) < count and time.monotonic() < deadline:
        time.sleep(1)
    return len(list_runs(runs_dir).runs)


def run_load(url: str, sessions: int, seconds: float, trainings: int, runs_dir: Path,
             classroom: bool = False) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    teacher_latencies: list[float] = []
    per_session: list[list[float]] = [[] for _ in range(sessions)]
    deadline = time.monotonic() + seconds
    runs_before = len(list_runs(runs_dir).runs)
    teacher = teacher_queues_trainings(url, trainings, errors, classroom) if trainings or classroom else None
    threads = [threading.Thread(target=student, args=(url, deadline, n, per_session[n], errors), daemon=True)
               for n in range(sessions)]
    if teacher is not None:
        threads.append(threading.Thread(target=teacher_watches, args=(teacher, deadline, teacher_latencies, errors),
                                        daemon=True))
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
        "teacher_page_loads": len(teacher_latencies),
        "teacher_page_median_ms": round(statistics.median(teacher_latencies), 1) if teacher_latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--trainings", type=int, default=2)
    parser.add_argument("--classroom", action="store_true", help="classroom mode, with a signed-in teacher")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="classroom-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=5000), load_mnist(), runs_dir, "class-demo")
    extra_env = {"LATENT_LAB_CLASSROOM": "1", "LATENT_LAB_TEACHER_CODE": TEACHER_CODE} if args.classroom else {}
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log", extra_env)
    try:
        figures = run_load(server.url, args.sessions, args.seconds, args.trainings, runs_dir, args.classroom)
        figures["server_rss_mb"] = round(server_rss_mb(server.process.pid))
    finally:
        server.stop()
    mode = "classroom mode, a signed-in teacher and " if args.classroom else ""
    print(f"{mode}{figures['sessions']} sessions, {figures['moves']} slider moves in {args.seconds:.0f} s while "
          f"{args.trainings} default training(s) run back to back: median {figures['median_ms']} ms, "
          f"p95 {figures['p95_ms']} ms (goal 250); worst session p95 {figures['worst_session_p95_ms']} ms; "
          f"errors {figures['errors']}; server RSS {figures['server_rss_mb']} MB; trainings saved "
          f"{figures['trainings_saved']} of {args.trainings} ({figures['trainings_saved_during_load']} "
          "within the load's time)")
    if args.classroom:
        print(f"teacher's Classroom page reloaded {figures['teacher_page_loads']} times, "
              f"median {figures['teacher_page_median_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
