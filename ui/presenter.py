"""Presenter mode: a switch that enlarges text, code and figures for a projector at the back of a
classroom. The switch's state is kept in session state, so it survives moving between pages."""

from __future__ import annotations

import functools
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from vae.i18n import _

STYLESHEET = Path(__file__).with_name("presenter.css")
TOGGLE_KEY = "presenter_mode"
FIGURE_FACTOR = 2
CHART_FONT_SIZE = 20
CHART_SCALE = CHART_FONT_SIZE / 12  # plotly letters its charts at 12 px: our own charts grow as much


def presenter_on() -> bool:
    return bool(st.session_state.get(TOGGLE_KEY, False))


def presenter_switch() -> bool:
    """The "Presenter mode" toggle; returns whether presenter mode is on. Its value is kept for the
    whole session, also on pages that do not draw the toggle."""
    return st.toggle(_("Presenter mode"), key=TOGGLE_KEY, persist_state="session",
                     help=_("Larger text, code and figures, for a projector at the back of a classroom."))


@functools.cache
def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def presenter_style() -> None:
    """When presenter mode is on, add the presenter stylesheet to the page."""
    if presenter_on():
        st.html(f"<style>{_stylesheet()}</style>")


def figure_scale(base: int) -> int:
    """Pixels per MNIST pixel for a digit image: `base`, or larger in presenter mode."""
    return base * FIGURE_FACTOR if presenter_on() else base


def chart_scale() -> float:
    """How much larger our own charts (the browser components') draw: CHART_SCALE in presenter mode."""
    return CHART_SCALE if presenter_on() else 1.0


def _presenter_chart(figure: go.Figure) -> go.Figure:
    """A plotly chart with larger lettering in presenter mode (its text is drawn in SVG, where the
    stylesheet's sizes would overlap plotly's own layout)."""
    if presenter_on():
        # Streamlit's chart theme sets the ticks' and legend's own sizes, which the layout's font
        # does not reach: each is set here.
        figure.update_layout(font={"size": CHART_FONT_SIZE}, legend_font_size=CHART_FONT_SIZE,
                             legend_title_font_size=CHART_FONT_SIZE,
                             height=(figure.layout.height or 400) * 1.3)
        figure.update_xaxes(tickfont_size=CHART_FONT_SIZE, title_font_size=CHART_FONT_SIZE)
        figure.update_yaxes(tickfont_size=CHART_FONT_SIZE, title_font_size=CHART_FONT_SIZE)
        figure.update_annotations(font_size=CHART_FONT_SIZE)  # subplot titles
    return figure


def chart(figure: go.Figure, key: str) -> None:
    """A page's plotly chart, as every page draws one: larger in presenter mode, without plotly's
    toolbar (it would cover the chart's corner and offers nothing a lesson needs)."""
    st.plotly_chart(_presenter_chart(figure), key=key, config={"displayModeBar": False})
