"""Every use of Streamlit's private API, in one place, each with the version it was written for
and a test that fails when it stops working or is no longer needed (tests/test_streamlit_private.py,
tests/e2e/test_browser.py). Written against Streamlit 1.67."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vae import settings as vae_settings
from vae.settings import settings

WORKAROUNDS_ENV = vae_settings.NO_STREAMLIT_WORKAROUNDS  # "1": off (the test that checks they are still needed)


def under_app_test() -> bool:
    """AppTest stands a MagicMock in for the runtime."""
    return type(getattr(Runtime, "_instance", None)).__name__ == "MagicMock"


def mend_pages_directory_mode() -> None:
    """Until some session has run app.py (and so st.navigation), Streamlit 1.67 treats `pages/`
    as an old-style pages folder (PagesManager.uses_pages_directory is set from the folder's mere
    existence), so a page opened by its address right after the server starts (a bookmark to
    /train) would run alone, without app.py's navigation and sidebar. Switch that mode off and
    rerun, which runs app.py with the same page. AppTest turns the mode back on before every run
    it makes (and a rerun here would drop the click being tested): there, each page runs alone."""
    if not settings().streamlit_workarounds or under_app_test():
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def in_fragment_run() -> bool:
    """Is this a run of fragments alone (a timed refresh, a widget inside a fragment), not of the
    whole page? (ScriptRunContext.fragment_ids_this_run; AppTest always runs the whole page.)"""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


def connected_sessions() -> int | None:
    """Browser sessions connected now (Runtime._session_mgr); None if that private API changed."""
    try:
        count = Runtime.instance()._session_mgr.num_active_sessions()
    except Exception:  # noqa: BLE001 - a private API: any change means "unknown"
        return None
    return count if isinstance(count, int) else None
