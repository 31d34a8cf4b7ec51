"""Every use of Streamlit's private API, in one place, each with the version it was written for
and a test that fails when it stops working or is no longer needed (tests/test_streamlit_private.py,
tests/e2e/test_browser.py). Written against Streamlit 1.67."""

from __future__ import annotations

import streamlit as st
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime import Runtime
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

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


def current_session_id() -> str | None:
    """The browser session this script run serves (ScriptRunContext.session_id)."""
    ctx = get_script_run_ctx()
    return getattr(ctx, "session_id", None) if ctx is not None else None


def can_rerun_sessions() -> bool:
    """Can this server redraw a session's page unasked (rerun_session)? False under AppTest, or if
    the private API it uses has changed (then pages check on a timer instead)."""
    if under_app_test():
        return False
    try:
        manager = Runtime.instance()._session_mgr
    except Exception:  # noqa: BLE001 - no runtime yet, or a private API that changed
        return False
    return callable(getattr(manager, "get_active_session_info", None)) and all(
        hasattr(AppSession, name) for name in ("request_rerun", "_call_soon_on_event_loop"))


def rerun_session(session_id: str, fragment_id: str | None = None) -> bool:
    """Rerun the whole page a connected session shows (or only its fragment `fragment_id`), as if
    its browser had asked: what Streamlit's own run-on-save does, AppSession.request_rerun with the
    session's last client state (its page and query; widget values are kept in the session). From
    any thread, a script run's included: the request is handed to the session's event loop, as a
    browser's is, and a run in progress finishes first when only a fragment is asked for. False if
    the session is gone."""
    session = _active_session(session_id)
    if session is None:
        return False

    def request() -> None:
        state = ClientState()
        state.CopyFrom(session._client_state)
        state.fragment_id = fragment_id or ""
        session.request_rerun(state)

    try:
        session._call_soon_on_event_loop(request)
    except Exception:  # noqa: BLE001 - a private API: any change means "cannot"
        return False
    return True


def _active_session(session_id: str | None) -> AppSession | None:
    """A connected session by its id (SessionManager.get_active_session_info); None if there is
    none, it is gone, or that private API changed."""
    if session_id is None:
        return None
    try:
        info = Runtime.instance()._session_mgr.get_active_session_info(session_id)
    except Exception:  # noqa: BLE001 - a private API: any change means "unknown"
        return None
    return info.session if info is not None else None


# A session this app is moving to another page accepts no fragment rerun from its browser until
# the new page is drawn.
LEAVING_THE_PAGE = "<leaving the page>"
_ACCEPTED_PAGE = "_latent_lab_accepted_fragment_page"  # set on an AppSession by accept_fragment_reruns_of


def accept_fragment_reruns_of(page: str | None) -> None:
    """From now on, this run's session runs a fragment rerun that its browser asks for only if the
    rerun is for `page` (a page script hash; LEAVING_THE_PAGE: none; None: any, as Streamlit does).

    Why: when a run the browser did not ask for moves it to another page (st.switch_page while
    following the teacher), the browser keeps asking for the old page's timed fragments until the
    new page reaches it. Streamlit 1.67 keeps such a request and runs it after the move, for the
    old page. In the browser, that run empties the page and then adds blocks to it that are no
    longer there: React throws "Bad delta path index" and the page stays blank (CI saw a phone blank
    at /lesson). The check below drops these requests as they come in, from the browser or from
    rerun_session."""
    if not settings().streamlit_workarounds or under_app_test():
        return
    session = _active_session(current_session_id())
    if session is not None:
        AppSession.request_rerun = _request_rerun_unless_for_another_page  # once is enough; again is harmless
        setattr(session, _ACCEPTED_PAGE, page)


_STREAMLITS_REQUEST_RERUN = AppSession.request_rerun


def _request_rerun_unless_for_another_page(self, client_state=None):
    accepted = getattr(self, _ACCEPTED_PAGE, None)
    if (client_state is not None and client_state.fragment_id and accepted is not None
            and client_state.page_script_hash != accepted):
        return None  # a timer of the page this session is being taken from
    return _STREAMLITS_REQUEST_RERUN(self, client_state)


def current_page() -> str:
    """The page this run draws (ScriptRunContext.page_script_hash); "" outside a run."""
    ctx = get_script_run_ctx()
    return getattr(ctx, "page_script_hash", "") if ctx is not None else ""


def current_fragment_id() -> str | None:
    """The fragment this code runs in (ThreadState.fragment_id), or None outside one."""
    try:
        return ThreadState.get().fragment_id or None
    except Exception:  # noqa: BLE001 - a private API that changed: unknown
        return None


def rerun_fragment_next(fragment_id: str) -> bool:
    """After this run, rerun only `fragment_id` in this session (st.rerun offers that only from a
    widget's callback). False where it cannot (AppTest, a changed private API)."""
    session_id = current_session_id()
    return can_rerun_sessions() and session_id is not None and rerun_session(session_id, fragment_id)
