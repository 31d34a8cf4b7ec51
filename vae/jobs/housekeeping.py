"""What the training queue does that nobody asks for, on a timer and under its lock: end a job with
no progress for the stall limit (a worker still importing TensorFlow gets longer), stop a job past
its time limit and end it if it does not stop, tell each worker whether anyone watches, start a
warm worker once a back-off has passed, and hand the line to a remote worker newly seen idle. Part
of vae.jobs.queue.TrainingQueue (its state is the queue's)."""

from __future__ import annotations

import time

from vae.jobs import protocol
from vae.jobs.job import NOT_STOPPED_IN_TIME, RUNNING_STATES, STALLED, Job
from vae.states import JobState

HOUSEKEEPING_SECONDS = 0.5
STARTUP_STALL_SECONDS = 300.0  # a worker still importing TensorFlow when its job arrives: silent for this long, ended
STOP_GRACE_SECONDS = 60.0  # a job asked to stop (its time limit) that has not ended by then is killed


class Housekeeping:
    def _kill(self, job: Job, reason: str) -> None:
        job.kill_reason = reason
        job.worker.kill()

    def _stall_sentence(self) -> str:
        return STALLED.format(seconds=f"{self.stall_seconds:.0f}")

    def _stalled(self, job: Job, now: float) -> bool:
        """Silent past the stall limit (a worker still warming up gets the longer start-up limit)."""
        if job.warming_up():
            return job.state in RUNNING_STATES and now - job.started > max(self.stall_seconds, STARTUP_STALL_SECONDS)
        return job.silent_seconds(now) > self.stall_seconds

    def _housekeeping(self) -> None:
        with self._lock:
            while not self._closed:
                self._tend(time.monotonic())
                self._changed.wait(HOUSEKEEPING_SECONDS)

    def _tend(self, now: float) -> None:
        """End stalled jobs, stop jobs past their time limit, tell workers whether anyone watches,
        and start a warm worker once a back-off has passed (lock held)."""
        for job in self._jobs.values():
            if job.state not in RUNNING_STATES or job.worker is None:
                continue
            if self._stalled(job, now):
                self._kill(job, self._stall_sentence())
            elif job.stop_asked is not None and now - job.stop_asked > STOP_GRACE_SECONDS:
                self._kill(job, f"{job.stop_note} {NOT_STOPPED_IN_TIME}")
            elif job.past_time_limit(now):
                job.ask_to_stop(now)
                self._save(job)
            if self._live:
                self._watched_from_files(job)
            self._send_watch(job)
        if not self._pool.has_spare() and self._pool.may_spawn():
            self._dispatch()
        elif self._remote and self._pool.has_spare() and any(job.state == JobState.QUEUED
                                                             for job in self._jobs.values()):
            # A remote worker seen idle after the last dispatch (its first heartbeat read just after
            # a job was queued, or a restored line was dispatched): no event of ours would hand it
            # the job, so the line is tried again here.
            self._dispatch()

    def _send_watch(self, job: Job) -> None:
        """Tell the job's worker when watching starts or stops (lock held)."""
        wanted = time.monotonic() < job.watched_until
        if job.worker is not None and wanted != job.watch_sent:
            job.watch_sent = wanted
            job.worker.send(protocol.Watch(wanted))
