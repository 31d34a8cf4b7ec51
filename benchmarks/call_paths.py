"""How many of the project's files one training passes through, from the Train page's "Start training"
to the saved run, and one drawing, from a student's Send to its dot on the projector; and in how many
processes. Counted, not guessed, on this tree or on any other checkout of the repository (an older
commit, for the before-and-after in docs/architecture.md).

Every Python process the app starts runs `benchmarks/call_path_tracer/sitecustomize.py` (put first on
PYTHONPATH), which notes in 0.05 s slices which project files had a function called, and the frames
that led to each call of a few functions where the work changes hands (SINKS).

- The training: a real server in the checkout; a real browser opens the Train page and, once every
  process but the web server has been quiet for two seconds (the warm training process ready),
  presses "Start training" with the form as it comes (the default preset), and closes the page once
  the click's rerun has ended, so that no page is redrawn while the run trains. Counted: the files
  with a function run, in any process, between the click and the moment the run's folder appears
  (saved atomically).
- The drawing: the class as `make classroom SERVERS=3` runs it; over the websocket, a student on the
  last web server sends a drawing, and the projector (the signed-in teacher on the first) refreshes
  its board a second later, as its browser does. Counted: the files run by the student's web server
  from the click to its answer, and by the projector's during the refresh that shows the dot.

A module's top level run by an import, and what it calls itself, do not count; nor do files under
`benchmarks/` and `tests/`. The chains (the frames that led to each SINK) are what a reader follows.

Run: .venv/bin/python -m benchmarks.call_paths [--repo CHECKOUT] [--servers 3]
     e.g. git worktree add /tmp/before be233a3^ && .venv/bin/python -m benchmarks.call_paths --repo /tmp/before
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.class_room import NAME_FIELD, board_of, pad_png
from tests.support.classroom_load import TEACHER_CODE, sign_in_as_teacher
from tests.support.harness import IDLE, AppServer, ClassServers, launch_chromium
from tests.support.waiting import wait_until
from tests.support.ws_client import StreamlitClient
from vae.data import default_cache_dir

TRACER = Path(__file__).resolve().parent / "call_path_tracer"
# Where the request meets the queue, where the queue hands it to a training process, where the run is
# written: the same functions on every commit measured so far.
SINKS = ("vae/jobs/queue.py:submit", "vae/jobs/process.py:send", "vae/runs/saving.py:save_run",
         "vae/classroom/board.py:add", "vae/classroom/board.py:place")
PROJECTOR_REFRESH = 0.5  # pages/class_map.py's run_every for the teacher's board
NOT_THE_APP = ("benchmarks/", "tests/")
QUIET_SECONDS = 2.0
SLICE_SECONDS = 0.05  # how finely the tracer tells moments apart
WEB_SERVER = "web server (streamlit run app.py)"


def traced_env(repo: Path, trace_dir: Path) -> dict:
    """What the app's processes need to run the checkout's code, traced."""
    return {"PYTHONPATH": os.pathsep.join([str(TRACER), str(repo)]), "LATENT_LAB_TRACE_DIR": str(trace_dir),
            "LATENT_LAB_TRACE_ROOT": f"{repo}/", "LATENT_LAB_TRACE_SINKS": ";".join(SINKS),
            "LATENT_LAB_TRACE_SLICE_SECONDS": str(SLICE_SECONDS)}


def read_traces(trace_dir: Path) -> dict[int, dict]:
    """Each traced process: its command line and its slices (end time, files called in the slice)."""
    processes = {}
    for log in trace_dir.glob("*.jsonl"):
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        head = lines[0]
        processes[head["pid"]] = {"argv": head["argv"],
                                  "slices": [(line["t"], line["files"]) for line in lines if "files" in line],
                                  "stacks": [(line["t"], line["stack"]) for line in lines if "stack" in line]}
    return processes


def training_process_ready(trace_dir: Path) -> bool:
    """A process besides the web server has started, and none has called anything for a while: the
    warm training process has imported, loaded and compiled what it does before a job (the web server
    itself never rests: its queue looks after its workers a few times a second)."""
    others = [process for process in read_traces(trace_dir).values() if "streamlit" not in process["argv"]]
    last = max((t for process in others for t, _ in process["slices"]), default=None)
    return last is not None and time.time() - last > QUIET_SECONDS


def saved_runs(runs_dir: Path) -> list[Path]:
    return [path for path in runs_dir.iterdir() if path.is_dir() and not path.name.startswith(".")]


def trace_one_training(repo: Path, work: Path) -> tuple[dict, float, float, float]:
    trace_dir, runs_dir = work / "trace", work / "runs"
    trace_dir.mkdir()
    runs_dir.mkdir()
    server = AppServer(runs_dir, default_cache_dir(), work / "server.log", traced_env(repo, trace_dir), root=repo)
    url = server.url
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/train")
            button = page.get_by_role("button", name="Start training")
            button.wait_for(timeout=60_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            wait_until(lambda: training_process_ready(trace_dir), 180, message="the warm training process ready")
            clicked = time.time()
            button.click()
            time.sleep(0.3)  # let the click's rerun begin, then wait for it to end
            page.wait_for_selector(IDLE, timeout=60_000)
            page.close()
            browser.close()
            closed = time.time()
        wait_until(lambda: saved_runs(runs_dir), 600, 0.05, message="the run saved")
        saved = time.time()
        time.sleep(3 * SLICE_SECONDS)  # the last slices written
        return read_traces(trace_dir), clicked, closed, saved
    finally:
        server.stop()


def train_class_run(repo: Path, runs_dir: Path) -> None:
    """The run the class map shows, trained and saved by the checkout's own code (untraced): a run saved
    by another commit's code may not be one it reads."""
    script = ("import sys; from vae.config import preset; from vae.data import load_mnist; "
              "from vae.training.lab import train_and_save; "
              "train_and_save(preset('default').replace(epochs=1, train_subset=5000), load_mnist(), sys.argv[1], "
              "'class-run', 'default')")
    env = {**os.environ, "PYTHONPATH": str(repo), "LATENT_LAB_CACHE": str(default_cache_dir())}
    subprocess.run([sys.executable, "-c", script, str(runs_dir)], cwd=repo, env=env, check=True, timeout=600,
                   capture_output=True)


def trace_one_drawing(repo: Path, work: Path, servers: int) -> tuple[dict, tuple, tuple, tuple]:
    """A class on `servers` web servers: a student on the last sends a drawing; the projector (the
    signed-in teacher on the first) refreshes its board as its browser does and shows the dot. Each
    part is counted in the web server that does it: the Send in the student's, from the click to its
    answer; the refresh that shows the dot in the projector's (the store is the only thing between)."""
    trace_dir, runs_dir = work / "trace", work / "runs"
    trace_dir.mkdir()
    train_class_run(repo, runs_dir)
    env = {**traced_env(repo, trace_dir), "LATENT_LAB_TEACHER_CODE": TEACHER_CODE}
    launcher = ClassServers(runs_dir, default_cache_dir(), work / "class.log", servers, env, root=repo)
    urls = launcher.urls
    projector = student = None
    try:
        projector = StreamlitClient(urls[0])
        if not sign_in_as_teacher(projector, TEACHER_CODE):
            raise SystemExit("the teacher could not sign in")
        projector.open_page("class_map")
        projector.click("Ask: where will the encoder put it?")  # as benchmarks/class_board.py's projector
        (board,) = [fragment for name, (_, fragment) in projector.components.items() if name.endswith("map_state")]
        student = StreamlitClient(urls[-1], source="127.0.0.10")
        student.open_page("class_map")
        student.set_text(NAME_FIELD, "Ada")
        student.set_component_state("latent_lab_drawing_pad", {"png": pad_png()})
        student.choose("Which digit did you draw?", "1")
        sent = time.time()
        student.click("Send it to the class map")
        acknowledged = time.time()
        time.sleep(1.0)  # apart in time from the Send, so that each server's part is told apart
        deadline = time.monotonic() + 60
        while True:
            refreshed = time.time()
            if board_of(projector.rerun_fragment(board))["board"]:
                break
            if time.monotonic() > deadline:
                raise SystemExit("the drawing did not reach the projector within 60 s")
            time.sleep(PROJECTOR_REFRESH)
        shown = time.time()
        time.sleep(3 * SLICE_SECONDS)  # the last slices written
        return read_traces(trace_dir), (sent, acknowledged), (refreshed, shown), (urls[-1], urls[0])
    finally:
        for client in (projector, student):
            if client:
                client.close()
        launcher.stop()


def role(argv: list[str]) -> str:
    """A short name for a process, from its command line."""
    if "streamlit" in argv:
        port = argv[argv.index("--server.port") + 1] if "--server.port" in argv else "?"
        return f"{WEB_SERVER} on port {port}"
    modules = [argv[i + 1] for i, part in enumerate(argv[:-1]) if part == "-m"]
    return f"python -m {modules[0]}" if modules else " ".join(argv)[:80]


def files_between(processes: dict, repo: Path, start: float, end: float) -> dict[str, set[str]]:
    """Per process (by role): the project files with a function called in a slice overlapping [start, end]."""
    called = defaultdict(set)
    for process in processes.values():
        for t, files in process["slices"]:
            if t > start and t - SLICE_SECONDS < end:
                called[role(process["argv"])].update(
                    relative for path in files
                    if not (relative := os.path.relpath(path, repo)).startswith(NOT_THE_APP))
    return {name: files for name, files in called.items() if files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout to measure (default: this one)")
    parser.add_argument("--servers", type=int, default=3, help="the class's web servers, for the drawing")
    args = parser.parse_args()
    repo = args.repo.resolve()
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"checkout {repo} (commit {commit})")
    with tempfile.TemporaryDirectory(prefix="call-paths-") as work:
        processes, clicked, closed, saved = trace_one_training(repo, Path(work))
    report_training(processes, repo, clicked, closed, saved)
    with tempfile.TemporaryDirectory(prefix="call-paths-") as work:
        processes, sending, showing, (student_url, projector_url) = trace_one_drawing(repo, Path(work), args.servers)
    print()
    student_server, projector_server = (f"{WEB_SERVER} on port {url.rsplit(':', 1)[1]}"
                                        for url in (student_url, projector_url))
    send = files_between(processes, repo, *sending).get(student_server, set())
    show = files_between(processes, repo, *showing).get(projector_server, set())
    report(f"one drawing, a student's Send to its dot on the projector ({args.servers} web servers)",
           {f"the student's {student_server}: the Send ({sending[1] - sending[0]:.2f} s)": send,
            f"the projector's {projector_server}: the refresh that shows it ({showing[1] - showing[0]:.2f} s)": show})
    report_chains(chains_between(processes, sending[0], showing[1]))


def report_training(processes: dict, repo: Path, clicked: float, closed: float, saved: float) -> None:
    report(f'one training, "Start training" to the saved run ({saved - clicked:.1f} s)',
           files_between(processes, repo, clicked, saved))
    report(f"of which the click's rerun of the page ({closed - clicked:.1f} s)",
           files_between(processes, repo, clicked, closed))
    report(f"and, once the page was closed, the queue and the training ({saved - closed:.1f} s)",
           files_between(processes, repo, closed, saved))
    report_chains(chains_between(processes, clicked, saved))


def report_chains(chains: list[tuple[str, list]]) -> None:
    on_chains = {file for _, stack in chains for file, _ in stack}
    sinks = sorted({f"{stack[-1][0]}:{stack[-1][1]}" for _, stack in chains})
    print(f"the chain a reader follows, the frames that led to {', '.join(sinks)}: "
          f"{len(on_chains)} files in {len({name for name, _ in chains})} processes")
    for name, stack in chains:
        print(f"  {name}:")
        for file, function in stack:
            print(f"    {file}:{function}")


def chains_between(processes: dict, start: float, end: float) -> list[tuple[str, list]]:
    """Each sink's first call in [start, end], in time order: the process and the frames that led to it."""
    first = {}
    for process in processes.values():
        for t, stack in process["stacks"]:
            sink = tuple(stack[-1])
            if start < t < end and (sink not in first or t < first[sink][0]):
                first[sink] = (t, role(process["argv"]), stack)
    return [(name, stack) for _, name, stack in sorted(first.values())]


def report(what: str, called: dict[str, set[str]]) -> None:
    every_file = set().union(*called.values())
    print(f"{what}: {len(every_file)} files in {len(called)} processes")
    for name, files in sorted(called.items()):
        print(f"  {name}: {len(files)} files")
        for path in sorted(files):
            print(f"    {path}")


if __name__ == "__main__":
    main()
