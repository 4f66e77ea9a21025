"""The ledger's SQLite file: its schema, migrations, and transactions safe under many writers.

`.missionctl/ledger.sqlite`, in WAL mode so readers never wait for writers.
Eight agents write at once, so:

- every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock
  up front and waits for it (busy timeout) instead of failing when a read
  transaction tries to become a write one (SQLite's "database is locked" in WAL);
- transactions are short: files are read before a transaction starts, never
  inside one;
- the schema version lives in `PRAGMA user_version`; migrations run in one
  immediate transaction, so two processes opening a new file migrate it once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from missionctl.errors import UserError

# Long enough for eight processes hammering the file; a write holds the lock for
# well under a millisecond, so this only matters when something is badly stuck.
BUSY_TIMEOUT_S = 30.0

# Each entry moves the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE experiments (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        owner TEXT NOT NULL,
        supersedes TEXT REFERENCES experiments(id),
        spec TEXT NOT NULL,
        spec_hash TEXT NOT NULL
    );
    CREATE TABLE attachments (
        experiment TEXT NOT NULL REFERENCES experiments(id),
        arm TEXT NOT NULL,
        seed INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        attached REAL NOT NULL,
        via TEXT NOT NULL,
        PRIMARY KEY (experiment, run_id)
    );
    CREATE INDEX attachments_by_arm ON attachments (experiment, arm, seed);
    CREATE INDEX attachments_by_run ON attachments (run_id);
    -- What a finished run's files say, keyed by their size and mtime: a run is
    -- read from disk once, not on every verdict.
    CREATE TABLE run_facts (
        run_id TEXT PRIMARY KEY,
        signature TEXT NOT NULL,
        facts BLOB NOT NULL
    );
    -- The last verdict of each experiment and the inputs it was computed from.
    CREATE TABLE verdicts (
        experiment TEXT PRIMARY KEY REFERENCES experiments(id),
        signature TEXT NOT NULL,
        verdict BLOB NOT NULL,
        computed REAL NOT NULL
    );
    """,
    # 2: claims the supervisor answered, with the answer each got (its mail id is the key,
    # so a restarted supervisor never answers a claim twice).
    """
    CREATE TABLE claims (
        id TEXT PRIMARY KEY,
        claimant TEXT NOT NULL,
        sent REAL NOT NULL,
        answered REAL NOT NULL,
        experiment TEXT,
        runs TEXT NOT NULL,
        decision TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        answer BLOB NOT NULL
    );
    CREATE INDEX claims_by_answered ON claims (answered);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _create_private(path: Path) -> None:
    """Make the database file readable by its owner only (SQLite copies the mode to -wal/-shm)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def connect(path: Path) -> sqlite3.Connection:
    """An open, migrated connection to the ledger at `path` (created if missing)."""
    _create_private(path)
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise UserError(f"cannot open the ledger {path}: {exc}") from None
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    _wal(db, path)
    db.execute("PRAGMA synchronous = NORMAL")  # durable at each checkpoint; safe in WAL
    db.execute("PRAGMA foreign_keys = ON")
    _migrate(db, path)
    return db


def _wal(db: sqlite3.Connection, path: Path) -> None:
    # Switching a new file to WAL needs a moment of exclusive access, and SQLite
    # answers BUSY there without calling the busy handler: retry until the deadline.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # contention on a brand-new file; nothing to wait on but time
            continue
        if str(mode).lower() != "wal":
            raise UserError(
                f"the ledger {path} cannot use WAL mode (journal mode {mode}); keep the"
                " workspace on a local filesystem"
            )
        return


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise UserError(
            f"the ledger {path} has schema version {version}, newer than this missionctl"
            f" knows ({SCHEMA_VERSION}); upgrade missionctl"
        )
    with write(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have
        for script in MIGRATIONS[version:]:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def write(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that holds the write lock from its first statement."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextlib.contextmanager
def read(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: one consistent snapshot for several queries."""
    db.execute("BEGIN")
    try:
        yield db
    finally:
        db.execute("COMMIT")
