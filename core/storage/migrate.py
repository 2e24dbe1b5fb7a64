"""Schema migrations with peewee-migrate: ``scanserve db upgrade`` and ``serve`` run them.

Migration files live in ``scanserve/storage/migrations`` (``core/storage/migrations`` here),
each freezing the tables as they were when it was written, so an old database is upgraded
step by step without losing data. To add one after changing ``models.py``::

    python -c "from scanserve.storage.migrate import create; create('what_changed')"
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import peewee
from peewee_migrate import Router
from peewee_migrate.models import MIGRATE_TABLE

from scanserve.storage import models

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _router(db: peewee.Database) -> Router:
    return Router(db, migrate_dir=MIGRATIONS_DIR, logger=logging.getLogger("scanserve.migrate"))


def pending(db: peewee.Database) -> list[str]:
    return list(_router(db).diff)


def upgrade(db: peewee.Database) -> list[str]:
    """Apply every pending migration; returns their names (empty when up to date)."""
    router = _router(db)
    todo = list(router.diff)
    if todo:
        router.run()
    return todo


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
