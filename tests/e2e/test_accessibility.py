"""Every page under axe-core (axe-playwright-python bundles it: nothing is downloaded), at desktop
and phone sizes in local mode with a run on the explorer, and in classroom mode as a student on a
phone and as the teacher at a desktop: no critical and no serious violation of
the WCAG 2.0/2.1/2.2 A and AA rules. What axe found in Streamlit's own elements is mended from the
app (ui/app.css: caption and code contrast, a multiselect's target size; ui/a11y: images named by
their captions; the Lesson's code wrapped, so no scroll region is out of a keyboard's reach)."""

from __future__ import annotations

import contextlib

import pytest

from tests.conftest import TINY, wait_until
from tests.e2e.test_latent_map import gap_to_class
from tests.support.class_room import SIGNED_IN, join, teacher_signs_in
from tests.support.harness import AppServer, choose_by_keyboard, focus_the_map
from vae.training.lab import train_and_save

PAGES = ["", "train", "reconstruction", "compare", "runs", "lesson", "class_map", "classroom"]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Only the violations in full: axe still runs every rule, but the passes, the incomplete and the rules
# that do not apply come back with one element each instead of every element they looked at, a
# result chromium serialised and Python parsed for nothing: a scan's CPU 0.64 -> 0.35 s
# (benchmarks/browser_visit_cost.py).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory, mnist_cache_dir, mnist):
    runs_dir = tmp_path_factory.mktemp("a11y-runs")
    # The conditional run first: the newer "first-run" is the one every page opens by default.
    train_and_save(TINY.replace(epochs=1, condition="label"), mnist.subset(512), runs_dir, "told", "conditional")
    train_and_save(TINY.replace(epochs=2), mnist.subset(512), runs_dir, "first-run", "default")  # a replay to play
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path_factory.mktemp("logs") / "server.log")
    yield server
    server.stop()


CODE = "TEACH-2345-KL"


@pytest.fixture(scope="module")
def class_server(tmp_path_factory, mnist_cache_dir, mnist):
    from vae import classroom

    runs_dir = tmp_path_factory.mktemp("a11y-class-runs")
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "prepared", "default")
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path_factory.mktemp("logs") / "class.log",
                       extra_env={classroom.CLASSROOM_ENV: "1", classroom.TEACHER_CODE_ENV: CODE})
    yield server
    server.stop()


EVERY_IMAGE_NAMED = """() => Array.from(document.querySelectorAll('[data-testid="stImageContainer"] img'))
    .every((img) => img.hasAttribute('alt'))"""


# Streamlit fades what a rerun (a refreshing fragment's too) has not drawn again yet: `data-stale`
# at once, then a lower opacity. A faded element fails axe's contrast check for as long as it lasts.
NOTHING_FADED = """() => !document.querySelector('[data-stale="true"]') && Array.from(
    document.querySelectorAll('[data-testid="stElementContainer"]'))
    .every((element) => getComputedStyle(element).opacity === '1')"""


# A fade that begins and ends within one scan leaves nothing faded afterwards, yet axe may have read
# the faded colours: note any element that went stale while the scan ran (then it scans again).
WATCH_FOR_FADING = """() => {
    window.__latentLabFadedDuringScan = false;
    if (window.__latentLabFadeWatch) window.__latentLabFadeWatch.disconnect();
    window.__latentLabFadeWatch = new MutationObserver((changes) => {
        if (changes.some((change) => change.target.getAttribute('data-stale') === 'true')) {
            window.__latentLabFadedDuringScan = true;
        }
    });
    window.__latentLabFadeWatch.observe(document.body, {attributes: true, attributeFilter: ['data-stale'],
                                                        subtree: true});
}"""


def serious_violations(page) -> list[tuple]:
    """axe's critical and serious findings on the page as a person reads it once it has settled.
    The images' names come from a component (ui/a11y) that names each image as it appears, and a
    rerun fades what it has not drawn again: the scan waits (bounded) until every image is named and
    nothing is faded, and scans again (at most four times) if either changed under it: a refreshing
    part of the page went stale during the scan, or an image it drew anew was caught in the moment
    before it was named (the only finding `image-alt`). A finding counts once two scans in a row make
    it: what the page shows for good is in both, a moment of a rerun is not (a caption once failed
    contrast in a full run under load, and never alone; what axe measured then was not kept)."""
    from axe_playwright_python.sync_playwright import Axe

    earlier = None
    for _ in range(4):
        page.wait_for_function(EVERY_IMAGE_NAMED, timeout=30_000)
        page.wait_for_function(NOTHING_FADED, timeout=30_000)
        page.evaluate(WATCH_FOR_FADING)
        results = Axe().run(page, options=AXE_OPTIONS)
        found = [finding(violation) for violation in results.response["violations"]
                 if violation["impact"] in ("critical", "serious")]
        settled = page.evaluate(NOTHING_FADED) and not page.evaluate("() => window.__latentLabFadedDuringScan")
        if not settled or {rule for rule, *_ in found} == {"image-alt"}:
            earlier = None
        elif not found or found == earlier:
            return found
        else:
            earlier = found
    return found


def finding(violation: dict) -> tuple:
    """A violation's rule, impact and first three elements; for contrast, also what axe measured."""
    nodes = violation["nodes"][:3]
    measured = [{key: check["data"].get(key) for key in ("fgColor", "bgColor", "contrastRatio")}
                for node in nodes for check in node.get("any", []) if isinstance(check.get("data"), dict)]
    return (violation["id"], violation["impact"], [node["target"] for node in nodes],
            *([measured] if violation["id"] == "color-contrast" else []))


def violations_on_every_page(watcher, url: str, shown: str | None = None, on_each=None) -> dict:
    """Each page opened at its address (a new session each time) and scanned; `shown`: a text the
    sidebar must show on each (who a student is: the browser's cookie carries it to each session);
    `on_each(watcher, path)`: what else to check there."""
    found = {}
    for path in PAGES:
        watcher.goto(f"{url}/{path}")
        watcher.wait_idle()
        if shown:
            assert shown in watcher.page.locator('[data-testid="stSidebar"]').text_content(), f"/{path}: not {shown!r}"
        violations = serious_violations(watcher.page)
        if on_each:  # once the page has settled for the scan
            on_each(watcher, path)
        if violations:
            found[path or "explorer"] = violations
    return found


def test_every_page_is_clean_under_axe_at_a_desktop_and_reflows_when_zoomed(a11y_server, new_page):
    """Each page opened at its address, scanned at 1400 × 1000, then zoomed as a person zooms the
    page they have open (the window's CSS size shrinks, nothing reloads): to 400 % and to 200 %."""
    watcher = new_page()
    found, sideways = {}, {}
    for path in PAGES:
        watcher.goto(f"{a11y_server.url}/{path}")
        watcher.wait_idle()
        if violations := serious_violations(watcher.page):
            found[path or "explorer"] = violations
        for zoom, cut_off in what_is_cut_off_when_zoomed(watcher).items():
            sideways[f"{path or 'explorer'} at {zoom}"] = cut_off
    assert found == {} and sideways == {}, (found, sideways)
    watcher.assert_clean()


def test_every_page_is_clean_under_axe_on_a_phone(a11y_server, new_phone):
    """And on every page each button a finger taps is at least 44 px high, the components' too (the
    Train page's replay has its player: the default run has two epochs)."""
    from tests.e2e.test_phone import TAP_TARGET_HEIGHTS, TAP_TARGETS

    small, players = {}, []

    def taps(watcher, path):
        if path == "train":  # the replay is a component: mounted once its code has loaded
            watcher.page.locator(".formation .player button").first.wait_for(timeout=30_000)
        targets = watcher.page.evaluate(TAP_TARGET_HEIGHTS, list(TAP_TARGETS))
        small.update({path or "explorer": targets["small"]} if targets["small"] else {})
        players.extend([path] if targets["found"][".player button"] else [])

    watcher = new_phone()
    assert violations_on_every_page(watcher, a11y_server.url, on_each=taps) == {}
    assert small == {} and "train" in players, (small, players)
    watcher.assert_clean()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_conditional_runs_explorer_is_clean_under_axe_and_its_class_is_picked_by_keyboard(a11y_server, new_page,
                                                                                             new_phone, size):
    watcher = new_page() if size == "desktop" else new_phone()
    watcher.goto(f"{a11y_server.url}/?run=told")
    picker = watcher.page.locator(".st-key-class_picker input")
    picker.wait_for(timeout=30_000)
    watcher.wait_idle()
    assert serious_violations(watcher.page) == []
    wait_until(lambda: gap_to_class(watcher, a11y_server.runs_dir, "told", 0) <= 1e-4, 30, 0.2,
               message="the browser's decoder to draw 0s at first")
    with watcher.rerun():  # the page runs again with the decoder of a 2, and the picker still says 2
        choose_by_keyboard(picker, "2")
    wait_until(lambda: picker.input_value() == "2", 30, 0.2, message="the picker to show class 2")
    wait_until(lambda: gap_to_class(watcher, a11y_server.runs_dir, "told", 2) <= 1e-4, 30, 0.2,
               message="the browser's decoder to draw 2s")
    assert "this style as every digit" in watcher.page.content()
    assert serious_violations(watcher.page) == []
    watcher.assert_clean()


NAVIGATION = ["Latent explorer", "Train", "Reconstruction errors", "Compare digits", "Compare runs", "Lesson",
              "Class map", "Classroom"]


def test_in_presenter_mode_every_page_is_clean_under_axe_and_reflows_at_200_percent(a11y_server, new_page):
    """Presenter mode lives in the session: switched on the Lesson page, then every page reached by
    the sidebar (an address typed would be a new session), scanned, then zoomed to 200 %."""
    watcher = new_page()
    watcher.goto(a11y_server.url)
    watcher.open_page("Lesson")
    watcher.click_and_wait(watcher.page.get_by_text("Presenter mode"))
    found, sideways, charted = {}, {}, set()
    for title in NAVIGATION:
        watcher.open_page(title)
        watcher.wait_idle()
        heading = watcher.page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('[data-testid=stMain] h1')).fontSize)")
        assert heading >= 48, f"presenter mode is off on {title}"  # 3.2rem: ui/presenter.css
        ticks = watcher.page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid=stMain] .js-plotly-plot .xtick text')].map((tick) => parseFloat(tick.style.fontSize))""")
        assert min(ticks, default=20) >= 20, f"the charts on {title} are not enlarged: {ticks}"  # CHART_FONT_SIZE
        charted.update([title] if ticks else [])
        if title == "Train":  # the run's replay and its legend grow with the page (5/3: 13 -> 21.7 px)
            legend = watcher.page.locator(".formation .legend").first
            assert legend.evaluate("legend => parseFloat(getComputedStyle(legend).fontSize)") >= 21
            # and its scatter is drawn at the size it is shown, not a 300 px bitmap stretched (soft)
            scatter = watcher.page.locator(".formation canvas.scatter").first
            sizes = "canvas => [canvas.clientWidth, canvas.width]"
            wait_until(lambda scatter=scatter, sizes=sizes: len(set(scatter.evaluate(sizes))) == 1, 10, 0.1,
                       message="the replay's scatter drawn at the size it is shown")
            assert scatter.evaluate(sizes)[0] > 300
        if violations := serious_violations(watcher.page):
            found[title] = violations
        if cut_off := what_is_cut_off_when_zoomed(watcher, ["200 %"]):
            sideways[title] = cut_off
    assert found == {} and sideways == {}, (found, sideways)
    assert {"Train", "Reconstruction errors", "Compare runs"} <= charted, charted  # (the Lesson opens on its data)
    watcher.assert_clean()


def test_in_classroom_mode_every_page_is_clean_for_a_student_on_a_phone_and_for_the_teacher(class_server, new_page,
                                                                                         new_phone):
    phone = new_phone()
    assert serious_violations_before_a_name(phone, class_server.url) == []  # the page asking for a name
    join(phone, class_server.url, "Zoë", "class_map")
    assert violations_on_every_page(phone, class_server.url, shown="you are Zoë") == {}
    phone.assert_clean()

    teacher = new_page()
    teacher_signs_in(teacher, class_server.url, CODE)
    assert teachers_violations_on_every_page(teacher) == {}
    teacher.assert_clean()


def teachers_violations_on_every_page(teacher) -> dict:
    """Each page reached through the navigation, as the teacher moves: the sign-in lives in the
    session, and a typed address opens a new one, not signed in (this sweep once scanned those: a
    student's pages a second time, never the teacher's tools)."""
    found = {}
    for title in NAVIGATION:
        teacher.open_page(title)
        signed_in = teacher.page.locator('[data-testid="stSidebar"]').get_by_text(SIGNED_IN, exact=True)
        assert signed_in.count() == 1, f"the teacher is not signed in on {title}"
        if violations := serious_violations(teacher.page):
            found[title] = violations
    return found


def serious_violations_before_a_name(phone, url: str) -> list:
    phone.goto(f"{url}/class_map")
    return serious_violations(phone.page)


def test_a_student_guesses_on_the_class_map_by_keyboard(class_server, new_page):
    """Asked where the encoder puts a test image, a student at a keyboard moves the point with the
    arrows and sends the guess with Enter: the teacher's map has it where the keys put it."""
    from tests.conftest import wait_until
    from tests.support.class_room import board_of
    from tests.support.classroom_load import sign_in_as_teacher
    from tests.support.ws_client import StreamlitClient

    teacher = StreamlitClient(class_server.url)
    try:
        assert sign_in_as_teacher(teacher, CODE)
        teacher.open_page("class_map")
        teacher.click("Ask: where will the encoder put it?")
        student = new_page()
        join(student, class_server.url, "Kim", "class_map")
        student.page.wait_for_selector("canvas.map", timeout=30_000)
        focus_the_map(student)
        for _ in range(3):  # from the centre, 3 steps of 8/40 to the right: (0.6, 0)
            student.page.keyboard.press("ArrowRight")
        student.page.keyboard.press("Enter")

        def guesses():
            return board_of(teacher.open_page("class_map"))["guesses"]

        wait_until(lambda: len(guesses()) == 1, 30, 0.5, message="Kim's guess on the teacher's map")
        (guess,) = guesses()
        assert guess == pytest.approx([0.6, 0.0], abs=0.01)
        student.assert_clean()
    finally:
        teacher.close()


# What the map's canvas draws, measured on the screen: each text's font size and each circle's
# radius in CSS pixels (the canvas holds more device pixels than it shows, and draws in its own units).
MEASURE_THE_MAP = """(() => {
  const drawn = (window.__mapDrawn = { texts: [], arcs: [] });
  const onScreen = (ctx) => ctx.getTransform().a * ctx.canvas.getBoundingClientRect().width / ctx.canvas.width;
  const keep = (list, item) => { list.push(item); if (list.length > 400) list.splice(0, 200); };
  const proto = CanvasRenderingContext2D.prototype, fillText = proto.fillText, arc = proto.arc;
  proto.fillText = function (text, x, y, ...rest) {
    if (this.canvas.classList && this.canvas.classList.contains('map'))
      keep(drawn.texts, { text: String(text), x, y, px: parseFloat(this.font.match(/([\\d.]+)px/)[1]) * onScreen(this)
      });
    return fillText.call(this, text, x, y, ...rest);
  };
  proto.arc = function (x, y, r, ...rest) {
    if (this.canvas.classList && this.canvas.classList.contains('map'))
      keep(drawn.arcs, { x, y, px: r * onScreen(this) });
    return arc.call(this, x, y, r, ...rest);
  };
})()"""


def test_in_presenter_mode_the_class_map_is_read_from_the_back_of_the_room(class_server, new_page):
    """At 1920 × 1080 with presenter mode on, the teacher's Class map fills the screen's height (at
    least 800 px, all of it in view), students' names are drawn at least 20 px high and their dots at
    least 8 px across, and the sidebar has folded away."""
    from tests.conftest import wait_until
    from tests.support.class_room import send_drawing, student

    ada = student(class_server.url, "Ada Presenter", source="127.0.0.31")
    try:
        send_drawing(ada, 1)
    finally:
        ada.close()
    teacher = new_page()
    teacher.page.set_viewport_size({"width": 1920, "height": 1080})
    teacher.page.add_init_script(MEASURE_THE_MAP)
    teacher_signs_in(teacher, class_server.url, CODE)
    teacher.open_page("Lesson")
    teacher.click_and_wait(teacher.page.get_by_text("Presenter mode"))
    teacher.open_page("Class map")
    box = teacher.settled_box("canvas.map")
    assert box["height"] >= 800, box
    teacher.page.locator("canvas.map").evaluate("c => c.scrollIntoView({block: 'center'})")  # as the teacher scrolls
    box = teacher.page.locator("canvas.map").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 1080, f"the map does not fit the screen: {box}"
    assert box["height"] >= 0.7 * 1080  # most of the screen

    def name_drawn():
        texts = teacher.page.evaluate("() => window.__mapDrawn.texts")
        return [t for t in texts if t["text"] == "Ada Presenter"]

    names = wait_until(name_drawn, 30, 0.2, message="Ada's name on the teacher's map")
    assert min(t["px"] for t in names) >= 20, names[-1]
    drawn = teacher.page.evaluate("() => window.__mapDrawn")
    mark = [t for t in drawn["texts"] if t["text"] == "1"][-1]  # written in the middle of Ada's dot
    dot = min(a["px"] for a in drawn["arcs"] if (a["x"], a["y"]) == (mark["x"], mark["y"]))
    assert 2 * dot >= 8, f"Ada's dot is {2 * dot:.1f} px across"
    assert teacher.page.locator('[data-testid="stSidebarContent"]').is_hidden() or \
        teacher.page.locator('[data-testid="stSidebar"]').bounding_box()["width"] < 50, "the sidebar is still open"
    teacher.assert_clean()


# WCAG 1.4.10: at 320 CSS px wide (a 1280 px window at 400 %) and at 200 % zoom of a 1280 × 720
# window, nothing scrolls sideways and nothing is cut off at the screen's edge. Content that is
# two-dimensional by nature (the runs table) may scroll inside its own box within the screen.
# Named exception inside Streamlit: a slider's thumb carries a native range input, 129 px wide and
# centred on the thumb, that its own box clips (nothing of it is seen).
ZOOMS = {"400 %": {"width": 320, "height": 640, "deviceScaleFactor": 1},
         "200 %": {"width": 640, "height": 360, "deviceScaleFactor": 2}}
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth, main = document.querySelector('[data-testid=stMain]');
  const found = [];
  if (document.documentElement.scrollWidth > width) found.push('the page scrolls sideways');
  if (main.scrollWidth > main.clientWidth + 1) found.push('the main area scrolls sideways');
  const scrollsWithin = (element) => {
    for (let box = element.parentElement; box && box !== main; box = box.parentElement) {
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
      if (scrolls && box.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  for (const element of main.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    const thumb = element.matches('[data-testid=stSlider] input[type=range]');
    if (box.width === 0 || box.right <= width + 1 || thumb) continue;
    if (!scrollsWithin(element))
      found.push(`${element.tagName.toLowerCase()}.${element.getAttribute('data-testid') || element.classList[0] || ''}`
                 + ` ends at ${Math.round(box.right)} px`);
  }
  return found.slice(0, 5);
}"""


def what_is_cut_off_when_zoomed(watcher, zooms=tuple(ZOOMS)) -> dict:
    """For each zoom, what scrolls sideways or is cut off once the page has reflowed (a chart or a
    map redraws at its new width a moment after the window shrinks: bounded, a page that never
    reflows is reported as it stands); then back to the page's own size."""
    page, cut_off = watcher.page, {}
    size = page.viewport_size
    screen = page.context.new_cdp_session(page)
    try:
        for zoom in zooms:
            screen.send("Emulation.setDeviceMetricsOverride", {**ZOOMS[zoom], "mobile": False})
            watcher.settled_box('[data-testid="stMain"]')
            with contextlib.suppress(AssertionError):
                wait_until(lambda: not page.evaluate(SIDEWAYS), 10, 0.2, message="the page to reflow")
            if found := page.evaluate(SIDEWAYS):
                cut_off[zoom] = found
    finally:
        screen.send("Emulation.setDeviceMetricsOverride", {**size, "deviceScaleFactor": 1, "mobile": False})
        screen.detach()
    watcher.settled_box('[data-testid="stMain"]')  # laid out again (the top bar's links re-measured)
    return cut_off


# --- A second language ---------------------------------------------------------------------------

HTML_LANG = "() => document.documentElement.lang"
# What a person reads, the components' shadow roots included and code left out (the Lesson's code,
# `make classroom`: code is code in any language).
VISIBLE_TEXT = """() => {
    const texts = [];
    const walk = (root) => {
        for (const element of root.querySelectorAll('*')) {
            if (element.shadowRoot) walk(element.shadowRoot);
        }
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (!parent || parent.closest('code, pre, script, style') || !parent.checkVisibility()) continue;
            texts.push(node.textContent);
        }
    };
    walk(document.querySelector('[data-testid=stApp]'));
    return texts.join(' ');
}"""


def pick_language(watcher, name: str) -> None:
    """The sidebar's language picker, by the keyboard and mouse as a person would."""
    picker = watcher.page.locator(".st-key-language_picker input")
    picker.scroll_into_view_if_needed()
    picker.click()
    watcher.click_and_wait(watcher.page.get_by_role("option", name=name))


def test_spanish_is_picked_in_the_sidebar_remembered_by_this_browser_and_sets_the_page_language(a11y_server,
                                                                                                 new_page):
    watcher = new_page()
    watcher.goto(a11y_server.url)
    assert watcher.page.evaluate(HTML_LANG) == "en"
    pick_language(watcher, "Español")
    watcher.page.wait_for_selector('h1:has-text("Explorador latente")', timeout=30_000)
    wait_until(lambda: watcher.page.evaluate(HTML_LANG) == "es", 30, 0.1, message="<html lang> to say es")
    watcher.goto(a11y_server.url + "/train")  # a new session of the same browser: its cookie says es
    watcher.page.wait_for_selector('h1:has-text("Entrenar un modelo")', timeout=30_000)
    wait_until(lambda: watcher.page.evaluate(HTML_LANG) == "es", 30, 0.1, message="<html lang> es after a reload")
    watcher.goto(a11y_server.url + "/?lang=en")  # a link overrides it
    watcher.page.wait_for_selector('h1:has-text("Latent explorer")', timeout=30_000)
    watcher.assert_clean()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_in_spanish_is_clean_under_axe_and_shows_no_english(a11y_server, new_page, new_phone, size,
                                                                        english_only_words):
    """What the browser shows, the components' words included (the map's live text, the pad's
    buttons), with <html lang="es">, and axe as clean as in English."""
    from tests.test_language import words

    watcher = new_page() if size == "desktop" else new_phone()
    found, english = {}, {}
    for path in PAGES:
        watcher.goto(f"{a11y_server.url}/{path}?lang=es")
        wait_until(lambda: watcher.page.evaluate(HTML_LANG) == "es", 30, 0.1, message=f"lang=es on /{path}")
        violations = serious_violations(watcher.page)
        if violations:
            found[path or "explorer"] = violations
        shown = words(watcher.page.evaluate(VISIBLE_TEXT))
        assert len(shown) > 20, f"/{path}: too little text read to judge ({sorted(shown)})"
        leaked = shown & english_only_words
        if leaked:
            english[path or "explorer"] = sorted(leaked)
    assert found == {} and english == {}, (found, english)
    watcher.assert_clean()
