"""Mount the latent map (its JavaScript and CSS are the files beside this one) and its small state
companion. Python sends the static payload once per run; the state is a few hundred bytes."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.js import UI, es_module
from ui.presenter import presenter_on

HERE = Path(__file__).parent

_MAP = st.components.v2.component(
    "latent_lab_map", js=es_module(HERE / "latent_map.js", UI / "blob.js", UI / "palette.js", UI / "plane.js",
                                       HERE / "board.js", HERE / "decoder.js"),
    css=(HERE / "latent_map.css").read_text(),
)
_STATE = st.components.v2.component("latent_lab_map_state", js=(HERE / "map_state.js").read_text())


def latent_map(payload: dict, key: str):
    """The map; returns its result: `.z` (the latent point of the last release, or None) and
    `.picked` (the test-image index clicked this run, or None)."""
    return _MAP(key=key, data=payload, default={"z": None},
                on_z_change=lambda: None, on_picked_change=lambda: None)


# The browser keeps one map state per run, and the explorer and the Class map show the same run's map:
# each page clears what only the other draws (the explorer's walk on the class map, or the class's
# drawings on the explorer, where they would also turn a click's pick into nothing).
EXPLORER_OVERLAYS = ("show_grid", "posterior", "samples", "path", "drawn")
BOARD_OVERLAYS = ("board", "guesses", "answer", "target", "guess_mode")


def cleared(keys: tuple[str, ...]) -> dict:
    return dict.fromkeys(keys)


def map_state(run: str, state: dict, key: str) -> None:
    """Send the map its changing state; presenter mode rides along (the map grows for a projector)."""
    _STATE(key=key, data={"run": run, "state": {**state, "presenter": presenter_on()}}, height=1)
