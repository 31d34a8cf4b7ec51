"""Bytes a viewer receives per epoch while the default trains: headless chromium (Debian's) opens the
latent explorer, presses "Train the default model" and watches the live map to the end; every
websocket frame the browser receives meanwhile is counted. Beside it, in the same run, the live
map's payload for the saved decoder as the page packs it (float16 weights where they draw within
1/255 of float32's) and as it would be with float32 weights. Goal (issue 19): <= 0.3 MB per viewer
per epoch for the default while it trains.

    .venv/bin/python -m benchmarks.live_bytes
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.harness import AppServer, PageWatcher, launch_chromium
from ui.latent_map import pack
from vae import runs
from vae.data import default_cache_dir, load_mnist


def main() -> None:
    runs_dir = Path(tempfile.mkdtemp(prefix="live-bytes-runs-"))
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    received: list[tuple[float, int]] = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(
                (time.monotonic(), len(payload)))))
            watcher = PageWatcher(page)
            watcher.goto(server.url)
            pressed = time.monotonic()
            page.get_by_role("button", name="Train the default model").click()
            page.wait_for_selector("text=Run default", timeout=900_000)  # saved: the explorer shows the run
            saved = time.monotonic()
            browser.close()
    finally:
        server.stop()
    summary = runs.list_runs(runs_dir).runs[0]
    epochs = summary.config.epochs
    during = sum(size for at, size in received if pressed <= at <= saved)
    _, decoder = runs.load_numpy_models(summary)
    labels = load_mnist().y_test
    z_test = runs.load_test_encodings(summary, len(labels))
    as_sent = len(pack.map_payload("live", decoder, z_test, labels))
    weights = pack.pack_decoder(decoder)["weights"]
    half = pack.half_is_enough(decoder, z_test)
    with_float32 = as_sent + (weights.size * 2 if half else 0)  # the weights' section at 4 bytes each (± padding)
    figures = {"epochs": epochs, "seconds": round(saved - pressed, 1), "bytes_received": during,
               "mb_per_epoch": round(during / epochs / 1e6, 3), "live_payload_bytes": as_sent,
               "live_payload_bytes_float32": with_float32, "payload_ratio": round(as_sent / with_float32, 2)}
    print(f"default training, {epochs} epochs in {figures['seconds']} s with one viewer on the explorer: "
          f"{during / 1e6:.2f} MB received, {figures['mb_per_epoch']} MB per epoch (goal <= 0.3); "
          f"the live map's payload {as_sent / 1e6:.3f} MB as sent, {with_float32 / 1e6:.3f} MB with float32 "
          f"weights (ratio {figures['payload_ratio']})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
