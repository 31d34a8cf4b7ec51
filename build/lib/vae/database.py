"""The class's durable store: one SQLite file in WAL mode beside the runs (`runs/.queue.sqlite3`),
opened by every process of the class (each web server, the launcher, the training queue's process)
and read by them directly. WAL lets readers and one writer work at once across processes; each write is one short
`BEGIN IMMEDIATE` transaction, so a read-modify-write (a name taken, a guess counted) is atomic
across processes; a busy timeout waits out another process's write.

A file that cannot be read (damaged) or that a newer version wrote is set aside, renamed beside
itself and never deleted, and a new store is started: runs are their own files and are never lost.
The sentence that says so is kept in the new store, so every process can show it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import sys
import threading
import time
from pathlib import Path

SCHEMA_VERSION = 2  # 0 (unset): the store before the class moved into it; its tables are kept and added to
BUSY_TIMEOUT_SECONDS = 10.0
SET_ASIDE_KEY = "store.set_aside"  # settings: the sentence saying an earlier store was set aside
# What pages read on every rerun is kept this long in the process: each SQLite call releases the GIL,
# and under a class's load a thread waits up to the interpreter's switch interval (5 ms) to get it
# back, so four small reads per rerun measured p95 120 ms beside CPU-bound threads. Pages refresh
# every 0.5 s or more; a write from this process makes the next read fresh.
FRESH_SECONDS = 0.25

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreUnreadable(Exception):
    """The file is not a store this version can use (damaged, or from a newer version)."""


class Database:
    """One process's connection to the store, shared by its threads (each call holds a lock)."""

    def __init__(self, path: Path, schemas: tuple[str, ...] = ()):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.set_aside_sentence: str | None = None
        self.closed = False
        self._writes = 0  # this process's writes: a cached read older than the last one is read again
        self._cache: dict[str, tuple[float, object, int]] = {}
        with _opening(self.path):  # processes starting together: one of them sets a bad file aside
            try:
                self._db = _open(self.path, schemas)
            except StoreUnreadable as error:
                self.set_aside_sentence = set_aside(self.path, str(error))
                print(f"Latent Lab: {self.set_aside_sentence}", file=sys.stderr, flush=True)
                self._db = _open(self.path, schemas)
                self.set_setting(SET_ASIDE_KEY, self.set_aside_sentence)
        self.inode = self.path.stat().st_ino

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._db.close()

    def ensure(self, schema: str) -> None:
        """Create the tables (and indexes) of `schema` that are not there yet."""
        with self._lock:
            self._db.executescript(schema)

    def rows(self, sql: str, args=()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def row(self, sql: str, args=()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def execute(self, sql: str, args=()) -> None:
        """One statement, its own transaction."""
        with self._lock:
            self._db.execute(sql, args)
            self._writes += 1

    @contextlib.contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT: what is read inside is what the write acts on, in every process."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1

    def cached(self, name: str, load):
        """`load()`, as read at most FRESH_SECONDS ago and not before this process's last write: for
        what every rerun reads (never for a rule's check, which reads inside its transaction)."""
        now, writes = time.monotonic(), self._writes
        entry = self._cache.get(name)
        if entry is not None and now - entry[0] < FRESH_SECONDS and entry[2] == writes:
            return entry[1]
        value = load()
        self._cache[name] = (now, value, writes)
        return value

    # --- settings: small JSON values by name -------------------------------------------------------

    def setting(self, key: str, default=None):
        settings = self.cached("settings", lambda: dict(self.rows("SELECT key, value FROM settings")))
        return default if key not in settings else json.loads(settings[key])

    def set_setting(self, key: str, value, db: sqlite3.Connection | None = None) -> None:
        """Write a setting (inside a transaction when `db`, the transaction's connection, is given)."""
        sql = "INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        if db is not None:
            db.execute(sql, (key, json.dumps(value)))
        else:
            self.execute(sql, (key, json.dumps(value)))

    def setting_in(self, db: sqlite3.Connection, key: str, default=None):
        """A setting as the transaction `db` sees it: fresh, for a rule or a read-modify-write."""
        row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def forget_settings(self, *keys: str, db: sqlite3.Connection | None = None) -> None:
        """Delete settings (inside a transaction when `db` is given)."""
        sql = f"DELETE FROM settings WHERE key IN ({', '.join('?' * len(keys))})"
        if db is not None:
            db.execute(sql, keys)
        else:
            self.execute(sql, keys)

    def bump(self, db: sqlite3.Connection, *keys: str) -> None:
        """Add one to each counter named (inside a transaction): how pages know to redraw."""
        for key in keys:
            db.execute("INSERT INTO settings VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
                       "value = CAST(value AS INTEGER) + 1", (key,))

    def counter(self, key: str) -> int:
        return int(self.setting(key, 0))


@contextlib.contextmanager
def _opening(path: Path):
    """An exclusive lock on a file beside the store while it is opened (and maybe set aside)."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _open(path: Path, schemas: tuple[str, ...]) -> sqlite3.Connection:
    db = None
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreUnreadable(f"it was written by a newer version of Latent Lab (store version {version})")
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StoreUnreadable("it is damaged")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a crash of the process
        db.executescript(SCHEMA + "".join(schemas))
        if version < SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return db
    except sqlite3.DatabaseError as error:  # not a database, or a damaged one
        if db is not None:
            db.close()
        raise StoreUnreadable(f"it cannot be read ({error})") from None
    except StoreUnreadable:
        db.close()
        raise


def set_aside(path: Path, why: str) -> str:
    """Rename the store (and its WAL files) beside itself; the sentence that says so."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.set-aside-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.set-aside-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(kept.with_name(kept.name + suffix))
    path.rename(kept)
    return (f"The class's store {path.name} could not be used ({why}); it was set aside as {kept.name} and a new "
            "one started: saved runs are all kept, but the waiting line, names and board were not recovered.")


_OPEN: dict[str, Database] = {}
_OPEN_LOCK = threading.Lock()


def database(path: Path, schemas: tuple[str, ...] = ()) -> Database:
    """This process's connection to the store at `path` (one per file, shared by the queue and the
    class), with `schemas` created in it if they are not there."""
    key = str(Path(path).resolve())
    with _OPEN_LOCK:
        opened = _OPEN.get(key)
        if opened is None or not _still_there(opened):
            opened = _OPEN[key] = Database(Path(path), schemas)
        elif schemas:
            opened.ensure("".join(schemas))
        return opened


def _still_there(opened: Database) -> bool:
    """False once it was closed, or the file removed or replaced (set aside by another process, a
    test's folder reused): open it afresh."""
    try:
        return not opened.closed and opened.path.stat().st_ino == opened.inode
    except OSError:
        return False
