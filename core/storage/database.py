"""Opening the database: SQLite by default (WAL, a file in the data directory), PostgreSQL when
``SCANSERVE_DATABASE_URL`` says so. Models are bound through one proxy, initialised by
:func:`open_database` when the app (or a CLI command) starts, never at import time."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import peewee
from playhouse.db_url import connect

database_proxy = peewee.DatabaseProxy()

_SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Writers wait for each other instead of failing: the server, the embedded queue's
    # consumer threads and CLI commands share the file.
    "busy_timeout": 10_000,
    "synchronous": "normal",
}


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; a directory we create is ``0700``: it
    holds every organisation's data and the key hashes."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is masked by the umask; chmod is not
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and only its owner can read it (``0600``), before a library
    creates it with the umask's permissions. SQLite gives its ``-wal`` and ``-shm`` files the
    main file's permissions.

    An existing file is never opened here: closing *any* descriptor of a file drops every
    POSIX lock this process holds on it, so opening and closing a database file that a
    connection of this process has locked would let another process write beside it and
    corrupt it (sqlite.org/howtocorrupt.html, 2.2). Only a file that does not exist yet is
    created (no connection can hold it), and an existing one is changed by path.
    """
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    return path


_READS = ("SELECT", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class SerialisedSqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose writers in one process take turns on a Python lock.

    SQLite has one writer at a time; a connection that finds the write lock taken waits in
    SQLite's busy handler, which sleeps in growing steps (1, 2, 5 ... 100 ms) whether or not
    the lock was freed meanwhile. Under load (request threads inserting captures, consumer
    threads moving them on) most of the time went there. Here a transaction, or a single
    write outside one, first takes this process's writer lock, so threads of one process
    hand the database lock over at once; ``busy_timeout`` still arbitrates between
    processes (the CLI, other servers). Transactions begin IMMEDIATE: a deferred one that
    read first could not upgrade to a write while another process writes. Reads (WAL) take
    no lock at all.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = threading.Lock()
        self._holding = threading.local()

    def _acquire(self) -> None:
        self._writer.acquire()
        self._holding.held = True

    def _release(self) -> None:
        if getattr(self._holding, "held", False):
            self._holding.held = False
            self._writer.release()

    def begin(self, lock_type: str | None = None) -> None:
        self._acquire()
        try:
            super().begin(lock_type or "IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        if self.in_transaction() or sql.lstrip()[:9].upper().startswith(_READS):
            return super().execute_sql(sql, params)
        self._acquire()
        try:
            return super().execute_sql(sql, params)
        finally:
            self._release()


PREPARES = "scanserve_prepares"
"""The attribute of an opened database that says whether :mod:`.prepared`'s queries run as
server-side prepared statements on it."""


def open_database(url: str, *, prepared_statements: bool = True) -> peewee.Database:
    """Open ``url``, bind every model to it, and return it. ``prepared_statements``: run the
    hot queries as server-side prepared statements where the database has them
    (PostgreSQL; see :mod:`.prepared`)."""
    if url.startswith("sqlite:///"):
        path = private_file(Path(url.removeprefix("sqlite:///")))
        db: peewee.Database = SerialisedSqliteDatabase(str(path), pragmas=_SQLITE_PRAGMAS)
    else:
        db = connect(url)
    setattr(db, PREPARES, prepared_statements and isinstance(db, peewee.PostgresqlDatabase))
    database_proxy.initialize(db)
    return db


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
