"""Mount the latent map (its JavaScript and CSS are the files beside this one) and its small state
companion. Python sends the static payload once per run; the state is a few hundred bytes. The
words the map shows (labels, its live region) are the session's language, added to the payload's
header as it is sent: the payload itself is packed once for every session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from ui.blob import read_header, with_header
from ui.js import UI, es_module
from ui.presenter import presenter_on
from vae.i18n import _

HERE = Path(__file__).parent

_MAP = st.components.v2.component(
    "latent_lab_map", js=es_module(HERE / "latent_map.js", UI / "blob.js", UI / "palette.js", UI / "plane.js",
                                       HERE / "board.js", HERE / "decoder.js", HERE / "weight_codes.js"),
    css=(HERE / "latent_map.css").read_text(),
)
_STATE = st.components.v2.component("latent_lab_map_state", js=(HERE / "map_state.js").read_text())
_POINT = st.components.v2.component("latent_lab_point", js=(HERE / "point.js").read_text(),
                                    css=(HERE / "point.css").read_text())
SLIDER_STEP = 0.05


def map_text(header: dict) -> dict:
    """Every word the map's JavaScript shows, in the session's language; templates keep their {fields},
    filled in the browser. The class names and the plane's axes are the payload's, translated."""
    return {
        "roledescription": _("latent map"),
        "map": _("Latent map. Drag, or use the arrow keys to move the point (Shift: bigger steps), Home for the "
                 "centre, Enter to pick the nearest test image."),
        "tip": _("A drawing on the class map"),
        "digit": _("The decoded digit"),
        "caption": _("decoded in your browser"),
        "play": _("▶ Play"),
        "scrub": _("Position along the path"),
        "point": _("point"),  # the live region's name of a point off the latent space's own axes
        "among": _("{axis} = ({x}, {y}), among the {name}s"),
        "picked_a": _("Picked test image {index}, a {name}."),
        "picked_an": _("Picked test image {index}, an {name}."),
        "axes": [_(axis) for axis in header["plane"]["axes"]],
        "classes": [_(name) for name in header.get("classes") or [str(digit) for digit in range(10)]],
    }


def latent_map(payload: bytes, key: str, on_missing: Callable[[], None] = lambda: None):
    """The map; returns its result: `.z` (the latent point of the last release, or None) and
    `.picked` (the test-image index clicked this run, or None). `on_missing` is called when the
    browser was sent a change of weights from codes it does not hold (ui/live.py then sends them whole)."""
    data = with_header(payload, {"text": map_text(read_header(payload))})
    return _MAP(key=key, data=data, default={"z": None},
                on_z_change=lambda: None, on_picked_change=lambda: None, on_missing_change=on_missing)


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


def point_sliders(run: str, z: list[float], latent_dim: int, extent: float, key: str, on_report, report: bool,
                  item: str = "digit") -> None:
    """The explorer's sliders, drawn in the browser (point.js): one per value of `z` (the dimensions
    shown), each moving the map's point with no message to Python. With `report`, the end of each
    gesture (on a slider or on the map) is one message: `on_report` runs before the fragment runs
    again, and st.session_state[key]["z"] then holds the point. Without, the point stays in the
    browser, which also makes the digit's PNG download."""
    data = {"run": run, "z": [round(float(v), 4) for v in z], "latent_dim": latent_dim, "extent": extent,
            "step": SLIDER_STEP, "labels": [f"z{index + 1}" for index in range(len(z))], "report": report,
            "file_name": f"{item}.png",  # as the server's downloads are named, in every language
            "text": {"group": _("The point in the latent space, one slider per dimension"),
                     "download": _("Download this digit (PNG)") if item == "digit" else _("Download this item (PNG)")}}
    _POINT(key=key, data=data, default={"z": None}, on_z_change=on_report)
