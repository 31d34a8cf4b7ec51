"""The live training curves (ui/live_curves) laid out and drawn in chromium, with its own fonts, at a
small phone's width, a phone's, a laptop column's and a projector's, in every language: no text runs
into another or off the canvas (on a phone the titles wrap and the legend takes two rows)."""

from __future__ import annotations

import re

import pytest

from tests.support.class_room import PHONE
from ui.js import es_module
from ui.live_curves.mount import HERE, curves_payload
from vae.i18n import in_language, language_codes

BATCHES = [{"epoch": n / 10, "loss": 300 - n, "reconstruction_loss": 280 - n, "kl_loss": 20 - n / 10}
           for n in range(1, 40)]
EPOCH_ENDS = [{"epoch": n, "test_loss": 250 - n, "test_reconstruction_loss": 230 - n, "test_kl_loss": 18 - n}
              for n in range(1, 4)]
WIDTHS = [300, 366, 700, 1400]  # the component's least; a 390 px phone's column; a laptop's; a projector's

# Each pair of text boxes that cross, and each box not wholly on the canvas.
CROSSING = """([width, height, boxes]) => {
    const apart = (a, b) => a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
    return [
        ...boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => !apart(a, b)).map((b) => [a.text, b.text])),
        ...boxes.filter((b) => b.left < 0 || b.top < 0 || b.right > width || b.bottom > height).map((b) => [b.text]),
    ];
}"""

LAY_OUT = """([width, data]) => {
    const ctx = document.createElement("canvas").getContext("2d");
    const measure = (text, font) => { ctx.font = font; return ctx.measureText(text).width; };
    return curvesLayout(width, measure, data.text, data.panels.map((panel) => panel.title), data.epochs);
}"""

DRAW = """([width, data]) => {
    const host = document.createElement("div");
    host.style.width = `${width}px`;
    document.body.appendChild(host);
    drawCurves({data, parentElement: host.attachShadow({mode: "open"})});
    return host.shadowRoot.querySelector("canvas").getBoundingClientRect().width;
}"""


@pytest.fixture(scope="module")
def phone_page(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    layout = re.sub(r"^export ", "", (HERE / "curves_layout.js").read_text(), flags=re.M)
    component = es_module(HERE / "live_curves.js", HERE / "curves_layout.js").replace(
        "export default function", "window.drawCurves = function")
    page.set_content(f"<body style='margin: 0'><script>{layout}</script><script type='module'>{component}</script>")
    page.wait_for_function("() => typeof window.drawCurves === 'function'", timeout=30_000)
    yield page, errors
    context.close()


@pytest.mark.parametrize("language", language_codes())
def test_the_live_curves_texts_stay_apart_and_on_the_canvas_at_every_width(phone_page, language):
    page, errors = phone_page
    with in_language(language):
        data = curves_payload(BATCHES, EPOCH_ENDS, epochs=10)
    for width in WIDTHS:
        layout = page.evaluate(LAY_OUT, [width, data])
        assert len(layout["boxes"]) >= 3 * 3 + 2  # titles, ticks, "epoch" under each panel; both keys
        assert page.evaluate(CROSSING, [width, 300, layout["boxes"]]) == [], f"at {width} px in {language}"
        if width >= 700:  # room for every title on one line
            assert [len(panel["title"]) for panel in layout["panels"]] == [1, 1, 1]
        assert page.evaluate(DRAW, [width, data]) == width
    assert errors == []


def test_a_title_too_wide_for_its_panel_wraps_and_the_second_key_goes_under_the_first(phone_page):
    page, _ = phone_page
    with in_language("en"):
        data = curves_payload(BATCHES, EPOCH_ENDS, epochs=10)
    narrow, wide = (page.evaluate(LAY_OUT, [width, data]) for width in (366, 1400))
    assert [len(panel["title"]) for panel in wide["panels"]] == [1, 1, 1]
    assert max(len(panel["title"]) for panel in narrow["panels"]) == 2
    (first, second), (left, right) = (narrow["legend"], wide["legend"])
    assert second["x"] == first["x"] and second["y"] > first["y"]  # a row of its own
    assert right["y"] == left["y"] and right["x"] > left["x"]
    assert len(narrow["ticks"]) < len(wide["ticks"])
