"""The app's server killed (SIGKILL) in the middle of a training, then started again."""

import os
import signal
import time

from tests.conftest import TINY
from tests.support.harness import AppServer
from tests.support.processes import children_of, running
from vae import runs
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
        # A bound, not a timing: the training process (niceness 10) starts cold beside the other test
        # file's servers and browser on 2 cores; 60 s once ran out in the fresh-clone check.
        watcher.page.wait_for_selector("text=Epoch 1/200", timeout=180_000)
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
