"""Training throughput with the dashboard watching against a plain `model.fit`: the same config,
trained from the Train page of a real browser (live curves and, since issue 11, the latent space
forming beside them, refreshed every 2 s; the training runs in the server's worker process, taking
its snapshots) and by a plain fit in this process, alternately.
Goal (issues 9 and 11): ratio plain/UI seconds per epoch >= 0.95.

Run: .venv/bin/python -m benchmarks.train_overhead [--epochs 3] [--repeats 2]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from train_speed import plain_fit_seconds

from tests.support.browser_steps import set_training_form, train_through_ui
from tests.support.harness import AppServer, PageWatcher, launch_chromium
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.runs import list_runs


def ui_seconds_per_epoch(browser, epochs: int, log_dir: Path) -> float:
    runs_dir = Path(tempfile.mkdtemp(prefix="overhead-runs-"))
    server = AppServer(runs_dir, default_cache_dir(), log_dir / "server.log")
    try:
        watcher = PageWatcher(browser.new_page(viewport={"width": 1400, "height": 1000}))
        watcher.goto(f"{server.url}/train")
        set_training_form(watcher, epochs=epochs, images=60_000)
        # As a person reads the form before pressing Start: the page has loaded and the warm
        # training process is ready (it imports TensorFlow at nice 10 while the page loads).
        time.sleep(5)
        train_through_ui(watcher)
        watcher.page.close()
    finally:
        server.stop()
    (run,) = list_runs(runs_dir).runs
    return run.metrics["train_seconds"] / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_mnist()
    config = preset("default").replace(epochs=args.epochs)
    log_dir = Path(tempfile.mkdtemp(prefix="overhead-logs-"))
    ui, plain = [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for repeat in range(args.repeats):
            ui.append(ui_seconds_per_epoch(browser, args.epochs, log_dir))
            plain.append(plain_fit_seconds(config, data))
            print(f"repeat {repeat + 1}: UI {ui[-1]:.2f} s/epoch, plain fit {plain[-1]:.2f} s/epoch", flush=True)
        browser.close()
    ratio = statistics.median(plain) / statistics.median(ui)
    print(f"median seconds per epoch: plain fit {statistics.median(plain):.2f}, from the UI with live charts "
          f"{statistics.median(ui):.2f}; throughput ratio {ratio:.3f} (goal >= 0.95)")
    print(json.dumps({"ui_seconds_per_epoch": round(statistics.median(ui), 3),
                      "plain_fit_seconds_per_epoch": round(statistics.median(plain), 3),
                      "throughput_ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
