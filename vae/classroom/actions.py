"""The teacher's and students' actions on saved runs and the queue, each checked by the classroom
rules where it acts: pages only lay out buttons and call these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae import runs
from vae.classroom.people import STUDENT, ClassroomError, Person, may_change, owner_role, require_teacher
from vae.errors import LabError, RunError
from vae.i18n import _


@dataclass(frozen=True)
class Cleared:
    deleted: int  # student runs deleted
    stopped: int  # student trainings ended (what they would have saved is deleted too)
    failed: list[str]  # "name: why" of each run that could not be deleted


def clear_student_runs(person: Person, queue, runs_dir) -> Cleared:
    """The end of class: stop every student training first (the queue deletes what they save even
    if it lands after this), then delete every student run on disk. The teacher's stay."""

    require_teacher(person)
    stopped = queue.discard(person, lambda owner: owner_role(owner) == STUDENT)
    deleted, failed = 0, []
    for run in runs.list_runs(runs_dir).runs:
        if owner_role(run.metrics.get("owner")) == STUDENT:
            try:
                runs.delete_run(runs_dir, run.name)
                deleted += 1
            except (LabError, OSError) as error:
                failed.append(f"{run.name}: {error}")
    return Cleared(deleted, stopped, failed)


@dataclass(frozen=True)
class Ended:
    names: int  # names freed
    cleared: Cleared | None  # the student runs deleted, if the teacher asked


def end_class(person: Person, board, state, queue, runs_dir, delete_student_runs: bool = False) -> Ended:
    """The end of a class: every name is freed and the board emptied (drawings, questions and their
    guesses, the lead, hidden names), so the next class starts afresh. The teacher's settings and
    the class run stay; runs stay unless `delete_student_runs`."""
    require_teacher(person)
    cleared = clear_student_runs(person, queue, runs_dir) if delete_student_runs else None
    board.end_class(person)
    return Ended(state.end_class(person), cleared)


def delete_run(person: Person, runs_dir: Path, name: str) -> None:
    """Delete a run if this person may: the teacher (or anyone, in local mode) any, a student
    their own. A run that cannot be read has no owner to prove: only the teacher may delete it."""
    try:
        owner = runs.find_run(runs_dir, name).metrics.get("owner")
    except RunError:
        owner = None
    if not may_change(person, owner):
        raise ClassroomError(_("Only the teacher and the run's owner can delete it."))
    runs.delete_run(runs_dir, name)


def pause_students(person: Person, queue, paused: bool) -> None:
    """The teacher holds (or releases) every student's queued training; running ones finish."""
    require_teacher(person)
    queue.hold_students(paused)
