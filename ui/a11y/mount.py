"""Mends, from the app, what axe finds in Streamlit's own elements and no Streamlit option reaches:
images named by their captions, and the page's language (Streamlit always writes lang="en")
(image_names.js). Renders nothing."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_IMAGE_NAMES = st.components.v2.component("latent_lab_image_names",
                                          js=(Path(__file__).parent / "image_names.js").read_text())


def name_images(language: str) -> None:
    _IMAGE_NAMES(key="latent-lab-image-names", data={"lang": language})
