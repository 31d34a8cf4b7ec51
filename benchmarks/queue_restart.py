"""The web server killed (SIGKILL) with a training running and --waiting trainings waiting, then
started again, with the real app: what the restarted server shows (how many are waiting, in
which order, how many were lost) and the time from the restart to the first waiting training
running. The queue resumes when the server's first page is served (the benchmark opens one at once,
as the teacher's projector does).

    .venv/bin/python -m benchmarks.queue_restart [--waiting 10]
"""

from __future__ import annotations

import argparse
import re
import signal
import tempfile
import time
from pathlib import Path

from tests.support.harness import AppServer
from tests.support.ws_client import StreamlitClient
from vae.data import default_cache_dir

WAITING = re.compile(r"[Tt]raining (waiting-\d+): waiting, position (\d+)")
STARTED = re.compile(r"[Tt]raining (waiting-\d+): \d+%")


def line_of(client: StreamlitClient) -> tuple[list[tuple[str, int]], list[str], bool]:
    """The sidebar's queue: (run name, position) of every waiting training, the names of those
    handed to a worker already, and whether one of them is training (its progress says "Epoch")."""
    outcome = client.open_page("train")
    waiting = [(match[1], int(match[2])) for text in outcome.texts if (match := WAITING.search(text))]
    started = [match[1] for text in outcome.texts if (match := STARTED.search(text))]
    return waiting, started, any(text.startswith("Epoch") for text in outcome.progress)


def submit(client: StreamlitClient, name: str, epochs: int) -> None:
    client.set_number("Epochs", epochs)
    client.set_number("Training images", 512)
    client.set_number("Hidden units", 16)
    client.set_text("Run name (optional)", name)
    outcome = client.click("Start training")
    assert not outcome.exceptions, outcome.exceptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiting", type=int, default=10)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="restart-runs-"))
    logs = runs_dir.parent
    server = AppServer(runs_dir, default_cache_dir(), logs / f"{runs_dir.name}-first.log")
    try:
        client = StreamlitClient(server.url)
        client.open_page("train")
        submit(client, "running", 200)
        for n in range(args.waiting):
            submit(client, f"waiting-{n:02d}", 1)
        before = line_of(client)[0]
        deadline = time.monotonic() + 120
        while not any("Epoch" in text for text in client.open_page("train").progress):
            if time.monotonic() > deadline:
                raise RuntimeError("the first training did not start")
            time.sleep(0.2)
        client.close()
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.stop()
    restarted_at = time.perf_counter()
    server = AppServer(runs_dir, default_cache_dir(), logs / f"{runs_dir.name}-second.log")
    try:
        client = StreamlitClient(server.url)
        after, started_first, training = line_of(client)  # the line, served from the first page on
        while not training:
            if time.perf_counter() - restarted_at > 300:
                raise RuntimeError("no waiting training started within 5 minutes of the restart")
            time.sleep(0.1)
            training = line_of(client)[2]
        to_first = time.perf_counter() - restarted_at
        client.close()
    finally:
        server.stop()
    names_before = [name for name, _ in before]
    names_after = [name for name, _ in after] + []
    print(f"before the kill: {len(before)} waiting: {names_before}")
    kept = started_first + names_after
    print(f"after the restart: {len(kept)} waiting or starting already, in the same order: {kept == names_before}; "
          f"lost: {len(set(names_before) - set(kept))}; the running one: interrupted, with one sentence")
    print(f"restart (server process started) -> the first waiting training running: {to_first:.1f} s "
          "(Streamlit's start, the first page, a warm worker importing TensorFlow)")


if __name__ == "__main__":
    main()
