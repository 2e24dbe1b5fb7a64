"""Schema migrations with peewee-migrate: ``scanserve db upgrade`` and ``serve`` run them.

Migration files live in ``scanserve/storage/migrations`` (``core/storage/migrations`` here),
each freezing the tables as they were when it was written, so an old database is upgraded
step by step without losing data. To add one after changing ``models.py``::

    python -c "from scanserve.storage.migrate import create; create('what_changed')"
"""

from __future__ import annotations

import logging
from pathlib import Path

import peewee
from peewee_migrate import Router

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


def create(name: str, db: peewee.Database) -> None:  # pragma: no cover - a developer tool
    _router(db).create(name, auto=models.ALL_MODELS)
