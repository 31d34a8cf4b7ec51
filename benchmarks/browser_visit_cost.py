"""What a browser test's visit to a page costs in CPU, the browser tests being most of the suite's
time: one Streamlit server on a saved run, one chromium (the tests' flags), and per round each way
of visiting the app's 8 pages in turn, each in a new browser context:

- `address`: each page opened at its address and waited for, as tests/e2e's goto() does;
- `navigation`: the first by its address, the others through the sidebar;
- `axe, every result`: `address`, then an axe scan of each page as the tests ran it before;
- `axe, violations only`: the same scan with axe's resultTypes=["violations"]
  (tests/e2e/test_accessibility.py's AXE_OPTIONS);
- `a new context per visit`: `address`, each page in a context of its own, closed after it (how
  tests/e2e opened a page for each test until tests/support/warm_pages.py);
- `a page handed back`: `address`, each page taken from tests/support/warm_pages.py and handed back
  after it (a page that visited this server before: the rounds before it, or the pages before it).

For each: the CPU of the whole machine while the 8 visits ran (/proc/stat: chromium, the server,
Playwright's driver, this process), the wall time, and this process's own CPU in the axe calls.
Medians over `--rounds`; the ways alternate within each round, so a ratio compares like with like.

Run: .venv/bin/python -m benchmarks.browser_visit_cost [--rounds 5]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import TINY
from tests.e2e.test_accessibility import AXE_OPTIONS, NAVIGATION
from tests.e2e.test_accessibility import PAGES as ACCESSIBILITY_PAGES
from tests.support.harness import AppServer, PageWatcher, launch_chromium
from tests.support.warm_pages import DESKTOP, WarmPages
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save

# The accessibility tests' pages, their titles in the sidebar and their scan, so that what is
# measured is what the tests run.
PAGES = list(zip(ACCESSIBILITY_PAGES, NAVIGATION, strict=True))
WAYS = {"address": None, "navigation": None, "axe, every result": {"runOnly": AXE_OPTIONS["runOnly"]},
        "axe, violations only": AXE_OPTIONS, "a new context per visit": None, "a page handed back": None}
ONE_PAGE_PER_VISIT = ("a new context per visit", "a page handed back")


def machine_busy_seconds() -> float:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / 100


def visit_every_page(watcher: PageWatcher, url: str, way: str) -> float:
    """The visits; returns this process's CPU seconds spent in axe."""
    from axe_playwright_python.sync_playwright import Axe

    in_axe = 0.0
    for index, (path, title) in enumerate(PAGES):
        if way == "navigation" and index > 0:
            watcher.open_page(title)
        else:
            watcher.goto(f"{url}/{path}")
        if WAYS[way] is not None:
            started = time.process_time()
            Axe().run(watcher.page, options=WAYS[way])
            in_axe += time.process_time() - started
    return in_axe


def visit_each_in_a_page_of_its_own(browser, warm_pages: WarmPages, url: str, way: str) -> None:
    for path, _title in PAGES:
        if way == "a page handed back":
            watcher = warm_pages.take("desktop")
            watcher.goto(f"{url}/{path}")
            warm_pages.give_back(watcher)
        else:
            context = browser.new_context(**DESKTOP)
            PageWatcher(context.new_page()).goto(f"{url}/{path}")
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="browser-visit-"))
    train_and_save(TINY.replace(epochs=1), load_mnist().subset(512), folder / "runs", "first-run", "default")
    server = AppServer(folder / "runs", default_cache_dir(), folder / "server.log")
    measured = {way: [] for way in WAYS}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            warm_pages = WarmPages(browser)
            for _ in range(rounds):
                for way in WAYS:
                    if way in ONE_PAGE_PER_VISIT:
                        wall, busy = time.perf_counter(), machine_busy_seconds()
                        visit_each_in_a_page_of_its_own(browser, warm_pages, server.url, way)
                        measured[way].append((machine_busy_seconds() - busy, time.perf_counter() - wall, 0.0))
                        continue
                    context = browser.new_context(**DESKTOP)
                    watcher = PageWatcher(context.new_page())
                    wall, busy = time.perf_counter(), machine_busy_seconds()
                    in_axe = visit_every_page(watcher, server.url, way)
                    measured[way].append((machine_busy_seconds() - busy, time.perf_counter() - wall, in_axe))
                    context.close()
            browser.close()
    finally:
        server.stop()
    print(f"{len(PAGES)} pages per visit, {rounds} rounds, medians")
    print(f"{'way':24s} {'machine CPU s':>14s} {'wall s':>8s} {'axe in Python s':>16s}")
    for way, rows in measured.items():
        cpu, wall, in_axe = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"{way:24s} {cpu:14.1f} {wall:8.1f} {in_axe:16.2f}")


if __name__ == "__main__":
    main()
