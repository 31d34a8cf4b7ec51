"""The drawing pad (drawing_pad.js): returns the drawing as PNG bytes after each stroke, or None."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import streamlit as st

from vae.i18n import _

HERE = Path(__file__).parent
PNG_PREFIX = "data:image/png;base64,"
MAX_PNG_BYTES = 2_000_000  # a 280x280 pad is ~10-40 KB; anything bigger did not come from it

_PAD = st.components.v2.component(
    "latent_lab_drawing_pad", js=(HERE / "drawing_pad.js").read_text(), css=(HERE / "drawing_pad.css").read_text(),
)


def drawing_pad(key: str) -> bytes | None:
    # As tall as it draws (no fixed height): a phone's pad is the screen's width, and as tall.
    text = {"pad": _("Drawing pad: draw one digit"), "clear": _("Clear")}  # the words the pad shows
    result = _PAD(key=key, data={"text": text}, default={"png": None}, on_png_change=lambda: None)
    return png_bytes(result.png)


def drawing_in_state(key: str) -> bytes | None:
    """The pad's drawing as the browser last sent it (for a callback: a button's press carries every
    widget's latest value, even if the rerun that would have shown it was pre-empted)."""
    value = st.session_state.get(key)
    return png_bytes(value.get("png") if hasattr(value, "get") else None)


def png_bytes(data_url) -> bytes | None:
    """The PNG inside the pad's data URL, or None for an empty or malformed value."""
    if not isinstance(data_url, str) or not data_url.startswith(PNG_PREFIX):
        return None
    if len(data_url) > MAX_PNG_BYTES * 4 // 3 + len(PNG_PREFIX):
        return None
    try:
        return base64.b64decode(data_url[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
