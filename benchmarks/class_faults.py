"""Each kind of process of `make classroom SERVERS=3` killed (SIGKILL) during a class, one after the
other: how many seconds until the class serves again, and what was lost.

The class: a prepared run, Ada named (her browser's key cookie) with a drawing on the board, the
teacher signed in with an open question, one long training running and one waiting. Then:

1. a web server: until its port answers again and Ada, reconnecting, has her name and drawing;
2. the training process: until the waiting training runs (the killed one ends failed, in a sentence);
3. the join address: until it sends a browser on again;
4. the training queue's process, with a training running and one waiting: until the queue answers
   the web servers again and the waiting training runs;
5. the launcher: until every process it started has ended, then `make classroom` again: until every
   web server answers.

After each, what the class still has is compared with before: names, drawings, the question, the
queue's line. Goal: nothing lost but the killed training's progress.

Run: .venv/bin/python -m benchmarks.class_faults
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import tempfile
import time
from pathlib import Path

from tests.support.class_room import NAME_FIELD, board_of, send_drawing
from tests.support.classroom_load import TEACHER_CODE, sign_in_as_teacher
from tests.support.harness import ClassServers, healthy
from tests.support.processes import children_of, cpu_seconds, running
from tests.support.ws_client import StreamlitClient
from vae.classroom.board import Board
from vae.classroom.state import ClassroomState
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.jobs.store import JobStore
from vae.training.lab import train_and_save

ADA_KEY = "ada-secret-key-0123456789abcdef"
BOUND_SECONDS = 180  # every wait is bounded


def redirects(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 302
    except OSError:
        return False
    finally:
        connection.close()


def seconds_until(condition, started: float) -> float | None:
    while time.monotonic() - started < BOUND_SECONDS:
        if condition():
            return round(time.monotonic() - started, 2)
        time.sleep(0.05)
    return None


def what_the_class_has(runs_dir: Path) -> dict:
    """Read from the store, as a process that starts now would."""
    store = JobStore.beside(runs_dir)
    board, state = Board(store.database), ClassroomState(store.database)
    question = board.question
    jobs = store.load()
    return {"names": sorted(name for name, _, _ in state.names()),
            "drawings": [(d.name, d.digit) for d in board.drawings()],
            "question": question.sentence() if question else None,
            "jobs": [(job["run_name"], job["state"]) for job in jobs]}


def ada(url: str) -> StreamlitClient:
    return StreamlitClient(url, cookies={"latent_lab_key": ADA_KEY})


def ada_is_back(url: str) -> bool:
    client = None
    try:
        client = ada(url)
        outcome = client.open_page("class_map")
        named = not any(NAME_FIELD in text for text in outcome.texts)
        return named and any(d["name"] == "Ada" for d in board_of(outcome)["board"])
    except Exception:  # noqa: BLE001 - not yet: the server is still starting
        return False
    finally:
        if client is not None:
            client.close()


def training_process(queue: int) -> int | None:
    """The queue's training process that is training (the busiest; a warm spare waits idle)."""
    workers = [pid for pid in children_of(queue) if b"vae.jobs.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return max(workers, key=cpu_seconds) if workers else None


def process_name(pid: int) -> str:
    """`vae.jobs.worker`, `streamlit`, `vae.classroom.join`: the module a child runs."""
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return arguments[2].decode() if len(arguments) > 2 else arguments[0].decode()


def job_state(runs_dir: Path, name: str) -> str | None:
    return next((job["state"] for job in JobStore.beside(runs_dir).load() if job["run_name"] == name), None)


def queue_trainings(url: str, runs_dir: Path, trainings) -> None:
    """The teacher asks for `trainings` ((name, epochs), ...); returns once the first runs."""
    teacher = StreamlitClient(url)
    assert sign_in_as_teacher(teacher, TEACHER_CODE), "the teacher could not sign in"
    teacher.open_page("train")
    for name, epochs in trainings:
        teacher.set_text("Run name (optional)", name)
        teacher.set_number("Epochs", epochs)
        teacher.click("Start training")
    teacher.close()
    first = trainings[0][0]
    assert seconds_until(lambda: job_state(runs_dir, first) == "running", time.monotonic()) is not None, \
        f"{first} never ran"


def queue_answers(url: str) -> bool:
    """A web server's Train page draws the queue without an exception."""
    client = None
    try:
        client = StreamlitClient(url)
        outcome = client.open_page("train")
        return not outcome.exceptions and "Start training" in client.widgets
    except Exception:  # noqa: BLE001 - not yet
        return False
    finally:
        if client is not None:
            client.close()


def set_up_class(servers: ClassServers, runs_dir: Path) -> None:
    first, second = servers.urls[0], servers.urls[1]
    student = ada(second)
    student.open_page("class_map")
    student.set_text(NAME_FIELD, "Ada")
    send_drawing(student, 1)
    student.close()
    teacher = StreamlitClient(first)
    assert sign_in_as_teacher(teacher, TEACHER_CODE), "the teacher could not sign in"
    teacher.open_page("class_map")
    teacher.click("Ask: where will the encoder put it?")
    teacher.close()
    queue_trainings(first, runs_dir, (("long-training", 200), ("waiting-training", 1)))


def main() -> None:
    runs_dir = Path(tempfile.mkdtemp(prefix="class-faults-runs-"))
    train_and_save(preset("default").replace(epochs=1, train_subset=5000), load_mnist(), runs_dir, "class-demo",
                   "default")
    log = runs_dir.parent / f"{runs_dir.name}.log"
    env = {"LATENT_LAB_TEACHER_CODE": TEACHER_CODE}
    servers = ClassServers(runs_dir, default_cache_dir(), log, 3, env)
    figures: dict[str, dict] = {}
    try:
        set_up_class(servers, runs_dir)
        before = what_the_class_has(runs_dir)

        url = servers.urls[1]
        victim, started = servers.web_server_pid(url), time.monotonic()
        os.kill(victim, signal.SIGKILL)
        figures["web server"] = {"serving_again_seconds": seconds_until(lambda: healthy(url), started),
                                 "student_back_seconds": seconds_until(lambda: ada_is_back(url), started),
                                 "lost": diff(before, what_the_class_has(runs_dir))}

        victim, started = training_process(servers.queue_pids()[0]), time.monotonic()
        os.kill(victim, signal.SIGKILL)
        figures["training process"] = {
            "next_training_running_seconds": seconds_until(
                lambda: job_state(runs_dir, "waiting-training") in ("running", "saving", "completed"), started),
            "killed_training": job_state(runs_dir, "long-training"),
            "lost": diff(before, what_the_class_has(runs_dir))}

        join_pid, started = servers.join_pids()[0], time.monotonic()
        os.kill(join_pid, signal.SIGKILL)
        figures["join address"] = {"redirecting_again_seconds": seconds_until(lambda: redirects(servers.port), started),
                                   "lost": diff(before, what_the_class_has(runs_dir))}

        seconds_until(lambda: job_state(runs_dir, "waiting-training") == "completed", time.monotonic())
        queue_trainings(servers.urls[0], runs_dir, (("second-long", 200), ("second-waiting", 1)))
        before = what_the_class_has(runs_dir)
        (victim,), started = servers.queue_pids(), time.monotonic()
        os.kill(victim, signal.SIGKILL)
        figures["training queue"] = {
            "queue_answering_seconds": seconds_until(lambda: servers.queue_pids() not in ([], [victim])
                                                     and queue_answers(servers.urls[1]), started),
            "waiting_training_running_seconds": seconds_until(
                lambda: job_state(runs_dir, "second-waiting") in ("running", "saving", "completed"), started),
            "running_training": job_state(runs_dir, "second-long"),
            "lost": diff(before, what_the_class_has(runs_dir))}

        seconds_until(lambda: job_state(runs_dir, "second-waiting") == "completed", time.monotonic())
        before = what_the_class_has(runs_dir)
        children = {pid: process_name(pid) for pid in children_of(servers.process.pid)}
        started = time.monotonic()
        os.kill(servers.process.pid, signal.SIGKILL)
        ended_at: dict[int, float] = {}

        def all_ended() -> bool:
            for pid in children:
                if pid not in ended_at and not running(pid):
                    ended_at[pid] = round(time.monotonic() - started, 2)
            return len(ended_at) == len(children)

        ended = seconds_until(all_ended, started)
        each = sorted(((ended_at.get(pid), name) for pid, name in children.items()), key=lambda x: -(x[0] or 1e9))
    finally:
        servers.stop()
    started = time.monotonic()
    again = ClassServers(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}-again.log", 3, env)
    try:
        figures["launcher"] = {"children_ended_seconds": ended, "each_ended_seconds": each,
                               "class_serving_again_seconds": round(time.monotonic() - started, 2),
                               "lost": diff(before, what_the_class_has(runs_dir))}
    finally:
        again.stop()
    for kind, result in figures.items():
        print(f"{kind}: " + ", ".join(f"{key} {value}" for key, value in result.items()))
    print(json.dumps(figures))


def diff(before: dict, after: dict) -> list[str]:
    """What the class had before that it no longer has (a job's state that moved on is not a loss)."""
    lost = [f"{key}: {before[key]} -> {after[key]}" for key in ("names", "drawings", "question")
            if before[key] != after[key]]
    after_jobs = dict(after["jobs"])
    lost += [f"job {name} is gone" for name, _ in before["jobs"] if name not in after_jobs]
    return lost


if __name__ == "__main__":
    main()
