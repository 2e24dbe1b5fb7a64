"""Read queries compiled to SQL once, run many times, rows straight to dicts.

Building a SELECT with peewee costs far more than running it on SQLite (about 0.8 ms to
render a one-row lookup that SQLite answers in 20 us), and hydrating model objects costs
more again. The hot read paths (session detail and status, capture, freshness) therefore
describe each query once with peewee, as usual, with *placeholders* where the request's
values go; :class:`Prepared` renders it once per database engine and placeholder count,
then binds the request's values into the rendered parameters and turns each row into a dict
keyed by the selected names (an ``alias`` or the column name), through the columns' own
``python_value`` where it matters (JSON, datetimes, booleans).

    LOOKUP = Prepared(lambda ph: Model.select(Model.a.alias("x")).where(Model.id == ph("id")))
    LOOKUP.dicts(id=3)

A placeholder's value while rendering is a sentinel (an integer far outside any id range,
or a string no client sends) that peewee passes through as a parameter; binding replaces
each sentinel by the value named after it. A placeholder that stands for a list of values
(``in_``) is rendered for the list's length: ``ph("orgs", len(values))``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import peewee

from .database import database_proxy
from .fields import JSONField, UTCDateTimeField

_CONVERTED = (JSONField, UTCDateTimeField, peewee.BooleanField, peewee.UUIDField)


class _Placeholders:
    def __init__(self, sizes: dict[str, int]):
        self.sizes = sizes
        self.sentinels: dict[Any, tuple[str, int | None]] = {}
        self._next = 0

    def _sentinel(self, name: str, index: int | None, as_int: bool) -> Any:
        self._next += 1
        value: Any = -(7 * 10**15) - self._next if as_int else f"\x00ph{self._next}\x00"
        self.sentinels[value] = (name, index)
        return value

    def __call__(self, name: str, *, as_int: bool = False) -> Any:
        if name in self.sizes:
            return [self._sentinel(name, i, as_int) for i in range(self.sizes[name])]
        return self._sentinel(name, None, as_int)


class Prepared:
    def __init__(self, build: Callable[[_Placeholders], peewee.SelectQuery]):
        self._build = build
        self._compiled: dict[Any, tuple[str, list[Any], list[str], list[Any]]] = {}
        self._lock = threading.Lock()

    def _compile(self, sizes: dict[str, int]) -> tuple[str, list[Any], list[str], list[Any]]:
        db = database_proxy.obj
        key = (type(db), tuple(sorted(sizes.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            ph = _Placeholders(sizes)
            query = self._build(ph)
            sql, params = query.sql()
            template = [ph.sentinels.get(p, p) if _hashable(p) else p for p in params]
            names, converters = [], []
            for column in query._returning:  # type: ignore[attr-defined]
                node = column.unwrap() if isinstance(column, peewee.Alias) else column
                # an Alias node, or a subquery's own alias, or the column's name
                names.append(getattr(column, "_alias", None) or node.column_name)
                converters.append(node.python_value if isinstance(node, _CONVERTED) else None)
            compiled = (sql, template, names, converters)
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def dicts(self, **values: Any) -> list[dict[str, Any]]:
        sizes = {k: len(v) for k, v in values.items() if isinstance(v, list | tuple | frozenset)}
        sql, template, names, converters = self._compile(sizes)
        seqs = {k: list(v) for k, v in values.items() if k in sizes}
        params = [
            (seqs[p[0]][p[1]] if p[1] is not None else values[p[0]]) if isinstance(p, tuple) else p
            for p in template
        ]
        rows = database_proxy.obj.execute_sql(sql, params).fetchall()
        convert = [(n, c) for n, c in zip(names, converters, strict=True) if c is not None]
        out = []
        for row in rows:
            d = dict(zip(names, row, strict=True))
            for name, conv in convert:
                d[name] = conv(d[name])
            out.append(d)
        return out

    def first(self, **values: Any) -> dict[str, Any] | None:
        rows = self.dicts(**values)
        return rows[0] if rows else None


def _hashable(value: Any) -> bool:
    return isinstance(value, int | str)


def seq(values: Sequence[Any] | frozenset[Any]) -> list[Any]:
    """A list placeholder value in a stable order."""
    return sorted(values)
