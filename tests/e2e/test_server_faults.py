"""Servers killed (SIGKILL) with real processes. The app's server in the middle of a training, then
started again. And `make classroom SERVERS=2` mid-lesson: a web server is started again on its port
and its student comes back with their name and drawing; the training queue's process is started
again and the next training asked for is saved; the launcher's death ends every process it started
(no port left held), and starting the class again brings the board back as it was (figures for the
same faults: benchmarks/class_faults.py). One file, so these heavy tests never run beside each other
on the suite's two workers: a cold training process starved beside a whole class timed out once."""

import os
import re
import signal
import time

from tests.conftest import TINY, wait_until
from tests.support.class_room import NAME_FIELD, board_of, send_drawing
from tests.support.harness import AppServer, ClassServers, busy, healthy
from tests.support.processes import children_of, command_line, descendants, running
from tests.support.ws_client import StreamlitClient
from vae import classroom, runs
from vae.runs import list_runs
from vae.training.lab import train_and_save


def test_killing_the_server_mid_training_loses_nothing_leaves_no_workers_and_it_restarts(
    tmp_path, mnist_cache_dir, mnist, new_page
):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "earlier", "default")
    before = {p.name: p.read_bytes() for p in (runs_dir / "earlier").iterdir()}
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path / "first.log")
    try:
        watcher = new_page()
        watcher.goto(f"{server.url}/train")
        watcher.page.get_by_text("Hyperparameters").click()
        watcher.fill("spinbutton", "Epochs", 200)
        watcher.fill("textbox", "Run name (optional)", "never-finished")
        watcher.page.get_by_role("button", name="Start training").click()
        # A bound, not a timing: the training process starts cold beside the other test file's servers
        # and browser on 2 cores (it took 72 s beside two busy loops when it was niced; see tests/conftest.py).
        # Any epoch: the page may never be drawn during the first (a run here showed epoch 76 when the
        # wait for "Epoch 1/200" alone ran out, its refreshes slowed by the load beside it).
        watcher.page.get_by_text(re.compile(r"Epoch \d+/200")).first.wait_for(timeout=180_000)
        workers = children_of(server.process.pid)
        assert workers  # the training process (the next warm one starts when it is done)
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.stop()
    deadline = time.monotonic() + 20
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(running(pid) for pid in workers), "training processes outlived the server"

    listing = runs.list_runs(runs_dir)
    assert [run.name for run in listing.runs] == ["earlier"] and listing.problems == []
    assert {p.name: p.read_bytes() for p in (runs_dir / "earlier").iterdir()} == before

    # What a crash mid-save leaves (hidden, never listed) is cleared when the server starts again.
    stale = runs_dir / f"{runs.TEMP_PREFIX}crashed-abc"
    stale.mkdir()
    (stale / "config.json").write_text("{}")
    old = time.time() - runs.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    restarted = AppServer(runs_dir, mnist_cache_dir, tmp_path / "second.log")
    try:
        watcher = new_page()
        watcher.goto(restarted.url)
        assert "Run earlier:" in watcher.page.inner_text("body")
        assert not stale.exists()
        watcher.page.wait_for_selector("canvas.map", timeout=30_000)  # the latent map with its digit
        watcher.assert_clean()
    finally:
        restarted.stop()


CODE = "TEACH-3456-KL"
ADA_KEY = "ada-secret-key-0123456789abcdef"
KEY_COOKIE = "latent_lab_key"


def ada_at(url: str) -> StreamlitClient:
    """Ada's browser: the same key cookie on every connection (a reload, or a reconnect)."""
    return StreamlitClient(url, cookies={KEY_COOKIE: ADA_KEY})


def still_named(page) -> bool:
    """Ada's page knows her: no name field asked of her, and the sidebar says who she is."""
    return NAME_FIELD not in page.widgets and any("you are **Ada**" in text for text in page.texts)


def test_killed_class_processes_come_back_and_the_class_is_as_it_was(tmp_path, mnist_cache_dir, mnist):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "prepared", "default")
    env = {classroom.TEACHER_CODE_ENV: CODE}
    servers = ClassServers(runs_dir, mnist_cache_dir, tmp_path / "class.log", extra_env=env)
    first, second = servers.urls
    try:
        ada = ada_at(second)
        ada.open_page("class_map")
        ada.set_text(NAME_FIELD, "Ada")
        sent = send_drawing(ada, 1)
        assert any("Sent: your 1 is on the class map." in text for text in sent.texts), sent.texts
        ada.close()

        # A web server killed: the launcher starts it again on its port; Ada's browser reconnects.
        launcher, killed = servers.process.pid, servers.web_server_pid(second)
        os.kill(killed, signal.SIGKILL)
        assert wait_until(lambda: servers.web_server_pid(second) not in (None, killed) and healthy(second),
                          120, 0.2, "the killed web server started again on its port")
        ada = ada_at(second)
        back = ada.open_page("class_map")
        assert still_named(back)
        (drawing,) = board_of(back)["board"]
        assert drawing["name"] == "Ada" and drawing["pixels"]  # hers: she sees its pixels

        # The training queue's process killed: started again, it takes the next training and saves it.
        (queue,) = servers.queue_pids()
        os.kill(queue, signal.SIGKILL)
        assert wait_until(lambda: servers.queue_pids() not in ([], [queue]), 60, 0.2, "the queue started again")
        ada.open_page("train")
        ada.set_number("Epochs", 1)
        ada.set_number("Training images", 512)
        started = ada.click("Start training")
        assert not started.exceptions and not any("cannot" in text for text in started.texts), started.texts
        assert wait_until(lambda: len(list_runs(runs_dir).runs) == 2, 300, 1.0, "Ada's run saved")
        ada.close()

        # The launcher killed: every process it started ends by itself, and no port stays held.
        # Web servers, the join address, the queue's process and below it the training process kept
        # for the next job: every process under the launcher, however deep.
        children = descendants(launcher) - {launcher}
        trainers = [pid for pid in children if b"vae.jobs.worker" in command_line(pid)]
        assert len(servers.pids()) == 3 and servers.join_pids() and set(servers.pids()[1:]) <= children
        assert trainers, "no training process under the launcher to see end"
        os.kill(launcher, signal.SIGKILL)
        assert wait_until(lambda: not any(running(pid) for pid in children), 60, 0.1, "the class's processes ended")
        assert not any(busy(port) for port in servers.ports)
    finally:
        servers.stop()

    again = ClassServers(runs_dir, mnist_cache_dir, tmp_path / "again.log", extra_env=env)  # make classroom again
    try:
        teacher = StreamlitClient(again.urls[0])
        (drawing,) = board_of(teacher.open_page("class_map"))["board"]
        assert drawing["name"] == "Ada" and drawing["digit"] == 1
        ada = ada_at(again.urls[1])
        assert still_named(ada.open_page("class_map"))
        teacher.close(), ada.close()
    finally:
        again.stop()
    assert again.process.returncode == 0, (tmp_path / "again.log").read_text()[-2000:]
