"""Cold start, `streamlit run` to the explorer's first digit shown, for several variants alternating in
one run (machines are noisy: compare medians measured side by side), and the floor under it: the
same steps for a bare Streamlit page that shows one image and a sidebar, and nothing else.

A variant is a checkout (this one, or an older commit's worktree) with optional settings:
`/tmp/before`, `.+LATENT_LAB_WARM_TRAINING=0`. `bare` is the bare page.

Run: .venv/bin/python -m benchmarks.cold_start [--rounds 7] [--runs-dir DIR] [VARIANT ...]
(default variants: this checkout, and bare)
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.ui_latency import cold_start_seconds, ensure_run
from tests.support.harness import ROOT, launch_chromium
from vae.data import default_cache_dir

BARE_PAGE = '''
import numpy as np
import streamlit as st

st.sidebar.write("A bare Streamlit page")
st.title("Latent explorer")
st.image(np.zeros((280, 280), dtype=np.uint8), caption="one image")
'''
PAUSE_SECONDS = 3.0  # between starts: the last server's processes have gone


def parse_variant(text: str, bare_root: Path) -> tuple[Path, dict]:
    """`PATH[+NAME=VALUE...]` -> (the checkout, its extra settings); `bare` -> the bare page."""
    if text == "bare":
        return bare_root, {}
    path, *settings = text.split("+")
    root = ROOT if path in (".", "") else Path(path).resolve()
    if not (root / "app.py").is_file():
        raise SystemExit(f"error: {root} has no app.py")
    pairs = [setting.split("=", 1) for setting in settings]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"error: a setting is NAME=VALUE, got {text!r}")
    return root, dict(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", default=[".", "bare"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs-dir", type=Path)
    args = parser.parse_args()
    if not 1 <= args.rounds <= 50:
        raise SystemExit("error: --rounds must be from 1 to 50")
    runs_dir = ensure_run(args.runs_dir)
    bare_root = Path(tempfile.mkdtemp(prefix="bare-streamlit-"))
    (bare_root / "app.py").write_text(BARE_PAGE)
    variants = {text: parse_variant(text, bare_root) for text in args.variants}
    log_dir, cache_dir = Path(tempfile.mkdtemp(prefix="cold-start-logs-")), default_cache_dir()
    starts: dict[str, list[dict]] = {text: [] for text in variants}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for _ in range(args.rounds):
            for text, (root, settings) in variants.items():
                starts[text].append(cold_start_seconds(browser, runs_dir, cache_dir, log_dir, root, settings))
                time.sleep(PAUSE_SECONDS)
        browser.close()
    for text, rounds in starts.items():
        digits = [start["digit_shown"] for start in rounds]
        phases = {phase: round(statistics.median(start[phase] for start in rounds), 2) for phase in rounds[0]}
        print(f"{text}: digit shown, median {statistics.median(digits):.2f} s over {len(digits)} "
              f"({', '.join(f'{d:.2f}' for d in digits)}); phases (medians, s): "
              + ", ".join(f"{phase} {seconds}" for phase, seconds in phases.items()))


if __name__ == "__main__":
    main()
