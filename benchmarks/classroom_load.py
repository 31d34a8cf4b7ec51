"""A class of N students on one server: N websocket sessions (the app's own protocol, see
tests/support/ws_client.py) open the latent explorer and move a slider about once a second, waiting for the
new point to reach the map (whose browser then decodes the digit itself), while one more
session queues default trainings that run back to back.
Bounded in time and count; stops by itself. Goal (issue 9): with 40 sessions and two trainings,
slider p95 <= 250 ms, 0 errors, both trainings saved. With --classroom (issue 12) the server runs in
classroom mode: the session that queues the trainings signs in as the teacher first, then keeps
the Classroom page (its tools, the connected count) open, reloading it every 5 s. With --servers N
(issue 19) the class runs as `make classroom SERVERS=N` runs it: N web server processes sharing the
class's board, classroom state and training queue (kept by the class's own process), the students
spread over them in turn, the teacher and the trainings on the first.

Run: .venv/bin/python -m benchmarks.classroom_load [--sessions 40] [--seconds 60] [--trainings 2] [--classroom]
     [--servers 1] [--repo PATH]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.support.browser_steps import server_rss_mb
from tests.support.classroom_load import TEACHER_CODE, run_load
from tests.support.harness import ROOT, AppServer, ClassServers
from tests.support.processes import cpu_seconds
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.runs import list_runs
from vae.training.lab import train_and_save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--trainings", type=int, default=2)
    parser.add_argument("--classroom", action="store_true", help="classroom mode, with a signed-in teacher")
    parser.add_argument("--servers", type=int, default=1,
                        help="web server processes for one class (`make classroom SERVERS=N`: they share the "
                             "class's board, state and queue, kept by the class's own process); the students "
                             "spread over them in turn, the teacher and the trainings on the first. Implies "
                             "--classroom when above 1")
    parser.add_argument("--report-moves", action="store_true",
                        help="every move is told to the server, as a conditional run's sliders or a leading "
                             "teacher's do (the default's stay in the browser)")
    parser.add_argument("--repo", type=Path, default=ROOT,
                        help="the checkout whose app the servers run (the students are this one's): an older "
                             "commit's worktree, to measure the code before beside this one")
    args = parser.parse_args()
    args.classroom = args.classroom or args.servers > 1
    runs_dir = Path(tempfile.mkdtemp(prefix="classroom-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=5000), load_mnist(), runs_dir, "class-demo")
    log = runs_dir.parent / f"{runs_dir.name}.log"
    if args.servers > 1:
        launched = ClassServers(runs_dir, default_cache_dir(), log, args.servers,
                                {"LATENT_LAB_TEACHER_CODE": TEACHER_CODE}, root=args.repo)
        urls, pids = launched.urls, launched.pids()  # the class's own process first, then its web servers
    else:
        extra_env = {"LATENT_LAB_CLASSROOM": "1", "LATENT_LAB_TEACHER_CODE": TEACHER_CODE} if args.classroom else {}
        launched = AppServer(runs_dir, default_cache_dir(), log, extra_env, root=args.repo)
        urls, pids = [launched.url], [launched.process.pid]
    try:
        cpu_before = [cpu_seconds(pid) for pid in pids]
        students_cpu_before = time.process_time()  # this process plays the students: its own CPU, beside the servers'
        at_all_joined: list[float] = []
        figures = run_load(urls, args.sessions, args.seconds, args.trainings, runs_dir, args.classroom,
                           on_all_joined=lambda: at_all_joined.append(sum(cpu_seconds(pid) for pid in pids)),
                           report_moves=args.report_moves)
        # The web servers' own CPU (a Streamlit process runs Python on one core at a time), per move;
        # with several, the class's own process (the shared board, state and queue) counts too.
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        figures["server_cpu_seconds"] = round(sum(cpu), 1)
        figures["server_cpu_seconds_each"] = [round(seconds, 1) for seconds in cpu]
        figures["server_cpu_ms_per_move"] = round(1000 * figures["server_cpu_seconds"] / max(1, figures["moves"]), 1)
        # Once the whole class has joined: the moves, with the timed refreshes and the teacher's page beside them.
        after = sum(cpu) + sum(cpu_before) - at_all_joined[0] if at_all_joined else None
        figures["server_cpu_ms_per_move_after_joining"] = (
            round(1000 * after / max(1, figures["moves_after_joining"]), 1) if after is not None else None)
        figures["students_cpu_seconds"] = round(time.process_time() - students_cpu_before, 1)
        figures["server_rss_mb"] = round(sum(server_rss_mb(pid) for pid in pids))
    finally:
        launched.stop()
    # Each queued training's own time (its metrics), what leaving the pages a core costs it.
    figures["training_seconds"] = sorted(round(run.metrics.get("train_seconds", 0.0), 1)
                                         for run in list_runs(runs_dir).runs if run.name != "class-demo")
    mode = "classroom mode, a signed-in teacher and " if args.classroom else ""
    where = (f" on {args.servers} web servers sharing the class (CPU: the class's process, then each server)"
             if args.servers > 1 else "")
    print(f"{mode}{figures['sessions']} sessions{where}, {figures['moves']} slider moves in {args.seconds:.0f} s while "
          f"{args.trainings} default training(s) run back to back; {figures['moves_sent']} of the moves sent to the "
          f"server (the others stay in the browser): median {figures['median_ms']} ms, "
          f"p95 {figures['p95_ms']} ms (goal 250); once every session had joined, p95 "
          f"{figures['p95_after_joining_ms']} ms of {figures['moves_sent_after_joining']} moves sent; "
          f"worst session p95 "
          f"{figures['worst_session_p95_ms']} ms; "
          f"{figures['refreshes']} timed refreshes of the students' pages (p95 {figures['refresh_p95_ms']} ms; "
          f"{figures['refreshes_whole_page']} of them redrew the whole page, the others p95 "
          f"{figures['refresh_fragment_p95_ms']} ms); "
          f"errors {figures['errors']}; server CPU {figures['server_cpu_seconds']} s "
          f"{str(figures['server_cpu_seconds_each']) + ' ' if args.servers > 1 else ''}"
          f"({figures['server_cpu_ms_per_move']} ms a move, joining and the teacher's page included; "
          f"{figures['server_cpu_ms_per_move_after_joining']} ms a move once every session had joined); "
          f"the simulated students' own process {figures['students_cpu_seconds']} s of CPU; "
          f"server RSS {figures['server_rss_mb']} MB; each student received {figures['student_mb_per_minute']} MB a "
          "minute (median, uncompressed, joining included); trainings saved "
          f"{figures['trainings_saved']} of {args.trainings} ({figures['trainings_saved_during_load']} "
          f"within the load's time; each trained in {figures['training_seconds']} s)")
    if args.classroom:
        print(f"teacher's Classroom page reloaded {figures['teacher_page_loads']} times, "
              f"median {figures['teacher_page_median_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
