"""The warm worker processes the queue hands jobs to: one kept ready per free slot (TensorFlow
imported, MNIST loaded), so a job starts at once; one that has trained and said it is ready again
is a spare once more. A worker that dies before taking a job is retried later and later (1, 2, 4 …
up to 60 s), and the pool says why training is unavailable. Not thread-safe on its own: the queue
calls it with its lock held."""

from __future__ import annotations

import logging
import time

from vae.jobs.backend import TrainingBackend

MAX_RESPAWN_DELAY_SECONDS = 60.0  # a warm worker that keeps dying at start is retried at most this often
log = logging.getLogger(__name__)


class WorkerPool(TrainingBackend):
    """This machine's worker processes (vae.jobs.process), as the queue's backend."""

    def __init__(self, factory, on_event, on_exit):
        # A worker is made by calling factory(on_event, on_exit); tests pass a stand-in.
        super().__init__()
        self._factory, self._on_event, self._on_exit = factory, on_event, on_exit
        self.spares: list = []
        self._failures = 0  # warm workers in a row that died before taking a job
        self._next_spawn_at = 0.0
        self._unavailable: str | None = None

    def top_up(self, wanted: int) -> None:
        """Start warm workers until `wanted` are alive and spare, unless in a back-off; after a
        failure, one at a time until one starts."""
        self.spares = [worker for worker in self.spares if worker.alive()]
        while len(self.spares) < wanted and time.monotonic() >= self._next_spawn_at:
            worker = self._factory(self._on_event, self._on_exit)
            self.workers.add(worker)
            self.spares.append(worker)
            if self._failures:
                break

    def may_spawn(self) -> bool:
        return time.monotonic() >= self._next_spawn_at

    def has_spare(self) -> bool:
        return bool(self.spares)

    def take(self):
        """A warm worker for a job: one that is ready; or, while workers start fine, one still
        warming up (the job waits in its input). None when there is none to give."""
        ready = [worker for worker in self.spares if worker.alive() and worker.ready.is_set()]
        starting = [worker for worker in self.spares if worker.alive() and not worker.ready.is_set()]
        chosen = ready or ([] if self._failures else starting)
        if not chosen:
            return None
        self.spares.remove(chosen[0])
        return chosen[0]

    def give_back(self, worker) -> None:
        if worker.alive() and worker not in self.spares:
            self.spares.append(worker)

    def started(self) -> None:
        """A worker reported ready: workers start fine again."""
        self._failures, self._unavailable = 0, None

    def exited(self, worker, returncode: int, closing: bool) -> None:
        self.workers.discard(worker)
        if worker in self.spares:
            self.spares.remove(worker)
            if not closing:
                self._spare_died(worker, returncode)

    def _spare_died(self, worker, returncode: int) -> None:
        self._failures += 1
        delay = min(MAX_RESPAWN_DELAY_SECONDS, 2.0 ** (self._failures - 1))
        self._next_spawn_at = time.monotonic() + delay
        reason = worker.last_error() or f"exit code {returncode}"
        log.warning("a warm training process exited early (%s); next try in %.0f s", reason, delay)
        if self._failures >= 2:
            self._unavailable = f"Training is unavailable: the training process could not start ({reason})."

    def unavailable(self) -> str | None:
        """Why training cannot start now, in one sentence, with when it is tried again; else None."""
        if self._unavailable is None:
            return None
        wait = max(0.0, self._next_spawn_at - time.monotonic())
        return f"{self._unavailable} Trying again in {wait:.0f} s." if wait >= 1 else self._unavailable

    def warm(self) -> int:
        return sum(worker.ready.is_set() and worker.alive() for worker in self.spares)

    def kill_all(self) -> None:
        for worker in list(self.workers):
            worker.kill()
