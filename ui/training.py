"""The pages' side of the training queue: one queue for the whole server, this session's jobs (and
their secret tokens, kept in the address bar so a reload keeps them), and the progress widgets."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import classroom, state
from ui.shell import escape
from vae import runs
from vae.classroom import STUDENT, check_training
from vae.config import PRESETS, TrainConfig
from vae.data import MnistData
from vae.errors import LabError
from vae.training_queue import JobSnapshot, TrainingQueue

MY_JOBS = "my_training_jobs"  # session state: {job id: token}
JOB_PARAMETER = "job"  # ?job=<id>.<token>, one per job of this session


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue:
    """The one queue, shared by every session and kept across reloads; it starts a warm
    training process at once, so the first training starts without waiting for TensorFlow."""
    return TrainingQueue.from_environment()


def my_jobs() -> dict[str, str]:
    """This session's jobs {id: token}, including those named in the address after a reload."""
    jobs = st.session_state.setdefault(MY_JOBS, {})
    queue = training_queue()
    for value in st.query_params.get_all(JOB_PARAMETER):
        job_id, _, token = value.partition(".")
        if job_id not in jobs and queue.owns(job_id, token):
            jobs[job_id] = token
    return jobs


def remember_job(job_id: str, token: str) -> None:
    st.session_state.setdefault(MY_JOBS, {})[job_id] = token
    keep_jobs_in_address()


def keep_jobs_in_address() -> None:
    """Write this session's active jobs into the address bar, so a reload keeps them."""
    queue = training_queue()
    wanted = [f"{job_id}.{token}" for job_id, token in my_jobs().items()
              if (snap := queue.snapshot(job_id)) is not None and snap.active]
    if st.query_params.get_all(JOB_PARAMETER) != wanted:
        if wanted:
            st.query_params[JOB_PARAMETER] = wanted
        else:
            del st.query_params[JOB_PARAMETER]


def my_snapshots() -> list[JobSnapshot]:
    queue = training_queue()
    return [snap for job_id in my_jobs() if (snap := queue.snapshot(job_id)) is not None]


def is_mine(job_id: str) -> bool:
    return job_id in my_jobs()


def cancel(job_id: str) -> None:
    """Button callback: cancel a queued job or stop a running one. The queue checks the token;
    in classroom mode the teacher may stop anyone's (the role comes from this session's state)."""
    try:
        training_queue().cancel(job_id, my_jobs().get(job_id), teacher=classroom.is_classroom_teacher())
    except LabError as error:
        st.session_state.training_error = str(error)


def may_cancel(snap: JobSnapshot) -> bool:
    return is_mine(snap.id) or classroom.is_classroom_teacher()


def start_training(preset_name: str | None, config: TrainConfig, name: str | None = None) -> str | None:
    """Queue a training, or show why it cannot be queued. Returns the job id."""
    if state.data_or_error() is None:
        return None
    me = classroom.person()
    try:
        limits = classroom.shared_state().limits
        check_training(me, config, limits)
        job_id, token = training_queue().submit(
            config, state.runs_dir(), preset_name, name or None, owner=me.owner(),
            max_active_per_owner=limits.jobs if me.role == STUDENT else None)
    except LabError as error:
        st.error(str(error))
        return None
    remember_job(job_id, token)
    return job_id


def progress_text(snap: JobSnapshot) -> str:
    if snap.held:
        return "Waiting: the teacher has paused student training"
    if snap.state == "queued":
        return f"Waiting in the queue: position {snap.position}, starts {about(snap.estimated_start_seconds)}"
    if snap.state == "saving":
        return "Evaluating on the test set and saving…"
    if snap.stalled:
        return f"No progress for {snap.seconds_since_progress:.0f} s: the training process may be stuck"
    if snap.epoch == 0:
        return "Starting…"
    eta = "" if not np.isfinite(snap.eta_seconds) else f" · about {snap.eta_seconds:.0f} s left"
    stopping = " · stopping after this group of batches" if snap.state == "stopping" else ""
    return (f"Epoch {snap.epoch}/{snap.config.epochs} · batch {snap.batch}/{snap.batches_per_epoch}"
            f" · {snap.fraction_done:.0%}{eta}{stopping}")


def about(seconds: float) -> str:
    if seconds < 1:
        return "now"
    if seconds < 90:
        return f"in about {seconds:.0f} s"
    return f"in about {seconds / 60:.0f} min"


def cancel_button(snap: JobSnapshot, key_prefix: str) -> None:
    """Cancel (queued) or Stop (running) for the job's owner (and, in classroom mode, the
    teacher); nothing for anyone else."""
    if not may_cancel(snap):
        return
    if snap.state == "queued":
        st.button("Cancel", key=f"{key_prefix}-cancel-{snap.id}", on_click=cancel, args=(snap.id,))
    elif snap.state == "stopping" and not snap.stalled:
        st.button("Stopping…", key=f"{key_prefix}-stop-{snap.id}", disabled=True)
    elif snap.running and snap.state != "saving":
        label = "Stop the stuck training" if snap.stalled else "Stop training"
        st.button(label, key=f"{key_prefix}-stop-{snap.id}", on_click=cancel, args=(snap.id,),
                  help="Ends after the current group of batches and keeps the run.")


def finished_notice(snap: JobSnapshot) -> None:
    if snap.state == "failed":
        st.error(snap.message)
    elif snap.state == "cancelled":
        st.info(f"Training {escape(snap.run_name)} was cancelled before it started.")
    elif snap.state == "stopped":
        st.warning(snap.message + " Training was stopped early; the partial model was kept.")
    else:
        st.success(snap.message)


def follow_finished_jobs() -> bool:
    """When one of this session's jobs has just saved a run, make that run the active one.
    Returns True if any job of this session ended since the last call."""
    seen = st.session_state.setdefault("finished_jobs_seen", set())
    ended = False
    for snap in my_snapshots():
        if not snap.active and snap.id not in seen:
            seen.add(snap.id)
            ended = True
            if snap.state in ("completed", "stopped"):
                state.set_active_run(snap.run_name)
    return ended


def job_status(snap_id: str) -> None:
    """A small self-refreshing progress line for one job; reruns the page when it ends."""

    @st.fragment(run_every=1.0)
    def status():
        snap = training_queue().snapshot(snap_id)
        if snap is None or not snap.active:
            if snap is not None and snap.state == "failed":
                st.error(snap.message)
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
        st.info("Your model is training; this page fills in as soon as it is saved.")
        job_status(mine[-1].id)
        return
    others = training_queue().snapshots(active_only=True)
    if others:
        st.info(f"{len(others)} training(s) in the queue; this page fills in when a run is saved. "
                "You can also queue your own.")
    else:
        st.info("There is no trained model yet. Train the default VAE (a minute or two) to begin.")
    clicked = st.button("Train the default model", type="primary", key=f"first-run-{page_key}")
    if clicked and start_training("default", PRESETS["default"]) is not None:
        st.rerun()


def run_and_data_or_stop(page_key: str) -> tuple[runs.RunSummary, MnistData]:
    """The active run and the test set a page needs; if either is missing, say so and end the page."""
    run = state.active_run()
    if run is None:
        first_run_prompt(page_key)
        st.stop()
    data = state.data_or_error()
    if data is None:
        st.stop()
    return run, data
