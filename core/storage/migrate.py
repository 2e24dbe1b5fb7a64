"""Schema migrations with peewee-migrate: ``scanserve db upgrade`` and ``serve`` run them.

Migration files live in ``scanserve/storage/migrations`` (``core/storage/migrations`` here),
each freezing the tables as they were when it was written, so an old database is upgraded
step by step without losing data. To add one after changing ``models.py``::

    python -c "from scanserve.storage.migrate import create; create('what_changed')"
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import peewee
from peewee_migrate import Router
from peewee_migrate.models import MIGRATE_TABLE

from scanserve.storage import models
from scanserve.storage.database import is_sqlite

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _router(db: peewee.Database) -> Router:
    return Router(db, migrate_dir=MIGRATIONS_DIR, logger=logging.getLogger("scanserve.migrate"))


def pending(db: peewee.Database) -> list[str]:
    return list(_router(db).diff)


def upgrade(db: peewee.Database) -> list[str]:
    """Apply every pending migration; returns their names (empty when up to date).

    A new SQLite database (no tables at all) is given the schema this process migrated once
    already, copied page by page from memory (:class:`_NewSqlite`): the same tables, indexes
    and migration history as running every migration again, in a millisecond rather than a
    tenth of a second (the sandbox's resets, and the test suite's thousand new databases)."""
    fresh = is_sqlite(db) and not db.get_tables()
    if fresh and (copied := _NEW_SQLITE.copy_into(db)):
        return copied
    router = _router(db)
    todo = list(router.diff)
    if todo:
        router.run()
    if fresh:
        _NEW_SQLITE.keep(db)
    return todo


class _NewSqlite:
    """The schema of a new SQLite database, migrated once per process and kept in memory
    (SQLite's online backup copies it, both ways); one per set of migrations
    (``MIGRATIONS_DIR`` and the migrations in it)."""

    def __init__(self) -> None:
        self._images: dict[tuple[str, tuple[str, ...]], sqlite3.Connection] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key() -> tuple[str, tuple[str, ...]]:
        return str(MIGRATIONS_DIR), tuple(shipped())

    def keep(self, db: peewee.Database) -> None:
        key = self._key()
        with self._lock:
            if key not in self._images:
                image = sqlite3.connect(":memory:", check_same_thread=False)
                db.connection().backup(image)
                self._images[key] = image

    def copy_into(self, db: peewee.Database) -> list[str] | None:
        """The migrations the copy holds, or None when this set was never migrated here."""
        key = self._key()
        with self._lock:
            image = self._images.get(key)
            if image is None:
                return None
            image.backup(db.connection())
        return list(key[1])


_NEW_SQLITE = _NewSqlite()


@dataclass(frozen=True)
class Migration:
    """One migration as ``scanserve db history`` shows it: ``applied_at`` is None while it
    is pending; ``known`` is False for one the database ran that this release does not ship
    (a newer release's)."""

    name: str
    applied_at: str | None
    known: bool = True


def history(db: peewee.Database) -> list[Migration]:
    """Every migration this release ships, in order, with when it was applied, then any the
    database ran that this release does not know. Only reads: a database without the
    history table (a new one) has applied none, and the table is not created."""
    applied: dict[str, str] = {}
    if MIGRATE_TABLE in db.get_tables():
        query = f"SELECT name, migrated_at FROM {MIGRATE_TABLE} ORDER BY id"  # noqa: S608 - a constant
        applied = {name: _iso(at) for name, at in db.execute_sql(query).fetchall()}
    names = shipped()
    return [Migration(name, applied.get(name)) for name in names] + [
        Migration(name, at, known=False) for name, at in applied.items() if name not in names
    ]


def _iso(value: object) -> str:
    """A time as the history table holds it (SQLite: text; PostgreSQL: a datetime), in ISO
    8601 to the second."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.isoformat(timespec="seconds")


def shipped() -> list[str]:
    """The migrations this release ships, in order (what a new database gets)."""
    return sorted(path.stem for path in MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.py"))


def create(name: str, db: peewee.Database) -> None:  # pragma: no cover - a developer tool
    _router(db).create(name, auto=models.ALL_MODELS)
