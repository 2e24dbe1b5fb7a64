"""Read queries compiled to SQL once, run many times, rows straight to dicts.

Building a SELECT with peewee costs far more than running it on SQLite (about 0.8 ms to
render a one-row lookup that SQLite answers in 20 us), and hydrating model objects costs
more again. The hot read paths (session detail and status, capture, freshness) therefore
describe each query once with peewee, as usual, with *placeholders* where the request's
values go; :class:`Prepared` renders it once per database engine and placeholder count,
then binds the request's values into the rendered parameters and turns each row into a dict
keyed by the selected names (an ``alias`` or the column name), converted as the columns'
own ``python_value`` would where it matters (JSON, datetimes, booleans): the common
conversions by a direct function (see :func:`_converter`), never for NULL.

    LOOKUP = Prepared(lambda ph: Model.select(Model.a.alias("x")).where(Model.id == ph("id")))
    LOOKUP.dicts(id=3)

A placeholder's value while rendering is a sentinel (an integer far outside any id range,
or a string no client sends) that peewee passes through as a parameter; binding replaces
each sentinel by the value named after it. A placeholder that stands for a list of values
(``in_``) is rendered for the list's length: ``ph("orgs", len(values))``.

On PostgreSQL, rendering once on our side is half of it: the server plans each statement it
is sent, and for the hot reads' joins planning takes several times what running them does
(0.35 ms to plan a capture's lookup, 0.04 ms to run it). :func:`execute` (which
:class:`Prepared` and :mod:`.statements` run their SQL with) therefore makes each rendered
statement a server-side prepared statement, once per connection (``PREPARE``), and runs it
with ``EXECUTE``: planned once per connection instead of once per request. A statement the
server will not prepare runs as plain SQL from then on; so does everything with
``Settings.database_prepared_statements`` off (a pooler such as PgBouncer in transaction mode
hands one client several server sessions, which do not share prepared statements).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import peewee

from .database import DOWN, DROPPED, PREPARES, database_proxy, outage_of
from .fields import JSONField, UTCDateTimeField

logger = logging.getLogger(__name__)

_CONVERTED = (JSONField, UTCDateTimeField, peewee.BooleanField, peewee.UUIDField)

Converter = Callable[[Any], Any]


def _converter(node: Any) -> Converter | None:
    """How a selected column's non-NULL value becomes its Python value, or None when as it
    is. JSON and UTC datetimes, on every row of the hot reads, get a direct function that
    does what their field's ``python_value`` does for the values the database hands back;
    anything else (and a subclass that converts its own way) goes through ``python_value``."""
    if not isinstance(node, _CONVERTED):
        return None
    method = type(node).python_value
    if isinstance(node, JSONField) and method is JSONField.python_value:
        return _json_value(node)
    if isinstance(node, UTCDateTimeField) and method is UTCDateTimeField.python_value:
        return _utc_datetime(node)
    return node.python_value  # type: ignore[no-any-return]


def _json_value(field: JSONField) -> Converter:
    loads, error, slow = orjson.loads, orjson.JSONDecodeError, field.python_value

    def convert(value: Any) -> Any:
        try:
            return loads(value)
        except error:
            return slow(value)

    return convert


def _utc_datetime(field: UTCDateTimeField) -> Converter:
    # SQLite hands back the naive UTC text peewee wrote ("2026-11-29 07:32:38.867485"):
    # read with its offset in one step, several times faster than reading it and then
    # attaching the zone with replace(). Anything else (PostgreSQL's datetimes, other
    # text) as the field reads it.
    parse, slow = datetime.fromisoformat, field.python_value

    def convert(value: Any) -> Any:
        if value.__class__ is str:
            try:
                parsed = parse(value + "+00:00")
            except ValueError:
                return slow(value)
            if parsed.tzinfo is UTC:
                return parsed
        return slow(value)

    return convert


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


RowMaker = Callable[[Sequence[Any]], dict[str, Any]]


def _row_maker(names: list[str], converters: list[Converter | None]) -> RowMaker:
    """A function from a row to its dict: one dict display, generated once per rendered
    query (as dataclasses generates ``__init__``), a quarter faster per row than
    ``dict(zip(...))`` and a second pass to convert. Keys are the selected names (our own
    aliases and column names, written with repr); values are read by position."""
    namespace: dict[str, Any] = {}
    items = []
    for i, (name, conv) in enumerate(zip(names, converters, strict=True)):
        if conv is None:
            items.append(f"{name!r}: r[{i}]")
        else:
            namespace[f"c{i}"] = conv
            items.append(f"{name!r}: None if r[{i}] is None else c{i}(r[{i}])")
    return eval(f"lambda r: {{{', '.join(items)}}}", namespace)  # type: ignore[no-any-return]  # noqa: S307


class Prepared:
    def __init__(self, build: Callable[[_Placeholders], peewee.SelectQuery]):
        self._build = build
        self._compiled: dict[Any, tuple[str, list[Any], RowMaker]] = {}
        self._lock = threading.Lock()

    def _compile(self, sizes: dict[str, int]) -> tuple[str, list[Any], RowMaker]:
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
                converters.append(_converter(node))
            compiled = (sql, template, _row_maker(names, converters))
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def dicts(self, **values: Any) -> list[dict[str, Any]]:
        sizes = {k: len(v) for k, v in values.items() if isinstance(v, list | tuple | frozenset)}
        sql, template, row_maker = self._compile(sizes)
        seqs = {k: list(v) for k, v in values.items() if k in sizes}
        params = [
            (seqs[p[0]][p[1]] if p[1] is not None else values[p[0]]) if isinstance(p, tuple) else p
            for p in template
        ]
        return list(map(row_maker, execute(sql, params).fetchall()))

    def first(self, **values: Any) -> dict[str, Any] | None:
        rows = self.dicts(**values)
        return rows[0] if rows else None


def _hashable(value: Any) -> bool:
    return isinstance(value, int | str)


def seq(values: Sequence[Any] | frozenset[Any]) -> list[Any]:
    """A list placeholder value in a stable order."""
    return sorted(values)


# -- server-side prepared statements (PostgreSQL) ------------------------------------------

_PLACEHOLDER = re.compile(r"%[s%]")
# PostgreSQL's feature_not_supported: "cached plan must not change result type", when a
# migration changed a table under a prepared statement.
_PLAN_CHANGED = "0A000"


class _ServerStatement:
    """A rendered statement's ``PREPARE`` and ``EXECUTE`` texts."""

    __slots__ = ("execute", "generation", "name", "prepare")

    def __init__(self, sql: str, params: int, generation: int = 0):
        digest = hashlib.sha1(sql.encode()).hexdigest()[:24]  # noqa: S324 - a name, not a secret
        self.generation = generation
        self.name = f"scanserve_{digest}_{generation}"
        numbered = iter(range(1, params + 1))
        body = _PLACEHOLDER.sub(lambda m: f"${next(numbered)}" if m[0] == "%s" else "%", sql)
        self.prepare = f"PREPARE {self.name} AS {body}"
        arguments = f"({', '.join(['%s'] * params)})" if params else ""
        self.execute = f"EXECUTE {self.name}{arguments}"


_statements: dict[tuple[str, int], _ServerStatement] = {}  # by (SQL, parameter count)
_plain: set[tuple[str, int]] = set()  # the statements the server would not prepare
# The statements each open connection has prepared (connections are used by one thread at a
# time; the lock guards the map itself).
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_prepared_lock = threading.Lock()


def execute(sql: str, params: Sequence[Any], *, retry: bool = True, reconnect: bool = True) -> Any:
    """Run rendered SQL on the models' database and return its cursor: on PostgreSQL (with
    prepared statements on) as a prepared statement of the connection, else as it is."""
    db = database_proxy.obj
    if not getattr(db, PREPARES, False):
        return db.execute_sql(sql, params)
    key = (sql, len(params))
    if key in _plain:
        return db.execute_sql(sql, params)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = _ServerStatement(sql, len(params))
    try:
        return _execute_prepared(db, key, statement, sql, params, retry=retry)
    except (peewee.OperationalError, peewee.InterfaceError) as exc:
        # The connection died under it (a server restart): the statement is prepared on
        # the old connection only. A read outside a transaction runs once more, prepared
        # afresh on a new connection; anything else is the caller's to answer.
        if (
            db.in_transaction()
            or outage_of(exc) != DOWN
            or not sql.lstrip()[:6].upper().startswith("SELECT")
            or not reconnect
        ):
            raise
        return execute(sql, params, retry=retry, reconnect=False)


def _execute_prepared(
    db: peewee.Database,
    key: tuple[str, int],
    statement: _ServerStatement,
    sql: str,
    params: Sequence[Any],
    *,
    retry: bool,
) -> Any:
    connection = db.connection()
    with _prepared_lock:
        ready = _prepared.get(connection)
        if ready is None:
            ready = _prepared[connection] = set()
    if statement.name not in ready:
        if not _prepare(db, connection, statement):
            _plain.add(key)
            return db.execute_sql(sql, params)
        ready.add(statement.name)
    try:
        return db.execute_sql(statement.execute, params)
    except peewee.DatabaseError as exc:
        if _pgcode(exc) != _PLAN_CHANGED or not retry:
            raise
        # A migration changed a table under it: prepared afresh, on every connection, under
        # the next generation's name (DEALLOCATE would fail in a transaction this error has
        # aborted); the old one lives on unused until its connection closes. Outside a
        # transaction, run again at once; inside one, the transaction is lost either way.
        _statements[key] = _ServerStatement(sql, len(params), statement.generation + 1)
        if db.in_transaction():
            raise
    return execute(sql, params, retry=False)


def _prepare(db: peewee.Database, connection: Any, statement: _ServerStatement) -> bool:
    """``PREPARE`` the statement on the connection; False if the server refuses it. Inside a
    transaction it runs in a savepoint, so a refusal leaves the transaction usable."""
    inside = db.in_transaction()
    try:
        with db.atomic() if inside else contextlib.nullcontext():
            # the cursor's own execute: no parameters, so no %-formatting of the text
            connection.cursor().execute(statement.prepare)
    except Exception as exc:  # a statement the server cannot prepare: run it as it is
        if getattr(connection, "closed", False):
            # not a refusal: the connection is gone (a server restart), and the statement
            # is prepared again on the next one
            try:
                with peewee.__exception_wrapper__:  # type: ignore[attr-defined]
                    raise
            except peewee.PeeweeException as wrapped:
                setattr(wrapped, DROPPED, True)
                raise
        logger.debug("not prepared, run as plain SQL: %s (%s)", statement.prepare, exc)
        return False
    return True


def _pgcode(exc: BaseException) -> str | None:
    for candidate in (*exc.args[:1], exc.__cause__, exc.__context__):
        code = getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None
