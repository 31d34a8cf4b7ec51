"""A class of students on one server, played over the app's own websocket protocol
(tests.support.ws_client): N sessions open the latent explorer and move a slider about once a
second, waiting for the new point to reach the map (between moves rerunning what the page refreshes
on a timer, as a browser does: the sidebar's queue while trainings run), while one more session
queues default trainings that run back to back (in classroom mode, signed in as the teacher,
reloading the Classroom page). Bounded in time and count. Used by benchmarks/classroom_load.py
(40 or 100 sessions) and by the test suite's small classroom (5 sessions)."""

from __future__ import annotations

import random
import statistics
import threading
import time
from pathlib import Path

from tests.support.ws_client import StreamlitClient
from vae.runs import list_runs


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def reached_the_map(outcome, value: float) -> bool:
    """The session's point has the new z₁: the explorer's sliders (drawn in the browser) are sent it
    back, or, as the code before them did, the map's state (its browser component) carries it; or, for a
    run whose decoder cannot run in the browser, the server drew a new image."""
    points = [c["z"] for c in outcome.components if isinstance(c.get("z"), list)]
    points += [c["state"]["z"] for c in outcome.components if "z" in (c.get("state") or {})]
    return any(abs(z[0] - value) < 1e-6 for z in points) or bool(outcome.images)


def move_the_point(client: StreamlitClient, value: float, reports: bool):
    """One move of z₁ to `value`, as its browser sends it: on the code before the sliders were drawn in
    the browser, a release of Streamlit's slider "z1"; else, where the page's sliders tell Python each
    gesture (`reports`: their data's "report", or forced), the end of the gesture (one message from
    ui/latent_map/point.js); else nothing at all (None): the browser moves the point by itself."""
    if "z1" in client.widgets:
        return client.set_slider("z1", value)
    if reports:
        return client.set_component_state("latent_lab_point", {"z": [value, 0.0]})
    return None


def sliders_report(outcome) -> bool:
    """Do the explorer's browser-drawn sliders tell Python each gesture on this page (their data)?"""
    return any(component.get("report") for component in outcome.components if "labels" in component)


def student(url: str, deadline: float, seed: int, latencies: list, errors: list, joined: list,
            refreshes: list, received: list, report_moves: bool = False) -> None:
    """Appends (when the move started, its milliseconds, or None for a move its browser kept to itself)
    to `latencies`, and when its page had opened to `joined`; the milliseconds of each timed refresh its
    browser would make (the sidebar's queue while trainings run) to `refreshes`; the bytes the server
    sent it per minute on the page to `received`. `report_moves`: every move is told to Python, as a
    conditional run's or a leading teacher's page does."""
    rng = random.Random(seed)
    try:
        client = StreamlitClient(url)
        opened_at = time.monotonic()
        opened = client.open_page("")
        reports = report_moves or sliders_report(opened)
        joined.append(time.monotonic())
        due: dict[str, float] = {}
        while time.monotonic() < deadline:
            # A person drags, looks, drags again; meanwhile the browser reruns the page's timed parts.
            wait_refreshing(client, time.monotonic() + rng.uniform(0.5, 1.5), due, refreshes, errors, seed)
            began, started = time.monotonic(), time.perf_counter()
            value = round(rng.uniform(-4, 4), 2)
            outcome = move_the_point(client, value, reports)
            if outcome is None:
                latencies.append((began, None))
                continue
            if outcome.exceptions or not reached_the_map(outcome, value):
                errors.append(f"session {seed}: {outcome.exceptions or 'the new point did not reach the map'}")
                continue
            latencies.append((began, (time.perf_counter() - started) * 1000))
        received.append(client.bytes_received / ((time.monotonic() - opened_at) / 60))
        client.close()
    except Exception as error:  # any failure of a session is an error to report, not a crash
        errors.append(f"session {seed}: {type(error).__name__}: {error}")


def wait_refreshing(client: StreamlitClient, until: float, due: dict, refreshes: list, errors: list, seed: int) -> None:
    """Until `until`, rerun each fragment the page asked to refresh (`run_every`) when it is due, as
    its browser's timers do; `due`: fragment id -> when it next runs."""
    while (now := time.monotonic()) < until:
        for gone in set(due) - set(client.timers):
            del due[gone]
        for fragment_id, interval in client.timers.items():
            due.setdefault(fragment_id, now + interval)
        ready = [fragment_id for fragment_id, when in due.items() if when <= now]
        for fragment_id in ready:
            started = time.perf_counter()
            outcome = client.rerun_fragment(fragment_id)
            refreshes.append(((time.perf_counter() - started) * 1000, outcome.whole_page))
            if outcome.exceptions:
                errors.append(f"session {seed} refreshing: {outcome.exceptions}")
            if fragment_id in due:
                due[fragment_id] = time.monotonic() + client.timers.get(fragment_id, 0.0)
        time.sleep(max(0.0, min([until, *due.values()]) - time.monotonic()))


TEACHER_CODE = "LOAD-TEST-CODE"
STOP_TRAINING = "Stop training"  # the Train page's button for a running training (ui/training.py)


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


def stop_the_training(url: str, errors: list) -> None:
    """Presses the Train page's Stop training, if a training is still running to be stopped."""
    try:
        client = StreamlitClient(url)
        try:
            if STOP_TRAINING in client.open_page("train").widgets:
                outcome = client.click(STOP_TRAINING)
                if outcome.exceptions:
                    errors.append(f"stop: {outcome.exceptions}")
        finally:
            client.close()
    except Exception as error:
        errors.append(f"stop: {type(error).__name__}: {error}")


def wait_for_saved_runs(runs_dir: Path, count: int, timeout: float) -> int:
    """The number of runs saved, waiting (bounded) until there are `count`."""
    deadline = time.monotonic() + timeout
    while len(list_runs(runs_dir).runs) < count and time.monotonic() < deadline:
        time.sleep(1)
    return len(list_runs(runs_dir).runs)


def when_all_joined(joined: list, sessions: int, deadline: float, then) -> None:
    """Calls `then()` once every session has opened its page (if that happens before `deadline`)."""
    while len(joined) < sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    if len(joined) == sessions:
        then()


def run_load(url: str | list[str], sessions: int, seconds: float, trainings: int, runs_dir: Path,
             classroom: bool = False, on_all_joined=None, report_moves: bool = False,
             stop_training_after: bool = False) -> dict:
    """`url`: the server, or several (students spread over them in turn; the teacher on the first).
    `on_all_joined`: called (in a thread of its own) once every session has opened its page.
    `report_moves`: every move is told to Python (see student). `stop_training_after`: once the
    load is over, the training still running is stopped (the Train page's Stop; its run is kept
    as it stands) instead of waited for. Latency figures are of the moves sent to the server;
    "moves" counts them all."""
    urls = [url] if isinstance(url, str) else list(url)
    url = urls[0]
    latencies: list[float] = []
    errors: list[str] = []
    teacher_latencies: list[float] = []
    per_session: list[list[tuple[float, float]]] = [[] for _ in range(sessions)]
    joined: list[float] = []
    deadline = time.monotonic() + seconds
    runs_before = len(list_runs(runs_dir).runs)
    teacher = teacher_queues_trainings(url, trainings, errors, classroom) if trainings or classroom else None
    refreshes: list[tuple[float, bool]] = []  # (milliseconds, redrew the whole page)
    received: list[float] = []
    threads = [threading.Thread(target=student, args=(urls[n % len(urls)], deadline, n, per_session[n], errors, joined,
                                                      refreshes, received, report_moves), daemon=True)
               for n in range(sessions)]
    if on_all_joined is not None:
        threading.Thread(target=when_all_joined, args=(joined, sessions, deadline, on_all_joined), daemon=True).start()
    if teacher is not None:
        threads.append(threading.Thread(target=teacher_watches, args=(teacher, deadline, teacher_latencies, errors),
                                        daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    all_joined = max(joined) if len(joined) == sessions else float("inf")
    # Once every session has opened its page: the class at work, past the burst of a whole class joining.
    moves = sum(len(values) for values in per_session)
    moves_after_joining = sum(started >= all_joined for values in per_session for started, _ in values)
    after_joining = [ms for values in per_session for started, ms in values if started >= all_joined and ms is not None]
    per_session = [[ms for _, ms in values if ms is not None] for values in per_session]
    for values in per_session:
        latencies += values
    saved_during_load = len(list_runs(runs_dir).runs) - runs_before
    if stop_training_after:
        stop_the_training(url, errors)
    saved = wait_for_saved_runs(runs_dir, runs_before + trainings, timeout=240) - runs_before
    fragment_only = [ms for ms, whole in refreshes if not whole]
    medians = [statistics.median(v) for v in per_session if v]
    p95s = [percentile(v, 0.95) for v in per_session if v]
    return {
        "sessions": sessions, "moves": moves, "moves_sent": len(latencies), "errors": len(errors),
        "error_samples": errors[:5],
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "moves_after_joining": moves_after_joining, "moves_sent_after_joining": len(after_joining),
        "p95_after_joining_ms": round(percentile(after_joining, 0.95), 1) if after_joining else None,
        "worst_session_median_ms": round(max(medians), 1) if medians else None,
        "worst_session_p95_ms": round(max(p95s), 1) if p95s else None,
        "stuck_sessions": sum(thread.is_alive() for thread in threads),
        "refreshes": len(refreshes),
        "student_mb_per_minute": round(statistics.median(received) / 1e6, 2) if received else None,
        "refresh_p95_ms": round(percentile([ms for ms, _ in refreshes], 0.95), 1) if refreshes else None,
        # A refresh that redrew the whole page (the sidebar's, once the queue emptied), and those that did not.
        "refreshes_whole_page": sum(whole for _, whole in refreshes),
        "refresh_fragment_p95_ms": round(percentile(fragment_only, 0.95), 1) if fragment_only else None,
        "trainings_queued": trainings, "trainings_saved_during_load": saved_during_load,
        "trainings_saved": saved,
        "teacher_page_loads": len(teacher_latencies),
        "teacher_page_median_ms": round(statistics.median(teacher_latencies), 1) if teacher_latencies else None,
    }
