"""What the queue asks of a policy, and what it tells it: who may stop what, who comes first, what a
request may cost (vae.classroom.ClassroomPolicy is the app's). The queue never imports the
classroom rules: a policy is passed in."""

from __future__ import annotations

from dataclasses import dataclass

from vae import cost
from vae.config import TrainConfig
from vae.jobs.job import ACTIVE_STATES, Job
from vae.runs import DiskUsage


class OpenPolicy:
    """Everyone may do everything, first come first served, no limits: the CLI, tests, and the
    shape every policy has (vae.classroom.ClassroomPolicy is the app's)."""

    def check_request(self, person, config: TrainConfig) -> None: ...

    def check_capacity(self, person, config: TrainConfig, load) -> None: ...

    def may_change(self, person, owner: dict | None) -> bool:
        return True

    def priority(self, owner: dict | None) -> int:
        return 0

    def limits_for(self, owner: dict | None) -> dict | None:
        """The limits a training process checks this owner's request against again (none here)."""
        return None

    def time_limit_seconds(self, owner: dict | None) -> float | None:
        return None


@dataclass(frozen=True)
class Requester:
    """Who asks, when nobody in particular does (the CLI, a benchmark): the queue's default, with
    the fields of vae.classroom.Person, which the app passes instead."""

    role: str = "local"
    name: str = ""
    key_hash: str = ""
    browser: str = ""  # the hash of the browser's key: which jobs are "yours"
    address: str = "this machine"  # the device a policy may count

    @property
    def is_teacher(self) -> bool:
        return True

    def owner(self) -> dict | None:
        return None


@dataclass(frozen=True)
class Load:
    """What a policy weighs a request against (vae.classroom.limits.check_capacity reads it)."""

    owner_jobs: int
    device_jobs: int
    class_jobs: int
    owner_bytes: int
    class_bytes: int
    free_bytes: int


def load_for(jobs: list[Job], requester, owner: dict | None, disk: DiskUsage, priority_of) -> Load:
    """What is queued, running and saved, as a policy weighs a new request from `requester`
    (`priority_of(owner)` > 0: a student's, counted per device and for the class)."""
    active = [job for job in jobs if job.state in ACTIVE_STATES]
    students = [job for job in active if job.priority > 0]
    mine = [job for job in active if same_owner(job.owner, owner)]
    pending = {job.id: cost.run_bytes(job.config) for job in active}
    saved_mine = sum(size for run_owner, size in disk.runs if same_owner(run_owner, owner))
    saved_students = sum(size for run_owner, size in disk.runs if priority_of(run_owner) > 0)
    return Load(
        owner_jobs=len(mine),
        device_jobs=sum(job.address == requester.address for job in students),
        class_jobs=len(students),
        owner_bytes=saved_mine + sum(pending[job.id] for job in mine),
        class_bytes=saved_students + sum(pending[job.id] for job in students),
        free_bytes=disk.free_bytes - sum(pending.values()),
    )


def same_owner(a: dict | None, b: dict | None) -> bool:
    """Two owner records of the same person: the same role and key (the teacher's: the role)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return a is None and b is None
    return (a.get("role"), a.get("key", "")) == (b.get("role"), b.get("key", ""))
