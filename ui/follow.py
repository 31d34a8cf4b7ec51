"""Follow the teacher: when the teacher leads (the Class map page's switch), every student's screen
shows the teacher's page, run and point on the map; a student can step away, and come back with
one tap. The lead lives on the class board (vae.classroom.board.Lead). Each web server watches it
(one thread, every POLL_SECONDS) and, when it moves, redraws the pages of its following students
drawn with an older lead (vae.classroom.followers says whom and how often); a page costs the server
nothing meanwhile. A slow timer on every student page is the safety net, and the whole mechanism
where the server cannot redraw a page unasked (ui.streamlit_private.can_rerun_sessions). While a
student is taken to another page, the old page's timers are refused: Streamlit would run them for
the old page and blank the new one (ui.streamlit_private.accept_fragment_reruns_of)."""

from __future__ import annotations

import sys
import threading
import time

import streamlit as st

from ui import classroom, state
from ui.navigation import PAGES
from ui.store import job_store
from ui.streamlit_private import (
    LEAVING_THE_PAGE,
    accept_fragment_reruns_of,
    can_rerun_sessions,
    current_page,
    current_session_id,
    in_fragment_run,
    rerun_session,
)
from vae.classroom import STUDENT, TEACHER
from vae.classroom.board import Board
from vae.classroom.followers import Followers
from vae.i18n import _

STEPPED_AWAY = "follow_stepped_away"  # session state: this student chose to look elsewhere
SEEN = "follow_seen_version"  # session state: the lead this session last applied
DRAWN = "follow_drawn_version"  # session state: the lead's version when this page was last drawn
CHECK_SECONDS = 2.0  # each page's own check, where the server cannot redraw it unasked
SAFETY_CHECK_SECONDS = 30.0  # each page's own check, where it can: a redraw lost on the way
POLL_SECONDS = 0.5  # how often each web server reads the lead


def lead_or_follow(page: str) -> None:
    """Every page calls this first: the teacher's page, run and point become the lead (if leading);
    a student who follows is taken to them."""
    if not classroom.classroom_on():
        return
    me = classroom.person()
    shared = classroom.shared_board()
    if me.role != STUDENT:
        _forget_this_session()
        accept_fragment_reruns_of(None)  # not taken anywhere by the server: Streamlit as it is
    if me.role == TEACHER:
        if shared.lead.on:
            run = state.active_run()
            shared.follow(me, page=page, run=run.name if run else None)
        return
    if me.role == STUDENT:
        follow(page, shared.lead)


def leading() -> bool:
    """This session is the teacher's, leading the class (students follow its page, run and point)."""
    return classroom.classroom_on() and classroom.is_teacher() and classroom.shared_board().lead.on


def lead_point(z) -> None:
    """The teacher's point on the explorer's map becomes the lead's, while the teacher leads."""
    if leading():  # every move: students skip it at its first test
        classroom.shared_board().follow(classroom.person(), z=[float(v) for v in z])


def follow(page: str, lead) -> None:
    """A following student is always on the teacher's page, whatever brought this one (a link, the
    sidebar, a rerun still in flight from the page before): to look elsewhere, Step away."""
    if lead.on and not st.session_state.get(STEPPED_AWAY):
        if lead.version != st.session_state.get(SEEN):
            st.session_state[SEEN] = lead.version
            apply(lead)  # the run and the point: once per change, so a student may still move them
        if lead.page and lead.page != page:
            accept_fragment_reruns_of(LEAVING_THE_PAGE)  # this page's timers are stale from here
            st.switch_page(PAGES[lead.page])
    accept_fragment_reruns_of(current_page())
    st.session_state[DRAWN] = lead.version
    banner(page, lead)
    watch(lead.version)


def apply(lead) -> None:
    """The teacher's run and map point, in this session (the explorer's sliders follow the point)."""
    if lead.run:
        state.set_active_run(lead.run)
    for index, value in enumerate(lead.z or ()):
        st.session_state[f"z{index}"] = float(value)


def banner(page: str, lead) -> None:
    if not lead.on:
        return
    if st.session_state.get(STEPPED_AWAY):
        st.button(_("Follow the teacher again"), key="follow_again", on_click=come_back, type="primary",
                  help=_("The teacher is showing something: go there."))
    else:
        st.caption(_("You are following the teacher's screen."))
        st.button(_("Step away"), key="follow_step_away", on_click=step_away)


def step_away() -> None:
    st.session_state[STEPPED_AWAY] = True


def come_back() -> None:
    st.session_state[STEPPED_AWAY] = False
    st.session_state.pop(SEEN, None)  # apply the lead again, page included


def rerun_if_lead_moved() -> None:
    """Redraw the whole page of a following student whose teacher has moved on since it was drawn.
    Called by the watch below and, first thing, by every fragment that refreshes on its own
    (ui.refresh.refreshing_fragment). Only in a run of fragments alone: inside a whole page's run a
    fragment drawn before the page applied the lead (the sidebar's) would see it "moved" and rerun
    the page, forever. Nothing here is reset by a run cut short: a page run stopped before it drew
    the lead (DRAWN left behind) is redrawn by the next check, so a student can never be stranded."""
    if (in_fragment_run() and classroom.classroom_on() and not classroom.is_teacher()
            and not st.session_state.get(STEPPED_AWAY) and DRAWN in st.session_state
            and classroom.shared_board().lead.version != st.session_state[DRAWN]):
        st.rerun(scope="app")


def watch(drawn_version: int) -> None:
    """Have the page redrawn when the teacher's lead changes: by this server's watch if it can
    (told here what this page was drawn with), by a check on a timer if not."""
    pushing = can_rerun_sessions()
    if pushing:
        session_id = current_session_id()
        if session_id is not None:
            if st.session_state.get(STEPPED_AWAY):
                _pushes().forget(session_id)
            else:
                _pushes().drawn(session_id, drawn_version)

    @st.fragment(run_every=SAFETY_CHECK_SECONDS if pushing else CHECK_SECONDS)
    def check():
        rerun_if_lead_moved()

    check()


def _forget_this_session() -> None:
    session_id = current_session_id()
    if session_id is not None and can_rerun_sessions():
        _pushes().forget(session_id)


def _pushes() -> Followers:
    return _lead_watch(str(job_store().path))


@st.cache_resource(show_spinner=False)
def _lead_watch(store_path: str) -> Followers:
    """This server's following sessions, and the thread that redraws them when the lead moves."""
    followers = Followers()
    board = classroom.shared_board()
    threading.Thread(target=_redraw_followers, args=(board, followers), daemon=True,
                     name="latent-lab-lead-watch").start()
    return followers


def _redraw_followers(board: Board, followers: Followers) -> None:
    complained = False
    while True:
        try:
            version = board.lead.version
            for session_id in followers.due(version, time.monotonic()):
                if not rerun_session(session_id):
                    followers.forget(session_id)  # gone (its tab closed)
        except Exception as error:  # noqa: BLE001 - the watch must outlive a bad read; pages' timers remain
            if not complained:
                print(f"Latent Lab: the lead watch could not read the class's store ({error}); "
                      f"following pages fall back on their {SAFETY_CHECK_SECONDS:.0f}-second check.",
                      file=sys.stderr, flush=True)
                complained = True
        time.sleep(POLL_SECONDS)
