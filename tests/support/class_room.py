"""The class as one room, played from outside (tests/e2e/test_class_room.py, test_phone.py,
benchmarks/class_board.py, scripts/class_map_screenshots.py): a student over the websocket naming
themself and sending a drawing, the board as the page sent it, and a phone in chromium (its
screen, a finger's touch events, joining by the QR code's address)."""

from __future__ import annotations

import base64
import io
import re
import warnings

import numpy as np
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.ws_client import StreamlitClient

NAME_FIELD = "Your name (a student's runs carry it)"
# A phone as a student holds it (what the QR code opens): its screen, touch, a mobile browser.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
ONE = np.zeros((28, 28), np.float32)
ONE[6:22, 13:15] = 1.0  # one stroke down the middle


def pad_png(image: np.ndarray = ONE) -> str:
    """What the drawing pad sends for `image` (28 × 28 ink in [0, 1]): a data URL of a 280 × 280 PNG,
    black ink on a transparent pad."""
    ink = np.kron(np.asarray(image, np.float32).reshape(28, 28), np.ones((10, 10), np.float32))
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def board_of(outcome) -> dict:
    """The class map's overlay, as the page sent it to this browser."""
    (state,) = [c["state"] for c in outcome.components if isinstance(c.get("state"), dict) and "board" in c["state"]]
    return state


def student(url: str, name: str, source: str | None = None, keyed: bool = False) -> StreamlitClient:
    """A student on the Class map, named (`source`: the loopback address their device connects from).
    `keyed`: back with the key cookie their first visit was given, as a browser is on its next page
    load (a guess counts once per key: without one it is refused)."""
    client = StreamlitClient(url, source=source)
    outcome = client.open_page("class_map")
    if keyed:
        client.close()
        client = StreamlitClient(url, source=source, cookies=key_cookie(outcome))
        client.open_page("class_map")
    client.set_text(NAME_FIELD, name)
    return client


def key_cookie(outcome) -> dict[str, str]:
    """The cookie the page asked the browser to keep (what a real browser sends on its next visit)."""
    (cookie,) = [c for c in outcome.components if c.get("name") == "latent_lab_key"]
    return {cookie["name"]: cookie["value"]}


def send_drawing(client: StreamlitClient, digit: int, image: np.ndarray = ONE):
    """Draw `image` on the pad, pick `digit`, and press Send: the outcome of the press."""
    client.set_component_state("latent_lab_drawing_pad", {"png": pad_png(image)})
    client.choose("Which digit did you draw?", str(digit))
    return client.click("Send it to the class map")


class Finger:
    """Touch events as the phone's screen sends them (Chrome DevTools Protocol), in CSS pixels."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)

    def _send(self, kind: str, points: list[tuple[float, float]]) -> None:
        self.cdp.send("Input.dispatchTouchEvent",
                      {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})

    def down(self, x: float, y: float) -> None:
        self._send("touchStart", [(x, y)])

    def move(self, x: float, y: float) -> None:
        self._send("touchMove", [(x, y)])

    def up(self) -> None:
        self._send("touchEnd", [])

    def tap(self, x: float, y: float) -> None:
        """A finger's tap: down, a pixel's wobble (a real finger always moves a little), up."""
        self.down(x, y)
        self.move(x + 1, y)
        self.up()


def join(phone, url: str, name: str, path: str = "", field_label: str = NAME_FIELD) -> None:
    """Open the page the QR code leads to and type a name where the page asks for it (a PageWatcher);
    `field_label`: the name field's label in the language the page speaks."""
    phone.goto(f"{url}/{path}")
    field = phone.page.locator('[data-testid="stMain"]').get_by_role("textbox", name=field_label, exact=True)
    phone.enter(field, name)


SIGNED_IN = "Signed in as the teacher."
REFUSALS = re.compile("not the teacher code|Too many|another code")  # ui.classroom.sign_in's messages


def teacher_signs_in(watcher, url: str, code: str, tries: int = 3) -> None:
    """In a real browser: the Classroom page, "I am the teacher", the code, Sign in; waits until the
    page says the teacher is signed in. Under load a press was lost (twice in the full runs of 4 December
    2026: neither the sentence nor a refusal came in 60 s): as a person would, it types the code
    and presses again, at most `tries` times, and says so in a warning; a refusal fails at once."""
    watcher.goto(url)
    watcher.open_page("Classroom")
    sidebar = watcher.page.locator('[data-testid="stSidebar"]')
    for attempt in range(1, tries + 1):
        _type_code_and_press(watcher, code)
        outcome = _sign_in_outcome(watcher, sidebar)
        if outcome == SIGNED_IN:
            if attempt > 1:
                warnings.warn(f"the teacher's Sign in was pressed {attempt} times before the page answered",
                              stacklevel=2)
            return
        if outcome:
            raise AssertionError(f"the page refused the sign-in: {outcome}")
    raise AssertionError(f"{tries} presses of Sign in, and no answer; the sidebar: {sidebar.inner_text()!r}")


def _type_code_and_press(watcher, code: str) -> None:
    field = watcher.page.get_by_role("textbox", name="Teacher code (printed where the app was started)", exact=True)
    if not field.is_visible():  # the expander is closed (at first, or redrawn since)
        watcher.page.get_by_text("I am the teacher", exact=True).click()
    watcher.fill("textbox", "Teacher code (printed where the app was started)", code)
    watcher.page.get_by_role("button", name="Sign in").click()


def _sign_in_outcome(watcher, sidebar, seconds: float = 40) -> str | None:
    """SIGNED_IN, the refusal the sidebar shows, or None: no answer within `seconds` once the page
    is idle again (the press never reached the server)."""
    refusal = sidebar.locator('[data-testid="stAlert"]').filter(has_text=REFUSALS)
    answer = sidebar.get_by_text(SIGNED_IN, exact=True).or_(refusal)
    try:
        answer.first.wait_for(timeout=seconds * 1000)
    except PlaywrightTimeout:
        watcher.wait_idle()
        return None
    return SIGNED_IN if sidebar.get_by_text(SIGNED_IN, exact=True).count() else refusal.first.inner_text()
