"""Classroom mode as the pages see it: whether it is on, who this session is (vae.classroom.Person),
the sidebar's teacher sign-in and student name, and what the teacher sets (shared by all sessions).

Every permission is checked on the server, in the code that acts, never only by hiding a button:
a session's role lives in its session state, which no browser message can set. A browser is known
by a random key it keeps in a cookie (never in the address: a projected address bar or a shared
link must grant nothing); its connection's address is the device that limits count.
"""

from __future__ import annotations

import sys

import streamlit as st

from ui.cookie.mount import set_cookie
from ui.markdown import escape
from ui.store import job_store
from vae import classroom
from vae.classroom import LOCAL, STUDENT, TEACHER, ClassroomError, ClassroomState, Person
from vae.classroom.board import Board
from vae.classroom.sign_in import SignInLimits
from vae.database import SET_ASIDE_KEY
from vae.i18n import N_, _
from vae.settings import settings

ROLE = "classroom_role"  # session state: TEACHER once the code was entered
BROWSER_KEY = "browser_key"  # session state: this browser's secret key (a student's key in classroom mode)
KEY_COOKIE = "latent_lab_key"  # ... kept in this cookie, so a reload is the same person
KEY_COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
SECRET_PARAMETERS = ("student", "job")  # where earlier versions put keys and tokens: removed from the address
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TEACHER_NAME = N_("the teacher")  # the teacher's name as the board keeps it (in English): shown through shown_name


def classroom_on() -> bool:
    """Roles exist only when the app listens beyond this machine (`make classroom`), or when
    LATENT_LAB_CLASSROOM=1 says so (tests, a teacher rehearsing on one machine)."""
    if settings().classroom:
        return True
    address = st.get_option("server.address")
    return bool(address) and address not in LOOPBACK


@st.cache_resource(show_spinner=False)
def teacher_code() -> str:
    """LATENT_LAB_TEACHER_CODE if set (`make classroom` sets a new one at each start and prints
    it), else a new code printed once to the server's terminal. Never shown in the app or logged."""
    fixed = classroom.fixed_teacher_code()
    if fixed:
        return fixed
    code = classroom.new_teacher_code()
    print(f"\nLatent Lab classroom mode: the teacher code is {code}\n", file=sys.stderr, flush=True)
    return code


@st.cache_resource(show_spinner=False)
def _shared_state(store_path: str) -> ClassroomState:
    return ClassroomState(job_store().database)


@st.cache_resource(show_spinner=False)
def _shared_board(store_path: str) -> Board:
    return Board(job_store().database)


def shared_board() -> Board:
    """The class's board (drawings, the question and its guesses, the teacher's lead): one for the
    class, in its store, which every web server of the class reads (and a restart keeps)."""
    return _shared_board(str(job_store().path))


def shared_state() -> ClassroomState:
    """What the teacher set and who joined: one for the class, in its store."""
    return _shared_state(str(job_store().path))


def store_set_aside() -> str | None:
    """The sentence saying the class's store could not be read and was set aside, if it was."""
    return job_store().setting(SET_ASIDE_KEY)


def dismiss_store_notice() -> None:
    """The teacher (or local mode's one person) has read it."""
    if not classroom_on() or is_teacher():
        job_store().database.forget_settings(SET_ASIDE_KEY)


def valid_key(key: str) -> bool:
    return 16 <= len(key) <= 64 and key.replace("-", "").replace("_", "").isalnum()


def browser_key() -> str:
    """This browser's secret key: from its cookie, else new (and then written to the cookie)."""
    key = st.session_state.get(BROWSER_KEY)
    if key is None:
        given = st.context.cookies.get(KEY_COOKIE, "")
        key = given if valid_key(given) else classroom.new_student_key()
        st.session_state[BROWSER_KEY] = key
    return key


def keep_key_in_browser() -> None:
    """Keep the key in the browser's cookie, and take any key or token an older version left in
    the address out of it. Drawn on every run (it renders nothing, and its script runs only when
    the key changes), so the page's layout, and with it the ids of its fragments, never shifts."""
    set_cookie(KEY_COOKIE, browser_key(), KEY_COOKIE_MAX_AGE_SECONDS, key="browser_key_cookie")
    for parameter in SECRET_PARAMETERS:
        if parameter in st.query_params:
            del st.query_params[parameter]


def address() -> str:
    """The device this session connects from; the server's own machine (loopback) is one device."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else classroom.THIS_MACHINE


def person() -> Person:
    """Who this session is. Outside classroom mode: LOCAL, who may do everything (as before)."""
    browser = classroom.key_hash(browser_key())
    if not classroom_on():
        return Person(LOCAL, browser=browser, address=address())
    if st.session_state.get(ROLE) == TEACHER:
        return Person(TEACHER, TEACHER_NAME, browser=browser, address=address())
    return Person(STUDENT, shared_state().name_of(browser), browser, browser=browser, address=address())


def shown_name(name: str) -> str:
    """A person's name as the page shows it: a student's as typed, the teacher's in this session's language."""
    return _(name) if name == TEACHER_NAME else name


def is_teacher() -> bool:
    """person().role == TEACHER, without looking up a student's name (checked on every rerun)."""
    return classroom_on() and st.session_state.get(ROLE) == TEACHER


def may_change_owner(owner: dict | None) -> bool:
    """May this session stop or delete what `owner` made (vae.classroom.may_change)?"""
    return classroom.may_change(person(), owner)


def require_teacher() -> bool:
    """For a teacher's action: True, or an error shown and False (a forged request gets this too)."""
    try:
        classroom.require_teacher(person())
    except ClassroomError as error:
        st.error(str(error))
        return False
    return True


# --- The sidebar ------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _sign_in_limits(store_path: str) -> SignInLimits:
    return SignInLimits(job_store().database)


def sign_in() -> None:
    """Callback of the teacher's Sign in: the code is compared in constant time, then forgotten.
    Tries are counted per device and for the class, in the class's store (vae.classroom.sign_in):
    a new session, or another web server, does not start the count afresh."""
    given = st.session_state.pop("teacher_code_input", "")
    try:
        expected = teacher_code()
    except ClassroomError as error:  # a code fixed in the environment that is too short
        st.session_state.sign_in_message = _("{error}. Restart the app with another code.").format(error=error)
        return
    limits, here = _sign_in_limits(str(job_store().path)), address()
    try:
        limits.attempt(here)
    except ClassroomError as error:
        st.session_state.sign_in_message = str(error)
        return
    if classroom.code_matches(given, expected):
        limits.succeeded(here)
        st.session_state[ROLE] = TEACHER
        st.session_state.pop("sign_in_message", None)
    else:
        st.session_state.sign_in_message = _("That is not the teacher code (it was printed where the app started).")


def sign_out() -> None:
    st.session_state.pop(ROLE, None)


def forget_browser() -> None:
    """"Not me": on a shared computer the next student gets a new key (the cookie is rewritten on
    this run), so the last one's name, runs and rights stay theirs and pass to no one."""
    st.session_state[BROWSER_KEY] = classroom.new_student_key()
    for name in (ROLE, "student_name_input", "name_message", "sign_in_message"):
        st.session_state.pop(name, None)


NOT_ME = N_("Not me — forget this browser")  # marked here, translated where shown: _(NOT_ME)
NOT_ME_HELP = N_("On a shared computer: start afresh as someone new. The last person's name and runs stay "
                 "theirs, and this browser no longer has them.")


def set_name() -> None:
    try:
        shared_state().register_name(classroom.key_hash(browser_key()), st.session_state.get("student_name_input", ""),
                                     address())
    except ClassroomError as error:
        st.session_state.name_message = str(error)
        return
    st.session_state.pop("name_message", None)


def sidebar_panel() -> None:
    """Classroom mode's part of the sidebar (drawn by every page, so it follows each rerun): who
    this student is, and the teacher's sign-in; or the teacher's badge. Nothing outside classroom
    mode. (A student's name is asked on the page: name_prompt.)"""
    if not classroom_on():
        return
    teacher_code()  # a server started without `make classroom` prints its code now, not at the first try
    me = person()
    st.divider()
    if me.role == TEACHER:
        st.success(_("Signed in as the teacher."))
        st.button(_("Sign out"), key="teacher_sign_out", on_click=sign_out)
        return
    if me.name:
        st.caption(_("Classroom mode · you are **{name}**; your runs carry this name.").format(name=escape(me.name)))
        st.button(_(NOT_ME), key="forget_browser", on_click=forget_browser, help=_(NOT_ME_HELP))
    with st.expander(_("I am the teacher")):
        st.text_input(_("Teacher code (printed where the app was started)"), type="password",
                      key="teacher_code_input", autocomplete="off")
        st.button(_("Sign in"), key="teacher_sign_in", on_click=sign_in)
    if "sign_in_message" in st.session_state:
        st.error(st.session_state.sign_in_message)


def name_prompt() -> None:
    """A student without a name is asked for it at the top of the page they land on: on a phone
    the sidebar is closed, and a field there would go unseen."""
    if not classroom_on():
        return
    me = person()
    if me.role != STUDENT or me.name:
        return
    with st.container(border=True):
        st.text_input(_("Your name (a student's runs carry it)"), key="student_name_input", max_chars=24,
                      on_change=set_name, placeholder=_("e.g. Ada"), help=_("Type it once and press Enter (or Go)."))
        if "name_message" in st.session_state:
            st.error(st.session_state.name_message)
        st.button(_(NOT_ME), key="forget_browser_prompt", on_click=forget_browser, help=_(NOT_ME_HELP))


def pinned_run_name(listed) -> str | None:
    """The class run among these runs: the one with the pinned name *and* creation time (a newer
    run given a deleted one's name is not it). None outside classroom mode or when none is."""
    if not classroom_on():
        return None
    pinned = shared_state().pinned()[0]
    return next((run.name for run in listed if pinned == (run.name, run.created_at)), None)


def follow_pinned_run(set_active_run, listed) -> None:
    """When the teacher pins a class run, every student's session opens it (once per pin)."""
    if not classroom_on():
        return
    version = shared_state().pinned()[1]
    if version != st.session_state.get("pin_seen"):
        st.session_state.pin_seen = version
        pinned = pinned_run_name(listed)
        if pinned and person().role == STUDENT:
            set_active_run(pinned)
