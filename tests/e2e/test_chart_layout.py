"""Charts laid out in chromium, with its own fonts, at a small phone's width, a phone's, a laptop
column's and a projector's, in every language: the live training curves (ui/live_curves, drawn on a
canvas: no text runs into another or off the canvas; on a phone the titles wrap and the legend takes
two rows) and the per-class error bars (vae/plots.py, drawn by plotly.js, here the copy the plotly
package bundles: every class named under its bars, no name crossing another or the axis title or
leaving the chart)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.support.class_room import PHONE
from ui.js import es_module
from ui.live_curves.mount import HERE, curves_payload
from ui.presenter import CHART_SCALE
from vae.datasets import FASHION_MNIST, MNIST
from vae.i18n import in_language, language_codes
from vae.plots import per_class_error_bars

BATCHES = [{"epoch": n / 10, "loss": 300 - n, "reconstruction_loss": 280 - n, "kl_loss": 20 - n / 10}
           for n in range(1, 40)]
EPOCH_ENDS = [{"epoch": n, "test_loss": 250 - n, "test_reconstruction_loss": 230 - n, "test_kl_loss": 18 - n}
              for n in range(1, 4)]
WIDTHS = [300, 366, 700, 1400]  # the component's least; a 390 px phone's column; a laptop's; a projector's


def out_of_place(boxes: list[dict], width: float, height: float) -> list[list[str]]:
    """Each pair of text boxes that cross, and each box not wholly inside width × height."""
    def apart(a, b):
        return a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]

    return ([[a["text"], b["text"]] for index, a in enumerate(boxes) for b in boxes[index + 1:] if not apart(a, b)]
            + [[box["text"]] for box in boxes
               if box["left"] < 0 or box["top"] < 0 or box["right"] > width or box["bottom"] > height])


LAY_OUT = """([width, data]) => {
    const ctx = document.createElement("canvas").getContext("2d");
    const measure = (text, font) => { ctx.font = font; return ctx.measureText(text).width; };
    return curvesLayout(width, measure, data.text, data.panels.map((panel) => panel.title), data.epochs, data.scale,
                        data.height);
}"""

# The curves drawn in a `width` px column: the canvas's size on the page, and every text it drew as a
# box in CSS pixels, measured where it was drawn (the y axes' value labels too, which the layout does
# not place: they follow the data).
DRAW = """([width, data]) => {
    const texts = [], fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
        const m = this.measureText(text), scale = this.getTransform().a;
        const left = this.textAlign === "right" ? x - m.width : this.textAlign === "center" ? x - m.width / 2 : x;
        texts.push({text: String(text), left: left / scale, right: (left + m.width) / scale,
                    top: (y - m.actualBoundingBoxAscent) / scale, bottom: (y + m.actualBoundingBoxDescent) / scale});
        return fillText.call(this, text, x, y, ...rest);
    };
    const host = document.createElement("div");
    host.style.width = `${width}px`;
    document.body.appendChild(host);
    try {
        drawCurves({data, parentElement: host.attachShadow({mode: "open"})});
        const { width: drawnWidth, height } = host.shadowRoot.querySelector("canvas").getBoundingClientRect();
        return {size: [drawnWidth, height], texts};
    } finally {
        CanvasRenderingContext2D.prototype.fillText = fillText;
        host.remove();
    }
}"""
# Losses as a real training's are at first (hundreds, with a decimal): the widest value labels.
FIRST_BATCHES = [{"epoch": n / 10, "loss": 543.7 - 7.3 * n, "reconstruction_loss": 517.1 - 7.1 * n,
                  "kl_loss": 26.6 - 0.2 * n} for n in range(1, 40)]


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
        assert out_of_place(layout["boxes"], width, 300) == [], f"at {width} px in {language}"
        if width >= 700:  # room for every title on one line
            assert [len(panel["title"]) for panel in layout["panels"]] == [1, 1, 1]
        assert page.evaluate(DRAW, [width, data])["size"] == [width, 300]
    assert errors == []


@pytest.mark.parametrize("scale", [1.0, CHART_SCALE], ids=["laptop", "presenter"])
def test_every_text_the_curves_draw_stays_apart_and_on_the_canvas_the_value_labels_too(phone_page, scale):
    page, errors = phone_page
    with in_language("en"):
        data = curves_payload(FIRST_BATCHES, EPOCH_ENDS, epochs=10, scale=scale)
    for width in WIDTHS if scale == 1.0 else (700, 1400):
        drawn = page.evaluate(DRAW, [width, data])["texts"]
        assert len([text for text in drawn if re.fullmatch(r"[\d.]+", text["text"])]) > 3 * 3, drawn  # values, ticks
        assert out_of_place(drawn, width, round(300 * scale)) == [], f"at {width} px, scale {scale}"
    assert errors == []


@pytest.mark.parametrize("language", language_codes())
def test_in_presenter_mode_the_live_curves_letters_grow_and_stay_apart_on_a_projector(phone_page, language):
    page, errors = phone_page
    with in_language(language):
        data = curves_payload(BATCHES, EPOCH_ENDS, epochs=10, scale=CHART_SCALE)
    for width in (700, 1400):  # a projector's main column beside the sidebar, and the whole screen
        layout = page.evaluate(LAY_OUT, [width, data])
        height = round(300 * CHART_SCALE)  # 500
        assert layout["height"] == height and layout["tickFont"] == f"{11 * CHART_SCALE}px sans-serif"
        assert out_of_place(layout["boxes"], width, height) == [], f"at {width} px in {language}"
        assert page.evaluate(DRAW, [width, data])["size"] == [width, height]
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


# The x axis's tick labels and title as plotly drew them, whether it turned the labels (to fit them
# side by side), and the chart's own box.
X_AXIS_TEXTS = """() => {
    const chart = document.querySelector('.js-plotly-plot');
    const box = (element) => {
        const { left, top, right, bottom } = element.getBoundingClientRect();
        return { text: element.textContent, left, top, right, bottom };
    };
    const ticks = [...chart.querySelectorAll('.xtick text')];
    return { ticks: ticks.map(box), turned: ticks.some((tick) => /rotate/.test(tick.getAttribute('transform'))),
             title: box(chart.querySelector('.xtitle')), chart: box(chart.querySelector('svg.main-svg')) };
}"""


@pytest.fixture(scope="module")
def plotly_page(browser):
    """A phone's page with the plotly package's plotly.js loaded once: each chart is drawn anew in it."""
    from plotly.offline import get_plotlyjs

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_content("<body style='margin: 0'><div id='chart'></div></body>")
    page.add_script_tag(content=get_plotlyjs())
    yield page
    context.close()


DRAW_CHART = """async ([figure, width]) => {
    const chart = document.getElementById('chart');
    chart.style.width = `${width}px`;
    Plotly.purge(chart);
    await Plotly.newPlot(chart, figure.data, figure.layout, {displayModeBar: false});
}"""


@pytest.mark.parametrize("dataset", [MNIST, FASHION_MNIST], ids=lambda dataset: dataset.name)
@pytest.mark.parametrize("language", language_codes())
def test_the_per_class_bars_name_every_class_on_a_phone_and_a_projector(plotly_page, dataset, language):
    table = pd.DataFrame([{"run": run, "digit": label, "mean_sse": 20.0 + label + 3 * index}
                          for index, run in enumerate(("one-run", "another")) for label in range(10)])
    with in_language(language):
        figure = json.loads(per_class_error_bars(table, dataset).to_json())
        names = list(dataset.shown_class_names())
    for width in (366, 1400):
        plotly_page.set_viewport_size({"width": max(width, 390), "height": 900})
        plotly_page.evaluate(DRAW_CHART, [figure, width])
        drawn = plotly_page.evaluate(X_AXIS_TEXTS)
        assert [tick["text"] for tick in drawn["ticks"]] == names, f"at {width} px in {language}"
        chart = drawn["chart"]
        boxes = [{**box, "left": box["left"] - chart["left"], "right": box["right"] - chart["left"],
                  "top": box["top"] - chart["top"], "bottom": box["bottom"] - chart["top"]}
                 for box in [*drawn["ticks"], drawn["title"]]]
        width_drawn, height_drawn = chart["right"] - chart["left"], chart["bottom"] - chart["top"]
        title, ticks = boxes[-1], boxes[:-1]
        # Turned labels' upright boxes overlap where their letters do not (plotly turns them to keep
        # them apart): each is checked against the title and the chart's edges only.
        checked = [[*ticks, title]] if not drawn["turned"] else [[tick, title] for tick in ticks]
        for group in checked:
            assert out_of_place(group, width_drawn, height_drawn) == [], f"at {width} px in {language}"
        if width >= 1400:
            assert not drawn["turned"]
