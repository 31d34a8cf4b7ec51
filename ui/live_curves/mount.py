"""The live training curves as a small browser component (components v2): the page sends only the
points, and the words in the reader's language; the browser draws them on a canvas (live_curves.js)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from ui.js import es_module
from ui.presenter import chart_scale
from vae.i18n import _
from vae.plots import METRIC_TITLES

HERE = Path(__file__).parent
MAX_TRAIN_POINTS = 600  # more than a panel's width in pixels would not show
HEIGHT = 300  # the canvas's height at scale 1 (curves_layout.js lays its panels out in it)


_COMPONENT = st.components.v2.component(
    "latent_lab_live_curves",
    js=es_module(HERE / "live_curves.js", HERE / "curves_layout.js"), css=(HERE / "live_curves.css").read_text(),
)


def curves_payload(batch_points: Sequence[dict], epoch_points: Sequence[dict], epochs: int,
                   scale: float = 1.0) -> dict:
    """What the browser draws: thinned train points, every test point, one list per panel, and its
    words; `scale`: its lettering and height, larger in presenter mode."""
    step = max(1, -(-len(batch_points) // MAX_TRAIN_POINTS))
    train = list(batch_points[::step])
    if batch_points and train[-1] is not batch_points[-1]:
        train.append(batch_points[-1])
    return {
        "epochs": epochs,
        "scale": scale,
        "height": round(HEIGHT * scale),  # the component's, below: the canvas fills it
        "train_epochs": [round(p["epoch"], 4) for p in train],
        "test_epochs": [round(p["epoch"], 4) for p in epoch_points],
        "panels": [{"title": _(title), "train": [round(p[metric], 3) for p in train],
                    "test": [round(p[f"test_{metric}"], 3) for p in epoch_points]}
                   for metric, title in METRIC_TITLES.items()],
        "text": {"epoch": _("epoch"), "train": _("train (running mean over the epoch)"),
                 "test": _("test (each epoch's end)"),
                 "label": _("Training curves: loss, reconstruction and KL per epoch")},
    }


def live_curves(batch_points: Sequence[dict], epoch_points: Sequence[dict], epochs: int, key: str) -> None:
    payload = curves_payload(batch_points, epoch_points, epochs, chart_scale())
    _COMPONENT(key=key, data=payload, height=payload["height"])
