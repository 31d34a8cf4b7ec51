"""Classroom mode as the pages see it: whether it is on, who this session is (vae.classroom.Person),
the sidebar's teacher sign-in and student name, and what the teacher sets (shared by all sessions).

Every permission is checked here on the server, in the code that acts, never only by hiding a
button: a session's role lives in its session state, which no browser message can set.
"""

from __future__ import annotations

import os
import sys
import time

import streamlit as st

from ui.shell import escape
from vae import classroom
from vae.classroom import LOCAL, STUDENT, TEACHER, ClassroomError, ClassroomState, Person

ROLE = "classroom_role"  # session state: TEACHER once the code was entered
STUDENT_KEY = "classroom_student_key"  # session state: a student's secret key
STUDENT_PARAMETER = "student"  # ?student=<key>: a reload keeps a student's runs theirs
FAILED_SIGN_INS = "classroom_failed_sign_ins"
MAX_FAILED_SIGN_INS = 5  # then a pause before the next try, so guessing is slow
SIGN_IN_PAUSE_SECONDS = 30
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def classroom_on() -> bool:
    """Roles exist only when the app listens beyond this machine (`make classroom`), or when
    LATENT_LAB_CLASSROOM=1 says so (tests, a teacher rehearsing on one machine)."""
    if os.environ.get(classroom.CLASSROOM_ENV) == "1":
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
def shared_state() -> ClassroomState:
    return ClassroomState()


@st.cache_resource(show_spinner=False)
def student_names() -> dict[str, str]:
    """{key hash: name}: a student's name survives a reload (their key is in the address)."""
    return {}


def student_key() -> str:
    key = st.session_state.get(STUDENT_KEY)
    if key is None:
        given = st.query_params.get(STUDENT_PARAMETER, "")
        key = given if 16 <= len(given) <= 64 and given.replace("-", "").replace("_", "").isalnum() else None
        key = key or classroom.new_student_key()
        st.session_state[STUDENT_KEY] = key
    if st.query_params.get(STUDENT_PARAMETER) != key:
        st.query_params[STUDENT_PARAMETER] = key
    return key


def person() -> Person:
    """Who this session is. Outside classroom mode: LOCAL, who may do everything (as before)."""
    if not classroom_on():
        return Person(LOCAL)
    if st.session_state.get(ROLE) == TEACHER:
        return Person(TEACHER, "the teacher")
    hashed = classroom.key_hash(student_key())
    return Person(STUDENT, student_names().get(hashed, ""), hashed)


def is_classroom_teacher() -> bool:
    """The teacher in classroom mode: may stop and delete what others started."""
    return person().role == TEACHER


def require_teacher() -> bool:
    """For a teacher's action: True, or an error shown and False (a forged request gets this too)."""
    try:
        classroom.require_teacher(person())
    except ClassroomError as error:
        st.error(str(error))
        return False
    return True


# --- The sidebar ------------------------------------------------------------------------------


def sign_in() -> None:
    """Callback of the teacher's Sign in: the code is compared in constant time, then forgotten."""
    given = st.session_state.pop("teacher_code_input", "")
    failures = st.session_state.setdefault(FAILED_SIGN_INS, [])
    recent = [t for t in failures if time.monotonic() - t < SIGN_IN_PAUSE_SECONDS]
    if len(recent) >= MAX_FAILED_SIGN_INS:
        st.session_state.sign_in_message = f"Too many tries: wait {SIGN_IN_PAUSE_SECONDS} s and try again."
        return
    try:
        expected = teacher_code()
    except ClassroomError as error:  # a code fixed in the environment that is too short
        st.session_state.sign_in_message = f"{error}. Restart the app with another code."
        return
    if classroom.code_matches(given, expected):
        st.session_state[ROLE] = TEACHER
        failures.clear()
        st.session_state.pop("sign_in_message", None)
    else:
        failures.append(time.monotonic())
        st.session_state.sign_in_message = "That is not the teacher code (it was printed where the app started)."


def sign_out() -> None:
    st.session_state.pop(ROLE, None)


def set_name() -> None:
    try:
        name = classroom.validate_student_name(st.session_state.get("student_name_input", ""))
    except ClassroomError as error:
        st.session_state.name_message = str(error)
        return
    st.session_state.pop("name_message", None)
    student_names()[classroom.key_hash(student_key())] = name


def sidebar_panel() -> None:
    """Classroom mode's part of the sidebar (drawn by every page, so it follows each rerun): a
    student's name, asked once, and the teacher's sign-in; or the teacher's badge. Nothing
    outside classroom mode."""
    if not classroom_on():
        return
    teacher_code()  # a server started without `make classroom` prints its code now, not at the first try
    me = person()
    st.divider()
    if me.role == TEACHER:
        st.success("Signed in as the teacher.")
        st.button("Sign out", key="teacher_sign_out", on_click=sign_out)
        return
    if me.name:
        st.caption(f"Classroom mode · you are **{escape(me.name)}**; your runs carry this name.")
    else:
        st.text_input("Your name (a student's runs carry it)", key="student_name_input", max_chars=24,
                      on_change=set_name, placeholder="e.g. Ada", help="Type it once; press Enter.")
        if "name_message" in st.session_state:
            st.error(st.session_state.name_message)
    with st.expander("I am the teacher"):
        st.text_input("Teacher code (printed where the app was started)", type="password",
                      key="teacher_code_input", autocomplete="off")
        st.button("Sign in", key="teacher_sign_in", on_click=sign_in)
    if "sign_in_message" in st.session_state:
        st.error(st.session_state.sign_in_message)


def follow_pinned_run(set_active_run, visible: list[str]) -> None:
    """When the teacher pins a class run, every student's session opens it (once per pin)."""
    if not classroom_on():
        return
    pinned, version = shared_state().pinned()
    if version != st.session_state.get("pin_seen"):
        st.session_state.pin_seen = version
        if pinned in visible and person().role == STUDENT:
            set_active_run(pinned)


def connected_sessions() -> int | None:
    """Browser sessions connected now (Streamlit's runtime; private, so None if it changes)."""
    try:
        from streamlit.runtime import Runtime

        return Runtime.instance()._session_mgr.num_active_sessions()
    except Exception:  # noqa: BLE001 - a private API: any change means "unknown"
        return None
