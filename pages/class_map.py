"""Class map: the class run's latent map, shared by the whole room. Students draw a digit on their
phone, say which it is and send it: it appears on the projector as a dot of that digit's colour,
ringed when it lands in another digit's cluster (the model's surprise). The teacher asks "where will
the encoder put this?" or "which digit will the decoder draw here?"; students guess on their own
screens; Reveal shows the answer and how far the class was. Local mode: the same board, for one."""

from functools import partial

import numpy as np
import streamlit as st

from ui import board, classroom, state
from ui.drawing_pad.mount import drawing_in_state, drawing_pad
from ui.language import in_this_language, labels_now
from ui.latent_map.mount import EXPLORER_OVERLAYS, cleared, latent_map, map_state
from ui.markdown import escape
from ui.refresh import refreshing_fragment
from ui.shell import ensure_app_shell
from ui.training import first_run_prompt
from vae.classroom import TEACHER
from vae.datasets import DataSet
from vae.drawing import DrawingError
from vae.errors import LabError
from vae.i18n import _, ngettext
from vae.plots import digit_rows, enlarge

REFRESH_SECONDS = 1.0  # the board and the question reach every student's screen within about this
PROJECTOR_REFRESH_SECONDS = 0.5  # ... and the projector's (the teacher's, or local mode's one screen)


def send_drawing(dataset: DataSet) -> None:
    """Send's callback, with the pad's drawing and the chosen class as the press carried them. What
    it says is kept for the fragment: a refusal as send_notice, a drawing on the board as send_sent."""
    digit, png = st.session_state.get("board_digit"), drawing_in_state("board_pad")
    if png is None:
        st.session_state.send_notice = (_("Draw a digit on the pad first.") if dataset.item == "digit"
                                        else _("Draw something on the pad first."))
        return
    try:
        image = state.prepared_drawing(png)
    except DrawingError as error:
        st.session_state.send_notice = str(error)
        return
    refused = board.safely(board.board().add, classroom.person(), digit, image)
    if refused:
        st.session_state.send_notice = refused
    else:
        st.session_state.send_sent = _("Sent: your {name} is on the class map.").format(
            name=dataset.class_name(digit) if digit is not None else digit)


@st.fragment
def draw_and_send(dataset: DataSet) -> None:
    """A fragment: drawing, picking the class and sending rerun this part alone, so the map's
    weights (~1 MB for the default) are not sent to the phone again for each of them."""
    digits = dataset.item == "digit"
    st.subheader(_("Draw a digit for the class map") if digits else _("Draw an item for the class map"))
    drawing_pad(key="board_pad")
    st.pills(_("Which digit did you draw?") if digits else _("Which item did you draw?"), list(range(10)),
             key="board_digit", format_func=labels_now(range(10), dataset.class_name))
    # Never disabled until a digit is chosen: that would hang on the rerun a tap on a pill starts, and
    # on a class map refreshing every second Streamlit can pre-empt it (a phone once showed its pill
    # chosen and Send still disabled). Send checks what it carries, and says what is missing.
    st.button(_("Send it to the class map"), type="primary", key="board_send", on_click=send_drawing,
              args=(dataset,))
    sent, notice = st.session_state.pop("send_sent", None), st.session_state.pop("send_notice", None)
    if sent:
        st.success(sent)
    if notice:
        st.info(notice)


def show_notice() -> None:
    """What the last action said (a callback's result), once, at the top where it is seen: a refusal
    (board_notice), or that the board was cleared (board_cleared)."""
    cleared, notice = st.session_state.pop("board_cleared", None), st.session_state.pop("board_notice", None)
    if cleared:
        st.success(cleared)
    if notice:
        st.info(notice)


def question_panel(run) -> None:
    """The open question, as a student answers it: tap the map, or pick a class."""
    question = board.board().question
    if question is None:
        return
    me = classroom.person()
    dataset = state.dataset_of(run)
    st.subheader(_("Question {number}: {question}").format(number=question.id,
                                                            question=question.sentence(dataset.item)))
    if question.kind == "encode":
        st.image(state.image_png(enlarge(state.run_test_set(run).x_test[question.image], 5)),
                 caption=_("test image {number}").format(number=question.image))
        mine = board.board().my_guess(me)
        if me.role == TEACHER and not question.revealed:
            st.caption(_("Students tap their guess on their own map: {count} so far, the grey dots below.").format(
                count=len(board.board().guesses())))
        else:
            st.caption(_("Tap the map where you think the encoder puts it.") if mine is None and not question.revealed
                       else _("Your guess: ({x:.2f}, {y:.2f}).").format(x=mine[0], y=mine[1]) if mine else "")
    elif not question.revealed and me.role != TEACHER:
        st.pills(_("Your guess"), list(range(10)), key=f"decode_guess_{question.id}", on_change=guess_digit,
                 args=(question.id,), format_func=labels_now(range(10), dataset.class_name))
    if question.revealed:
        reveal_text(run, question)


def guess_digit(question_id: int) -> None:
    digit = st.session_state.get(f"decode_guess_{question_id}")
    if digit is not None:
        st.session_state.board_notice = board.safely(board.board().guess, classroom.person(), int(digit))


def reveal_text(run, question) -> None:
    if question.kind == "encode":
        result = board.guess_spread(question)
        st.success(ngettext("The encoder puts it at ({x:.2f}, {y:.2f}) (the dark ellipse: 1σ). {count} guesses; "
                            "median distance {distance}.",
                            "The encoder puts it at ({x:.2f}, {y:.2f}) (the dark ellipse: 1σ). {count} guesses; "
                            "median distance {distance}.", result["count"]).format(
            x=question.answer["centre"][0], y=question.answer["centre"][1], count=result["count"],
            distance=result["median_distance"] if result["count"] else "—"))
    else:
        guesses = board.board().guesses()
        right = sum(g == question.answer for g in guesses)
        decoded = state.decoder(run)(np.asarray(question.z, np.float32)[None, :])[0]
        st.image(state.image_png(enlarge(decoded, 5)), caption=_("what the decoder draws there"))
        st.success(ngettext("It draws {answer}: {right} of {count} guessed it.",
                            "It draws {answer}: {right} of {count} guessed it.", right).format(
            answer=state.dataset_of(run).a(question.answer), right=right, count=len(guesses)))


def guessing(me) -> bool:
    """Does a tap on the map answer the open question, for this person? (The teacher's taps pick points.)"""
    question = board.board().question
    return question is not None and question.kind == "encode" and not question.revealed and me.role != TEACHER


def the_map(run) -> bool:
    """The shared map, drawn outside the refreshing parts: its decoder's weights go to the browser
    once, not every second. A release is a guess while one is asked, else the teacher's point."""
    payload = state.map_payload(run)
    if payload is None:
        st.info(_("This run's decoder cannot run in the browser: pick another class run."))
        return False
    result = latent_map(payload, key=f"class-map-{run.name}")
    if isinstance(result.z, list) and result.z != st.session_state.get("class_map_z"):
        st.session_state.class_map_z = result.z  # the last release: a guess, or the teacher's point
        me = classroom.person()
        if guessing(me):
            point = board.plane_point(run, result.z)
            notice = board.safely(board.board().guess, me, point)
            if notice:
                st.info(notice)
            else:
                st.caption(_("Your guess: ({x:.2f}, {y:.2f}).").format(x=point[0], y=point[1]))
    return True


def board_overlay(run) -> None:
    """What the map draws of the board (a few hundred bytes per drawing), refreshed on its own."""
    me = classroom.person()
    map_state(run.name, {**cleared(EXPLORER_OVERLAYS), **board.map_overlay(run, me), "guess_mode": guessing(me)},
              key=f"class-map-state-{run.name}")
    placed = board.placements(run)
    surprises = sum(p.surprise for p in placed)
    if state.dataset_of(run).item == "digit":
        caption = ngettext("{count} drawing on the board; the model's surprises: {surprises} (ringed: they landed "
                           "among another digit). Colours: the digit each author says they drew.",
                           "{count} drawings on the board; the model's surprises: {surprises} (ringed: they landed "
                           "among another digit). Colours: the digit each author says they drew.", len(placed))
    else:
        caption = ngettext("{count} drawing on the board; the model's surprises: {surprises} (ringed: they landed "
                           "among another item). Colours: the item each author says they drew.",
                           "{count} drawings on the board; the model's surprises: {surprises} (ringed: they landed "
                           "among another item). Colours: the item each author says they drew.", len(placed))
    st.caption(caption.format(count=len(placed), surprises=surprises))


def teacher_tools(run) -> None:
    shared = board.board()
    st.subheader(_("The teacher's board"))
    me = classroom.person()
    left, middle, right = st.columns(3)
    left.toggle(_("Hide names"), value=shared.hide_names, key="board_hide_names",
                on_change=lambda: board.safely(shared.set_hide_names, me, st.session_state.board_hide_names))
    if middle.button(_("Clear the board…"), key="board_clear"):
        st.session_state.confirm_board_clear = True
    if st.session_state.get("confirm_board_clear"):
        confirm_clear()
    right.toggle(_("Students follow me"), value=shared.lead.on, key="board_lead",
                 help=_("Every student's screen shows your page, run and point; a student can step away."),
                 on_change=lambda: board.safely(shared.follow, me, st.session_state.board_lead))
    ask_tools(run)
    open_drawing(run)


def forget_clear_request() -> None:
    st.session_state.pop("confirm_board_clear", None)


@st.dialog(_("Clear the class map?"), on_dismiss=forget_clear_request)  # a page runs in its session: _() is fine
def confirm_clear() -> None:
    st.write(_("Every drawing on the board is removed for everyone."))
    if st.button(_("Clear it"), type="primary", key="board_clear_yes"):
        forget_clear_request()
        refused = board.safely(board.board().clear, classroom.person())
        if refused:
            st.session_state.board_notice = refused
        else:
            st.session_state.board_cleared = _("The board is clear.")
        st.rerun()


def ask(run, kind: str) -> None:
    """Button callbacks run before the page, so the map drawn after them already shows the question."""
    me, shared = classroom.person(), board.board()
    if kind == "encode":
        notice = board.safely(shared.ask, me, "encode", int(st.session_state.ask_image))
    elif (z := st.session_state.get("class_map_z")) is None:
        notice = _("Drag on the map to a point first.")
    else:
        notice = board.safely(shared.ask, me, "decode", None, z, board.plane_point(run, z))
    st.session_state.board_notice = notice


def reveal(run) -> None:
    shared = board.board()
    question = shared.question
    if question is None or question.revealed:
        return
    answer = board.encode_answer(run, question) if question.kind == "encode" else board.decode_answer(run, question)
    st.session_state.board_notice = board.safely(shared.reveal, classroom.person(), answer)


def close_question() -> None:
    st.session_state.board_notice = board.safely(board.board().close_question, classroom.person())


def ask_tools(run) -> None:
    shared = board.board()
    question, item = shared.question, state.dataset_of(run).item
    digits = item == "digit"
    with st.expander(_("Predict, then reveal"), expanded=question is not None):
        st.number_input(_("Test image"), 0, len(state.run_test_set(run).y_test) - 1, 0, key="ask_image")
        a, b = st.columns(2)
        a.button(_("Ask: where will the encoder put it?"), key="ask_encode", on_click=ask, args=(run, "encode"))
        told = run.config.conditional  # it draws whichever class it is told: nothing to guess
        told_help = (_("A conditional model draws the digit it is told at every point.") if digits
                     else _("A conditional model draws the item it is told at every point."))
        b.button(_("Ask: which digit at my map point?") if digits else _("Ask: which item at my map point?"),
                 key="ask_decode", on_click=ask, args=(run, "decode"),
                 disabled=told or st.session_state.get("class_map_z") is None,
                 help=told_help if told else _("Drag on the map to a point first."))
        if question is None:
            return
        count = len(shared.guesses())
        st.caption(ngettext("Question {number}: {question} {count} guess so far.",
                            "Question {number}: {question} {count} guesses so far.", count).format(
            number=question.id, question=question.sentence(item), count=count))
        if not question.revealed:
            st.button(_("Reveal"), type="primary", key="reveal", on_click=reveal, args=(run,))
        st.button(_("Close the question"), key="close_question", on_click=close_question)


def open_drawing(run) -> None:
    placed = {p.drawing.id: p for p in board.placements(run)}
    if not placed:
        return
    dataset = state.dataset_of(run)
    with st.expander(_("Open a drawing large")):
        hide = board.board().hide_names

        def drawing_option(i: int) -> str:
            shown = f"#{i}: {dataset.a(placed[i].drawing.digit)}"
            if hide:
                return shown
            return _("{drawing} by {name}").format(
                drawing=shown, name=classroom.shown_name(placed[i].drawing.name) or _("you"))

        chosen = st.selectbox(_("Drawing"), list(placed), key="open_drawing",
                              format_func=labels_now(placed, drawing_option))
        p = placed[chosen]
        if run.config.conditional:
            where = _("the model was told it is {drawing}, so its place on the map is its style").format(
                drawing=dataset.a(p.drawing.digit))
        elif p.surprise:
            where = _("it landed among the {name}s (a surprise)").format(name=dataset.class_name(p.cluster))
        else:
            where = _("it landed among the {name}s").format(name=dataset.class_name(p.cluster))
        st.image(state.image_png(digit_rows([[p.drawing.pixels, board.reconstruction(run, p)]], scale=8)),
                 caption=_("the drawing as the model saw it, and its reconstruction: {where}").format(where=where))


ensure_app_shell("class_map")
st.title(_("Class map"))
run = board.class_run()
if run is None:
    first_run_prompt("class_map")
    st.stop()
st.caption(_("Run **{run}**: {config}. Everyone draws onto this one map.").format(run=escape(run.name),
                                                                                  config=run.config.describe()))
try:  # everything the board needs of the run, read once here: a damaged file is one sentence
    state.models(run)
    state.test_encodings(run)
    state.map_payload(run)
except LabError as error:
    state.show_run_error_and_stop(error)

show_notice()


viewer = classroom.person()
# The projector refreshes the board twice as often as a student's screen: it is what the room watches.
refresh = PROJECTOR_REFRESH_SECONDS if viewer.is_teacher else REFRESH_SECONDS


@refreshing_fragment(refresh)
def live_question():
    question_panel(run)


@refreshing_fragment(refresh)
def live_board():
    board_overlay(run)


live_question()
if the_map(run):
    live_board()
if viewer.is_teacher:
    teacher_tools(run)
draw_and_send(state.dataset_of(run))
st.download_button(_("Download the lab record (HTML)"),
                   data=in_this_language(partial(board.lab_record_html, run, viewer)),  # built when clicked
                   file_name=f"latent-lab-record-{run.name}.html", mime="text/html", key="lab_record",
                   on_click="ignore", help=_("Your drawings, guesses and runs (the teacher's: the whole class's), "
                                             "in one file that opens offline."))
