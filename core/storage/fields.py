"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import peewee

from scanserve import sources


class JSONField(peewee.TextField):
    """JSON stored as text: portable, and we never query inside it."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # what orjson refuses (integers past 64 bits) the json module writes
            return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value: str | None) -> Any:
        # orjson: every JSON column of every row read goes through here
        if value is None:
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return json.loads(value)


class UTCDateTimeField(peewee.DateTimeField):
    """Aware UTC datetimes in Python, naive UTC in the database (both engines agree on that)."""

    def db_value(self, value: datetime | None) -> Any:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> datetime | None:
        if isinstance(value, str):
            # SQLite hands back the text peewee wrote ("2026-11-29 07:32:38.867485"):
            # fromisoformat reads it in a fraction of the time of peewee's strptime formats.
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = super().python_value(value)
        else:
            value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current instant from the process's clock (:mod:`scanserve.sources`)."""
    return sources.utcnow()
