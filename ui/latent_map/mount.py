"""Mount the latent map (its JavaScript and CSS are the files beside this one) and its small state
companion. Python sends the static payload once per run; the state is a few hundred bytes."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent


def _module_source() -> str:
    """decoder.js's functions, then the map's code, as one ES module (a component is one file)."""
    decoder = re.sub(r"^export function", "function", (HERE / "decoder.js").read_text(), flags=re.M)
    return decoder + "\n" + (HERE / "latent_map.js").read_text()


_MAP = st.components.v2.component(
    "latent_lab_map", js=_module_source(), css=(HERE / "latent_map.css").read_text(),
)
_STATE = st.components.v2.component("latent_lab_map_state", js=(HERE / "map_state.js").read_text())


def latent_map(payload: dict, key: str):
    """The map; returns its result: `.z` (the latent point of the last release, or None) and
    `.picked` (the test-image index clicked this run, or None)."""
    return _MAP(key=key, data=payload, default={"z": None}, height=450,
                on_z_change=lambda: None, on_picked_change=lambda: None)


def map_state(run: str, state: dict, key: str) -> None:
    _STATE(key=key, data={"run": run, "state": state}, height=1)
