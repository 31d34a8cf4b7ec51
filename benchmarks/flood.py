"""A flood from one machine in classroom mode: 100 websocket sessions, each a new browser key, each
naming itself and pressing Start on the default preset, as a script in a hostile classmate's hands
would. Then the teacher signs in and presses Start. Prints what the sessions were told, how many
trainings the queue took, the teacher's place in the line, and the time from the teacher's Start to
their training's first progress point (it waits only for the one student training already running).

    .venv/bin/python -m benchmarks.flood [--sessions 100]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from tests.support.classroom_load import sign_in_as_teacher
from tests.support.harness import AppServer
from tests.support.ws_client import StreamlitClient
from vae import classroom
from vae.data import default_cache_dir

CODE = "FLOOD-2345-KL"


def running(client: StreamlitClient, name: str) -> bool:
    """Whether the sidebar shows this session's training `name` as running ("Your training NAME: 3%")."""
    return any(text.startswith(f"Your training {name}: ") and text.endswith("%")
               for text in client.open_page("train").texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="flood-runs-"))
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log",
                       extra_env={classroom.CLASSROOM_ENV: "1", classroom.TEACHER_CODE_ENV: CODE})
    told: collections.Counter[str] = collections.Counter()
    try:
        started = time.perf_counter()
        for n in range(args.sessions):
            bot = StreamlitClient(server.url)
            try:
                bot.open_page("train")
                named = bot.set_text("Your name (a student's runs carry it)", f"Bot {n}")
                outcome = bot.click("Start training")
                for text in set(named.texts + outcome.texts):  # once per session, wherever it was shown
                    if "device" in text or "Type your name" in text or "class already" in text:
                        told[text] += 1
            finally:
                bot.close()
        flood_seconds = time.perf_counter() - started
        teacher = StreamlitClient(server.url)
        assert sign_in_as_teacher(teacher, CODE)
        queued = [t for t in teacher.open_page("classroom").texts if "by Bot" in t]
        teacher.open_page("train")
        pressed = time.perf_counter()
        outcome = teacher.click("Start training")
        refused = [t for t in outcome.texts if "already" in t]
        line = [t for t in teacher.open_page("train").texts if t.startswith("Your ") and "position" in t]
        name = line[0].split(":")[0].removeprefix("Your training ") if line else ""
        while not running(teacher, name):
            if time.perf_counter() - pressed > 900:
                raise RuntimeError("the teacher's training did not start within 15 minutes")
            time.sleep(0.25)
        to_start = time.perf_counter() - pressed
        teacher.close()
    finally:
        server.stop()
    print(f"{args.sessions} sessions from one machine in {flood_seconds:.0f} s; what they were told:")
    for text, count in told.most_common():
        print(f"  {count:4d} × {text}")
    print(f"student trainings the queue took: {len(queued)}")
    print(f"the teacher's Start: {'refused: ' + refused[0] if refused else 'accepted'}; "
          f"{line[0] if line else 'started at once (position 0)'}")
    print(f"teacher's Start -> their training started: {to_start:.1f} s "
          "(the student training already running ends first: one slot)")


if __name__ == "__main__":
    main()
