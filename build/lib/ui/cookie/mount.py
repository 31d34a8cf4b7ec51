"""Set a cookie from the page (cookie.js): the server reads it back from the next session's first
request (st.context.cookies). Renders nothing."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_COOKIE = st.components.v2.component("latent_lab_cookie", js=(Path(__file__).parent / "cookie.js").read_text())


def set_cookie(name: str, value: str, max_age_seconds: int, key: str) -> None:
    _COOKIE(key=key, data={"name": name, "value": value, "maxAgeSeconds": int(max_age_seconds)})
