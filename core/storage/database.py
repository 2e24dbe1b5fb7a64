"""Opening the database: SQLite by default (WAL, a file in the data directory), PostgreSQL when
``SCANSERVE_DATABASE_URL`` says so. Models are bound through one proxy, initialised by
:func:`open_database` when the app (or a CLI command) starts, never at import time."""

from __future__ import annotations

import os
from pathlib import Path

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
    main file's permissions."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return path


def open_database(url: str) -> peewee.Database:
    """Open ``url``, bind every model to it, and return it."""
    if url.startswith("sqlite:///"):
        path = private_file(Path(url.removeprefix("sqlite:///")))
        db: peewee.Database = peewee.SqliteDatabase(str(path), pragmas=_SQLITE_PRAGMAS)
    else:
        db = connect(url)
    database_proxy.initialize(db)
    return db


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
