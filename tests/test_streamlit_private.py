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


def test_a_session_being_moved_drops_the_old_pages_fragment_reruns_and_nothing_else(monkeypatch):
    """ui.follow: while the server takes a following student to another page, the old page's timers
    may still ask for fragment reruns; Streamlit 1.67 would run them for the old page and blank the
    browser's page (in a real browser: test_phone.py's
    test_a_following_phone_is_not_blanked_by_its_old_pages_timer_after_the_teacher_moves_it).
    Here: which requests reach Streamlit's own request_rerun."""
    import inspect

    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime.app_session import AppSession

    from ui import streamlit_private
    from ui.streamlit_private import _ACCEPTED_PAGE, LEAVING_THE_PAGE, _request_rerun_unless_for_another_page

    assert list(inspect.signature(AppSession.request_rerun).parameters) == ["self", "client_state"]
    assert {"fragment_id", "page_script_hash"} <= set(ClientState.DESCRIPTOR.fields_by_name)
    reached = []
    monkeypatch.setattr(streamlit_private, "_STREAMLITS_REQUEST_RERUN",
                        lambda session, state: reached.append((state.page_script_hash, state.fragment_id)
                                                              if state else None))

    def request(session, page, fragment=""):
        _request_rerun_unless_for_another_page(session, ClientState(page_script_hash=page, fragment_id=fragment))

    class Session:
        pass

    session = Session()
    request(session, "map", "f1")  # never told: Streamlit's own behaviour
    setattr(session, _ACCEPTED_PAGE, "lesson")
    request(session, "map", "f1")  # the old page's timer: dropped
    request(session, "lesson", "f2")  # this page's timer
    request(session, "map")  # a whole run the browser asked for: Streamlit's to handle
    _request_rerun_unless_for_another_page(session, None)
    setattr(session, _ACCEPTED_PAGE, LEAVING_THE_PAGE)
    request(session, "lesson", "f2")  # on the way to another page: no fragment runs
    setattr(session, _ACCEPTED_PAGE, None)
    request(session, "map", "f1")
    assert reached == [("map", "f1"), ("lesson", "f2"), ("map", ""), None, ("map", "f1")]
    original = AppSession.request_rerun
    streamlit_private.accept_fragment_reruns_of("lesson")  # outside a server's run: changes nothing
    assert AppSession.request_rerun is original


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
