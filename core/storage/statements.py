"""Write statements rendered to SQL once, run many times: the writing half of
:mod:`.prepared`.

Rendering an UPDATE or INSERT with peewee costs several times what SQLite takes to run it,
and capture ingestion runs a handful per capture. A :class:`Statement` describes its query
once with peewee, with *slots* where the values go; it is rendered once per database engine,
and each run binds its values (through the slot's field's ``db_value``) into the rendered
parameters (and runs as a server-side prepared statement on PostgreSQL: see
:func:`.prepared.execute`).

    MOVE = Statement(lambda slot: Model.update(status=slot("status", Model.status))
                     .where(Model.id == slot("id")))
    MOVE.run(status="DONE", id=3)  # -> rows changed
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import peewee

from .database import database_proxy
from .prepared import execute


class _Slot:
    __slots__ = ("convert", "name")

    def __init__(self, name: str, convert: Callable[[Any], Any] | None):
        self.name = name
        self.convert = convert


def slot(name: str, field: peewee.Field | None = None) -> Any:
    """A value bound when the statement runs, converted by ``field`` (JSON, datetimes)."""
    return peewee.Value(_Slot(name, field.db_value if field is not None else None), False)


class Statement:
    def __init__(self, build: Callable[[Callable[..., Any]], peewee.Query]):
        self._build = build
        self._compiled: dict[type, tuple[str, list[Any]]] = {}
        self._lock = threading.Lock()

    def _compile(self) -> tuple[str, list[Any]]:
        db = database_proxy.obj
        compiled = self._compiled.get(type(db))
        if compiled is None:
            query = self._build(slot)
            if isinstance(query, peewee.Insert):
                query = query.returning()  # no RETURNING id: callers know what they wrote
            compiled = query.sql()
            with self._lock:
                self._compiled[type(db)] = compiled
        return compiled

    def run(self, **values: Any) -> int:
        """Run with ``values`` for the slots; returns how many rows it changed."""
        sql, template = self._compile()
        params = [
            (p.convert(values[p.name]) if p.convert else values[p.name])
            if isinstance(p, _Slot)
            else p
            for p in template
        ]
        return int(execute(sql, params).rowcount)
