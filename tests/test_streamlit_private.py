"""Streamlit's private API that ui/streamlit_private.py uses, written against 1.67: each check fails
when what the workaround relies on is gone (the browser test
test_browser.py::test_the_pages_folder_workaround_is_still_needed fails when it is no longer needed)."""

from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.session_manager import SessionManager


def test_the_pages_folder_flag_is_still_where_the_workaround_sets_it():
    assert hasattr(PagesManager, "uses_pages_directory")


def test_the_session_count_is_still_where_the_connected_count_reads_it():
    assert callable(getattr(SessionManager, "num_active_sessions", None))
    assert "_session_mgr" in Runtime.__init__.__code__.co_names


def test_a_run_still_says_which_fragments_it_runs_alone():
    """ui.follow checks the teacher's lead only in a run of fragments alone (in_fragment_run)."""
    import dataclasses

    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    from ui.streamlit_private import in_fragment_run

    assert "fragment_ids_this_run" in {field.name for field in dataclasses.fields(ScriptRunContext)}
    assert in_fragment_run() is False  # outside any run
