"""The latent map in headless chromium (Debian's) on this machine: frames painted per second while
dragging, decode + paint time per frame, bytes sent to the browser for a run and per rerun after
that, and release -> Python (the sliders show the released point). For a dense, a conv and a
conditional run (its decoder of the class picked, 7). Goals (issue 10): >= 55 fps dense, >= 30 fps
conv; <= 2 ms per frame (dense, median); <= 1.2 MB per run and <= 5 KB per rerun; release -> Python
<= 150 ms median. Issue 28: the conditional run's map at display rate (>= 55 fps).

Run: .venv/bin/python -m benchmarks.map_speed [--drag-seconds 3] [--releases 10] [--runs dense-2d ...]
"""

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.harness import AppServer, PageWatcher, launch_chromium
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save


def make_runs() -> Path:
    runs_dir = Path(tempfile.mkdtemp(prefix="map-speed-runs-"))
    data = load_mnist()
    train_and_save(preset("default").replace(epochs=2, train_subset=10_000), data, runs_dir, "dense-2d", "default")
    train_and_save(preset("conv").replace(epochs=1, train_subset=5_000), data, runs_dir, "conv-2d", "conv")
    train_and_save(preset("conditional").replace(epochs=2, train_subset=10_000), data, runs_dir, "conditional-2d",
                   "conditional")
    return runs_dir


def pick_class(watcher, label: str) -> None:
    """A conditional run's class picker, beside the map: the browser then gets that class's decoder."""
    watcher.page.locator(".st-key-class_picker [data-testid='stSelectbox']").click()
    watcher.page.get_by_role("option", name=label, exact=True).click()
    watcher.wait_idle()


def measure(browser, server, run: str, drag_seconds: float, releases: int) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watcher = PageWatcher(page)
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
    watcher.goto(f"{server.url}/?run={run}")
    page.wait_for_selector("canvas.map", timeout=60_000)
    if run.startswith("conditional"):
        pick_class(watcher, "7")
    watcher.wait_idle()
    time.sleep(1)
    bytes_for_run = sum(received)

    received.clear()
    thumb = page.locator(".st-key-z0 input[type=range]")
    thumb.focus()
    thumb.press("ArrowRight")
    watcher.wait_idle()
    time.sleep(0.5)
    bytes_per_rerun = sum(received)

    box = page.locator("canvas.map").bounding_box()
    stats = f"window.__latentLab.stats['{run}']"
    page.evaluate(f"() => {{ {stats}.paintMs.length = 0; }}")
    frames_before = page.evaluate(f"() => {stats}.frames")
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
    page.mouse.down()
    started = time.perf_counter()
    step = 0
    while time.perf_counter() - started < drag_seconds:  # a circle, as fast as the pointer reports
        step += 1
        angle = step * 0.05
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.4 * math.cos(angle)),
                        box["y"] + box["height"] * (0.5 + 0.4 * math.sin(angle)))
    elapsed = time.perf_counter() - started
    frames = page.evaluate(f"() => {stats}.frames") - frames_before
    paint_ms = page.evaluate(f"() => {stats}.paintMs.slice()")
    page.mouse.up()
    watcher.wait_idle()

    latencies = []
    for n in range(releases):
        x_fraction = 0.3 + 0.04 * n
        expected = round(x_fraction * 8 - 4, 2)
        # A short drag ending at the point (a click without moving would pick the nearest dot).
        page.mouse.move(box["x"] + box["width"] * x_fraction - 10, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * x_fraction, box["y"] + box["height"] * 0.5)
        released = time.perf_counter()
        page.mouse.up()
        page.wait_for_function(
            "([expected]) => { const input = document.querySelector('.st-key-z0 input[type=range]');"
            " return input && Math.abs(Number(input.value) - expected) < 0.03; }",
            arg=[expected], polling="raf", timeout=10_000)
        latencies.append((time.perf_counter() - released) * 1000)
        watcher.wait_idle()
        time.sleep(0.3)
    page.close()
    return {"run": run, "fps": round(frames / elapsed, 1), "pointer_moves": step,
            "decode_paint_median_ms": round(statistics.median(paint_ms), 3) if paint_ms else None,
            "bytes_for_run": bytes_for_run, "bytes_per_rerun": bytes_per_rerun,
            "release_to_python_median_ms": round(statistics.median(latencies), 1),
            "release_to_python_ms": [round(v) for v in latencies]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drag-seconds", type=float, default=3.0)
    parser.add_argument("--releases", type=int, default=10)
    parser.add_argument("--runs", nargs="+", default=["dense-2d", "conv-2d", "conditional-2d"])
    args = parser.parse_args()
    runs_dir = make_runs()
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    figures = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for run in args.runs:
                figures.append(measure(browser, server, run, args.drag_seconds, args.releases))
                f = figures[-1]
                print(f"{run}: {f['fps']} frames/s while dragging; decode + paint {f['decode_paint_median_ms']} ms "
                      f"median; {f['bytes_for_run'] / 1e6:.2f} MB to open the run, {f['bytes_per_rerun'] / 1e3:.1f} "
                      f"KB per rerun; release -> Python {f['release_to_python_median_ms']} ms median", flush=True)
            browser.close()
    finally:
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
