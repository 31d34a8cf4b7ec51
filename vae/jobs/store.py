"""The queue's durable state, in the class's store (vae.database: SQLite in WAL mode, in a hidden
file beside the runs). What must survive the web server's restart is written here as it changes:
each job (its request, owner, place in line and state) and the settings in force (the pause,
the teacher's limits, the class run, students' names). What changes many times a second (a job's
curve points and live snapshots) stays out of it (in memory; with several web servers, in files:
vae.jobs.live_files). Each write is one short transaction.

With several web servers (`make classroom SERVERS=3`) this is how they reach the queue's process:
a web server writes a submission here (admitted in the same transaction that reads the line),
or a request to cancel or discard, or the pause; the queue's process looks whenever the count of
changes moves, and is the only one that writes a job's state afterwards."""

from __future__ import annotations

import json
import time
from pathlib import Path

from vae import runs
from vae.config import TrainConfig
from vae.database import database
from vae.errors import LabError, RunError
from vae.jobs import protocol
from vae.jobs.job import RUNNING_STATES, Job
from vae.jobs.policy import same_owner
from vae.states import JobState

STORE_FILE = ".queue.sqlite3"  # hidden: run listings skip dot files
INTERRUPTED = ("The server stopped while this training ran, and the training with it; nothing was saved. "
               "Start it again if you still want it.")
UNREADABLE = ("This training was stored by another version of Latent Lab and cannot be read by this one "
              "({why}); it was not run. Ask for it again.")
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,            -- submission order
    config TEXT NOT NULL,            -- TrainConfig as JSON
    run_name TEXT NOT NULL,
    preset TEXT,
    runs_dir TEXT NOT NULL,
    owner TEXT,                      -- who queued it: role, name, key hash (JSON), or null
    browser TEXT NOT NULL,           -- hash of the browser's key
    address TEXT NOT NULL,
    priority INTEGER NOT NULL,
    time_limit REAL,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    submitted_at REAL NOT NULL,      -- wall-clock seconds
    started_at REAL,
    finished_at REAL,
    dispatch TEXT                    -- on Celery: the dispatch's token, to follow the job after a restart
);
CREATE TABLE IF NOT EXISTS job_requests (  -- what a web server asks of the queue's process (several servers)
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL                -- cancel | discard
);
"""
CHANGES = "jobs.changes"  # counts the web servers' submissions and requests: the queue's process looks when it moves
VIEW = "queue.view"  # what the queue's process alone knows (places in line, estimates, its workers), for pages
COLUMNS = ("id, config, run_name, preset, runs_dir, owner, browser, address, priority, time_limit, state, message, "
           "submitted_at, started_at, finished_at, dispatch")


class JobStore:
    """The queue's part of the class's store (vae.database): its jobs and its settings."""

    def __init__(self, path: Path):
        self.database = database(Path(path), (SCHEMA,))
        self.path = self.database.path

    @classmethod
    def beside(cls, runs_dir: Path) -> JobStore:
        return cls(Path(runs_dir) / STORE_FILE)

    def close(self) -> None:
        self.database.close()

    # --- jobs ------------------------------------------------------------------------------------

    def add(self, job) -> None:
        with self.database.transaction() as db:
            _insert(db, job)

    def add_admitted(self, admit) -> Job:
        """`admit(jobs)` (vae.jobs.admission) given the line as the store has it, and the job it
        makes written, in one transaction: two web servers cannot both take the last place."""
        with self.database.transaction() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM jobs ORDER BY seq").fetchall()
            job = admit([_job(_fields(row)) for row in rows])
            _insert(db, job)
            self.database.bump(db, CHANGES)
        return job

    def ask(self, kind: str, job_ids: list[str]) -> None:
        """A web server's request of the queue's process: "cancel" or "discard" these jobs."""
        with self.database.transaction() as db:
            db.executemany("INSERT INTO job_requests (job_id, kind) VALUES (?, ?)", [(i, kind) for i in job_ids])
            self.database.bump(db, CHANGES)

    def take_requests(self) -> list[tuple[str, str]]:
        """The requests not yet acted on, (job id, kind) in order, removed as they are taken."""
        with self.database.transaction() as db:
            requests = db.execute("SELECT job_id, kind FROM job_requests ORDER BY seq").fetchall()
            db.execute("DELETE FROM job_requests")
        return requests

    def changes(self) -> int:
        """The count of submissions and requests, read afresh (never from a cache)."""
        return int(self.fresh_setting(CHANGES, 0))

    def fresh_setting(self, key: str, default=None):
        """A setting read from the store now, not from this process's 0.25 s cache (vae.database)."""
        row = self.database.row("SELECT value FROM settings WHERE key = ?", (key,))
        return default if row is None else json.loads(row[0])

    def set_shared_setting(self, key: str, value) -> None:
        """A setting the queue's process acts on: it looks at once."""
        with self.database.transaction() as db:
            self.database.set_setting(key, value, db)
            self.database.bump(db, CHANGES)

    def update(self, job) -> None:
        """Its state and message, when it started and ended (kept as wall-clock times), and on
        Celery the dispatch that runs it."""
        token = getattr(job.worker, "token", None)
        self.database.execute("UPDATE jobs SET state = ?, message = ?, started_at = ?, finished_at = ?, "
                              "dispatch = COALESCE(?, dispatch) WHERE id = ?",
                              (job.state, job.message, _wall(job.started), _wall(job.finished), token, job.id))

    def forget(self, job_ids: list[str]) -> None:
        with self.database.transaction() as db:
            db.executemany("DELETE FROM jobs WHERE id = ?", [(job_id,) for job_id in job_ids])

    def load(self) -> list[dict]:
        """Every stored job in submission order, as the fields a vae.jobs.job.Job is made from
        (times as this process's monotonic clock). One this version cannot read comes back failed,
        with one sentence, and is not run."""
        return [_fields(row) for row in self.database.rows(f"SELECT {COLUMNS} FROM jobs ORDER BY seq")]

    def jobs(self) -> list[Job]:
        """Every stored job as a Job (no worker), read afresh."""
        return [_job(fields) for fields in self.load()]

    # --- settings ----------------------------------------------------------------------------------

    def setting(self, key: str, default=None):
        return self.database.setting(key, default)

    def set_setting(self, key: str, value) -> None:
        self.database.set_setting(key, value)


def _insert(db, job) -> None:
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
    db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
               (job.id, seq, json.dumps(job.config.to_dict()), job.run_name, job.preset_name, str(job.runs_dir),
                json.dumps(job.owner), job.browser, job.address, job.priority, job.time_limit, job.state,
                job.message, _wall(job.submitted)))


def _job(fields: dict) -> Job:
    return Job(**{name: value for name, value in fields.items() if name != "dispatch"})


def _fields(row: tuple) -> dict:
    fields = {"id": row[0], "run_name": row[2], "preset_name": row[3], "runs_dir": Path(row[4]), "browser": row[6],
              "address": row[7], "priority": row[8], "time_limit": row[9], "state": row[10], "message": row[11],
              "submitted": _monotonic(row[12]), "started": _monotonic(row[13]), "finished": _monotonic(row[14]),
              "dispatch": row[15]}
    try:
        owner = json.loads(row[5])
    except (ValueError, TypeError):
        owner = None
    fields["owner"] = owner if isinstance(owner, dict) else None
    try:
        return {**fields, "state": JobState(row[10]), "config": TrainConfig.from_dict(json.loads(row[1]))}
    except (LabError, ValueError, TypeError) as error:  # shown as failed; the default config stands in for it
        return {**fields, "config": TrainConfig(), "state": JobState.FAILED, "dispatch": None,
                "message": UNREADABLE.format(why=error), "finished": fields["finished"] or fields["submitted"]}


def _wall(monotonic_time: float | None) -> float | None:
    return None if monotonic_time is None else time.time() - (time.monotonic() - monotonic_time)


def _monotonic(wall_time: float | None) -> float | None:
    return None if wall_time is None else time.monotonic() - (time.time() - wall_time)


def restore(store: JobStore, backend) -> list[Job]:
    """The stored jobs as the queue takes them up again after a restart: queued ones wait again,
    in their order. One that was running: on Celery it is followed again (its worker did not stop
    with the web server); locally its worker ended with the server, so it is interrupted, with one
    sentence (or completed, if its run was saved just before)."""
    jobs = []
    for fields in store.load():
        dispatch = fields.pop("dispatch")
        job = Job(**fields)
        if job.state in RUNNING_STATES:
            # Its silence counts from now: the stream's first lines (Ready among them) may take a
            # moment to be read, and a silence counted from 0 would end it as stalled at once.
            job.last_event = time.monotonic()
            command = protocol.Train(job.config.to_dict(), str(job.runs_dir), job.run_name, job.preset_name,
                                     job.owner)
            if not (dispatch and backend.follow(job, dispatch, command)):
                _interrupt(job)
        jobs.append(job)
    return jobs


def _interrupt(job: Job) -> None:
    job.finished = time.monotonic()
    try:
        saved = same_owner(runs.find_run(job.runs_dir, job.run_name).metrics.get("owner"), job.owner)
    except RunError:
        saved = False
    if saved:
        job.state, job.message = JobState.COMPLETED, f"Run {job.run_name!r} saved, just as the server stopped."
    else:
        job.state, job.message = JobState.INTERRUPTED, INTERRUPTED
