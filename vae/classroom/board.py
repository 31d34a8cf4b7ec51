"""The class as one room: one board every browser shares. Students' drawings, placed on the class
run's latent map where its encoder puts them (and marked when that is inside another digit's
cluster: the model's surprises); the teacher's question, "where will the encoder put this?" or
"which digit will the decoder draw here?", with everyone's guesses until the answer is revealed;
and what the teacher shows, for students who follow. Pure Python and numpy, kept in the class's
store (vae.database) so that every process of the class shares it and a restart keeps it: pages
read it and call its actions, each checked here by the classroom rules."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from vae.classroom.people import STUDENT, TEACHER, ClassroomError, Person, require_teacher
from vae.explore import nearest
from vae.i18n import _
from vae.numpy_model import with_labels

MAX_DRAWINGS = 400  # on the board at once; the oldest go first
MAX_PER_STUDENT = 30
MIN_SECONDS_BETWEEN_DRAWINGS = 2.0  # a student's sends, at most one per this
NEIGHBOURS = 15  # test images whose digits say which cluster a point is in
KINDS = ("encode", "decode")


@dataclass(frozen=True)
class Drawing:
    id: int
    author: str  # the browser's key hash
    name: str  # the student's name ("" in local mode)
    digit: int  # what the student says they drew
    image: bytes  # 784 bytes, the drawing as the model saw it (28 x 28, 0-255)
    posted: float = field(default_factory=time.time)

    @property
    def pixels(self) -> np.ndarray:
        return np.frombuffer(self.image, np.uint8).astype(np.float32) / 255


@dataclass(frozen=True)
class Placement:
    """Where a run's encoder puts a drawing (the board shows the class run; another run, another place)."""

    drawing: Drawing
    z: np.ndarray  # z_mean
    z_log_var: np.ndarray
    cluster: int  # the digit most of its nearest test images are

    @property
    def surprise(self) -> bool:
        """Inside another digit's cluster: the model does not read it as the student meant."""
        return self.cluster != self.drawing.digit


def place(drawings: list[Drawing], encoder, z_test: np.ndarray, labels: np.ndarray,
          classes: int = 0) -> list[Placement]:
    """Every drawing encoded by `encoder` (a run's, in numpy), with the cluster it lands in. A
    conditional run's encoder (`classes` > 0) is told each drawing's class as its author named it:
    its map is of style, with no clusters of classes, so a drawing's cluster is its own class."""
    if not drawings:
        return []
    named = [drawing.digit for drawing in drawings]
    z_mean, z_log_var = encoder(with_labels(np.stack([drawing.pixels for drawing in drawings]), named, classes))
    return [Placement(drawing, z, log_var, drawing.digit if classes else cluster_of(z, z_test, labels))
            for drawing, z, log_var in zip(drawings, np.asarray(z_mean), np.asarray(z_log_var), strict=True)]


@dataclass(frozen=True)
class Question:
    id: int
    kind: str  # "encode": where will the encoder put test image `image`; "decode": which digit at `z`
    image: int | None = None  # the test image's index (encode)
    z: tuple[float, ...] | None = None  # the point (decode), in latent coordinates
    point: tuple[float, float] | None = None  # the same point on the map's plane (decode)
    revealed: bool = False
    answer: object = None  # once revealed: the plane point (encode) or the digit (decode)

    def sentence(self, item: str = "digit") -> str:
        """The question as a person reads it (`item`: what the data set's images show, "digit" or "item")."""
        if self.kind == "encode":
            return _("Where will the encoder put test image {number}?").format(number=self.image)
        if item == "digit":
            return _("Which digit will the decoder draw at the marked point?")
        if item == "item":
            return _("Which item will the decoder draw at the marked point?")
        return _("Which {item} will the decoder draw at the marked point?").format(item=item)


@dataclass(frozen=True)
class Lead:
    """What the teacher shows, for students who follow: the page, the run, the point on the map."""

    on: bool = False
    page: str = ""
    run: str | None = None
    z: tuple[float, ...] | None = None
    version: int = 0


def cluster_of(z: np.ndarray, z_test: np.ndarray, labels: np.ndarray) -> int:
    """The digit most of the nearest test images (by their encodings) are."""
    votes = np.bincount(labels[nearest(z, z_test, NEIGHBOURS)], minlength=10)
    return int(np.argmax(votes))


BOARD_SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, author TEXT NOT NULL, name TEXT NOT NULL, digit INTEGER NOT NULL,
    image BLOB NOT NULL, posted REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sends (author TEXT PRIMARY KEY, at REAL NOT NULL);  -- each browser's last send
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, image INTEGER, z TEXT, point TEXT,
    revealed INTEGER NOT NULL DEFAULT 0, answer TEXT);
CREATE TABLE IF NOT EXISTS guesses (
    question INTEGER NOT NULL, person TEXT NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (question, person));
"""
VERSION, DRAWINGS_VERSION = "board.version", "board.drawings_version"  # counters in the store's settings
HIDE_NAMES, LEAD, QUESTION = "board.hide_names", "board.lead", "board.question"
KEEP_ANSWERED = 100


class Board:
    """The class's board, kept in the class's store (vae.database): every process of the class reads
    and changes the same one, and it survives a restart. `version` changes with every change, so a
    page redraws only when it must. The rules are checked here, inside the write's transaction."""

    def __init__(self, database, clock=time.time):
        """`database`: a vae.database.Database; `clock`: wall-clock seconds (shared by processes),
        for the pace of a student's sends."""
        self._db = database
        self._clock = clock
        database.ensure(BOARD_SCHEMA)

    # --- what pages read -----------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self._db.counter(VERSION)

    @property
    def drawings_version(self) -> int:
        """Changes only with the drawings: where they land is worked out again."""
        return self._db.counter(DRAWINGS_VERSION)

    @property
    def hide_names(self) -> bool:
        return bool(self._db.setting(HIDE_NAMES, False))

    @property
    def lead(self) -> Lead:
        stored = self._db.setting(LEAD)
        return _lead(stored) if stored else Lead()

    @property
    def question(self) -> Question | None:
        number = self._db.setting(QUESTION)
        if not number:
            return None
        row = self._db.cached(f"question-{number}", lambda: self._db.row(f"{_QUESTION_SQL} WHERE id = ?", (number,)))
        return _question(row) if row else None

    @property
    def answered(self) -> list[tuple[Question, dict[str, object]]]:
        """Every revealed question (the latest KEEP_ANSWERED), with its guesses by person."""
        rows = self._db.rows(f"{_QUESTION_SQL} WHERE revealed = 1 ORDER BY id DESC LIMIT ?", (KEEP_ANSWERED,))
        questions = [_question(row) for row in reversed(rows)]
        guesses: dict[int, dict[str, object]] = {q.id: {} for q in questions}
        if questions:
            for number, who, answer in self._db.rows("SELECT question, person, answer FROM guesses WHERE question >= ?",
                                                     (questions[0].id,)):
                if number in guesses:
                    guesses[number][who] = _answer(json.loads(answer))
        return [(q, guesses[q.id]) for q in questions]

    # --- drawings ----------------------------------------------------------------------------------

    def add(self, person: Person, digit: int, image: np.ndarray) -> Drawing:
        """Put a drawing (784 values in [0, 1], prepared as MNIST's were) on the board."""
        if not (isinstance(digit, int) and 0 <= digit <= 9):
            raise ClassroomError(_("Say which digit you drew (0 to 9) before sending it."))
        if person.role == STUDENT and not person.name:
            raise ClassroomError(_("Type your name first (at the top of the page): the board shows whose drawing "
                                   "is whose."))
        now, pixels = self._clock(), _to_bytes(image)
        with self._db.transaction() as db:
            last = db.execute("SELECT at FROM sends WHERE author = ?", (person.browser,)).fetchone()
            if last is not None and now - last[0] < MIN_SECONDS_BETWEEN_DRAWINGS:
                raise ClassroomError(_("One drawing at a time: wait a moment before sending the next."))
            mine = db.execute("SELECT COUNT(*) FROM drawings WHERE author = ?", (person.browser,)).fetchone()[0]
            if mine >= MAX_PER_STUDENT and not person.is_teacher:
                raise ClassroomError(_("You have {count} drawings on the board, the most one person may.").format(
                    count=MAX_PER_STUDENT))
            db.execute("INSERT INTO sends VALUES (?, ?) ON CONFLICT(author) DO UPDATE SET at = excluded.at",
                       (person.browser, now))
            number = db.execute("INSERT INTO drawings (author, name, digit, image, posted) VALUES (?, ?, ?, ?, ?)",
                                (person.browser, person.name, digit, pixels, now)).lastrowid
            db.execute("DELETE FROM drawings WHERE id <= ?", (number - MAX_DRAWINGS,))  # the oldest go first
            self._db.bump(db, VERSION, DRAWINGS_VERSION)
        return Drawing(number, person.browser, person.name, digit, pixels, now)

    def drawings(self) -> list[Drawing]:
        return [Drawing(*row) for row in self._db.rows(f"{_DRAWING_SQL} ORDER BY id")]

    def drawing(self, drawing_id: int) -> Drawing | None:
        row = self._db.row(f"{_DRAWING_SQL} WHERE id = ?", (drawing_id,))
        return Drawing(*row) if row else None

    def clear(self, person: Person) -> int:
        require_teacher(person)
        with self._db.transaction() as db:
            cleared = db.execute("DELETE FROM drawings").rowcount
            self._db.bump(db, VERSION, DRAWINGS_VERSION)
        return cleared

    def set_hide_names(self, person: Person, hidden: bool) -> None:
        require_teacher(person)
        with self._db.transaction() as db:
            self._db.set_setting(HIDE_NAMES, bool(hidden), db)
            self._db.bump(db, VERSION)

    def end_class(self, person: Person) -> None:
        """Everything on the board goes: drawings, questions and their guesses, the lead, hidden names."""
        require_teacher(person)
        with self._db.transaction() as db:
            for table in ("drawings", "sends", "questions", "guesses"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - the table names above, not input
            self._db.forget_settings(HIDE_NAMES, QUESTION, LEAD, db=db)
            self._db.bump(db, VERSION, DRAWINGS_VERSION)

    # --- predict, then reveal --------------------------------------------------------------------

    def ask(self, person: Person, kind: str, image: int | None = None, z=None, point=None) -> Question:
        require_teacher(person)
        if kind not in KINDS:
            raise ClassroomError(_("A question is one of {kinds}.").format(kinds=", ".join(KINDS)))
        z = tuple(float(v) for v in z) if z is not None else None
        point = _plane_point(point) if point is not None else None
        with self._db.transaction() as db:
            self._drop_unrevealed(db)
            number = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM questions").fetchone()[0]
            db.execute("INSERT INTO questions (id, kind, image, z, point) VALUES (?, ?, ?, ?, ?)",
                       (number, kind, image, json.dumps(z), json.dumps(point)))
            self._db.set_setting(QUESTION, number, db)
            self._db.bump(db, VERSION)
        return Question(number, kind, image, z, point)

    def guess(self, person: Person, answer) -> None:
        """A student's guess: a point on the map (encode) or a digit (decode). One per person (their
        key), who must have a name; the last one counts. The teacher's taps pick points, never
        guesses (local mode's one person may guess)."""
        if person.role == TEACHER:
            raise ClassroomError(_("The class guesses; the teacher reveals the answer."))
        if person.role == STUDENT and not (person.name and person.key_hash):
            raise ClassroomError(_("Type your name first (at the top of the page): each person's guess counts once."))
        with self._db.transaction() as db:
            question = self._open_question(db)
            if question is None or question.revealed:
                raise ClassroomError(_("There is no open question to answer right now."))
            if question.kind == "encode":
                answer = _plane_point(answer)
            elif not (isinstance(answer, int) and 0 <= answer <= 9):
                raise ClassroomError(_("Pick a digit from 0 to 9."))
            db.execute("INSERT INTO guesses VALUES (?, ?, ?) ON CONFLICT(question, person) DO UPDATE SET "
                       "answer = excluded.answer", (question.id, _guesser(person), json.dumps(answer)))
            self._db.bump(db, VERSION)

    def guesses(self) -> list:
        return list(self._open_guesses().values())

    def my_guess(self, person: Person):
        return self._open_guesses().get(_guesser(person))

    def _open_guesses(self) -> dict[str, object]:
        """The open question's guesses by person (read once for every session's refresh)."""
        number = self._db.setting(QUESTION)
        if not number:
            return {}
        return self._db.cached(f"guesses-{number}", lambda: {
            who: _answer(json.loads(answer))
            for who, answer in self._db.rows("SELECT person, answer FROM guesses WHERE question = ?", (number,))})

    def reveal(self, person: Person, answer) -> None:
        """Show the answer (the page works it out with the class run: the test image's z_mean on
        the plane, or the digit of the cluster the point is in); guesses are closed."""
        require_teacher(person)
        with self._db.transaction() as db:
            question = self._open_question(db)
            if question is None or question.revealed:
                raise ClassroomError(_("Ask a question first."))
            db.execute("UPDATE questions SET revealed = 1, answer = ? WHERE id = ?",
                       (json.dumps(answer, default=float), question.id))
            db.execute("DELETE FROM questions WHERE revealed = 1 AND id <= ?", (question.id - KEEP_ANSWERED,))
            db.execute("DELETE FROM guesses WHERE question <= ?", (question.id - KEEP_ANSWERED,))
            self._db.bump(db, VERSION)

    def follow(self, person: Person, on: bool | None = None, page: str | None = None, run: str | None = None,
               z=None) -> Lead:
        """The teacher leads (on), or stops; and what the teacher shows now (page, run, map point)."""
        require_teacher(person)
        with self._db.transaction() as db:
            stored = self._db.setting_in(db, LEAD)
            lead = _lead(stored) if stored else Lead()
            changes = {"on": lead.on if on is None else bool(on), "page": page or lead.page,
                       "run": run if run is not None else lead.run,
                       "z": tuple(round(float(v), 3) for v in z) if z is not None else lead.z}
            if changes != {k: getattr(lead, k) for k in changes}:
                lead = Lead(**changes, version=lead.version + 1)
                self._db.set_setting(LEAD, {**changes, "version": lead.version}, db)
                self._db.bump(db, VERSION)
            return lead

    def close_question(self, person: Person) -> None:
        require_teacher(person)
        with self._db.transaction() as db:
            self._drop_unrevealed(db)
            self._db.forget_settings(QUESTION, db=db)
            self._db.bump(db, VERSION)

    # --- inside ------------------------------------------------------------------------------------

    def _open_question(self, db) -> Question | None:
        number = self._db.setting_in(db, QUESTION)
        row = db.execute(f"{_QUESTION_SQL} WHERE id = ?", (number,)).fetchone() if number else None
        return _question(row) if row else None

    def _drop_unrevealed(self, db) -> None:
        """A question closed or replaced before its answer was shown leaves nothing behind."""
        db.execute("DELETE FROM guesses WHERE question IN (SELECT id FROM questions WHERE revealed = 0)")
        db.execute("DELETE FROM questions WHERE revealed = 0")


_QUESTION_SQL = "SELECT id, kind, image, z, point, revealed, answer FROM questions"
_DRAWING_SQL = "SELECT id, author, name, digit, image, posted FROM drawings"  # a Drawing's fields, in order


def _question(row: tuple) -> Question:
    number, kind, image, z, point, revealed, answer = row
    z, point = json.loads(z) if z else None, json.loads(point) if point else None
    return Question(number, kind, image, tuple(z) if z is not None else None,
                    tuple(point) if point is not None else None, bool(revealed),
                    _answer(json.loads(answer)) if answer else None)


def _answer(value):
    """A stored answer or guess as the board gave it: a point is a tuple, a digit an int, an ellipse a dict."""
    return tuple(value) if isinstance(value, list) else value


def _lead(stored: dict) -> Lead:
    z = stored.get("z")
    return Lead(bool(stored.get("on")), str(stored.get("page", "")), stored.get("run"),
                tuple(z) if z is not None else None, int(stored.get("version", 0)))


def _guesser(person: Person) -> str:
    """Whose guess it is: a student's key (one guess per person, whatever session they use)."""
    return person.key_hash or person.browser


def _plane_point(answer) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in answer)
    except (TypeError, ValueError):
        raise ClassroomError(_("Tap a point on the map to guess.")) from None
    if not (np.isfinite(x) and np.isfinite(y) and abs(x) <= 10 and abs(y) <= 10):
        raise ClassroomError(_("Tap a point on the map to guess."))
    return (round(x, 3), round(y, 3))


def _to_bytes(image: np.ndarray) -> bytes:
    return np.round(np.clip(np.asarray(image, np.float32).reshape(784), 0, 1) * 255).astype(np.uint8).tobytes()


def spread(guesses: list[tuple[float, float]], answer: tuple[float, float]) -> dict:
    """How far the class was from the answer: the median distance, and the share within 1 of it."""
    if not guesses:
        return {"count": 0, "median_distance": None, "within_one": None}
    distances = np.linalg.norm(np.asarray(guesses, np.float64) - np.asarray(answer, np.float64), axis=1)
    return {"count": len(guesses), "median_distance": round(float(np.median(distances)), 2),
            "within_one": round(float(np.mean(distances <= 1.0)), 2)}
