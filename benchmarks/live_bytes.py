"""Bytes a viewer receives per epoch while the default trains: headless chromium (Debian's) opens the
latent explorer, presses "Train the default model" and watches the live map to the end; every
websocket frame the browser receives meanwhile is counted, and how the live map's weights came
(whole, or as the change since the epoch before: ui/latent_map/weight_grid.py). Beside it, the
saved run's map payload as the page packs it (weights on a grid within 1/255 of float32's drawing)
and as it would be with float16 or float32 weights. Goal (issues 19 and 30): <= 0.3 MB per viewer
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
            codes_received = page.evaluate("() => Object.values(window.__latentLab.codesReceived)[0]")
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
    header, arrays = pack.read_map_payload(pack.map_payload("live", decoder, z_test, labels))
    count = pack.pack_decoder(decoder)["weights"].size
    on_grid = arrays["weight_codes"].nbytes if header["codes"] else arrays["weights"].nbytes
    as_float16, as_float32 = as_sent - on_grid + 2 * count, as_sent - on_grid + 4 * count  # (± 4 bytes of padding)
    figures = {"epochs": epochs, "seconds": round(saved - pressed, 1), "bytes_received": during,
               "mb_per_epoch": round(during / epochs / 1e6, 3), "weights_received": codes_received,
               "saved_payload_bytes": as_sent, "payload_bytes_float16": as_float16, "payload_bytes_float32": as_float32,
               "weights_step": header["codes"] and header["codes"]["step"]}
    print(f"default training, {epochs} epochs in {figures['seconds']} s with one viewer on the explorer: "
          f"{during / 1e6:.2f} MB received, {figures['mb_per_epoch']} MB per epoch (goal <= 0.3); the live map's "
          f"weights came whole {codes_received['whole']} time(s) and as a change {codes_received['changes']} times. "
          f"The saved run's map payload: {as_sent / 1e6:.3f} MB with its weights on a grid, {as_float16 / 1e6:.3f} MB "
          f"with float16 weights, {as_float32 / 1e6:.3f} MB with float32")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
