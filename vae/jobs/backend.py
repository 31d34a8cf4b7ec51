"""Who runs the training queue's jobs: this machine's worker processes (vae.jobs.pool.WorkerPool) or
Celery workers on others (vae.jobs.remote.CeleryBackend). Both implement this interface, and the
queue (vae.jobs.queue) knows nothing else of them: it keeps the line and asks its backend for a
worker per job. A worker is what vae.jobs.process.WorkerProcess is: send, kill, alive, ready, pid,
last_error, and `job`. The queue calls a backend with its lock held."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar


class TrainingBackend(ABC):
    # Its jobs run outside this process's children and outlive it: a restarted server follows a
    # running job (follow) instead of ending it, and starts a job whenever the backend has a worker
    # idle rather than counting its own slots.
    remote: ClassVar[bool] = False

    def __init__(self):
        self.workers: set = set()  # every worker alive: warm spares and those training

    @abstractmethod
    def take(self):
        """A worker for the next job, or None while there is none to give."""

    @abstractmethod
    def top_up(self, wanted: int) -> None:
        """Keep `wanted` warm workers ready (a remote backend's warm up on their own machines)."""

    @abstractmethod
    def may_spawn(self) -> bool:
        """Whether a warm worker may be started now (not in a back-off after failures)."""

    @abstractmethod
    def has_spare(self) -> bool:
        """A warm worker is waiting for a job."""

    @abstractmethod
    def started(self) -> None:
        """A worker reported ready: workers start fine again."""

    @abstractmethod
    def exited(self, worker, returncode: int, closing: bool) -> None:
        """A worker ended (the queue has handled its job)."""

    @abstractmethod
    def unavailable(self) -> str | None:
        """Why no training can start now, in one sentence; else None."""

    @abstractmethod
    def warm(self) -> int:
        """Workers ready for a job now (TensorFlow imported)."""

    @abstractmethod
    def kill_all(self) -> None:
        """The server is shutting down: end what this process started (remote workers go on)."""

    def capacity(self, local_slots: int) -> int:
        """How many jobs run at once: this machine's slots, or the remote workers alive."""
        return local_slots

    def give_back(self, worker) -> None:  # noqa: B027 - a remote worker's process is its machine's
        """A worker ready again after its job (it takes job after job): a spare once more."""

    def follow(self, job, token: str, command) -> bool:
        """After a restart: follow a job a worker may still be training, by its dispatch `token`.
        False: this backend's jobs end with the server (the job is then interrupted)."""
        return False
