"""A student on a phone (390 × 844, touch, chromium as a mobile browser), as one who joined by the
QR code: asked for a name on the page they land on; the explorer's map fits the width and the digit
it draws stays on screen while a finger drags it; nothing scrolls sideways; every tap target is at
least 44 px; on the class map a drawing is sent and a guess tapped; the lab record opens offline;
the teacher's desktop browser leads and the phone follows, steps away and comes back."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from tests.conftest import wait_until
from tests.e2e import test_classroom
from tests.e2e.test_classroom import signed_in_teacher
from tests.support.class_room import NAME_FIELD, PHONE, Finger, board_of, join, teacher_signs_in
from tests.support.harness import AppServer, PageWatcher
from tests.support.socket_tap import SocketTap
from tests.support.ws_client import StreamlitClient
from ui.streamlit_private import WORKAROUNDS_ENV

# The fixtures: classroom mode on 127.0.0.1, on a copy of runs made once for the file.
class_runs, class_server = test_classroom.class_runs, test_classroom.class_server
WIDTH, HEIGHT = PHONE["viewport"]["width"], PHONE["viewport"]["height"]
# Buttons a finger taps: Streamlit's buttons and pills; in the components' shadow roots the map's
# player, the sliders' download and the drawing pad's buttons.
TAP_TARGETS = ('[data-testid="stMain"] button[data-testid^="stBaseButton"]',
               '[data-testid="stMain"] button[data-variant]', ".player button", ".point-download",
               ".drawing-pad button")
# Every visible tap target, the components' shadow roots searched too (document.querySelectorAll does
# not enter them): how many each selector found, and those under 44 px high.
TAP_TARGET_HEIGHTS = """selectors => {
    const roots = [document];
    for (let i = 0; i < roots.length; i++) {
        for (const element of roots[i].querySelectorAll('*')) if (element.shadowRoot) roots.push(element.shadowRoot);
    }
    const found = {}, small = [];
    for (const selector of selectors) {
        found[selector] = 0;
        for (const root of roots) {
            for (const button of root.querySelectorAll(selector)) {
                if (!button.checkVisibility({visibilityProperty: true})) continue;
                found[selector] += 1;
                const height = button.getBoundingClientRect().height;
                if (height < 43.5) small.push([button.innerText.trim() || button.getAttribute('aria-label')
                                               || button.className, height]);
            }
        }
    }
    return {found, small};
}"""


def assert_fits_the_phone(phone, tapped: tuple[str, ...] = ()) -> None:
    """Nothing scrolls sideways or is cut off at the right (the page, and the main area inside it,
    where Streamlit's content scrolls), and every tap target is at least 44 px high; `tapped`: the
    TAP_TARGETS this page must show (a selector that matches nothing checks nothing)."""
    from tests.e2e.test_accessibility import SIDEWAYS

    # (A chart or a map drawn at a default width takes the column's a moment later: that is waited for.)
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not phone.page.evaluate(SIDEWAYS), 10, 0.2, message="the page to fit")
    sideways = phone.page.evaluate(SIDEWAYS)
    assert sideways == [], f"on a {WIDTH} px screen: {sideways}"
    targets = phone.page.evaluate(TAP_TARGET_HEIGHTS, list(TAP_TARGETS))
    assert targets["small"] == [], f"tap targets under 44 px high: {targets['small']}"
    missing = [selector for selector in tapped if not targets["found"][selector]]
    assert missing == [], f"no {missing} on the page to measure"


# Each chart's titles and other texts plotly places itself (subplot titles are annotations): the
# pairs whose boxes cross, by their texts.
CHART_TEXTS_THAT_CROSS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(chart => {
    const boxes = [...chart.querySelectorAll('g.annotation')].map(g => [g.textContent, g.getBoundingClientRect()]);
    return boxes.flatMap(([a, one], i) => boxes.slice(i + 1)
        .filter(([, other]) => one.left < other.right - 1 && other.left < one.right - 1 &&
                               one.top < other.bottom - 1 && other.top < one.bottom - 1)
        .map(([b]) => [a, b]));
})"""


def assert_chart_titles_apart(phone) -> None:
    """Once a chart has drawn its titles, no two of them run into each other on the phone's width."""
    phone.page.wait_for_selector(".js-plotly-plot g.annotation", timeout=30_000)
    crossing = phone.page.evaluate(CHART_TEXTS_THAT_CROSS)
    assert crossing == [], f"chart titles run into each other on a {WIDTH} px screen: {crossing}"


# Each table's toolbar (Streamlit shows it all the time on a touch screen) and the elements it lies
# over, by their test ids and first words: none, as ui/app.css makes room for it above the table.
UNDER_A_TOOLBAR = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementToolbar"]')]
    .filter(toolbar => toolbar.getBoundingClientRect().height > 0)
    .flatMap(toolbar => {
        const bar = toolbar.getBoundingClientRect();
        return [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
            .filter(element => {
                const box = element.getBoundingClientRect();
                return box.height > 0 && bar.left < box.right - 1 && box.left < bar.right - 1 &&
                       bar.top < box.bottom - 1 && box.top < bar.bottom - 1;
            })
            .map(element => [element.dataset.testid, element.innerText.slice(0, 40)]);
    })"""


def assert_nothing_under_a_toolbar(phone) -> None:
    """Every table's toolbar on the page lies over nothing: no header it shares the corner with, no
    text above it."""
    phone.page.wait_for_selector('[data-testid="stMain"] [data-testid="stElementToolbar"]', timeout=30_000)
    covered = phone.page.evaluate(UNDER_A_TOOLBAR)
    assert covered == [], f"a table's toolbar covers what a student reads: {covered}"


# What a finger at (x, y) touches, inside components' shadow roots too: its tag and first class.
UNDER_THE_FINGER = """([x, y]) => {
    let element = document.elementFromPoint(x, y);
    while (element && element.shadowRoot) {
        const inner = element.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === element) break;
        element = inner;
    }
    return element ? `${element.tagName.toLowerCase()}.${element.classList[0] || ""}` : null;
}"""


def inside_the_screen(box: dict) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= WIDTH and box["y"] + box["height"] <= HEIGHT


def frames(phone) -> int:
    """Frames the digit canvas has painted; 0 before it exists (the caller's deadline bounds the wait)."""
    canvas = phone.page.locator("canvas.digit")
    return int(canvas.first.get_attribute("data-frames") or 0) if canvas.count() else 0


def test_on_a_phone_the_explorer_map_fits_and_its_digit_stays_in_sight_while_a_finger_drags(class_server, new_phone):
    phone = new_phone()
    join(phone, class_server.url, "Zoë")
    name_field = phone.page.locator('[data-testid="stMain"]').get_by_role("textbox", name=NAME_FIELD, exact=True)
    assert name_field.count() == 0  # named: not asked again
    assert "you are Zoë" in phone.page.locator('[data-testid="stSidebar"]').text_content()  # (closed on a phone)
    phone.page.wait_for_selector("canvas.map", timeout=30_000)
    box = phone.settled_box("canvas.map")
    assert box["width"] >= WIDTH * 0.8 and inside_the_screen(box), box  # the width of the screen, no more
    assert_fits_the_phone(phone)

    finger = Finger(phone.page)
    start = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    assert phone.page.evaluate(UNDER_THE_FINGER, list(start)) == "canvas.map"  # nothing over the map there
    finger.down(*start)
    for step in range(1, 21):  # every move repaints the digit, and the digit is on screen beside the finger
        before = frames(phone)  # (each move goes somewhere new: a touch that does not move is no pointer move)
        finger.move(box["x"] + box["width"] * (0.3 + step * 0.02), box["y"] + box["height"] * 0.5)
        wait_until(lambda before=before: frames(phone) > before, 10, 0.02, message="a paint for the finger's move")
        digit = phone.page.locator("canvas.digit").bounding_box()
        assert inside_the_screen(digit) and digit["width"] >= 64, digit
    finger.up()
    # The release reaches Python: the sliders move to where the finger lifted (x at 0.70: z1 = 1.6).
    wait_until(lambda: abs(float(phone.page.locator("input.point-slider[name=z0]").evaluate("i => i.value")) - 1.6)
               <= 0.1, 20, 0.2, message="the slider to follow the release")
    phone.assert_clean()


# The replay's own height and the height the page gives it: the element that holds the component,
# whose shadow root holds the replay.
REPLAY_HEIGHTS = """() => {
    for (const host of document.querySelectorAll('[data-testid="stElementContainer"]')) {
        for (const inner of host.querySelectorAll('*')) {
            const replay = inner.shadowRoot?.querySelector('.formation');
            if (replay) return [replay.getBoundingClientRect().height, host.getBoundingClientRect().height];
        }
    }
    return null;
}"""


def test_a_phone_set_to_spanish_and_dark_opens_the_class_in_spanish_on_a_light_train_page_with_no_blank(
        class_server, browser):
    """A student's own phone, set to Spanish and to dark mode, opens the join address on the Train page.
    No link with ?lang=es and no class language: the phone's language is the one the page speaks (on a
    phone the sidebar, where the picker is, is closed). Dark mode: the page stays light, the one the
    maps, live curves and replay draw dark text for and axe checks contrast on (.streamlit/config.toml;
    Streamlit's dark theme left them unreadable). The replay of the active run takes the height it
    shows (a fixed desktop height left 144 px blank) and the curves' titles stay apart."""
    context = browser.new_context(**PHONE, locale="es-ES", color_scheme="dark")
    try:
        phone = PageWatcher(context.new_page())
        join(phone, class_server.url, "Lucía", "train",
             field_label="Tu nombre (las ejecuciones de un estudiante lo llevan)")
        phone.page.wait_for_selector('h1:has-text("Entrenar un modelo")', timeout=30_000)
        wait_until(lambda: phone.page.evaluate("() => document.documentElement.lang") == "es", 30, 0.1,
                   message="<html lang> to say es")
        assert "eres Lucía" in phone.page.locator('[data-testid="stSidebar"]').text_content()

        assert phone.page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        colours = phone.page.evaluate("""() => [
            getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor,
            getComputedStyle(document.querySelector('[data-testid="stCaptionContainer"]')).color]""")
        assert colours == ["rgb(255, 255, 255)", "rgb(102, 101, 95)"]  # ui/app.css's caption grey, 5.9:1 on white

        phone.page.locator(".formation canvas.grid").first.wait_for(timeout=30_000)
        assert_chart_titles_apart(phone)  # the active run's learning curves
        heights = phone.page.evaluate(REPLAY_HEIGHTS)
        assert heights is not None
        replay, given = heights
        assert 150 < replay <= given <= replay + 2, f"the replay is {replay:.0f} px high in {given:.0f} px of the page"
        assert_drawn_at_the_screens_pixels(phone.page.locator(".formation canvas.scatter").first, PHONE)
        assert_fits_the_phone(phone)
        phone.assert_clean()
    finally:
        context.close()


def assert_drawn_at_the_screens_pixels(canvas, context: dict) -> None:
    """The replay's scatter has a bitmap pixel for each of the screen's (a 300 px one, stretched over
    the phone's 2 device pixels a point, was blurred)."""
    def drawn() -> list:  # (a width that changed is drawn again at its next layout: waited for)
        return canvas.evaluate("canvas => [canvas.clientWidth, canvas.width]")

    wait_until(lambda: drawn()[1] == round(drawn()[0] * context["device_scale_factor"]), 10, 0.1,
               message=f"the scatter's bitmap to match its {drawn()[0]} px at the phone's pixels ({drawn()})")
    assert drawn()[0] > 100


def choose_digit(phone, digit: int) -> None:
    pill = phone.page.locator(".st-key-board_digit").get_by_role("radio", name=str(digit), exact=True)
    pill.tap()
    wait_until(lambda: pill.get_attribute("aria-checked") == "true", 10, 0.1, message="the pill to show as chosen")


def test_on_a_phone_a_student_sends_a_drawing_guesses_and_takes_the_lab_record_home(class_server, new_phone,
                                                                                      browser, tmp_path):
    phone = new_phone()
    join(phone, class_server.url, "Zoë", "class_map")
    pad = phone.page.locator("canvas.pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box["width"] >= WIDTH * 0.8, box  # the pad fills the width: room for a finger
    finger = Finger(phone.page)
    finger.down(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    for step in range(20):  # a "1": one stroke down the middle
        finger.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.15 + step * 0.035))
    with phone.rerun():
        finger.up()  # the pad sends its drawing: the page runs again
    choose_digit(phone, 1)
    phone.page.get_by_role("button", name="Send it to the class map").tap()
    phone.page.wait_for_selector("text=Sent: your 1 is on the class map.", timeout=30_000)
    assert_fits_the_phone(phone, tapped=(TAP_TARGETS[0], ".drawing-pad button"))

    teacher = signed_in_teacher(class_server.url)
    try:
        (drawing,) = board_of(teacher.open_page("class_map"))["board"]
        assert drawing["name"] == "Zoë" and drawing["digit"] == 1
        teacher.click("Ask: where will the encoder put it?")
        # Within the board's refresh the phone shows the question; a tap on the map is a guess.
        phone.page.wait_for_selector("text=Tap the map where you think the encoder puts it.", timeout=30_000)
        box = phone.settled_box("canvas.map")
        # Under the digit drawn over the map's corner: a finger there still reaches the map.
        Finger(phone.page).tap(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.15)
        phone.page.wait_for_selector("text=Your guess: (", timeout=30_000)
        wait_until(lambda: any("1 guess so far" in t for t in teacher.open_page("class_map").texts), 30, 0.5,
                   message="the guess on the teacher's board")
        teacher.click("Reveal")
        phone.page.wait_for_selector("text=The encoder puts it at", timeout=30_000)
    finally:
        teacher.close()
    assert_fits_the_phone(phone)

    download_button = phone.page.get_by_role("button", name="Download the lab record (HTML)")
    download_button.scroll_into_view_if_needed()
    with phone.page.expect_download() as download:
        download_button.tap()
    record = tmp_path / "record.html"
    Path(download.value.path()).rename(record)
    offline = browser.new_context(**PHONE, offline=True)
    try:
        page = offline.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(record.as_uri())
        text = page.inner_text("body")
        assert "Drawings (1)" in text and "Guesses (1)" in text and "Zoë" in text
        images = "() => [...document.images].map(image => image.complete && image.naturalWidth > 0)"
        assert page.evaluate(images) == [True, True]  # Zoë's drawing and its reconstruction, drawn
        assert [url for url in requests if not url.startswith(("file:", "data:"))] == []  # nothing from a network
    finally:
        offline.close()
    phone.assert_clean()


def test_the_teachers_browser_leads_and_a_phone_follows_steps_away_and_comes_back(class_server, new_page, new_phone):
    teacher = new_page()
    teacher_signs_in(teacher, class_server.url, test_classroom.CODE)
    teacher.wait_idle()
    phone = new_phone()
    join(phone, class_server.url, "Zoë", "runs")
    assert phone.page.locator("h1").first.inner_text() == "Compare runs"

    teacher.open_page("Class map")
    teacher.click_and_wait(teacher.page.get_by_text("Students follow me", exact=True))
    # Its server, watching the lead, redraws it on the teacher's page (it asks nothing), which says so.
    phone.page.wait_for_selector('h1:has-text("Class map")', timeout=30_000)
    phone.page.wait_for_selector("text=You are following the teacher's screen.", timeout=30_000)
    teacher.open_page("Lesson")
    phone.page.wait_for_selector('h1:has-text("Lesson")', timeout=30_000)
    phone.wait_idle()
    phone.page.get_by_role("button", name="Step away").tap()
    phone.wait_idle()
    other = new_phone()  # a classmate who keeps following
    join(other, class_server.url, "Ivo", "runs")
    other.page.wait_for_selector('h1:has-text("Lesson")', timeout=30_000)
    teacher.open_page("Compare runs")
    other.page.wait_for_selector('h1:has-text("Compare runs")', timeout=30_000)  # a follower has moved by now
    assert phone.page.locator("h1").first.inner_text().startswith("Lesson")  # stepped away: stays
    phone.page.get_by_role("button", name="Follow the teacher again").tap()
    phone.page.wait_for_selector('h1:has-text("Compare runs")', timeout=30_000)
    assert_fits_the_phone(phone)
    assert_chart_titles_apart(phone)  # the runs' learning curves: three panels side by side
    assert_nothing_under_a_toolbar(phone)  # the runs' table and their likelihood bounds
    phone.assert_clean()
    teacher.assert_clean()


def following_to_the_lesson(url: str, new_phone):
    """A phone that joined on the Class map and was taken to the Lesson, following the teacher;
    returns it and its websocket's tap."""
    teacher = signed_in_teacher(url)
    try:
        teacher.open_page("class_map")
        teacher.set_toggle("Students follow me", True)
        teacher.open_page("lesson")
    finally:
        teacher.close()
    phone = new_phone()
    tap = SocketTap(phone.page)
    join(phone, url, "Zoë", "class_map")
    phone.page.wait_for_selector('h1:has-text("Lesson")', timeout=30_000)
    phone.wait_idle()
    return phone, tap


def timer_request(tap: SocketTap, page: str):
    """What a page's timer sends for a timed fragment, here the Lesson's (the server holds it for
    this session), as if from `page` ("class_map": the page the phone was taken from)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    request = BackMsg()
    request.rerun_script.page_script_hash = tap.pages()[page]
    request.rerun_script.fragment_id = tap.timed_fragments()[0]
    request.rerun_script.is_auto_rerun = True
    return request


def test_a_following_phone_is_not_blanked_by_its_old_pages_timer_after_the_teacher_moves_it(class_server, new_phone):
    """When the server takes a following phone to the teacher's page, the browser does not know the
    page is changing, and the Class map's fragments, timed every second, may still ask to rerun.
    Streamlit 1.67 runs such a request after the move, for the old page, and the page goes blank
    for good ("Bad delta path index" in React; CI saw a phone blank at /lesson). The phone's server
    drops it (ui.streamlit_private.accept_fragment_reruns_of). This test sends it on purpose, from
    the phone's own websocket; once the server has read it, the request the Lesson's own timer sends:
    only that one runs."""
    phone, tap = following_to_the_lesson(class_server.url, new_phone)
    runs_before, seen_before = tap.finished_runs(), len(tap.received)
    tap.send_to_server(timer_request(tap, "class_map"))
    tap.barrier()  # the server has read the stray request (and dropped it)
    tap.send_to_server(timer_request(tap, "lesson"))
    tap.wait_for(lambda: tap.finished_runs() > runs_before, 30, "the Lesson's timed fragment to run")
    phone.wait_idle()
    assert tap.finished_runs() == runs_before + 1
    assert [forward.new_session.page_script_hash for forward in tap.received[seen_before:]
            if forward.WhichOneof("type") == "new_session"] == [tap.pages()["lesson"]], "the stray request ran"
    assert phone.page.locator('h1:has-text("Lesson")').is_visible() and "/lesson" in phone.page.url
    phone.assert_clean()


def test_the_stray_timer_workaround_is_still_needed(class_runs, tmp_path, mnist_cache_dir, new_phone):
    """The stray request with ui.streamlit_private's workarounds off: if Streamlit no longer blanks
    the page, this fails, and accept_fragment_reruns_of can go."""
    from vae import classroom

    server = AppServer(shutil.copytree(class_runs, tmp_path / "runs"), mnist_cache_dir, tmp_path / "bare.log",
                       extra_env={classroom.CLASSROOM_ENV: "1", classroom.TEACHER_CODE_ENV: test_classroom.CODE,
                                  WORKAROUNDS_ENV: "1"})
    try:
        first = StreamlitClient(server.url)  # app.py runs first, as a visit to the join address makes it:
        first.open_page("")  # without the pages-folder workaround a page opened by its address runs alone
        first.close()
        phone, tap = following_to_the_lesson(server.url, new_phone)
        tap.send_to_server(timer_request(tap, "class_map"))
        # Blank: its main area emptied, or React's "Bad delta path" once the stray run draws into it
        # (a Streamlit that ran the stray request as an ordinary run of the Class map would show that
        # page, not a blank one: then the workaround can go too).
        def blank() -> bool:
            main = phone.page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]')
            return main.count() == 0 or any("Bad delta path" in error for error in phone.errors)

        tap.wait_for(blank, 30, "the page to go blank: Streamlit may have mended it, and the workaround can go")
        phone.errors.clear()  # (the blank page's error is what this test expects)
    finally:
        server.stop()
