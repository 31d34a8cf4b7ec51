"""Whether a training request joins the line, and as what job: the same rules wherever it is asked
(the queue in this process, or a web server writing to the class's store for the queue's process).
What needs no look at the line (the request itself, the folder) is checked first, outside any lock."""

from __future__ import annotations

import secrets
from pathlib import Path

from vae import runs
from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.errors import LabError
from vae.jobs.job import ACTIVE_STATES, Job
from vae.jobs.policy import load_for
from vae.progress import check_fits_data
from vae.runs import DiskUsage
from vae.states import JobState

MAX_WAITING = 100  # queued jobs of the teacher (students' are bounded by the policy's class limit)


class QueueError(LabError):
    """A request the queue refuses: too many waiting, not yours to cancel, unknown job."""


def check_request(config: TrainConfig, runs_dir: Path, requester, policy) -> DiskUsage:
    """What would make the training fail, or what the policy refuses of any request like it; the
    disk's use as the capacity check needs it (it reads every run's metrics: outside any lock)."""
    check_fits_data(config, config.train_subset or MNIST_TRAIN_SIZE)
    runs.check_writable(runs_dir)
    policy.check_request(requester, config)
    return runs.disk_usage(runs_dir)


def admit(jobs: list[Job], config: TrainConfig, runs_dir: Path, preset_name: str | None, name: str | None,
          requester, policy, disk: DiskUsage) -> Job:
    """The new job, if the line as it stands (`jobs`) leaves room for it under the policy: not too
    many waiting, this person's, device's and class's capacity, a free run name."""
    owner = requester.owner()
    priority = policy.priority(owner)
    waiting = sum(job.state == JobState.QUEUED and job.priority == priority for job in jobs)
    if priority == 0 and waiting >= MAX_WAITING:
        raise QueueError(f"{MAX_WAITING} trainings are already waiting; try again when some have run.")
    policy.check_capacity(requester, config, load_for(jobs, requester, owner, disk, policy.priority))
    reserved = {job.run_name for job in jobs if job.state in ACTIVE_STATES and job.runs_dir == runs_dir}
    return Job(secrets.token_hex(4), config, runs.free_run_name(runs_dir, name, preset_name, reserved), preset_name,
               runs_dir, owner=owner, browser=requester.browser, address=requester.address, priority=priority,
               time_limit=policy.time_limit_seconds(owner))
