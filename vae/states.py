"""The names of states, each in one place: a training job's (vae.jobs) and a saved run's status
(vae.runs, vae.training). String enums: they are written to the class's store, to a run's
metrics.json and to the protocol as their plain values, and compare equal to them."""

from __future__ import annotations

from enum import StrEnum

from vae.i18n import N_


class JobState(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"  # handed to a training process that is not yet training
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop after the current group of batches (its partial run is kept)
    SAVING = "saving"  # training over: the test set evaluated and the run saved
    COMPLETED = "completed"
    STOPPED = "stopped"  # stopped early; its partial run was saved
    FAILED = "failed"
    CANCELLED = "cancelled"  # taken out of the line before it started
    INTERRUPTED = "interrupted"  # the server stopped while it ran


ACTIVE_STATES = (JobState.QUEUED, JobState.STARTING, JobState.RUNNING, JobState.STOPPING, JobState.SAVING)
RUNNING_STATES = (JobState.STARTING, JobState.RUNNING, JobState.STOPPING, JobState.SAVING)
SAVED_STATES = (JobState.COMPLETED, JobState.STOPPED)  # ended with a run on disk


class RunStatus(StrEnum):
    COMPLETED = "completed"
    STOPPED = "stopped"  # by its owner, or its time limit: the partial model is kept
    DIVERGED = "diverged"  # the loss became NaN: nothing is saved


SAVED_STATUSES = (RunStatus.COMPLETED, RunStatus.STOPPED)
# A run's status as a person reads it (marked here, `_()` where shown: RunSummary.one_line).
RUN_STATUS_LABELS = {
    RunStatus.COMPLETED: N_("completed"),
    RunStatus.STOPPED: N_("stopped"),
    RunStatus.DIVERGED: N_("diverged"),
}
