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


def test_a_session_can_still_be_rerun_unasked_as_run_on_save_does():
    """ui.follow redraws a following student's page when the lead moves (rerun_session); the e2e
    tests test_class_servers.py and test_phone.py check that it reaches the browser."""
    import dataclasses

    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    from ui.streamlit_private import can_rerun_sessions, current_session_id, rerun_session

    assert callable(getattr(SessionManager, "get_active_session_info", None))
    assert callable(AppSession.request_rerun) and callable(AppSession._call_soon_on_event_loop)
    assert "_client_state" in AppSession.__init__.__code__.co_names
    assert "session_id" in {field.name for field in dataclasses.fields(ScriptRunContext)}
    assert current_session_id() is None  # outside any run
    assert can_rerun_sessions() is False  # no server running here
    assert rerun_session("no-such-session") is False


def test_a_fragment_alone_can_still_be_rerun_from_its_own_run():
    """ui.sidebar redraws its queue panel alone when the queue empties (rerun_fragment_next); the
    e2e test test_classroom.py::test_when_the_queue_empties_only_the_page_whose_training_it_was_is_redrawn_whole
    checks it in a running server."""
    import dataclasses

    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime.scriptrunner_utils.script_run_context import FragmentThreadState, ThreadState

    from ui.streamlit_private import current_fragment_id, rerun_fragment_next

    assert "fragment_id" in ClientState.DESCRIPTOR.fields_by_name
    assert callable(ThreadState.get)
    assert "fragment_id" in {field.name for field in dataclasses.fields(FragmentThreadState)}
    assert current_fragment_id() is None  # outside any fragment
    assert rerun_fragment_next("no-such-fragment") is False  # no server running here
