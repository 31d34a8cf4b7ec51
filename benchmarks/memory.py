"""Server memory under repeated use: RSS after one training and a visit to every page, after 10
trainings on a small subset through the UI, and after 200 slider moves. Goals (issue 9): <= 300 MB
after the warm-up, growth <= 50 MB. (Training processes are not the server: they are not counted.)

Run: .venv/bin/python -m benchmarks.memory [--trainings 10] [--moves 200]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browser_steps import server_rss_mb, set_training_form, train_through_ui
from tests.support.harness import AppServer, PageWatcher, launch_chromium
from vae.data import default_cache_dir


def move_slider(watcher: PageWatcher, moves: int) -> None:
    thumb = watcher.page.locator(".st-key-z0 input[type=range]")
    for move in range(moves):
        thumb.focus()
        thumb.press("ArrowRight" if (move // 20) % 2 == 0 else "ArrowLeft")
        watcher.wait_idle()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainings", type=int, default=10)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="memory-runs-"))
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            watcher = PageWatcher(browser.new_page(viewport={"width": 1400, "height": 1000}))
            watcher.goto(f"{server.url}/train")
            set_training_form(watcher, epochs=1, images=2048, hidden=64)
            train_through_ui(watcher)  # warm-up: TensorFlow, one model, one save
            try:
                watcher.open_page("Latent explorer")
            except Exception:
                watcher.page.screenshot(path=str(runs_dir.parent / "memory-failure.png"), full_page=True)
                print(f"screenshot: {runs_dir.parent / 'memory-failure.png'}")
                raise
            move_slider(watcher, 10)
            for title in ("Reconstruction errors", "Compare digits", "Train"):
                watcher.open_page(title)
            baseline = server_rss_mb(server.process.pid)
            print(f"after warm-up: {baseline:.0f} MB", flush=True)
            for number in range(args.trainings):
                train_through_ui(watcher)
                print(f"after training {number + 1}: {server_rss_mb(server.process.pid):.0f} MB", flush=True)
            after_training = server_rss_mb(server.process.pid)
            watcher.open_page("Latent explorer")
            move_slider(watcher, args.moves)
            time.sleep(1)
            after_moves = server_rss_mb(server.process.pid)
            browser.close()
    finally:
        server.stop()
    print(f"RSS: warm-up {baseline:.0f} MB, after {args.trainings} trainings {after_training:.0f} MB, "
          f"after {args.moves} slider moves {after_moves:.0f} MB; growth {after_moves - baseline:.0f} MB "
          "(goals: warm-up <= 300, growth <= 50)")
    print(json.dumps({"rss_warmup_mb": round(baseline), "rss_after_trainings_mb": round(after_training),
                      "rss_after_moves_mb": round(after_moves), "growth_mb": round(after_moves - baseline)}))


if __name__ == "__main__":
    main()
