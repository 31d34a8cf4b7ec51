"""The class as one room: one board every browser shares. Students' drawings, placed on the class
run's latent map where its encoder puts them (and marked when that is inside another digit's
cluster: the model's surprises); the teacher's question, "where will the encoder put this?" or
"which digit will the decoder draw here?", with everyone's guesses until the answer is revealed;
and what the teacher shows, for students who follow. Pure Python and numpy, thread-safe: pages
read it and call its actions, each checked here by the classroom rules."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from vae.classroom.people import STUDENT, TEACHER, ClassroomError, Person, require_teacher
from vae.explore import nearest

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


def place(drawings: list[Drawing], encoder, z_test: np.ndarray, labels: np.ndarray) -> list[Placement]:
    """Every drawing encoded by `encoder` (a run's, in numpy), with the cluster it lands in."""
    if not drawings:
        return []
    z_mean, z_log_var = encoder(np.stack([drawing.pixels for drawing in drawings]))
    return [Placement(drawing, z, log_var, cluster_of(z, z_test, labels))
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

    def sentence(self) -> str:
        if self.kind == "encode":
            return f"Where will the encoder put test image {self.image}?"
        return "Which digit will the decoder draw at the marked point?"


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


class Board:
    """Thread-safe; `version` changes with every change, so a page redraws only when it must."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock  # for the pace of a student's sends
        self._lock = threading.Lock()
        self._drawings: list[Drawing] = []
        self._next_id = 1
        self.version = 0
        self.drawings_version = 0  # changes only with the drawings: where they land is worked out again
        self.hide_names = False
        self.question: Question | None = None
        self._guesses: dict[str, object] = {}  # browser -> (plane point, or digit) for the current question
        self.answered: list[tuple[Question, dict[str, object]]] = []  # every revealed question, with its guesses
        self._last_sent: dict[str, float] = {}
        self.lead = Lead()

    # --- drawings ----------------------------------------------------------------------------------

    def add(self, person: Person, digit: int, image: np.ndarray) -> Drawing:
        """Put a drawing (784 values in [0, 1], prepared as MNIST's were) on the board."""
        if not (isinstance(digit, int) and 0 <= digit <= 9):
            raise ClassroomError("Say which digit you drew (0 to 9) before sending it.")
        if person.role == STUDENT and not person.name:
            raise ClassroomError("Type your name first (at the top of the page): the board shows whose drawing "
                                 "is whose.")
        now = self._clock()
        with self._lock:
            if now - self._last_sent.get(person.browser, -1e9) < MIN_SECONDS_BETWEEN_DRAWINGS:
                raise ClassroomError("One drawing at a time: wait a moment before sending the next.")
            if sum(d.author == person.browser for d in self._drawings) >= MAX_PER_STUDENT and not person.is_teacher:
                raise ClassroomError(f"You have {MAX_PER_STUDENT} drawings on the board, the most one person may.")
            self._last_sent[person.browser] = now
            drawing = Drawing(self._next_id, person.browser, person.name, digit, _to_bytes(image))
            self._next_id += 1
            self._drawings = [*self._drawings, drawing][-MAX_DRAWINGS:]
            self.version += 1
            self.drawings_version += 1
        return drawing

    def drawings(self) -> list[Drawing]:
        with self._lock:
            return list(self._drawings)

    def drawing(self, drawing_id: int) -> Drawing | None:
        return next((d for d in self.drawings() if d.id == drawing_id), None)

    def clear(self, person: Person) -> int:
        require_teacher(person)
        with self._lock:
            cleared, self._drawings = len(self._drawings), []
            self.version += 1
            self.drawings_version += 1
        return cleared

    def set_hide_names(self, person: Person, hidden: bool) -> None:
        require_teacher(person)
        with self._lock:
            self.hide_names = bool(hidden)
            self.version += 1

    # --- predict, then reveal --------------------------------------------------------------------

    def ask(self, person: Person, kind: str, image: int | None = None, z=None, point=None) -> Question:
        require_teacher(person)
        if kind not in KINDS:
            raise ClassroomError(f"A question is one of {', '.join(KINDS)}.")
        with self._lock:
            number = (self.question.id + 1) if self.question else 1
            self.question = Question(number, kind, image, tuple(float(v) for v in z) if z is not None else None,
                                     _plane_point(point) if point is not None else None)
            self._guesses = {}
            self.version += 1
            return self.question

    def guess(self, person: Person, answer) -> None:
        """A student's guess: a point on the map (encode) or a digit (decode); the last one counts.
        The teacher's taps pick points, never guesses (local mode's one person may guess)."""
        if person.role == TEACHER:
            raise ClassroomError("The class guesses; the teacher reveals the answer.")
        with self._lock:
            question = self.question
            if question is None or question.revealed:
                raise ClassroomError("There is no open question to answer right now.")
            if question.kind == "encode":
                answer = _plane_point(answer)
            elif not (isinstance(answer, int) and 0 <= answer <= 9):
                raise ClassroomError("Pick a digit from 0 to 9.")
            self._guesses[person.browser] = answer
            self.version += 1

    def guesses(self) -> list:
        with self._lock:
            return list(self._guesses.values())

    def my_guess(self, person: Person):
        with self._lock:
            return self._guesses.get(person.browser)

    def reveal(self, person: Person, answer) -> None:
        """Show the answer (the page works it out with the class run: the test image's z_mean on
        the plane, or the digit of the cluster the point is in); guesses are closed."""
        require_teacher(person)
        with self._lock:
            if self.question is None or self.question.revealed:
                raise ClassroomError("Ask a question first.")
            self.question = Question(**{**self.question.__dict__, "revealed": True, "answer": answer})
            self.answered = [*self.answered, (self.question, dict(self._guesses))][-100:]
            self.version += 1

    def follow(self, person: Person, on: bool | None = None, page: str | None = None, run: str | None = None,
               z=None) -> Lead:
        """The teacher leads (on), or stops; and what the teacher shows now (page, run, map point)."""
        require_teacher(person)
        with self._lock:
            lead = self.lead
            changes = {"on": lead.on if on is None else bool(on), "page": page or lead.page,
                       "run": run if run is not None else lead.run,
                       "z": tuple(round(float(v), 3) for v in z) if z is not None else lead.z}
            if changes != {k: getattr(lead, k) for k in changes}:
                self.lead = Lead(**changes, version=lead.version + 1)
                self.version += 1
            return self.lead

    def close_question(self, person: Person) -> None:
        require_teacher(person)
        with self._lock:
            self.question, self._guesses = None, {}
            self.version += 1


def _plane_point(answer) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in answer)
    except (TypeError, ValueError):
        raise ClassroomError("Tap a point on the map to guess.") from None
    if not (np.isfinite(x) and np.isfinite(y) and abs(x) <= 10 and abs(y) <= 10):
        raise ClassroomError("Tap a point on the map to guess.")
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
