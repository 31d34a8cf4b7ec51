"""Plotly figures and display images as pure functions of data: no Streamlit, no models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vae.datasets import MNIST, DataSet
from vae.i18n import N_, _

METRIC_TITLES = {  # metric -> its panel's title, in English: `_(title)` where shown
    "loss": N_("−ELBO (loss)"),
    "reconstruction_loss": N_("reconstruction (BCE)"),
    "kl_loss": N_("KL divergence"),
}
# The ten class colours: told apart under protanopia, deuteranopia and tritanopia as well as normal
# vision (smallest ΔE*ab between two classes 20-23 under each, where plotly's D3 palette fell to 4.6),
# each at least 3:1 on white. Chosen by vae.palette.choose_palette; benchmarks/palette.py prints why.
DIGIT_COLOURS = ["#0b4f9c", "#ff5a0f", "#b48787", "#8700f0", "#963c1e",
                 "#3c96ff", "#8787b4", "#694b5a", "#d2785a", "#f000e1"]
TRAIN_COLOUR, TEST_COLOUR = "#1f77b4", "#d62728"


PANELS_MARGIN = {"l": 50, "r": 10, "t": 60, "b": 40}  # the top's room for the panels' two-line titles


def metric_panels() -> go.Figure:
    """Three panels side by side (loss, reconstruction, KL), titled in this reader's language, each
    title on two lines (at its last space): on a phone's 390 px the three share ~330 px, and on one
    line each they ran into each other."""
    titles = ["<br>".join(_(title).rsplit(" ", 1)) for title in METRIC_TITLES.values()]
    return make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)


def training_curves(batch_points: Sequence[dict], epoch_points: Sequence[dict]) -> go.Figure:
    """Three panels (loss, reconstruction, KL) in nats per image: train as a line over fractional
    epochs, test as markers at each epoch's end."""
    figure = metric_panels()
    for column, metric in enumerate(METRIC_TITLES, start=1):
        figure.add_trace(go.Scatter(
            x=[p["epoch"] for p in batch_points], y=[p[metric] for p in batch_points],
            mode="lines", name=_("train"), legendgroup="train", showlegend=column == 1,
            line={"color": TRAIN_COLOUR, "width": 2},
        ), row=1, col=column)
        figure.add_trace(go.Scatter(
            x=[p["epoch"] for p in epoch_points], y=[p[f"test_{metric}"] for p in epoch_points],
            mode="lines+markers", name=_("test"), legendgroup="test", showlegend=column == 1,
            line={"color": TEST_COLOUR, "dash": "dot"}, marker={"size": 8},
        ), row=1, col=column)
        figure.update_xaxes(title_text=_("epoch"), rangemode="tozero", row=1, col=column)
    figure.update_yaxes(title_text=_("nats per image"), row=1, col=1)
    figure.update_layout(height=330, margin=PANELS_MARGIN,
                         legend={"orientation": "h", "y": -0.25}, uirevision="training")
    return figure


def history_points(history: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """A saved history.csv as the (batch_points, epoch_points) that training_curves draws."""
    train = history[["epoch", *METRIC_TITLES]].to_dict("records")
    test = history[["epoch", *(f"test_{m}" for m in METRIC_TITLES)]].to_dict("records")
    return train, test


def per_class_error_bars(table: pd.DataFrame, dataset: DataSet = MNIST) -> go.Figure:
    """Grouped bars of mean per-image SSE by class, named as `dataset` names them; `table` has
    columns run, digit (the class label), mean_sse."""
    figure, item = go.Figure(), _(dataset.item)
    for run_name, rows in table.groupby("run", sort=False):
        figure.add_trace(go.Bar(
            x=[dataset.class_name(label) for label in rows["digit"]], y=rows["mean_sse"], name=str(run_name),
            hovertemplate=f"{item} %{{x}}: %{{y:.2f}}<extra>%{{fullData.name}}</extra>",
        ))
    figure.update_layout(
        barmode="group", height=380, margin={"l": 50, "r": 10, "t": 20, "b": 40},
        # Categories, so every class is named under its bars (as numbers, plotly marked only some
        # digits); the margin grows to fit names a narrow screen turns on their side.
        xaxis={"type": "category", "automargin": True, "title": {"text": item, "standoff": 10}},
        yaxis_title=_("mean sum of squared errors per image"),
        legend={"orientation": "h", "y": 1.12}, showlegend=True,
    )
    return figure


def move_current_marker(figure: go.Figure, current: Sequence[float]) -> go.Figure:
    """Move the "you are here" cross of a latent_scatter figure: ~0.1 ms, where rebuilding the
    figure costs ~70 ms, so the explorer keeps one figure per session and moves only this."""
    figure.data[-1].x, figure.data[-1].y = [float(current[0])], [float(current[1])]
    return figure


def add_digit_traces(figure: go.Figure, points: np.ndarray, labels: np.ndarray, marker_size: int,
                     dataset: DataSet = MNIST) -> None:
    """One trace per class (so the legend toggles classes), coloured by DIGIT_COLOURS, named as
    `dataset` names them (in the session's language)."""
    item = _(dataset.item)
    for digit in range(10):
        mask = labels == digit
        name = dataset.class_name(digit)
        figure.add_trace(go.Scattergl(
            x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
            marker={"size": marker_size, "color": DIGIT_COLOURS[digit], "opacity": 0.6},
            hovertemplate=f"{item} {name}: (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        ))


def latent_scatter(z: np.ndarray, labels: np.ndarray, current: Sequence[float] = (0.0, 0.0),
                   axis_titles: tuple[str, str] = ("z₁", "z₂"), extent: float = 4.0,
                   click_grid_steps: int = 33, dataset: DataSet = MNIST) -> go.Figure:
    """Encoded test images coloured by digit, the current point marked, and a faint grid of
    clickable points so a click anywhere (not only on a digit) can move the sliders."""
    figure = go.Figure()
    grid = np.linspace(-extent, extent, click_grid_steps)
    gx, gy = np.meshgrid(grid, grid)
    figure.add_trace(go.Scattergl(
        x=gx.ravel(), y=gy.ravel(), mode="markers", name=_("any point"), showlegend=False,
        marker={"size": 9, "color": "rgba(0,0,0,0.03)"}, hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>",
    ))
    add_digit_traces(figure, z, labels, marker_size=4, dataset=dataset)
    figure.add_trace(go.Scatter(
        x=[float(current[0])], y=[float(current[1])], mode="markers", name=_("you are here"), showlegend=False,
        marker={"size": 18, "symbol": "x-thin", "line": {"width": 4, "color": "black"}}, hoverinfo="skip",
    ))
    figure.update_layout(
        height=460, margin={"l": 40, "r": 10, "t": 10, "b": 40},
        legend={"title": _(dataset.item), "itemsizing": "constant"},
        xaxis={"title": axis_titles[0], "range": [-extent, extent], "zeroline": False},
        yaxis={"title": axis_titles[1], "range": [-extent, extent], "zeroline": False, "scaleanchor": "x"},
        dragmode="pan", uirevision="latent",
    )
    return figure


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling to uint8: crisp pixels at any size, never a blurry thumbnail."""
    pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    if pixels.ndim == 1:
        pixels = pixels.reshape(28, 28)
    return (np.kron(pixels, np.ones((scale, scale), np.float32)) * 255).round().astype(np.uint8)


def png(image: np.ndarray) -> bytes:
    """A uint8 grey image (as enlarge and digit_rows make) as PNG bytes, for a download button."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def digit_rows(rows: Sequence[np.ndarray], scale: int = 3, gap: int = 2) -> np.ndarray:
    """Tile rows of 784-pixel digits (e.g. originals above reconstructions) into one image."""
    count = max(len(row) for row in rows)
    cell = 28 + gap
    sheet = np.ones((len(rows) * cell - gap, count * cell - gap), np.float32)
    for r, row in enumerate(rows):
        for c, digit in enumerate(row):
            sheet[r * cell : r * cell + 28, c * cell : c * cell + 28] = np.asarray(digit).reshape(28, 28)
    return enlarge(sheet, scale)


# One colour per run on the Compare runs page (plotly's Dark2): unlike the digits' colours, so a
# run's curves are never mistaken for a digit's cluster on the maps below them.
RUN_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def runs_overlay(histories: dict[str, pd.DataFrame]) -> go.Figure:
    """Saved histories of several runs on one figure of three panels (loss, reconstruction, KL) in
    nats per image: one colour per run, train solid and test dotted with markers. Each run is named
    once in the legend, and a click on its name hides all six of its lines."""
    # The words of the hover text are translated; plotly fills its own %{...} fields.
    on_train = _("epoch {x}: {y} (train)").format(x="%{x}", y="%{y:.2f}") + "<extra>%{fullData.name}</extra>"
    on_test = _("epoch {x}: {y} (test)").format(x="%{x}", y="%{y:.2f}") + "<extra>%{fullData.name}</extra>"
    figure = metric_panels()
    for index, (run_name, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        for column, metric in enumerate(METRIC_TITLES, start=1):
            figure.add_trace(go.Scatter(
                x=history["epoch"], y=history[metric], mode="lines", name=run_name, legendgroup=run_name,
                showlegend=column == 1, line={"color": colour, "dash": "solid", "width": 2},
                hovertemplate=on_train,
            ), row=1, col=column)
            figure.add_trace(go.Scatter(
                x=history["epoch"], y=history[f"test_{metric}"], mode="lines+markers", name=run_name,
                legendgroup=run_name, showlegend=False, line={"color": colour, "dash": "dot"},
                marker={"size": 7}, hovertemplate=on_test,
            ), row=1, col=column)
    figure.update_xaxes(title_text=_("epoch"))
    figure.update_yaxes(title_text=_("nats per image"), row=1, col=1)
    figure.update_layout(height=360, margin=PANELS_MARGIN,
                         legend={"orientation": "h", "y": -0.25})
    return figure


def small_latent_map(points: np.ndarray, labels: np.ndarray, axis_titles: tuple[str, str] = ("z₁", "z₂"),
                     extent: float = 4.0, dataset: DataSet = MNIST) -> go.Figure:
    """One run's encoded test images on its map plane, coloured by digit, for small multiples: every
    map spans [-extent, extent]² and cannot be zoomed, so maps side by side compare at one scale
    (a collapsed run is one blob at the origin). Unlike latent_scatter, nothing here is clickable."""
    figure = go.Figure()
    add_digit_traces(figure, points, labels, marker_size=3, dataset=dataset)
    # A square exactly [-extent, extent]² whatever the column's width ("domain": shrink the plot
    # area, not widen the range, to keep x and y at one scale).
    axis = {"range": [-extent, extent], "fixedrange": True, "zeroline": False, "constrain": "domain"}
    figure.update_layout(
        height=360, margin={"l": 40, "r": 10, "t": 10, "b": 40},
        legend={"title": _(dataset.item), "orientation": "h", "y": -0.2, "itemsizing": "constant", "itemwidth": 30,
                "entrywidth": 0.2, "entrywidthmode": "fraction"},  # two rows of five digits
        xaxis={**axis, "title": axis_titles[0]}, yaxis={**axis, "title": axis_titles[1], "scaleanchor": "x"},
    )
    return figure
