"""Screenshots of the Class map for the README: on the projector (1400 × 900, the teacher signed in,
a question open with the class's guesses), the same in presenter mode at 1920 × 1080 (the map the
back row reads), and on a student's phone (390 × 844, touch).

Run: .venv/bin/python scripts/class_map_screenshots.py --runs-dir COPY-OF-RUNS [--out docs]
(a runs folder with no class in it yet: a name already taken there is refused, and so is its guess)
Starts the app in classroom mode on 127.0.0.1 with that runs folder (its newest run is the class
run); twelve students, each from its own loopback address, send a test image as their drawing
and tap a guess over the websocket; then the screenshots are taken in Debian's chromium.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script run by its path: the repository's packages

from tests.support.class_room import PHONE, join, send_drawing, student, teacher_signs_in  # noqa: E402
from tests.support.classroom_load import sign_in_as_teacher  # noqa: E402
from tests.support.harness import AppServer, PageWatcher, launch_chromium  # noqa: E402
from tests.support.ws_client import StreamlitClient  # noqa: E402
from vae.data import default_cache_dir, load_mnist  # noqa: E402

CODE = "SHOTS-2345-KL"
NAMES = ["Ada", "Bob", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea"]


def students_draw_and_guess(url: str, rng: np.random.Generator) -> None:
    data = load_mnist()
    for n, name in enumerate(NAMES):
        client = student(url, name, source=f"127.0.0.{20 + n}", keyed=True)
        try:
            index = int(rng.integers(len(data.y_test)))
            send_drawing(client, int(data.y_test[index]), data.x_test[index])
            client.set_component_state("latent_lab_map", {"z": [float(v) for v in rng.normal(0, 1.2, 2)]})  # a guess
        finally:
            client.close()


def presenter_screenshot(projector: PageWatcher, path: Path) -> None:
    """Presenter mode (switched on the Lesson page), the Class map scrolled to fill the screen."""
    projector.page.set_viewport_size({"width": 1920, "height": 1080})
    projector.open_page("Lesson")
    projector.page.get_by_text("Presenter mode").click()
    projector.wait_idle()
    projector.open_page("Class map")
    projector.settled_box("canvas.map")
    time.sleep(3)  # the background grid is drawn a few tiles per frame
    projector.page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    server = AppServer(args.runs_dir, default_cache_dir(), args.runs_dir.parent / "screenshots-server.log",
                       {"LATENT_LAB_CLASSROOM": "1", "LATENT_LAB_TEACHER_CODE": CODE})
    try:
        teacher = StreamlitClient(server.url)
        assert sign_in_as_teacher(teacher, CODE)
        teacher.open_page("class_map")
        teacher.click("Ask: where will the encoder put it?")
        students_draw_and_guess(server.url, np.random.default_rng(0))
        teacher.close()
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            projector = PageWatcher(browser.new_page(viewport={"width": 1400, "height": 900}))
            teacher_signs_in(projector, server.url, CODE)
            projector.open_page("Class map")
            projector.page.wait_for_selector("canvas.map", timeout=60_000)
            projector.page.wait_for_selector(f"text={len(NAMES)} so far", timeout=60_000)  # every guess counted
            time.sleep(3)  # the background grid is drawn a few tiles per frame
            args.out.mkdir(parents=True, exist_ok=True)
            projector.page.screenshot(path=str(args.out / "class-map.png"), full_page=False)
            print(f"wrote {args.out / 'class-map.png'}")
            presenter_screenshot(projector, args.out / "class-map-presenter.png")

            phone = PageWatcher(browser.new_context(**PHONE).new_page())
            join(phone, server.url, "Zoë", "class_map")
            phone.page.wait_for_selector("canvas.map", timeout=60_000)
            phone.page.locator("canvas.map").scroll_into_view_if_needed()
            time.sleep(3)
            phone.page.screenshot(path=str(args.out / "class-map-phone.png"), full_page=False)
            print(f"wrote {args.out / 'class-map-phone.png'}")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
