"""Classroom: "Students join here" for the projector (the address and a QR code), and the teacher's
tools: who is connected and who has joined (a name may be freed), the queue with a Stop for every
job, pausing student training, the students' limits, the class run, clearing every student run and
ending the class."""

import html
import io
from collections import Counter
from pathlib import Path

import segno
import streamlit as st

from ui import board, classroom, state, training
from ui.language import labels_now
from ui.markdown import escape
from ui.shell import ensure_app_shell
from ui.streamlit_private import connected_sessions
from vae.classroom import (
    LIMIT_RANGES,
    STUDENT,
    THIS_MACHINE,
    ClassroomError,
    clear_student_runs,
    end_class,
    join_address,
    owner_role,
    pause_students,
    student_name,
)
from vae.classroom.dispatch import queue_in_own_process
from vae.i18n import N_, _, ngettext

LIMIT_HELP = {  # marked here, translated where shown
    "jobs_per_device": N_("Counted by the device's network address, whatever names its browser tabs use."),
    "names_per_device": N_("Names given from one network address. Where the school's network puts every device "
                           "behind one address, raise this (and trainings per device) to the class's size."),
    "class_jobs": N_("Every student's trainings together; yours are never counted or refused."),
    "minutes": N_("Estimated on this machine from the settings: epochs, images, width, architecture and batch size."),
}
NO_CLASS_RUN = "(none)"  # the class run picker's first option (a value: shown through _())

JOIN_CSS = (Path(__file__).resolve().parent.parent / "ui" / "join.css").read_text()


@st.cache_data(show_spinner=False)
def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=12, border=2)
    return buffer.getvalue()


def join_panel() -> None:
    st.header(_("Students join here"))
    url = join_address(int(st.get_option("server.port") or 8501))  # the join port, on one of several servers
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left:
        st.html(f'<style>{JOIN_CSS}</style><div class="join-address">{html.escape(url)}</div>')
        st.markdown(_("On your phone or laptop (same Wi-Fi as this machine), scan the code or open this address. "
                      "Then type your name at the top of the page."))
    right.image(qr_png(url), caption=_("scan to join"), width=280)


def forget_clear_request() -> None:
    st.session_state.pop("confirm_clear", None)


def cleared_text(cleared) -> str:
    """What clearing the student runs did (vae.classroom.Cleared), in one sentence."""
    deleted = ngettext("Deleted {count} student run.", "Deleted {count} student runs.", cleared.deleted)
    stopped = ngettext("Stopped {count} training.", "Stopped {count} trainings.", cleared.stopped)
    return f"{deleted.format(count=cleared.deleted)} {stopped.format(count=cleared.stopped)}"


@st.dialog(_("Clear every student run?"), on_dismiss=forget_clear_request)  # a page runs in its session: _() is fine
def confirm_clear(count: int) -> None:
    st.write(ngettext("{count} run trained by students will be deleted for good, and any student training still "
                      "queued or running is stopped (what it would save is deleted too). The teacher's runs stay.",
                      "{count} runs trained by students will be deleted for good, and any student training still "
                      "queued or running is stopped (what it would save is deleted too). The teacher's runs stay.",
                      count).format(count=count))
    clear, cancel = st.columns(2)
    if clear.button(_("Delete them all"), type="primary", key="confirm_clear_students"):
        forget_clear_request()
        try:  # the teacher's role is checked again where it acts
            cleared = clear_student_runs(classroom.person(), training.training_queue(), state.runs_dir())
        except ClassroomError as error:
            st.error(str(error))
            return
        st.session_state.classroom_notice = cleared_text(cleared)
        if cleared.failed:
            st.session_state.classroom_notice += " " + _("Could not delete: {runs}").format(
                runs="; ".join(cleared.failed))
        st.rerun()
    if cancel.button(_("Cancel"), key="cancel_clear_students"):
        forget_clear_request()
        st.rerun()


def forget_end_request() -> None:
    st.session_state.pop("confirm_end", None)


@st.dialog(_("End the class?"), on_dismiss=forget_end_request)
def confirm_end(names: int) -> None:
    st.write(_("Every name ({names}) is freed and the board is emptied: drawings, questions and guesses, and the "
               "lead. The next class starts afresh. Your settings and the class run stay; runs stay unless you tick "
               "the box.").format(names=names))
    delete_runs = st.checkbox(_("Also delete every student run"), key="end_delete_runs")
    end, cancel = st.columns(2)
    if end.button(_("End the class"), type="primary", key="confirm_end_class"):
        forget_end_request()
        try:  # the teacher's role is checked again where it acts
            ended = end_class(classroom.person(), board.board(), classroom.shared_state(), training.training_queue(),
                              state.runs_dir(), delete_student_runs=delete_runs)
        except ClassroomError as error:
            st.error(str(error))
            return
        notice = ngettext("The class has ended: {count} name freed, the board is empty.",
                          "The class has ended: {count} names freed, the board is empty.",
                          ended.names).format(count=ended.names)
        if ended.cleared is not None:
            notice += " " + cleared_text(ended.cleared)
        st.session_state.classroom_notice = notice
        st.rerun()
    if cancel.button(_("Cancel"), key="cancel_end_class"):
        forget_end_request()
        st.rerun()


def free_name() -> None:
    chosen = st.session_state.get("free_name_choice")
    if not chosen:
        return
    try:
        freed = classroom.shared_state().free_name(classroom.person(), chosen)
    except ClassroomError as error:
        st.session_state.classroom_notice = str(error)
        return
    st.session_state.classroom_notice = (_("{name}'s name is free: whoever had it types a name again (their runs "
                                           "stay theirs).") if freed
                                         else _("No one is called {name} now.")).format(name=chosen)


def students_panel() -> None:
    """Who has joined, the names the teacher may free, and a word when many share one address."""
    st.subheader(_("Students"))
    joined = classroom.shared_state().names()
    if not joined:
        st.caption(_("No student has typed a name yet."))
        return
    st.caption(ngettext("{count} joined: {names}", "{count} joined: {names}", len(joined)).format(
        count=len(joined), names=", ".join(escape(name) for name, _key, _address in joined)))
    per_address = Counter(address for _name, _key, address in joined)
    address, crowd = per_address.most_common(1)[0]
    limit = classroom.shared_state().limits.names_per_device
    if crowd >= min(limit, 4):
        st.info(ngettext(
            "{count} students joined from one network address ({address}); one device allows {limit}. If the "
            "school's network puts every device behind one address, raise “Students per device” and “Trainings per "
            "device” below to the class's size.",
            "{count} students joined from one network address ({address}); one device allows {limit}. If the "
            "school's network puts every device behind one address, raise “Students per device” and “Trainings per "
            "device” below to the class's size.", crowd).format(
            count=crowd, address=escape(_(address) if address == THIS_MACHINE else address), limit=limit))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox(_("A name to free (a student who left, or a name taken by mistake)"),
                   [name for name, _key, _address in joined], index=None, key="free_name_choice")
    right.button(_("Free this name"), key="free_name", on_click=free_name)


def set_paused() -> None:
    try:
        pause_students(classroom.person(), training.training_queue(), st.session_state.classroom_paused)
    except ClassroomError as error:
        st.session_state.classroom_notice = str(error)


def set_limits() -> None:
    if not classroom.require_teacher():
        return
    try:
        classroom.shared_state().set_limits(
            classroom.person(), **{name: int(st.session_state[f"limit_{name}"]) for name in LIMIT_RANGES})
    except ClassroomError as error:
        st.session_state.classroom_notice = str(error)


def pin_run() -> None:
    if classroom.require_teacher():
        chosen = next((run for run in state.listing().runs if run.name == st.session_state.class_run), None)
        classroom.shared_state().pin(classroom.person(), chosen.name if chosen else None,
                                     chosen.created_at if chosen else "")


def teacher_tools() -> None:
    notice = st.session_state.pop("classroom_notice", None)
    if notice:
        st.info(notice)
    queue = training.training_queue()
    connected = connected_sessions()
    active = queue.snapshots(active_only=True)
    students = [s for s in active if owner_role(s.owner) == STUDENT]
    first, second, third = st.columns(3)
    # On one of several web servers (make classroom SERVERS=2) each counts its own browsers.
    first.metric(_("Connected browsers (this web server)") if queue_in_own_process() else _("Connected browsers"),
                 "?" if connected is None else connected)
    second.metric(_("Trainings queued or running"), len(active))
    third.metric(_("Of them by students"), len(students))

    students_panel()

    st.subheader(_("The class run"))
    listed = state.listing().runs
    pinned = classroom.pinned_run_name(listed)
    options = [NO_CLASS_RUN, *(run.name for run in listed)]
    st.selectbox(_("Open this run for every student"), options,
                 index=options.index(pinned) if pinned in options else 0, key="class_run", on_change=pin_run,
                 format_func=labels_now(options, lambda option: _("(none)") if option == NO_CLASS_RUN else option),
                 help=_("Each student's pages switch to it once; they can still pick another run."))

    st.subheader(_("Student training"))
    st.toggle(_("Pause student training"), value=queue.students_held, key="classroom_paused", on_change=set_paused,
              help=_("Students' queued trainings wait until you resume; running ones finish."))
    limits = classroom.shared_state().limits
    with st.form("limits"):
        columns = st.columns(4)
        for index, (name, (low, high, label)) in enumerate(LIMIT_RANGES.items()):
            columns[index % 4].number_input(_(label), low, high, getattr(limits, name), key=f"limit_{name}",
                                            help=_(LIMIT_HELP[name]) if name in LIMIT_HELP else None)
        st.form_submit_button(_("Set the limits"), on_click=set_limits)
    for snap in active:
        who = student_name(snap.owner) or _("the teacher")
        st.caption(_("{run} by {who}: {progress}").format(run=escape(snap.run_name), who=escape(who),
                                                          progress=training.progress_text(snap)))
        training.cancel_button(snap, "classroom")

    st.subheader(_("End of class"))
    student_runs = [run.name for run in state.listing().runs if owner_role(run.metrics.get("owner")) == STUDENT]
    if st.button(_("Clear all student runs ({count})…").format(count=len(student_runs)), key="clear_student_runs",
                 disabled=not student_runs and not students):
        st.session_state.confirm_clear = True
    if st.session_state.get("confirm_clear"):
        confirm_clear(len(student_runs))
    if st.button(_("End the class…"), key="end_class"):
        st.session_state.confirm_end = True
    if st.session_state.get("confirm_end"):
        confirm_end(len(classroom.shared_state().names()))


def store_notice() -> None:
    """Say, once per store, that a damaged or newer store was set aside (the teacher may dismiss it)."""
    sentence = classroom.store_set_aside()
    if sentence and (classroom.is_teacher() or not classroom.classroom_on()):
        st.warning(sentence)
        st.button(_("Understood"), key="dismiss_store_notice", on_click=classroom.dismiss_store_notice)


ensure_app_shell("classroom")
st.title(_("Classroom"))
store_notice()
if not classroom.classroom_on():
    st.info(_("Classroom mode is off: this app listens on this machine only, and everyone may do everything. "
              "To teach a class on one network, start it with `make classroom`: it prints a teacher code and "
              "the address students join at, and this page shows both the address and a QR code."))
    st.stop()
join_panel()
st.divider()
if classroom.person().role == "teacher":
    st.header(_("Teacher's tools"))
    teacher_tools()
else:
    st.caption(_("The teacher's tools appear here once the teacher signs in (sidebar → I am the teacher). "
                 "Students: type your name at the top of the page."))
