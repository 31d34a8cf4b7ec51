"""The class board's rules (vae.classroom.board) and the lab record (vae.lab_record), pure: who may
send, clear, ask, reveal and lead; where drawings land and which are the model's surprises; how far
the class's guesses were; a record that opens with no server."""

from __future__ import annotations

import re
import threading
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from vae import classroom
from vae.classroom import STUDENT, TEACHER, ClassroomError, Person
from vae.classroom.board import (
    MAX_DRAWINGS,
    MAX_PER_STUDENT,
    MIN_SECONDS_BETWEEN_DRAWINGS,
    Board,
    Drawing,
    cluster_of,
    place,
    spread,
)
from vae.classroom.people import LOCAL
from vae.datasets import FASHION_MNIST
from vae.lab_record import DrawingEntry, GuessEntry, RunEntry, lab_record

ADA = Person(STUDENT, "Ada", classroom.key_hash("ada"), browser=classroom.key_hash("ada"))
BOB = Person(STUDENT, "Bob", classroom.key_hash("bob"), browser=classroom.key_hash("bob"))
NAMELESS = Person(STUDENT, "", classroom.key_hash("x"), browser=classroom.key_hash("x"))
TEACHER_PERSON = Person(TEACHER, "the teacher", browser=classroom.key_hash("t"))
BLANK = np.zeros(784, np.float32)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def board(clock, class_db):
    return Board(class_db, clock)


def test_a_student_sends_drawings_at_a_pace_with_a_digit_and_a_name(board, clock):
    with pytest.raises(ClassroomError, match="which digit"):
        board.add(ADA, 10, BLANK)
    with pytest.raises(ClassroomError, match="which digit"):
        board.add(ADA, None, BLANK)
    with pytest.raises(ClassroomError, match="Type your name"):
        board.add(NAMELESS, 3, BLANK)
    drawing = board.add(ADA, 3, np.full(784, 0.5))
    assert drawing.name == "Ada" and drawing.digit == 3 and drawing.author == ADA.browser
    assert drawing.pixels.shape == (784,) and abs(float(drawing.pixels[0]) - 128 / 255) < 1e-6
    with pytest.raises(ClassroomError, match="wait a moment"):
        board.add(ADA, 4, BLANK)
    board.add(BOB, 4, BLANK)  # another student is not held back by Ada
    clock.now += MIN_SECONDS_BETWEEN_DRAWINGS
    board.add(ADA, 4, BLANK)
    assert [d.digit for d in board.drawings()] == [3, 4, 4]


def test_a_student_has_a_cap_and_the_board_keeps_the_newest(board, clock):
    for _ in range(MAX_PER_STUDENT):
        board.add(ADA, 1, BLANK)
        clock.now += MIN_SECONDS_BETWEEN_DRAWINGS
    with pytest.raises(ClassroomError, match=f"{MAX_PER_STUDENT} drawings"):
        board.add(ADA, 1, BLANK)
    for index in range(MAX_DRAWINGS):  # the teacher has no cap; the board keeps the newest
        board.add(TEACHER_PERSON, index % 10, BLANK)
        clock.now += MIN_SECONDS_BETWEEN_DRAWINGS
    drawings = board.drawings()
    assert len(drawings) == MAX_DRAWINGS and all(d.author == TEACHER_PERSON.browser for d in drawings)
    assert drawings[-1].id > drawings[0].id


def test_only_the_teacher_clears_hides_asks_reveals_closes_and_leads(board):
    board.add(ADA, 3, BLANK)
    before = board.version
    for action in (lambda: board.clear(ADA), lambda: board.set_hide_names(ADA, True),
                   lambda: board.ask(ADA, "encode", 5), lambda: board.reveal(ADA, 3),
                   lambda: board.close_question(ADA), lambda: board.follow(ADA, on=True, page="explorer")):
        with pytest.raises(ClassroomError, match="teacher"):
            action()
    assert board.version == before and len(board.drawings()) == 1 and not board.lead.on
    assert board.question is None and not board.hide_names
    assert board.clear(TEACHER_PERSON) == 1 and board.drawings() == []
    local = Person(LOCAL)
    board.set_hide_names(local, True)  # outside classroom mode, the one person is in charge
    assert board.hide_names


def test_predict_then_reveal_where_the_encoder_puts_an_image(board):
    with pytest.raises(ClassroomError, match="no open question"):
        board.guess(ADA, (0, 0))
    question = board.ask(TEACHER_PERSON, "encode", 7)
    assert question.sentence() == "Where will the encoder put test image 7?"
    board.guess(ADA, (1.0, 2.0))
    board.guess(ADA, (0.5, 0.5))  # the last guess counts
    board.guess(BOB, [3, 4])
    for bad in ("near the 3s", (float("nan"), 0), (99, 0), (1, 2, 3)):
        with pytest.raises(ClassroomError, match="Tap a point"):
            board.guess(BOB, bad)
    assert sorted(board.guesses()) == [(0.5, 0.5), (3.0, 4.0)]
    assert board.my_guess(ADA) == (0.5, 0.5)
    answer = {"centre": [0.5, 0.5], "radii": [0.1, 0.2], "angle": 0.0}
    board.reveal(TEACHER_PERSON, answer)
    with pytest.raises(ClassroomError, match="no open question"):
        board.guess(BOB, (0, 0))  # guesses are closed once the answer is out
    with pytest.raises(ClassroomError, match="Ask a question first"):
        board.reveal(TEACHER_PERSON, answer)
    assert board.question.revealed and board.question.answer == answer
    (asked, guesses), = board.answered
    assert asked.id == 1 and guesses[ADA.browser] == (0.5, 0.5)
    assert spread(list(guesses.values()), (0.5, 0.5)) == {"count": 2, "median_distance": 2.15, "within_one": 0.5}
    assert board.ask(TEACHER_PERSON, "encode", 8).id == 2 and board.guesses() == []


def test_predict_then_reveal_which_digit_the_decoder_draws(board):
    with pytest.raises(ClassroomError, match="one of"):
        board.ask(TEACHER_PERSON, "classify")
    question = board.ask(TEACHER_PERSON, "decode", z=[0.1, -0.2], point=(0.1, -0.2))
    assert question.point == (0.1, -0.2) and "which digit" in question.sentence().lower()
    with pytest.raises(ClassroomError, match="0 to 9"):
        board.guess(ADA, 12)
    board.guess(ADA, 7)
    board.guess(BOB, 1)
    board.reveal(TEACHER_PERSON, 7)
    assert board.answered[-1][1] == {ADA.browser: 7, BOB.browser: 1}
    board.close_question(TEACHER_PERSON)
    assert board.question is None


def test_the_lead_changes_version_only_when_what_the_teacher_shows_changes(board):
    lead = board.follow(TEACHER_PERSON, on=True, page="explorer", run="default")
    assert (lead.on, lead.page, lead.run, lead.version) == (True, "explorer", "default", 1)
    assert board.follow(TEACHER_PERSON, page="explorer").version == 1  # the same: no change for anyone
    lead = board.follow(TEACHER_PERSON, z=[1.23456, -2])
    assert lead.z == (1.235, -2.0) and lead.version == 2 and lead.page == "explorer"
    assert not board.follow(TEACHER_PERSON, on=False).on


def test_drawings_are_placed_by_the_encoder_and_surprises_are_among_another_digit():
    rng = np.random.default_rng(0)
    z_test = np.concatenate([rng.normal((-2, 0), 0.3, (50, 2)), rng.normal((2, 0), 0.3, (50, 2))])
    labels = np.array([1] * 50 + [7] * 50)
    assert cluster_of(np.array([-2.1, 0.1]), z_test, labels) == 1
    assert cluster_of(np.array([1.9, -0.1]), z_test, labels) == 7
    ink = np.zeros(784, np.uint8)
    ink[:10] = 255
    drawings = [Drawing(1, "a", "Ada", 1, bytes(784)), Drawing(2, "b", "Bob", 1, ink.tobytes())]

    def encoder(x):  # a blank drawing goes left (among the 1s), one with ink goes right (the 7s)
        inked = x.sum(axis=1) > 0
        return np.where(inked[:, None], [2.0, 0.0], [-2.0, 0.0]), np.zeros((len(x), 2))

    placed = place(drawings, encoder, z_test, labels)
    assert [p.cluster for p in placed] == [1, 7]
    assert [p.surprise for p in placed] == [False, True]
    assert place([], encoder, z_test, labels) == []


def test_the_board_holds_under_many_students_at_once(clock, class_db):
    board = Board(class_db, clock)
    board.ask(TEACHER_PERSON, "encode", 1)
    people = [Person(STUDENT, f"S{i}", str(i), browser=str(i)) for i in range(40)]

    def student(person):
        board.add(person, 2, BLANK)
        board.guess(person, (0.1, 0.2))

    threads = [threading.Thread(target=student, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(board.drawings()) == 40 and len(board.guesses()) == 40
    assert len({d.id for d in board.drawings()}) == 40


def test_the_lab_record_is_one_file_that_needs_no_server():
    image = np.zeros(784, np.float32)
    image[300:320] = 1
    drawings = [DrawingEntry(image, image * 0.8, (0.5, -1.0), 3, 5, "<b>Ada</b>")]
    guesses = [GuessEntry("Where will the encoder put test image 7?", "(0.50, 0.50)", "(0.40, 0.60)", True)]
    history = pd.DataFrame({"epoch": [1, 2], "loss": [190.0, 170.0], "test_loss": [185.0, 168.0]})
    runs = [RunEntry("ada-run", "VAE, 2-D", "test −ELBO 168.0", history)]
    points = np.random.default_rng(0).normal(size=(100, 2))
    page = lab_record("Latent Lab record", "Ada", drawings, guesses, runs, points, np.arange(100) % 10,
                      when=datetime(2026, 11, 30, 10, 0))
    assert page.startswith("<!doctype html>") and "2026-11-30 10:00" in page
    # Self-contained: no script, no stylesheet or image from anywhere; images inline.
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert page.count('src="data:image/png;base64,') == 2
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page and "<b>Ada</b>" not in page  # a name is text, never markup
    assert "landed among the 5s: the model's surprise" in page
    assert "ada-run" in page and "<polyline" in page and "close" in page
    empty = lab_record("Latent Lab record", "Bob", [], [], [], points, np.arange(100) % 10)
    assert "No drawings." in empty and "No guesses." in empty and "No runs trained." in empty
    # On a Fashion-MNIST class run, a drawing is named as its class: an item of clothing, not a number.
    clothes = lab_record("Latent Lab record", "Ada", drawings, [], [], points, np.arange(100) % 10,
                         dataset=FASHION_MNIST)
    assert "<b>A Dress</b>" in clothes and "landed among the Sandals: the model's surprise" in clothes
