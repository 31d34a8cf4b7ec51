"""The app's frame: the page list, the fix for pages opened by address, the version, escaping."""

from __future__ import annotations

import html
from importlib import metadata
from pathlib import Path

import streamlit as st

from ui.presenter import presenter_style

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
    """Called first by every page: applies presenter mode, draws classroom mode's part of the
    sidebar (name, teacher sign-in), and mends this: until some session has
    run app.py (and so st.navigation), Streamlit (1.67) treats `pages/` as an old-style pages
    folder, so a page opened by its address right after the server starts (a bookmark to /train)
    would run alone, without app.py's navigation and sidebar. Switch that mode off and rerun,
    which runs app.py with the same page. Private Streamlit state: if it disappears, this does
    nothing."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest turns this mode back on before every run it makes (and a rerun here would drop the
    # click being tested); there each page runs alone, which its tests allow for.
    under_app_test = type(getattr(Runtime, "_instance", None)).__name__ == "MagicMock"
    if getattr(PagesManager, "uses_pages_directory", False) and not under_app_test:
        PagesManager.uses_pages_directory = False
        st.rerun()
    presenter_style()  # presenter mode (switched on the Lesson page) enlarges every page
    from ui import classroom  # here, not at the top: ui.classroom uses this module's escape()

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


def escape(text: str) -> str:
    """For names shown in markdown: a run name can never inject HTML or markdown."""
    return html.escape(text).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
