"""The app's frame: the page list, what every page does first, the version."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import streamlit as st

from ui import classroom, follow
from ui.a11y.mount import name_images
from ui.language import choose_language
from ui.presenter import presenter_style
from ui.streamlit_private import mend_pages_directory_mode
from vae.settings import ROOT

APP_CSS = (Path(__file__).parent / "app.css").read_text()


def app_style() -> None:
    """Styles for every page (ui/app.css): phone-first spacing and tap targets."""
    st.html(f"<style>{APP_CSS}</style>")


def ensure_app_shell(page: str) -> None:
    """Called first by every page: mends a page opened by its address before app.py ever ran
    (ui.streamlit_private), applies presenter mode, and draws classroom mode's part of the sidebar
    (name, teacher sign-in) and the browser's key cookie; asks a nameless student for their name on
    the page; leads, or follows the teacher (ui.follow). `page`: this page's key in ui.navigation.PAGES."""
    mend_pages_directory_mode()
    language = choose_language()  # before any word is drawn
    presenter_style()  # presenter mode (switched on the Lesson page) enlarges every page
    with st.sidebar:
        classroom.sidebar_panel()
        name_images(language)  # images get their captions as alt text; <html lang> (ui/a11y)
        classroom.keep_key_in_browser()  # last in the sidebar: nothing on the page moves around it
    classroom.name_prompt()  # a student on a phone (its sidebar closed) is asked on the page itself
    follow.lead_or_follow(page)


def app_version() -> str:
    try:
        return metadata.version("latent-lab")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = ROOT / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
