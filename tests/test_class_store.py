"""The class's store (vae.database) as the class uses it: the board, names and settings kept in one
SQLite file that several processes read and change at once with the rules holding across them; a
restart keeps everything; a damaged, older or newer store; the end of a class; names a teacher frees;
a class that arrives through one address; guesses that need a name and count once per person."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from vae import classroom
from vae import database as database_module
from vae.classroom import STUDENT, TEACHER, ClassroomError, ClassroomState, Limits, Person
from vae.classroom import board as board_module
from vae.classroom.board import MIN_SECONDS_BETWEEN_DRAWINGS, Board
from vae.database import SCHEMA_VERSION, SET_ASIDE_KEY, Database, database
from vae.jobs.store import STORE_FILE, JobStore

THE_TEACHER = Person(TEACHER, "the teacher", browser="t" * 32)
INK = np.zeros(784, np.float32)
INK[300:340] = 1.0


def student(n: int, name: str | None = None, address: str = "10.0.0.5") -> Person:
    key = classroom.key_hash(f"student-key-{n}")
    return Person(STUDENT, name if name is not None else f"Student {n}", key, browser=key, address=address)


# --- several processes, one class ---------------------------------------------------------------------


def _student_process(path: str, first: int, count: int, contested: str) -> list[str]:
    """One web server's students: each sends a drawing and guesses; all try to take one name."""
    store = database(path)
    board, state = Board(store), ClassroomState(store)
    outcomes = []
    for n in range(first, first + count):
        person = student(n)
        board.add(person, n % 10, INK)
        board.guess(person, (0.5, n / 100))
        try:
            state.register_name(person.key_hash, contested, f"10.0.{n}.1")
            outcomes.append("took it")
        except ClassroomError as error:
            outcomes.append(str(error))
    return outcomes


def test_several_processes_share_one_board_and_the_rules_hold_across_them(tmp_path):
    path = str(tmp_path / STORE_FILE)
    Board(database(path)).ask(THE_TEACHER, "encode", 7)
    context = multiprocessing.get_context("spawn")  # as separate as the class's web servers are
    with context.Pool(3) as pool:  # bounded: a pool whose processes cannot start would wait for ever
        results = pool.starmap_async(_student_process, [(path, 0, 10, "Grace"), (path, 10, 10, "Grace"),
                                                        (path, 20, 10, "Grace")]).get(timeout=120)
    outcomes = [outcome for result in results for outcome in result]
    assert outcomes.count("took it") == 1  # one name, one holder, whichever process asked first
    assert all("already called Grace" in o for o in outcomes if o != "took it")
    board = Board(Database(tmp_path / STORE_FILE))  # a process that starts later sees it all
    assert len(board.drawings()) == 30 and len({d.id for d in board.drawings()}) == 30
    assert len(board.guesses()) == 30 and board.version == 1 + 30 + 30


def test_a_restarted_server_finds_the_board_and_the_lesson_as_they_were(runs_dir):
    store = JobStore.beside(runs_dir).database
    board, state = Board(store), ClassroomState(store)
    ada = student(1, "Ada")
    state.register_name(ada.key_hash, "Ada", ada.address)
    drawing = board.add(ada, 7, INK)
    board.set_hide_names(THE_TEACHER, True)
    board.follow(THE_TEACHER, on=True, page="explorer", run="class-run", z=[1.0, -2.0])
    question = board.ask(THE_TEACHER, "decode", None, [0.5, 0.5], (0.5, 0.5))
    board.guess(ada, 7)
    board.reveal(THE_TEACHER, 7)
    board.ask(THE_TEACHER, "encode", 12)
    board.guess(ada, (1.0, 1.0))
    store.close()

    again = JobStore.beside(runs_dir).database  # a new process: nothing comes from the old one's memory
    board, state = Board(again), ClassroomState(again)
    assert [(d.id, d.name, d.digit, d.image) for d in board.drawings()] == [
        (drawing.id, "Ada", 7, drawing.image)]
    assert board.hide_names and board.lead.on and board.lead.page == "explorer" and board.lead.z == (1.0, -2.0)
    assert board.question.kind == "encode" and board.question.image == 12 and board.guesses() == [(1.0, 1.0)]
    (answered, guesses), = board.answered
    assert answered.id == question.id and answered.answer == 7 and list(guesses.values()) == [7]
    assert state.name_of(ada.key_hash) == "Ada"


# --- damaged, older and newer stores -----------------------------------------------------------------


def set_aside_files(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if ".set-aside-" in path.name)


def test_a_damaged_store_is_set_aside_never_deleted_and_a_new_one_started(tmp_path, capfd):
    path = tmp_path / STORE_FILE
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)  # looks like one, is not
    store = Database(path)
    (kept,) = set_aside_files(tmp_path)
    assert (tmp_path / kept).read_bytes().startswith(b"SQLite format 3\x00\xff")
    assert "set aside as" in store.set_aside_sentence and store.setting(SET_ASIDE_KEY) == store.set_aside_sentence
    assert "could not be used" in capfd.readouterr().err
    Board(store).add(student(1), 3, INK)  # the new store works
    assert len(Board(Database(path)).drawings()) == 1 and Database(path).set_aside_sentence is None


def test_a_store_from_a_newer_version_is_set_aside(tmp_path):
    path = tmp_path / STORE_FILE
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.execute("CREATE TABLE future (x)")
    store = Database(path)
    assert "newer version" in store.set_aside_sentence and len(set_aside_files(tmp_path)) == 1


def test_an_older_store_keeps_its_line_settings_and_names(tmp_path):
    """The store before the class moved into it (version 0): jobs and settings, names as one value."""
    path = tmp_path / STORE_FILE
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO settings VALUES ('classroom.names', ?)",
                   (json.dumps({"k1": ["Ada", "10.0.0.5"], "k2": ["Bob", "10.0.0.6"], "k3": [7]}),))
        db.execute("INSERT INTO settings VALUES ('classroom.pinned', ?)", (json.dumps(["class-run", "2026"]),))
        db.execute("INSERT INTO settings VALUES ('classroom.limits', ?)", (json.dumps({"epochs": 4}),))
    store = database(path)
    state = ClassroomState(store)
    assert store.set_aside_sentence is None and not set_aside_files(tmp_path)
    assert (state.name_of("k1"), state.name_of("k2"), state.name_of("k3")) == ("Ada", "Bob", "")
    assert state.pinned() == (("class-run", "2026"), 0) and state.limits.epochs == 4
    state.pin(THE_TEACHER, "next-run", "2027")
    assert state.pinned() == (("next-run", "2027"), 1)


def test_a_stored_job_this_version_cannot_read_is_shown_failed_in_one_sentence(runs_dir):
    from tests.test_durable_queue import SMALL, queue_on

    store = JobStore.beside(runs_dir)
    queue = queue_on(store)
    kept = queue.submit(SMALL, runs_dir, name="kept")
    odd = queue.submit(SMALL, runs_dir, name="odd")
    queue.shutdown()
    store.database.execute("UPDATE jobs SET config = ? WHERE run_name = 'odd'",
                           (json.dumps({"epochs": 3, "colour": "blue"}),))
    restarted = queue_on(JobStore.beside(runs_dir))
    snap = restarted.snapshot(odd)
    assert snap.state == "failed" and "stored by another version" in snap.message and "colour" in snap.message
    assert restarted.snapshot(kept).state in ("interrupted", "queued", "starting", "running", "completed")
    restarted.shutdown()


# --- names, guesses and the end of a class ---------------------------------------------------------


def test_a_guess_needs_a_name_and_counts_once_per_person(class_db):
    board = Board(class_db)
    board.ask(THE_TEACHER, "decode", None, [0.0, 0.0], (0.0, 0.0))
    with pytest.raises(ClassroomError, match="Type your name first"):
        board.guess(student(1, name=""), 3)
    ada = student(1, "Ada")
    board.guess(ada, 3)
    other_tab = Person(STUDENT, "Ada", ada.key_hash, browser=ada.browser, address="10.0.0.99")
    board.guess(other_tab, 4)  # the same person again (another tab, another address): the last one counts
    assert board.guesses() == [4] and board.my_guess(ada) == 4


def test_the_teacher_frees_a_name_and_its_student_names_themself_again(class_db):
    state = ClassroomState(class_db)
    ada = student(1)
    state.register_name(ada.key_hash, "Ada", ada.address)
    with pytest.raises(ClassroomError, match="Only the teacher"):
        state.free_name(student(2), "Ada")
    assert state.free_name(THE_TEACHER, "ada") and not state.free_name(THE_TEACHER, "Ada")
    assert state.name_of(ada.key_hash) == ""
    state.register_name(student(3).key_hash, "Ada", "10.0.0.7")  # anyone may take it now
    assert [name for name, _, _ in state.names()] == ["Ada"]
    state.register_name(ada.key_hash, "Ada L", ada.address)  # and the student it was freed from names themself
    assert state.name_of(ada.key_hash) == "Ada L"


def test_ending_the_class_clears_names_board_and_questions_and_keeps_settings(class_db, runs_dir):
    from tests.test_durable_queue import queue_on

    board, state = Board(class_db), ClassroomState(class_db)
    ada = student(1, "Ada")
    state.register_name(ada.key_hash, "Ada", ada.address)
    state.set_limits(THE_TEACHER, epochs=4)
    state.pin(THE_TEACHER, "class-run", "2026")
    board.add(ada, 1, INK)
    board.ask(THE_TEACHER, "encode", 3)
    board.guess(ada, (0.0, 0.0))
    board.reveal(THE_TEACHER, (0.5, 0.5))  # one question answered, and a second one open with a guess
    board.ask(THE_TEACHER, "encode", 4)
    board.guess(ada, (1.0, 1.0))
    assert board.answered and board.guesses()
    board.follow(THE_TEACHER, on=True, page="explorer")
    queue = queue_on(JobStore.beside(runs_dir))
    with pytest.raises(ClassroomError, match="Only the teacher"):
        classroom.end_class(ada, board, state, queue, runs_dir)
    ended = classroom.end_class(THE_TEACHER, board, state, queue, runs_dir)
    queue.shutdown()
    assert ended.names == 1 and ended.cleared is None
    assert not state.names() and not board.drawings() and board.question is None and not board.answered
    assert not board.lead.on and board.guesses() == []
    assert state.limits.epochs == 4 and state.pinned()[0] == ("class-run", "2026")
    state.register_name(student(2).key_hash, "Ada", "10.0.0.8")  # a new class's Ada
    board.ask(THE_TEACHER, "encode", 5)  # the new class's first question: numbered afresh, no old guess on it
    assert board.guesses() == [] and not board.answered


def test_a_class_behind_one_address_joins_once_the_teacher_raises_the_device_limits(class_db):
    """A school's NAT: every student's device reaches the laptop from the same address."""
    state = ClassroomState(class_db)
    nat = "192.0.2.10"
    for n in range(Limits().names_per_device):
        state.register_name(student(n).key_hash, f"Student {n}", nat)
    with pytest.raises(ClassroomError, match="already joined from this device"):
        state.register_name(student(99).key_hash, "Late Comer", nat)
    state.set_limits(THE_TEACHER, names_per_device=40, jobs_per_device=30)
    for n in range(Limits().names_per_device, 30):
        state.register_name(student(n).key_hash, f"Student {n}", nat)
    assert len(state.names()) == 30
    with pytest.raises(ClassroomError, match="Students per device: must be a whole number from 1 to 500"):
        state.set_limits(THE_TEACHER, names_per_device=0)


# --- the board's contract, as a state machine over two connections (two processes' views) ----------


class TwoProcessesShareOneBoard(RuleBasedStateMachine):
    """Students and the teacher act through either of two connections to one store; what either one
    reads agrees with a plain model of the rules: each student's cap, the board's size, one guess per
    person, the version moving with every change. The cap and the size are made small (3 and 8) so
    that thirty steps reach both (the product's 30 and 400 never were)."""

    PER_STUDENT, ON_THE_BOARD = 3, 8

    def __init__(self):
        super().__init__()
        self.saved_limits = board_module.MAX_PER_STUDENT, board_module.MAX_DRAWINGS
        board_module.MAX_PER_STUDENT, board_module.MAX_DRAWINGS = self.PER_STUDENT, self.ON_THE_BOARD
        self.folder = tempfile.mkdtemp(prefix="board-machine-")
        self.saved_fresh, database_module.FRESH_SECONDS = database_module.FRESH_SECONDS, 0.0
        self.clock = [1000.0]
        path = Path(self.folder) / STORE_FILE
        self.boards = [Board(Database(path), lambda: self.clock[0]) for _ in range(2)]
        self.drawings: list[str] = []  # authors, oldest first
        self.guesses: dict[str, object] = {}
        self.asked = False
        self.version = 0

    def teardown(self):
        database_module.FRESH_SECONDS = self.saved_fresh
        board_module.MAX_PER_STUDENT, board_module.MAX_DRAWINGS = self.saved_limits
        for board in self.boards:
            board._db.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(which=st.integers(0, 1), n=st.integers(0, 5), digit=st.integers(0, 9))
    def send(self, which, n, digit):
        self.clock[0] += MIN_SECONDS_BETWEEN_DRAWINGS  # a student paces their sends
        person = student(n)
        mine = self.drawings.count(person.browser)
        if mine >= self.PER_STUDENT:
            with pytest.raises(ClassroomError, match="the most one person may"):
                self.boards[which].add(person, digit, INK)
            return
        self.boards[which].add(person, digit, INK)
        self.drawings = [*self.drawings, person.browser][-self.ON_THE_BOARD:]
        self.version += 1

    @rule(which=st.integers(0, 1))
    def ask(self, which):
        self.boards[which].ask(THE_TEACHER, "decode", None, [0.0, 0.0], (0.0, 0.0))
        self.asked, self.guesses = True, {}
        self.version += 1

    @rule(which=st.integers(0, 1), n=st.integers(0, 5), digit=st.integers(0, 9))
    def guess(self, which, n, digit):
        person = student(n)
        if not self.asked:
            with pytest.raises(ClassroomError, match="no open question"):
                self.boards[which].guess(person, digit)
            return
        self.boards[which].guess(person, digit)
        self.guesses[person.key_hash] = digit
        self.version += 1

    @rule(which=st.integers(0, 1))
    def clear(self, which):
        self.boards[which].clear(THE_TEACHER)
        self.drawings = []
        self.version += 1

    @invariant()
    def both_see_the_model(self):
        for board in self.boards:
            assert [d.author for d in board.drawings()] == self.drawings
            assert sorted(board.guesses()) == sorted(self.guesses.values())
            assert board.version == self.version


TwoProcessesShareOneBoard.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
test_two_processes_share_one_board = TwoProcessesShareOneBoard.TestCase
