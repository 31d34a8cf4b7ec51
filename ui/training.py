"""The pages' side of the training queue: one queue for the whole server (its policy: the classroom
rules), this browser's jobs (recognised by its key, so a reload keeps them; nothing secret is put in
the address), and the progress widgets."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import classroom, state
from ui.markdown import escape
from ui.refresh import refreshing_fragment
from ui.store import job_store
from vae import runs
from vae.classroom import ClassroomPolicy
from vae.classroom.dispatch import queue_in_own_process
from vae.config import PRESETS, TrainConfig
from vae.data import MnistData
from vae.errors import LabError
from vae.i18n import _, ngettext, say_again
from vae.jobs.job import JOB_SENTENCES, JobSnapshot
from vae.jobs.queue import TrainingQueue
from vae.jobs.store_queue import StoreQueue
from vae.states import SAVED_STATES, JobState


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue | StoreQueue:
    """The one queue, shared by every session and kept across reloads; it starts a warm
    training process at once, so the first training starts without waiting for TensorFlow.
    Stale temporary folders of crashed saves are cleared as the server starts, and the line a
    previous server left (vae.jobs.store) is taken up again. On one of several web servers, the
    training queue's own process keeps it (vae.classroom.dispatch), reached through the class's
    store (vae.jobs.store_queue)."""
    if queue_in_own_process():
        return StoreQueue(job_store(), state.runs_dir(), ClassroomPolicy(classroom.shared_state))
    runs.remove_stale_temporaries(state.runs_dir(), older_than_seconds=runs.STALE_SECONDS)
    return TrainingQueue.from_environment(policy=ClassroomPolicy(classroom.shared_state), store=job_store())


def my_snapshots() -> list[JobSnapshot]:
    """This browser's jobs (running ones first, then its place in the line, then ended ones)."""
    mine = classroom.person().browser
    return [snap for snap in training_queue().snapshots() if snap.browser == mine]


def is_mine(snap: JobSnapshot) -> bool:
    return snap.browser == classroom.person().browser


def cancel(job_id: str) -> None:
    """Button callback: cancel a queued job or stop a running one; the queue asks the classroom
    rules whether this session may (its owner, or the teacher; anyone in local mode)."""
    try:
        training_queue().cancel(job_id, classroom.person())
    except LabError as error:
        st.session_state.training_error = str(error)


def may_cancel(snap: JobSnapshot) -> bool:
    return classroom.may_change_owner(snap.owner)


def start_training(preset_name: str | None, config: TrainConfig, name: str | None = None) -> str | None:
    """Queue a training, or show why it cannot be queued (the queue applies every limit). Returns the job id."""
    if state.data_or_error(config.dataset) is None:  # absent here: said now, not by a failed training
        return None
    try:
        return training_queue().submit(config, state.runs_dir(), preset_name, name or None,
                                       requester=classroom.person())
    except LabError as error:
        st.error(str(error))
        return None


def unavailable_notice() -> None:
    """When training cannot start at all (the training process keeps failing), say why."""
    reason = training_queue().unavailable()
    if reason:
        st.error(_("{reason} The server's terminal shows the whole error.").format(reason=reason))


def progress_text(snap: JobSnapshot) -> str:
    if snap.held:
        return _("Waiting: the teacher has paused student training")
    if snap.state == JobState.QUEUED:
        return _("Waiting in the queue: position {position}, starts {when}").format(
            position=snap.position, when=about(snap.estimated_start_seconds))
    if snap.state == JobState.SAVING:
        return _("Evaluating on the test set and saving…")
    if snap.stalled:
        return _("No progress for {seconds:.0f} s: the training process may be stuck").format(
            seconds=snap.seconds_since_progress)
    if snap.epoch == 0:
        return _("Starting…")
    parts = [_("Epoch {epoch}/{epochs} · batch {batch}/{batches} · {done:.0%}").format(
        epoch=snap.epoch, epochs=snap.config.epochs, batch=snap.batch, batches=snap.batches_per_epoch,
        done=snap.fraction_done)]
    if np.isfinite(snap.eta_seconds):
        parts.append(_("about {seconds:.0f} s left").format(seconds=snap.eta_seconds))
    if snap.state == JobState.STOPPING:
        parts.append(_("stopping after this group of batches"))
    return " · ".join(parts)


def about(seconds: float) -> str:
    """When a queued job starts, for "starts {when}": "now", "in about 40 s"."""
    if seconds < 1:
        return _("now")
    if seconds < 90:
        return _("in about {seconds:.0f} s").format(seconds=seconds)
    return _("in about {minutes:.0f} min").format(minutes=seconds / 60)


def cancel_button(snap: JobSnapshot, key_prefix: str) -> None:
    """Cancel (queued) or Stop (running) for the job's owner (and, in classroom mode, the
    teacher); nothing for anyone else."""
    if not may_cancel(snap):
        return
    if snap.state == JobState.QUEUED:
        st.button(_("Cancel"), key=f"{key_prefix}-cancel-{snap.id}", on_click=cancel, args=(snap.id,))
    elif snap.state == JobState.STOPPING and not snap.stalled:
        st.button(_("Stopping…"), key=f"{key_prefix}-stop-{snap.id}", disabled=True)
    elif snap.state == JobState.SAVING:
        st.button(_("Stop saving (the run is not kept)"), key=f"{key_prefix}-stop-{snap.id}", on_click=cancel,
                  args=(snap.id,), help=_("Training is over; this ends the process now and keeps nothing."))
    elif snap.running:
        label = _("Stop the stuck training") if snap.stalled else _("Stop training")
        st.button(label, key=f"{key_prefix}-stop-{snap.id}", on_click=cancel, args=(snap.id,),
                  help=_("Ends after the current group of batches and keeps the run."))


def job_sentence(message: str) -> str:
    """A job's sentence, written in English by the queue, in this reader's language."""
    return say_again(message, JOB_SENTENCES)


def finished_notice(snap: JobSnapshot) -> None:
    if snap.state in (JobState.FAILED, JobState.INTERRUPTED):
        st.error(job_sentence(snap.message))
    elif snap.state == JobState.CANCELLED:
        st.info(_("Training {run}: {message}").format(run=escape(snap.run_name),
                                                      message=escape(job_sentence(snap.message))))
    elif snap.state == JobState.STOPPED:
        st.warning(_("{message} Training was stopped early; the partial model was kept.").format(
            message=job_sentence(snap.message)))
    else:
        st.success(job_sentence(snap.message))


def follow_finished_jobs() -> bool:
    """When one of this session's jobs has just saved a run, make that run the active one.
    Returns True if any job of this session ended since the last call."""
    seen = st.session_state.setdefault("finished_jobs_seen", set())
    ended = False
    for snap in my_snapshots():
        if not snap.active and snap.id not in seen:
            seen.add(snap.id)
            ended = True
            if snap.state in SAVED_STATES:
                state.set_active_run(snap.run_name)
    return ended


def job_status(snap_id: str) -> None:
    """A small self-refreshing progress line for one job; reruns the page when it ends."""

    @refreshing_fragment(1.0)
    def status():
        snap = training_queue().snapshot(snap_id)
        if snap is None or not snap.active:
            if snap is not None and snap.state == JobState.FAILED:
                st.error(job_sentence(snap.message))
            if follow_finished_jobs():
                st.rerun(scope="app")
            return
        st.progress(snap.fraction_done, text=f"{escape(snap.run_name)}: {progress_text(snap)}")
        cancel_button(snap, "status")

    status()


def first_run_prompt(page_key: str) -> None:
    """Shown by a page that needs a trained model when there is none: one sentence, one button."""
    mine = [snap for snap in my_snapshots() if snap.active]
    if mine:
        st.info(_("Your model is training; this page fills in as soon as it is saved."))
        job_status(mine[-1].id)
        return
    others = training_queue().snapshots(active_only=True)
    if others:
        st.info(ngettext("{count} training in the queue; this page fills in when a run is saved. "
                         "You can also queue your own.",
                         "{count} trainings in the queue; this page fills in when a run is saved. "
                         "You can also queue your own.", len(others)).format(count=len(others)))
    else:
        st.info(_("There is no trained model yet. Train the default VAE (a minute or two) to begin."))
    clicked = st.button(_("Train the default model"), type="primary", key=f"first-run-{page_key}")
    if clicked and start_training("default", PRESETS["default"]) is not None:
        st.rerun()


def run_and_data_or_stop(page_key: str) -> tuple[runs.RunSummary, MnistData]:
    """The active run and the test set of its data set; if either is missing, say so and end the page."""
    run = state.active_run()
    if run is None:
        first_run_prompt(page_key)
        st.stop()
    data = state.data_or_error(run.config.dataset)
    if data is None:
        st.stop()
    return run, data
