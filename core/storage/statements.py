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
    """``returns_id``: an INSERT whose :meth:`insert` answers the new row's primary key (by
    ``RETURNING`` where the database has it, else the cursor's ``lastrowid``). A column left
    out of an INSERT gets its field's default when the statement is rendered, once: give a
    slot to every column whose default is computed (a time, a fresh id)."""

    def __init__(
        self, build: Callable[[Callable[..., Any]], peewee.Query], *, returns_id: bool = False
    ):
        self._build = build
        self._returns_id = returns_id
        self._compiled: dict[type, tuple[str, list[Any], bool]] = {}
        self._lock = threading.Lock()

    def _compile(self) -> tuple[str, list[Any], bool]:
        db = database_proxy.obj
        compiled = self._compiled.get(type(db))
        if compiled is None:
            query = self._build(slot)
            returning = False
            if isinstance(query, peewee.ModelInsert):
                returning = self._returns_id and bool(db.returning_clause)
                # RETURNING the id only when asked: other callers know what they wrote
                primary_key = query.model._meta.primary_key
                query = query.returning(primary_key) if returning else query.returning()
            sql, template = query.sql()
            compiled = (sql, template, returning)
            with self._lock:
                self._compiled[type(db)] = compiled
        return compiled

    def _cursor(self, values: dict[str, Any]) -> tuple[Any, bool]:
        sql, template, returning = self._compile()
        params = [
            (p.convert(values[p.name]) if p.convert else values[p.name])
            if isinstance(p, _Slot)
            else p
            for p in template
        ]
        return execute(sql, params), returning

    def run(self, **values: Any) -> int:
        """Run with ``values`` for the slots; returns how many rows it changed."""
        return int(self._cursor(values)[0].rowcount)

    def insert(self, **values: Any) -> int:
        """Run an INSERT made with ``returns_id``; returns the new row's primary key."""
        if not self._returns_id:
            raise TypeError("insert() needs a Statement made with returns_id=True")
        cursor, returning = self._cursor(values)
        return int(cursor.fetchone()[0] if returning else cursor.lastrowid)
