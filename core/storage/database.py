"""Opening the database: SQLite by default (WAL, a file in the data directory), PostgreSQL when
``SCANSERVE_DATABASE_URL`` says so. Models are bound through one proxy, initialised by
:func:`open_database` when the app (or a CLI command) starts, never at import time."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import peewee
from playhouse.db_url import connect, parse
from playhouse.pool import PooledPostgresqlDatabase

database_proxy = peewee.DatabaseProxy()
logger = logging.getLogger("scanserve.database")
T = TypeVar("T")

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
        DATABASE.recovered()  # an attribute read, unless an outage was recorded

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
            cursor = super().execute_sql(sql, params)
        finally:
            self._release()
        DATABASE.recovered()  # an attribute read, unless an outage was recorded
        return cursor


# -- outages: what a failure says, one log line each way, reconnecting, waiting it out ----

DOWN = "down"
"""The database did not answer: not running, restarting, unreachable, or locked past
``busy_timeout``. A retry later may succeed."""
FULL = "full"
"""The database (or the data directory under it) has no room left. Writes fail until an
operator frees space; reads go on."""

# SQLite reports its outages as OperationalError, like its SQL mistakes ("no such column"):
# only these messages are outages. (sqlite3 gives no error code before Python 3.11's
# sqlite_errorcode, and its text is stable.)
_SQLITE_DOWN = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "unable to open database file",
    "database is busy",
)
_SQLITE_FULL = ("database or disk is full",)
# PostgreSQL SQLSTATE classes and codes that are outages rather than mistakes: 08 connection
# exception, 57P0x the server shutting down or starting up (57014, a cancelled statement,
# is not one), 53 insufficient resources (53100 disk full), 58 system errors, 40001/40P01
# serialization failure and deadlock (a retry succeeds), 25006 a read-only standby.
_PG_DOWN_CLASSES = ("08", "53", "58")
_PG_DOWN_CODES = ("57P01", "57P02", "57P03", "57P04", "40001", "40P01", "25006")
_PG_FULL_CODES = ("53100",)
# Of those, the ones that say nothing of the server's health (the next attempt succeeds).
_PG_RETRY = ("40001", "40P01")


def _pgcode(exc: BaseException) -> str | None:
    for candidate in (exc, *exc.args[:1], exc.__cause__, exc.__context__):
        code = getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def _pg_outage(code: str) -> str | None:
    if code in _PG_FULL_CODES:
        return FULL
    if code.startswith(_PG_DOWN_CLASSES) or code in _PG_DOWN_CODES:
        return DOWN
    return None


def _text_outage(exc: BaseException) -> str | None:
    text = str(exc).lower()
    if any(fragment in text for fragment in _SQLITE_FULL):
        return FULL
    if any(fragment in text for fragment in _SQLITE_DOWN):
        return DOWN
    # psycopg without an SQLSTATE: the connection itself failed (refused, closed, reset)
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    modules = {type(e).__module__ for e in (exc, exc.__cause__, exc.__context__) if e}
    from_psycopg = any(m.startswith("psycopg") for m in modules)
    if from_psycopg and names & {"OperationalError", "InterfaceError"}:
        return DOWN
    if isinstance(exc, peewee.InterfaceError) and "closed" in text:
        return DOWN
    return None


def outage_of(exc: BaseException) -> str | None:
    """:data:`DOWN` or :data:`FULL` when ``exc`` (from peewee, sqlite3 or psycopg) says the
    database is unavailable or out of space rather than that a statement was wrong; None
    otherwise. The one place that reads database failures; :mod:`scanserve.http.faults` maps
    them to answers.

    An error raised while handling one is read through its chain: a COMMIT that failed for
    a full disk leaves no transaction, so peewee's ROLLBACK after it fails with "cannot
    rollback - no transaction is active", which alone says nothing of the disk."""
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            break
        kind = _outage_of_one(seen)
        if kind is not None:
            return kind
        seen = seen.__cause__ or seen.__context__
    return None


_CHAIN_DEPTH = 6


def _outage_of_one(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FULL
    if not isinstance(exc, peewee.PeeweeException) and not type(exc).__module__.startswith(
        ("sqlite3", "psycopg")
    ):
        return None
    code = _pgcode(exc)
    return _pg_outage(code) if code is not None else _text_outage(exc)


class Outage:
    """Whether a dependency is down, process-wide: one log line when it goes down, one when
    it returns, however many threads meet it meanwhile."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self.since: float | None = None
        self.reason = ""

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
            self.reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
        logger.error("%s unavailable: %s", self.name, self.reason)

    def recovered(self) -> None:
        if self.since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            logger.warning("%s is back after %.1f s", self.name, time.monotonic() - since)


DATABASE = Outage("database")
"""The database's state as this process last met it (see :class:`Outage`)."""


DROPPED = "scanserve_connection_dropped"
"""Set on a failure that found an open connection dead (the server restarted since it was
opened): not an outage by itself; whether the server answers, the next connection tells."""


def note_failure(exc: BaseException) -> str | None:
    """:func:`outage_of` ``exc``, recording a :data:`DOWN` one in :data:`DATABASE` (unless
    it only found a connection dead: :data:`DROPPED`)."""
    kind = outage_of(exc)
    if kind == DOWN and not getattr(exc, DROPPED, False) and _pgcode(exc) not in _PG_RETRY:
        DATABASE.failed(exc)
    return kind


def through_outages(
    fn: Callable[[], T],
    *,
    stopping: threading.Event | None = None,
    first: float = 0.25,
    cap: float = 4.0,
    give_up_after: float | None = None,
) -> T:
    """``fn()``, called again while it fails because the database is down, after a capped
    exponential back-off (``first`` doubling up to ``cap`` seconds): background work (the
    capture lanes, the queue's tasks) waits an outage out instead of dropping its work.
    Raises the outage once ``stopping`` is set or ``give_up_after`` seconds have passed;
    any other exception at once."""
    delay = first
    started = time.monotonic()
    while True:
        try:
            return fn()
        except Exception as exc:
            if note_failure(exc) != DOWN:
                raise
            waited = time.monotonic() - started
            if give_up_after is not None and waited + delay > give_up_after:
                raise
            if stopping is not None:
                if stopping.wait(delay):
                    raise
            else:
                time.sleep(delay)
            delay = min(cap, delay * 2)


# Statements that may run twice with the effect of once: re-run on a new connection when
# the old one turned out dead under them (outside a transaction only).
_IDEMPOTENT = ("SELECT", "SHOW", "PREPARE", "BEGIN", "DEALLOCATE", "SET ")


class _Reconnecting(peewee.PostgresqlDatabase):
    """PostgreSQL whose connections recover from a server restart without a restart of ours.

    Each thread keeps its connection (peewee's per-thread state). When the server restarts,
    every one of them is dead, and psycopg finds out only on its next statement (marking the
    connection ``closed``). Then, at the next statement that starts something (a statement
    outside a transaction, or a ``BEGIN``), the dead connection is replaced by a new one; no
    query is spent checking. A statement that itself meets the dead connection is run once
    more on a new one only where that cannot do anything twice: outside a transaction, and
    a read (or a ``BEGIN``). Anything else (a write, a ``COMMIT``, a statement inside a
    transaction) raises, and the caller answers ``503`` (the client retries). A ``COMMIT``
    never goes to a new connection: it would commit nothing and report success.
    """

    def _connect(self) -> Any:
        conn = super()._connect()  # type: ignore[misc]
        DATABASE.recovered()
        return conn

    def connect(self, reuse_if_open: bool = False) -> bool:
        try:
            return bool(super().connect(reuse_if_open))
        except Exception as exc:
            note_failure(exc)
            raise

    def _revive(self) -> bool:
        """Drop a connection psycopg found dead, so the next statement opens a new one.
        True when one was dropped."""
        state = self._state  # type: ignore[attr-defined]
        if state.closed or not getattr(state.conn, "closed", False):
            return False
        try:
            # peewee's close: a pool takes the connection back and discards it as closed
            self.close()  # type: ignore[attr-defined]
        except Exception:  # it is dead already: closing is tidying up
            with contextlib.suppress(Exception):
                state.conn.close()
            state.reset()
        return True

    def connection(self) -> Any:
        if not self.in_transaction():
            self._revive()
        return super().connection()

    def begin(self, isolation_level: Any = None) -> None:
        self._revive()  # begin runs only at the outermost level: no transaction yet
        try:
            super().begin(isolation_level)
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            if outage_of(exc) != DOWN or not self._revive():
                raise
            setattr(exc, DROPPED, True)
            super().begin(isolation_level)  # nothing was begun: begin on a new connection

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        if self.in_transaction():
            return super().execute_sql(sql, params)
        self._revive()
        was_open = not self.is_closed()
        try:
            cursor = super().execute_sql(sql, params)
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            if outage_of(exc) != DOWN or not was_open or not self._revive():
                raise
            setattr(exc, DROPPED, True)  # the next connection tells whether it is an outage
            if not sql.lstrip()[:10].upper().startswith(_IDEMPOTENT):
                raise
            cursor = super().execute_sql(sql, params)
        DATABASE.recovered()  # an attribute read, unless an outage was recorded
        return cursor


class PostgresqlReconnectingDatabase(_Reconnecting, peewee.PostgresqlDatabase):
    """peewee's PostgreSQL database, reconnecting (see :class:`_Reconnecting`)."""


class PooledPostgresqlReconnectingDatabase(_Reconnecting, PooledPostgresqlDatabase):
    """peewee's pooled PostgreSQL database (``postgresql+pool://``), reconnecting."""


def free_disk_bytes(path: Path) -> int:
    """Bytes free for an unprivileged writer on the filesystem of ``path`` (or of its
    nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


PREPARES = "scanserve_prepares"
"""The attribute of an opened database that says whether :mod:`.prepared`'s queries run as
server-side prepared statements on it."""


_POSTGRES_SCHEMES: dict[str, type[peewee.Database]] = {
    "postgres:": PostgresqlReconnectingDatabase,
    "postgresql:": PostgresqlReconnectingDatabase,
    "postgres+pool:": PooledPostgresqlReconnectingDatabase,
    "postgresql+pool:": PooledPostgresqlReconnectingDatabase,
}


def open_database(url: str, *, prepared_statements: bool = True) -> peewee.Database:
    """Open ``url``, bind every model to it, and return it. ``prepared_statements``: run the
    hot queries as server-side prepared statements where the database has them
    (PostgreSQL; see :mod:`.prepared`)."""
    if url.startswith("sqlite:///"):
        path = private_file(Path(url.removeprefix("sqlite:///")))
        db: peewee.Database = SerialisedSqliteDatabase(str(path), pragmas=_SQLITE_PRAGMAS)
    elif url.startswith(tuple(_POSTGRES_SCHEMES)):
        params = parse(url)
        if not params.get("database"):
            connect(url)  # raises playhouse's own explanation of the missing name
        # A server that does not answer at all (a dropped route) fails a connection attempt
        # in seconds rather than after the kernel's TCP timeout (minutes).
        params.setdefault("connect_timeout", 5)
        db = _POSTGRES_SCHEMES[url.partition(":")[0] + ":"](**params)
    else:
        db = connect(url)
    setattr(db, PREPARES, prepared_statements and isinstance(db, peewee.PostgresqlDatabase))
    database_proxy.initialize(db)
    return db


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
