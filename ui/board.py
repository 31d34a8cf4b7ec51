"""The class board as pages see it (vae.classroom.board): one for the server, the class run it is
shown on, where that run puts every drawing (worked out once per run and board change), and what
the latent map draws of it (a few hundred bytes per drawing: its point, digit, whether it is a
surprise, its name unless hidden, and its pixels for whoever may see them)."""

from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from ui import classroom, state, training
from ui.latent_map.pack import ellipse
from vae.classroom import Person
from vae.classroom.board import Board, Placement, Question, cluster_of, place, spread
from vae.datasets import DataSet
from vae.errors import LabError
from vae.i18n import _, ngettext
from vae.lab_record import DrawingEntry, GuessEntry, RunEntry, lab_record
from vae.runs import RunSummary, load_history
from vae.snapshots import project
from vae.states import SAVED_STATES


def board() -> Board:
    return classroom.shared_board()


def class_run() -> RunSummary | None:
    """The run the board is shown on: the class run the teacher pinned, else this session's active run."""
    listed = state.listing().runs
    pinned = classroom.pinned_run_name(listed)
    return next((run for run in listed if run.name == pinned), None) or state.active_run()


@st.cache_resource(show_spinner=False, max_entries=4)
def _placements(path: str, stamp: int, version: int, _run: RunSummary, _board: Board) -> list[Placement]:
    encoder = state.models(_run)[0]
    return place(_board.drawings(), encoder, state.test_encodings(_run), state.run_test_set(_run).y_test,
                 _run.config.label_inputs)


def placements(run: RunSummary) -> list[Placement]:
    """Every drawing on the board, placed by `run`'s encoder (RunError if the run cannot be read)."""
    shared = board()
    return _placements(str(run.path), state.folder_stamp(run.path), shared.drawings_version, run, shared)


def reconstruction(run: RunSummary, placement: Placement) -> np.ndarray:
    """A placed drawing decoded from its z_mean (as the class its author named, for a conditional run)."""
    return state.decoder(run, placement.drawing.digit)(placement.z[None, :].astype(np.float32))[0]


def may_see_image(placement: Placement, me: Person) -> bool:
    """The teacher (and anyone, in local mode) sees every drawing; a student, their own."""
    return me.is_teacher or placement.drawing.author == me.browser


def map_overlay(run: RunSummary, me: Person) -> dict:
    """What the latent map draws of the board for `me`: the drawings, the open question's guesses,
    the revealed answer."""
    shared, plane = board(), state.map_plane(run)
    placed = placements(run)
    points = project(plane, np.stack([p.z for p in placed])) if placed else np.zeros((0, 2))
    hide = shared.hide_names  # on the projector too: that is what hiding them is for
    marks = state.dataset_of(run).marks
    drawings = [{"id": p.drawing.id, "at": [round(float(x), 3), round(float(y), 3)], "digit": p.drawing.digit,
                 "mark": marks[p.drawing.digit],
                 "surprise": p.surprise, "name": "" if hide else classroom.shown_name(p.drawing.name),
                 "pixels": base64.b64encode(p.drawing.image).decode() if may_see_image(p, me) else None}
                for p, (x, y) in zip(placed, points, strict=True)]
    overlay = {"board": drawings, "guesses": [], "answer": None, "target": None}
    question = shared.question
    if question is not None:
        if question.kind == "encode" and (question.revealed or me.is_teacher):
            overlay["guesses"] = [list(g) for g in shared.guesses()]
        if question.kind == "decode":
            overlay["target"] = list(question.point) if question.point else None
        if question.revealed and question.kind == "encode":
            overlay["answer"] = question.answer
    return overlay


def plane_point(run: RunSummary, z) -> tuple[float, float]:
    """A latent point as the map shows it (its plane: the latent space itself when 2-D)."""
    x, y = project(state.map_plane(run), np.asarray(z, np.float32)[None, :])[0]
    return float(x), float(y)


def encode_answer(run: RunSummary, question: Question) -> dict:
    """Where the class run's encoder puts the question's test image: its mean and 1σ ellipse."""
    data = state.run_test_set(run)
    encoder = state.encoder(run, data.y_test[question.image])  # a conditional run is told the image's class
    z_mean, z_log_var = encoder(data.x_test[question.image][None, :])
    return ellipse(state.map_plane(run), z_mean[0], z_log_var[0])


def decode_answer(run: RunSummary, question: Question) -> int:
    """Which digit the decoder draws at the question's point: the digit of the cluster it is in."""
    return cluster_of(np.asarray(question.z), state.test_encodings(run), state.run_test_set(run).y_test)


def guess_spread(question: Question) -> dict:
    return spread(board().guesses(), tuple(question.answer["centre"]))


def safely(action, *args) -> str | None:
    """Run a board action; its refusal (a ClassroomError, or a run that cannot be read) as one sentence."""
    try:
        action(*args)
    except LabError as error:
        return str(error)
    return None


def lab_record_html(run: RunSummary, me: Person) -> str:
    """`me`'s lab record (vae.lab_record): a student's own drawings, guesses and runs; the teacher's
    (and local mode's): the whole class's. `me` is passed in: the download is made after the page's
    run, outside the session."""
    shared = board()
    everyone, dataset = me.is_teacher, state.dataset_of(run)
    plane = state.map_plane(run)
    mine = [p for p in placements(run) if everyone or p.drawing.author == me.browser]
    points = project(plane, np.stack([p.z for p in mine])) if mine else np.zeros((0, 2))
    drawings = [DrawingEntry(p.drawing.pixels, reconstruction(run, p), (float(x), float(y)),
                             p.drawing.digit, p.cluster, p.drawing.name)
                for p, (x, y) in zip(mine, points, strict=True)]
    guesses = [entry for question, answers in shared.answered
               for entry in _guess_entries(question, answers, me, dataset)]
    trained = [snap.run_name for snap in training.training_queue().snapshots()
               if snap.state in SAVED_STATES and (everyone or snap.browser == me.browser)]
    run_entries = []
    for summary in state.listing().runs:
        if summary.name in trained or (everyone and not classroom.classroom_on()):
            try:
                history = load_history(summary)
            except LabError:
                continue
            run_entries.append(RunEntry(summary.name, summary.config.describe(), summary.one_line(), history))
    z_test, labels = state.test_encodings(run)[:500], state.run_test_set(run).y_test[:500]
    who = _("the whole class") if everyone and classroom.classroom_on() else (me.name or _("this browser"))
    return lab_record(_("Latent Lab record: {run}").format(run=run.name), who, drawings, guesses, run_entries,
                      project(plane, z_test), labels, dataset=dataset)


def _guess_entries(question: Question, answers: dict, me, dataset: DataSet) -> list[GuessEntry]:
    sentence = question.sentence(dataset.item)
    if question.kind == "encode":
        centre = tuple(question.answer["centre"])
        answer = f"({centre[0]:.2f}, {centre[1]:.2f})"
    else:
        answer = dataset.a(question.answer)
    if me.is_teacher:
        summary = spread(list(answers.values()), centre) if question.kind == "encode" else None
        if summary and summary["count"]:
            guess = ngettext("{count} guesses, median distance {distance}",
                             "{count} guesses, median distance {distance}",
                             len(answers)).format(count=len(answers), distance=summary["median_distance"])
        else:
            right = sum(a == question.answer for a in answers.values())
            guess = ngettext("{right} of {count} right", "{right} of {count} right", right).format(
                right=right, count=len(answers))
        return [GuessEntry(sentence, guess, answer, None)]
    mine = answers.get(me.browser)
    if mine is None:
        return [GuessEntry(sentence, _("(no guess)"), answer, None)]
    if question.kind == "encode":
        close = float(np.hypot(mine[0] - centre[0], mine[1] - centre[1])) <= 1.0
        return [GuessEntry(sentence, f"({mine[0]:.2f}, {mine[1]:.2f})", answer, close)]
    return [GuessEntry(sentence, dataset.a(mine), answer, mine == question.answer)]
