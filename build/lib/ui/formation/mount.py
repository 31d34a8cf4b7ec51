"""Mount the formation view (formation.js and .css beside this file): the encoded test subset on
the latent plane beside a grid of decoded digits, one frame live or every epoch with a scrubber."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.js import UI, es_module

HERE = Path(__file__).parent

_COMPONENT = st.components.v2.component(
    "latent_lab_formation",
    js=es_module(HERE / "formation.js", UI / "blob.js", UI / "palette.js", UI / "plane.js"),
    css=(HERE / "formation.css").read_text(),
)


def formation(payload: bytes, key: str) -> None:
    _COMPONENT(key=key, data=payload, height=410)
