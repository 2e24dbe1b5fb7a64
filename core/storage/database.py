"""Opening the database: SQLite by default (WAL, a file in the data directory), PostgreSQL when
``SCANSERVE_DATABASE_URL`` says so. Models are bound through one proxy, initialised by
:func:`open_database` when the app (or a CLI command) starts, never at import time."""

from __future__ import annotations

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


def open_database(url: str) -> peewee.Database:
    """Open ``url``, bind every model to it, and return it."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        db: peewee.Database = peewee.SqliteDatabase(str(path), pragmas=_SQLITE_PRAGMAS)
    else:
        db = connect(url)
    database_proxy.initialize(db)
    return db


def is_sqlite(db: peewee.Database) -> bool:
    return isinstance(db, peewee.SqliteDatabase)
