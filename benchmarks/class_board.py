"""The class as one room, at class size: N student sessions, each from its own loopback address
(127.0.0.10, .11, ...: N phones to the server), open the Class map, name themselves, send a drawing
and tap a guess, refreshing the page's board and question as their browsers do (every 1 s), while
the projector (a signed-in teacher's session) keeps the class map open, refreshing its board as its
browser does (every 0.5 s). Students arrive spread over the first half of the window.

Figures: time from a student's Send to its dot on the projector's board (median, p95; goal p95 <= 1 s);
errors (goal 0): a send or guess not acknowledged, a dot that never reached the projector, an
exception; bytes each student's session received per minute (uncompressed messages). Then, in
headless chromium as a phone (390 x 844, touch, mobile), frames per second while a finger drags the
class run's map (goal >= 55).

With --servers N (2 to 8): the class as `make classroom SERVERS=N` runs it, the students spread over
its web servers in turn (the projector on the first), the board in the class's store.

Run: .venv/bin/python -m benchmarks.class_board [--sessions 40] [--seconds 60] [--servers 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browser_steps import server_rss_mb
from tests.support.class_room import NAME_FIELD, PHONE, Finger, board_of, join, pad_png
from tests.support.classroom_load import TEACHER_CODE, percentile, sign_in_as_teacher
from tests.support.harness import AppServer, ClassServers, PageWatcher, launch_chromium
from tests.support.ws_client import StreamlitClient
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save

STUDENT_REFRESH, PROJECTOR_REFRESH = 1.0, 0.5  # pages/class_map.py's run_every


def fragment_ids(client: StreamlitClient) -> list[str]:
    """The page's refreshing parts (the question, the board), as its browser reruns them."""
    ids = {fragment for _, fragment in client.widgets.values() if fragment}
    ids |= {fragment for name, (_, fragment) in client.components.items() if fragment and name.endswith("map_state")}
    return sorted(ids)


def projector(url: str, deadline: float, seen: dict, errors: list, counts: dict) -> None:
    teacher = StreamlitClient(url)
    try:
        assert sign_in_as_teacher(teacher, TEACHER_CODE), "the teacher could not sign in"
        teacher.open_page("class_map")
        teacher.click("Ask: where will the encoder put it?")
        (board_fragment,) = [f for name, (_, f) in teacher.components.items() if name.endswith("map_state")]
        counts["projector_ready"].set()
        while time.monotonic() < deadline:
            tick = time.monotonic()
            outcome = teacher.rerun_fragment(board_fragment)
            now = time.perf_counter()
            if outcome.exceptions:
                errors.append(f"projector: {outcome.exceptions}")
            for drawing in board_of(outcome)["board"]:
                seen.setdefault(drawing["name"], now)
            counts["projector_refreshes"] += 1
            time.sleep(max(0.0, tick + PROJECTOR_REFRESH - time.monotonic()))
        guesses = [t for t in teacher.open_page("class_map").texts if " so far." in t and "Question" in t]
        counts["guesses_on_projector"] = guesses[0] if guesses else "none"
    except Exception as error:  # the projector's failure is an error to report, not a crash
        errors.append(f"projector: {type(error).__name__}: {error}")
        counts["projector_ready"].set()
    finally:
        teacher.close()


def student(url: str, n: int, start: float, deadline: float, sent: dict, errors: list, traffic: list) -> None:
    rng = random.Random(n)
    name = f"Student {n}"
    time.sleep(max(0.0, start - time.monotonic()))
    try:
        client = StreamlitClient(url, source=f"127.0.0.{10 + n}")
    except Exception as error:
        errors.append(f"{name}: could not connect: {error}")
        return
    joined = time.monotonic()
    try:
        client.open_page("class_map")
        client.set_text(NAME_FIELD, name)
        client.set_component_state("latent_lab_drawing_pad", {"png": pad_png()})
        client.choose("Which digit did you draw?", "1")
        time.sleep(rng.uniform(0.5, 2.0))  # a person looks before sending
        sent[name] = time.perf_counter()
        outcome = client.click("Send it to the class map")
        if outcome.exceptions or not any(t.startswith("Sent: your 1") for t in outcome.texts):
            errors.append(f"{name}: send not acknowledged: {outcome.exceptions or outcome.texts}")
        time.sleep(rng.uniform(0.5, 2.0))
        z = [round(rng.uniform(-3, 3), 2), round(rng.uniform(-3, 3), 2)]
        outcome = client.set_component_state("latent_lab_map", {"z": z})
        if outcome.exceptions or not any(t.startswith("Your guess: (") for t in outcome.texts):
            errors.append(f"{name}: guess not acknowledged: {outcome.exceptions or outcome.texts[-3:]}")
        fragments = fragment_ids(client)
        steady_from, steady_bytes = time.monotonic(), client.bytes_received
        while time.monotonic() < deadline:  # the open page, as its browser keeps it fresh
            tick = time.monotonic()
            for fragment in fragments:
                outcome = client.rerun_fragment(fragment)
                if outcome.exceptions:
                    errors.append(f"{name}: {outcome.exceptions}")
            time.sleep(max(0.0, tick + STUDENT_REFRESH - time.monotonic()))
        now = time.monotonic()
        traffic.append((client.bytes_received / ((now - joined) / 60),
                        (client.bytes_received - steady_bytes) / ((now - steady_from) / 60)))
    except Exception as error:
        errors.append(f"{name}: {type(error).__name__}: {error}")
    finally:
        client.close()


def phone_drag_fps(url: str, drag_seconds: float) -> dict:
    """Frames per second while a finger drags the class map on a phone (CDP touch events)."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(**PHONE)
        watcher = PageWatcher(context.new_page())
        join(watcher, url, "Phone", "class_map")
        watcher.page.wait_for_selector("canvas.map", timeout=60_000)
        the_map = watcher.page.locator("canvas.map")
        the_map.scroll_into_view_if_needed()
        box = the_map.bounding_box()
        run = watcher.page.evaluate("() => Object.keys(window.__latentLab.stats)[0]")
        stats = f"window.__latentLab.stats['{run}']"
        finger = Finger(watcher.page)
        finger.down(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        frames_before = watcher.page.evaluate(f"() => {stats}.frames")
        started, step = time.perf_counter(), 0
        while time.perf_counter() - started < drag_seconds:  # a circle, as fast as the screen reports
            step += 1
            angle = step * 0.05
            finger.move(box["x"] + box["width"] * (0.5 + 0.4 * math.cos(angle)),
                        box["y"] + box["height"] * (0.5 + 0.4 * math.sin(angle)))
        elapsed = time.perf_counter() - started
        frames = watcher.page.evaluate(f"() => {stats}.frames") - frames_before
        finger.up()
        figures = {"phone_fps": round(frames / elapsed, 1), "touch_moves": step,
                   "touch_moves_per_s": round(step / elapsed, 1), "console_errors": watcher.errors}
        context.close()
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drag-seconds", type=float, default=3)
    parser.add_argument("--servers", type=int, default=1, help="web servers, as make classroom SERVERS=N")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="class-board-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=5000), load_mnist(), runs_dir, "class-demo",
                   "default")
    log = runs_dir.parent / f"{runs_dir.name}.log"
    if args.servers > 1:
        server = ClassServers(runs_dir, default_cache_dir(), log, args.servers,
                              {"LATENT_LAB_TEACHER_CODE": TEACHER_CODE})
        urls, pids = server.urls, lambda: server.pids()
    else:
        server = AppServer(runs_dir, default_cache_dir(), log,
                           {"LATENT_LAB_CLASSROOM": "1", "LATENT_LAB_TEACHER_CODE": TEACHER_CODE})
        urls, pids = [server.url], lambda: [server.process.pid]
    seen, sent, errors, traffic = {}, {}, [], []
    counts = {"projector_refreshes": 0, "projector_ready": threading.Event()}
    try:
        deadline = time.monotonic() + args.seconds
        watcher = threading.Thread(target=projector, args=(urls[0], deadline, seen, errors, counts))
        watcher.start()
        counts["projector_ready"].wait(120)
        begin = time.monotonic()
        threads = [threading.Thread(target=student, args=(urls[n % len(urls)], n,
                                                          begin + args.seconds * 0.5 * n / args.sessions,
                                                          deadline, sent, errors, traffic))
                   for n in range(args.sessions)]
        for thread in threads:
            thread.start()
        for thread in [*threads, watcher]:
            thread.join(args.seconds + 300)
        rss = sum(server_rss_mb(pid) for pid in pids())
        phone = phone_drag_fps(urls[-1], args.drag_seconds)
    finally:
        server.stop()
    latencies = [(seen[name] - at) * 1000 for name, at in sent.items() if name in seen]
    missing = sorted(set(sent) - set(seen))
    errors += [f"{name}: its dot never reached the projector" for name in missing]
    figures = {"sessions": args.sessions, "servers": args.servers, "seconds": args.seconds, "drawings_sent": len(sent),
               "dots_on_projector": len(latencies), "send_to_dot_median_ms": round(statistics.median(latencies))
               if latencies else None, "send_to_dot_p95_ms": round(percentile(latencies, 0.95)) if latencies else None,
               "errors": len(errors), "error_samples": errors[:5],
               "bytes_per_student_per_minute": round(statistics.median(t[0] for t in traffic)) if traffic else None,
               "steady_bytes_per_student_per_minute": round(statistics.median(t[1] for t in traffic))
               if traffic else None,
               "projector_refreshes": counts["projector_refreshes"], "guesses": counts.get("guesses_on_projector"),
               "server_rss_mb": round(rss), **phone}
    print(f"{args.sessions} students from {args.sessions} addresses on {args.servers} web server(s), {len(sent)} "
          f"drawings sent in {args.seconds:.0f} s "
          f"with the projector's class map open: send -> dot on the projector median "
          f"{figures['send_to_dot_median_ms']} ms, p95 {figures['send_to_dot_p95_ms']} ms (goal 1000); "
          f"errors {len(errors)}; {figures['guesses']}; received per student (median, uncompressed): "
          f"{figures['bytes_per_student_per_minute']:,} bytes/min over their time on the page, of which the page "
          f"kept open (the board's refreshes) {figures['steady_bytes_per_student_per_minute']:,} bytes/min; "
          f"servers' RSS {figures['server_rss_mb']} MB")
    print(f"phone (390 x 844, touch): {phone['phone_fps']} frames/s while a finger drags the class map "
          f"({phone['touch_moves_per_s']} touch moves/s sent; goal >= 55 fps)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
