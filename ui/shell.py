"""The app's frame: the page list, what every page does first, the version."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import streamlit as st

from ui import classroom
from ui.presenter import presenter_style
from ui.streamlit_private import mend_pages_directory_mode

PAGES = {
    "explorer": "pages/explorer.py",
    "train": "pages/train.py",
    "reconstruction": "pages/reconstruction.py",
    "compare": "pages/compare.py",
    "runs": "pages/runs.py",
    "lesson": "pages/lesson.py",
    "classroom": "pages/classroom.py",
}


def ensure_app_shell() -> None:
    """Called first by every page: mends a page opened by its address before app.py ever ran
    (ui.streamlit_private), applies presenter mode, and draws classroom mode's part of the sidebar
    (name, teacher sign-in) and the browser's key cookie."""
    mend_pages_directory_mode()
    presenter_style()  # presenter mode (switched on the Lesson page) enlarges every page
    with st.sidebar:
        classroom.sidebar_panel()
        classroom.keep_key_in_browser()  # last in the sidebar: nothing on the page moves around it


def app_version() -> str:
    try:
        return metadata.version("latent-lab")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
