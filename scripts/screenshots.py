"""Screenshots of every page for the README, taken in Debian's chromium with Playwright.

Run: python scripts/screenshots.py --runs-dir COPY-OF-RUNS [--run NAME] [--out docs]
     python scripts/screenshots.py --runs-dir COPY-OF-RUNS --lang es   (docs/explorer-es.png only)
Starts `streamlit run app.py` on a free 127.0.0.1 port with that runs folder, visits each page,
and writes docs/<page>.png, then docs/train-live.png while a default training runs (stopped then,
so its partial run is added to the folder). Needs `apt-get install chromium` and the dev requirements.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
PAGES = {"explorer": "", "train": "train", "reconstruction": "reconstruction", "compare": "compare", "runs": "runs",
         "lesson": "lesson"}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def training_screenshot(page, port: int, out: Path) -> None:
    """The Train page while the default preset trains: its curves and latent space forming. The
    training is then stopped: its partial run is saved in the runs folder (use a copy)."""
    page.goto(f"http://127.0.0.1:{port}/train")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("() => [...document.querySelectorAll('*')].some((e) => e.shadowRoot && "
                           "Number(e.shadowRoot.querySelector('.title.live')?.closest('.formation')"
                           "?.dataset.epoch ?? 0) >= 3)", timeout=180_000, polling=500)
    time.sleep(1)
    page.screenshot(path=str(out / "train-live.png"), full_page=False)
    print(f"wrote {out / 'train-live.png'}")
    page.get_by_role("button", name="Stop training").click()
    page.wait_for_selector("text=stopped early", timeout=120_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--run", help="the run to show (default: the newest)")
    parser.add_argument("--lang", help="only the explorer, in this language, as explorer-LANG.png")
    args = parser.parse_args()
    pages = {f"explorer-{args.lang}": ""} if args.lang else PAGES
    port = free_port()
    env = {**os.environ, "LATENT_LAB_RUNS_DIR": str(args.runs_dir.resolve())}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, path in pages.items():
                for _ in range(60):  # the server needs a few seconds to start
                    try:
                        asked = {"run": args.run, "lang": args.lang}
                        query = "?" + "&".join(f"{key}={value}" for key, value in asked.items() if value)
                        page.goto(f"http://127.0.0.1:{port}/{path}{query}")
                        break
                    except Exception:
                        time.sleep(0.5)
                page.wait_for_selector(IDLE, timeout=120_000)
                time.sleep(2)  # let plotly finish drawing
                args.out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
                print(f"wrote {args.out / f'{name}.png'}")
            if not args.lang:
                training_screenshot(page, port, args.out)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
