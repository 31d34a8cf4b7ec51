"""Mount the formation view (formation.js and .css beside this file): the encoded test subset on
the latent plane beside a grid of decoded digits, one frame live or every epoch with a scrubber."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.formation.pack import in_words
from ui.js import UI, es_module
from ui.presenter import chart_scale
from vae.i18n import _

HERE = Path(__file__).parent

_COMPONENT = st.components.v2.component(
    "latent_lab_formation",
    js=es_module(HERE / "formation.js", UI / "blob.js", UI / "palette.js", UI / "plane.js"),
    css=(HERE / "formation.css").read_text(),
)


def view_text() -> dict[str, str]:
    """The words formation.js shows, in this session's language."""
    return {"scatter": _("Test images on the latent plane"), "grid": _("Digits decoded over the same plane"),
            "play": _("Play"), "pause": _("Pause"), "epoch": _("Epoch")}


def formation(payload: bytes, key: str) -> None:
    """`payload`: formation_payload's (shared by every session, in English), shown in this session's language."""
    _COMPONENT(key=key, data=in_words(payload, _, view_text(), chart_scale()), height="content")
