"""How fast the app feels in a real browser (Debian's chromium): slider key press -> new digit painted,
page switches, and cold start. Goals: slider median <= 150 ms, p95 <= 300 ms (issue 5); cold start
(`streamlit run` to the first digit shown) <= 3 s (issue 9), <= 2 s (issue 19), with its phases.

Run: .venv/bin/python -m benchmarks.ui_latency [--moves 30] [--runs-dir DIR]
Without --runs-dir a small 2-D VAE is trained first (about 10 s) into a temporary folder.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.harness import ROOT, AppServer, PageWatcher, launch_chromium
from vae.config import preset
from vae.data import default_cache_dir, load_mnist
from vae.training.lab import train_and_save

# The frames the latent map has painted its digit in (ui/latent_map/latent_map.js keeps the count).
FRAMES_PAINTED = "(run) => window.__latentLab.stats[run].frames"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ensure_run(runs_dir: Path | None) -> Path:
    if runs_dir is not None:
        return runs_dir
    runs_dir = Path(tempfile.mkdtemp(prefix="latency-runs-"))
    config = preset("default").replace(epochs=2, train_subset=10_000)
    train_and_save(config, load_mnist(), runs_dir, "latency-2d", "default")
    return runs_dir


def digit_src(page) -> str:
    return page.locator('[data-testid="stImage"] img').first.get_attribute("src")


def slider_latencies(watcher: PageWatcher, moves: int) -> list[float]:
    """Key press on the explorer's first slider (drawn in the browser) -> the map's digit painted
    again: decoded in the browser, no server on the way."""
    if moves == 0:
        return []
    page = watcher.page
    thumb = page.locator("input.point-slider[name=z0]")
    thumb.wait_for(timeout=60_000)
    run = page.evaluate("() => Object.keys(window.__latentLab.points)[0]")  # the explorer's run
    latencies = []
    for move in range(moves):
        thumb.focus()
        before = page.evaluate(FRAMES_PAINTED, run)
        started = time.perf_counter()
        thumb.press("ArrowRight" if (move // 10) % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"([run, before]) => ({FRAMES_PAINTED})(run) > before", arg=[run, before],
                               polling="raf", timeout=10_000)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.25)  # a person does not move a slider 30 times a second
    return latencies


def page_switch_seconds(watcher: PageWatcher, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for title, heading in [("Reconstruction errors", "Reconstruction"), ("Latent explorer", "Latent")]:
            started = time.perf_counter()
            watcher.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
            watcher.page.wait_for_selector(f'h1:has-text("{heading}")', timeout=60_000)
            watcher.wait_idle()
            times.append(time.perf_counter() - started - 0.3)  # wait_idle's fixed settling pause
    return times


def cold_start_seconds(browser, runs_dir: Path, cache_dir: Path, log_dir: Path, repo: Path,
                       settings: dict | None = None) -> dict[str, float]:
    """From spawning `streamlit run` to the explorer showing its digit, and its phases: the server
    answering its health check, the browser loading Streamlit's page, the app's sidebar shown (the
    script running), the digit shown (the explorer's run and its rendering). `settings`: extra
    environment for the server."""
    started = time.perf_counter()
    server = AppServer(runs_dir, cache_dir, log_dir / "cold.log", settings, root=repo)
    try:
        phases = {"server_ready": time.perf_counter() - started}
        page = browser.new_page()
        page.goto(server.url)
        phases["page_loaded"] = time.perf_counter() - started
        page.wait_for_selector('[data-testid="stSidebar"]', timeout=120_000)
        phases["sidebar_shown"] = time.perf_counter() - started
        page.wait_for_selector('[data-testid="stImage"] img', timeout=120_000)
        page.wait_for_function("() => document.querySelector('[data-testid=\"stImage\"] img').naturalWidth > 0")
        phases["digit_shown"] = time.perf_counter() - started
        page.close()
        return phases
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--runs-dir", type=Path)
    parser.add_argument("--repo", type=Path, default=ROOT,
                        help="the checkout whose app is started (an older commit's worktree: --moves 0 if its "
                             "sliders are Streamlit's)")
    args = parser.parse_args()
    runs_dir = ensure_run(args.runs_dir)
    cache_dir, log_dir = default_cache_dir(), Path(tempfile.mkdtemp(prefix="latency-logs-"))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        server = AppServer(runs_dir, cache_dir, log_dir / "server.log", root=args.repo)
        try:
            watcher = PageWatcher(browser.new_page(viewport={"width": 1400, "height": 1000}))
            watcher.goto(server.url)
            slider_latencies(watcher, min(3, args.moves))  # warm-up: first decodes
            latencies = slider_latencies(watcher, args.moves)
            switches = page_switch_seconds(watcher, 3)
        finally:
            server.stop()
        cold = [cold_start_seconds(browser, runs_dir, cache_dir, log_dir, args.repo) for _ in range(args.cold_starts)]
        browser.close()
    figures = {
        "slider_median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "slider_p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "page_switch_median_s": round(statistics.median(switches), 2),
        "cold_start_median_s": round(statistics.median(start["digit_shown"] for start in cold), 2),
        "cold_start_phases_median_s": {phase: round(statistics.median(start[phase] for start in cold), 2)
                                       for phase in cold[0]},
    }
    print(f"slider key press -> new digit painted (in the browser), {len(latencies)} moves: "
          f"median {figures['slider_median_ms']} ms, p95 {figures['slider_p95_ms']} ms (goal 150 / 300)")
    print(f"page switch: median {figures['page_switch_median_s']} s over {len(switches)} switches")
    print(f"cold start (streamlit run -> digit shown): median {figures['cold_start_median_s']} s "
          f"over {len(cold)} (goal 2 s); at (medians, seconds from the start): "
          + ", ".join(f"{phase} {seconds}" for phase, seconds in figures["cold_start_phases_median_s"].items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
