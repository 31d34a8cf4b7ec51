"""Frames painted per second while dragging the explorer's map during a training, as a person
would a few seconds after pressing "Train the default model": headless chromium (Debian's) on this
machine, the training in its worker on the same two cores. The same drag on the saved run's map
afterwards gives the ratio, measured in one run. Also: how many new models were swapped in under
the drag. Goal (issue 16): >= 55 frames per second while dragging the live map.

    .venv/bin/python -m benchmarks.live_map_speed [--drag-seconds 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.harness import AppServer, PageWatcher, launch_chromium
from vae.data import default_cache_dir

STATS = """(prefix) => {
    const lab = window.__latentLab || {stats: {}};
    const run = Object.keys(lab.stats).find((name) => name.startsWith(prefix));
    return run ? {frames: lab.stats[run].frames, swaps: lab.stats[run].swaps || 0} : null;
}"""


def drag(page, prefix: str, seconds: float) -> dict:
    """A circle on the map, as fast as the pointer reports, for `seconds`: frames painted per
    second and new models swapped in meanwhile."""
    box = page.locator("canvas.map").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    before = page.evaluate(STATS, prefix)
    started, step = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        step += 1
        angle = step * 0.05
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.4 * math.cos(angle)),
                        box["y"] + box["height"] * (0.5 + 0.4 * math.sin(angle)))
    elapsed = time.perf_counter() - started
    after = page.evaluate(STATS, prefix)
    page.mouse.up()
    return {"fps": round((after["frames"] - before["frames"]) / elapsed, 1),
            "swaps": after["swaps"] - before["swaps"], "pointer_moves": step}


def one_repeat(browser, drag_seconds: float) -> dict:
    runs_dir = Path(tempfile.mkdtemp(prefix="live-map-runs-"))
    server = AppServer(runs_dir, default_cache_dir(), runs_dir.parent / f"{runs_dir.name}.log")
    try:
        watcher = PageWatcher(browser.new_page(viewport={"width": 1400, "height": 1000}))
        watcher.goto(server.url)
        watcher.page.get_by_role("button", name="Train the default model").click()
        watcher.page.wait_for_selector("canvas.map", timeout=120_000)  # the live map, a moment into training
        live = drag(watcher.page, "live-", drag_seconds)
        watcher.page.wait_for_selector("text=Run default", timeout=600_000)  # saved: the explorer shows the run
        watcher.wait_idle()
        watcher.page.wait_for_selector("canvas.map", timeout=60_000)
        time.sleep(1)  # the saved run's map has just been built: let its first frames pass
        saved = drag(watcher.page, "default-", drag_seconds)
        watcher.page.close()
    finally:
        server.stop()
    return {"live": live, "saved": saved, "ratio": round(live["fps"] / saved["fps"], 2) if saved["fps"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drag-seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for repeat in range(args.repeats):
            results.append(one_repeat(browser, args.drag_seconds))
            r = results[-1]
            print(f"repeat {repeat + 1}: live map {r['live']['fps']} frames/s while dragging during training "
                  f"({r['live']['swaps']} new models swapped in under the drag); saved run {r['saved']['fps']} "
                  f"frames/s; ratio {r['ratio']}", flush=True)
        browser.close()
    print(f"median: live {statistics.median(r['live']['fps'] for r in results)} frames/s (goal >= 55), "
          f"saved {statistics.median(r['saved']['fps'] for r in results)} frames/s, "
          f"ratio {statistics.median(r['ratio'] for r in results)}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
