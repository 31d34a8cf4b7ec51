"""The sidebar every page shares: the active run, unreadable runs, the training queue, the version."""

from __future__ import annotations

import streamlit as st

from ui import classroom, state, training
from ui.language import language_picker
from ui.markdown import escape
from ui.refresh import refreshing_fragment
from ui.shell import app_version
from ui.streamlit_private import current_fragment_id, rerun_fragment_next
from vae.classroom import student_name
from vae.i18n import _, ngettext
from vae.states import JobState

HAD_MY_TRAINING = "queue_had_my_training"  # session state: the queue, when last shown, held one of mine
# The queue's panel refreshes this often on a page with a training of its own in the queue, and less
# often on the rest (others' progress can wait; a class's hundred pages refresh a third as often).
QUEUE_REFRESH_SECONDS, OTHERS_QUEUE_REFRESH_SECONDS = 5.0, 15.0


def run_picker() -> None:
    current = state.listing()
    if current.runs:
        names = [run.name for run in current.runs]
        state.apply_run_query_parameter(names)
        classroom.follow_pinned_run(state.set_active_run, current.runs)
        pinned = classroom.pinned_run_name(current.runs)
        summaries = {run.name: ("📌 " if run.name == pinned else "") + run.one_line() + owner_note(run)
                     for run in current.runs}
        chosen = state.active_run()
        selected = st.selectbox(
            _("Active run"), names, index=names.index(chosen.name),
            format_func=lambda name: summaries[name], help=_("The trained model every page shows."),
        )
        state.set_active_run(selected)
    else:
        st.caption(_("No saved runs yet."))
    if current.problems:
        with st.expander(ngettext("{count} run could not be read", "{count} runs could not be read",
                                  len(current.problems)).format(count=len(current.problems))):
            for problem in current.problems:
                st.caption(escape(str(problem)))
            st.caption(_("The Train page can delete them."))


def owner_note(run) -> str:
    """In classroom mode, whose run it is (a student's name; the teacher's runs have none)."""
    name = student_name(run.metrics.get("owner"))
    return " · " + _("by {name}").format(name=name) if classroom.classroom_on() and name else ""


def queue_lines(snapshots) -> list[str]:
    """One line per active job: this session's first, then the rest of the queue in order."""
    lines = []
    for snap in snapshots:
        mine, run = training.is_mine(snap), escape(snap.run_name)
        if snap.state == JobState.QUEUED:
            line = (_("Your training {run}: waiting, position {position}, starts {when}") if mine
                    else _("Training {run}: waiting, position {position}, starts {when}"))
            lines.append(line.format(run=run, position=snap.position,
                                     when=training.about(snap.estimated_start_seconds)))
        else:
            line = _("Your training {run}: {done:.0%}") if mine else _("Training {run}: {done:.0%}")
            stalled = " " + _("(stalled?)") if snap.stalled else ""
            lines.append(line.format(run=run, done=snap.fraction_done) + stalled)
    return lines


def queue_status() -> None:
    """The queue at a glance; refreshes itself while anything is queued or running (every 5 s where
    one of the trainings is this page's, every 15 s elsewhere). When the queue
    empties, a page with a training of its own in it is redrawn whole (its saved run becomes the
    active one); any other redraws only this panel, which stops its timer: a class's hundred
    pages are not all redrawn at once at the end of every training."""

    @st.fragment
    def panel():
        snapshots = training.training_queue().snapshots(active_only=True)
        if not snapshots:
            return  # nothing to show, nothing to refresh
        panel_id = current_fragment_id()
        mine = any(training.is_mine(snap) for snap in snapshots)

        @refreshing_fragment(QUEUE_REFRESH_SECONDS if mine else OTHERS_QUEUE_REFRESH_SECONDS)
        def status():
            snapshots = training.training_queue().snapshots(active_only=True)
            for line in queue_lines(snapshots):
                st.caption(line)
            if snapshots:
                st.session_state[HAD_MY_TRAINING] = any(training.is_mine(snap) for snap in snapshots)
            elif st.session_state.get(HAD_MY_TRAINING, True) or not (panel_id and rerun_fragment_next(panel_id)):
                st.rerun(scope="app")  # the queue emptied: redraw once, and stop refreshing

        status()

    panel()


def sidebar() -> None:
    with st.sidebar:
        training.follow_finished_jobs()  # first: a run one of my jobs just saved becomes the active one
        run_picker()
        queue_status()
        language_picker()
        st.caption(_("Latent Lab {version} · runs in `{folder}`").format(version=app_version(),
                                                                      folder=state.runs_dir()))
