"""The app's server killed (SIGKILL) in the middle of a training, then started again."""

import signal

from tests.conftest import TINY
from tests.e2e.harness import AppServer
from vae import runs
from vae.lab import train_and_save


def test_killing_the_server_mid_training_loses_nothing_and_it_restarts(
    tmp_path, small_data, mnist_cache_dir, mnist, new_page
):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "earlier", "default")
    before = {p.name: p.read_bytes() for p in (runs_dir / "earlier").iterdir()}
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path / "first.log")
    try:
        watcher = new_page()
        watcher.goto(f"{server.url}/train")
        watcher.page.get_by_text("Hyperparameters").click()
        watcher.fill("spinbutton", "Epochs", 200)
        watcher.fill("textbox", "Run name (optional)", "never-finished")
        watcher.page.get_by_role("button", name="Start training").click()
        watcher.page.wait_for_selector("text=Epoch 1/200", timeout=60_000)
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.stop()

    listing = runs.list_runs(runs_dir)
    assert [run.name for run in listing.runs] == ["earlier"] and listing.problems == []
    assert {p.name: p.read_bytes() for p in (runs_dir / "earlier").iterdir()} == before

    restarted = AppServer(runs_dir, mnist_cache_dir, tmp_path / "second.log")
    try:
        watcher = new_page()
        watcher.goto(restarted.url)
        assert "Run earlier:" in watcher.page.inner_text("body")
        images = watcher.page.locator('[data-testid="stImage"] img')
        images.nth(1).wait_for(timeout=30_000)  # the digit and the manifold grid
        assert images.count() == 2
        watcher.assert_clean()
    finally:
        restarted.stop()
