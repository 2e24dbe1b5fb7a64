"""SQL rendered once, run many times: the one render-once mechanism of the storage layer.

Building a query with peewee costs far more than running it on SQLite (about 0.8 ms to
render a one-row lookup that SQLite answers in 20 us; an UPDATE or INSERT several times what
SQLite takes to run it), and hydrating model objects costs more again. The hot paths
(session detail and status, capture reads and ingestion, freshness, the pipeline's writes,
idempotency records) therefore describe each query once with peewee, as usual, with
*placeholders* where the run's values go. :class:`Prepared` renders it once per database
engine (and, for a read, per list length), then binds each run's values into the rendered
parameters:

    LOOKUP = Prepared(lambda ph: Model.select(Model.a.alias("x")).where(Model.id == ph("id")))
    LOOKUP.dicts(id=3)  # -> [{"x": ...}]

    MOVE = Prepared(lambda ph: Model.update(status=ph("status", Model.status))
                    .where(Model.id == ph("id")))
    MOVE.run(status="DONE", id=3)  # -> rows changed

A placeholder (``ph(name)``) is a parameter of the rendered SQL that is bound, on each run,
to the value named after it, as it is, or converted by ``field.db_value`` when a field is
given (``ph("now", Model.created)``: JSON, datetimes). In a read, a value that is a list,
tuple or frozenset stands for as many parameters (``in_``): ``ph("orgs")`` then renders one
per item, and each length is its own rendering (:func:`seq` gives a set a stable order).

A read (:meth:`Prepared.dicts`, :meth:`Prepared.first`) turns each row into a dict keyed by
the selected names (an ``alias`` or the column name), converted as the columns' own
``python_value`` would where it matters (JSON, datetimes, booleans): the common conversions
by a direct function (see :func:`_converter`), never for NULL. A write answers the rows it
changed (:meth:`Prepared.run`) or, made with ``returns_id``, the new row's primary key
(:meth:`Prepared.insert`).

On PostgreSQL, rendering once on our side is half of it: the server plans each statement it
is sent, and for the hot reads' joins planning takes several times what running them does
(0.35 ms to plan a capture's lookup, 0.04 ms to run it). :func:`execute` (which every
:class:`Prepared` runs its SQL with) therefore makes each rendered statement a server-side
prepared statement, once per connection (``PREPARE``), and runs it with ``EXECUTE``: planned
once per connection instead of once per request. A statement the server will not prepare
runs as plain SQL from then on; so does everything with
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

from scanserve.storage.database import DOWN, DROPPED, PREPARES, database_proxy, outage_of
from scanserve.storage.fields import JSONField, UTCDateTimeField

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


class _Slot:
    """Where a placeholder's value goes among the rendered parameters: the value named
    ``name`` (its item ``index`` for a list), converted by ``convert`` when there is one."""

    __slots__ = ("convert", "index", "name")

    def __init__(self, name: str, index: int | None, convert: Converter | None):
        self.name = name
        self.index = index
        self.convert = convert


class _Placeholders:
    """The ``ph`` a query is built with: ``ph(name, field=None)``, a parameter bound per
    run (as many as the value has items, for a list in ``sizes``)."""

    def __init__(self, sizes: dict[str, int]):
        self.sizes = sizes

    def __call__(self, name: str, field: peewee.Field | None = None) -> Any:
        convert = field.db_value if field is not None else None
        if name in self.sizes:
            return [_value(_Slot(name, i, convert)) for i in range(self.sizes[name])]
        return _value(_Slot(name, None, convert))


def _value(slot: _Slot) -> Any:
    # converter=False: peewee passes the slot through as a parameter, unconverted
    return peewee.Value(slot, False)


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


Binder = Callable[[dict[str, Any]], list[Any]]


def _binder(template: list[Any]) -> Binder:
    """A function from a run's values to the rendered parameters, generated once per
    rendering as the row maker is: each :class:`_Slot` reads its value by name (and item),
    converted where it has a converter; anything else is a constant of the query."""
    namespace: dict[str, Any] = {}
    items = []
    for i, p in enumerate(template):
        if p.__class__ is _Slot:
            value = f"v[{p.name!r}]" if p.index is None else f"v[{p.name!r}][{p.index}]"
            if p.convert is not None:
                namespace[f"c{i}"] = p.convert
                value = f"c{i}({value})"
            items.append(value)
        else:
            namespace[f"k{i}"] = p
            items.append(f"k{i}")
    return eval(f"lambda v: [{', '.join(items)}]", namespace)  # type: ignore[no-any-return]  # noqa: S307


class _Rendered:
    """One rendering: its SQL, the binder of its parameters, the row maker of a read, and
    whether an INSERT answers its new id by ``RETURNING``."""

    __slots__ = ("bind", "returning", "row_maker", "sql")

    def __init__(self, sql: str, template: list[Any], row_maker: RowMaker | None, returning: bool):
        self.sql = sql
        self.bind = _binder(template)
        self.row_maker = row_maker
        self.returning = returning


_LISTS = list | tuple | frozenset


class Prepared:
    """A query built once by ``build(ph)`` and rendered once per engine (and list length).

    ``returns_id``: an INSERT whose :meth:`insert` answers the new row's primary key (by
    ``RETURNING`` where the database has it, else the cursor's ``lastrowid``). A column left
    out of an INSERT gets its field's default when the statement is rendered, once: give a
    placeholder to every column whose default is computed (a time, a fresh id)."""

    def __init__(
        self, build: Callable[[_Placeholders], peewee.Query], *, returns_id: bool = False
    ):
        self._build = build
        self._returns_id = returns_id
        self._compiled: dict[Any, _Rendered] = {}
        self._lock = threading.Lock()

    def _compile(self, sizes: dict[str, int]) -> _Rendered:
        db = database_proxy.obj
        key = (type(db), tuple(sorted(sizes.items()))) if sizes else type(db)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._render(db, sizes)
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def _render(self, db: peewee.Database, sizes: dict[str, int]) -> _Rendered:
        query = self._build(_Placeholders(sizes))
        returning, row_maker = False, None
        if isinstance(query, peewee.ModelInsert):
            returning = self._returns_id and bool(db.returning_clause)
            # RETURNING the id only when asked: other callers know what they wrote
            primary_key = query.model._meta.primary_key
            query = query.returning(primary_key) if returning else query.returning()
        elif isinstance(query, peewee.SelectBase):
            names, converters = [], []
            for column in query._returning:  # type: ignore[attr-defined]
                node = column.unwrap() if isinstance(column, peewee.Alias) else column
                # an Alias node, or a subquery's own alias, or the column's name
                names.append(getattr(column, "_alias", None) or node.column_name)
                converters.append(_converter(node))
            row_maker = _row_maker(names, converters)
        sql, template = query.sql()
        return _Rendered(sql, template, row_maker, returning)

    def dicts(self, **values: Any) -> list[dict[str, Any]]:
        """Run a read with ``values`` for the placeholders; its rows as dicts."""
        sizes = {k: len(v) for k, v in values.items() if isinstance(v, _LISTS)}
        for k in sizes:
            if isinstance(values[k], frozenset):
                values[k] = list(values[k])
        rendered = self._compile(sizes)
        row_maker = rendered.row_maker
        if row_maker is None:
            raise TypeError("dicts() needs a read (a SELECT)")
        return list(map(row_maker, execute(rendered.sql, rendered.bind(values)).fetchall()))

    def first(self, **values: Any) -> dict[str, Any] | None:
        """The read's first row, or None."""
        rows = self.dicts(**values)
        return rows[0] if rows else None

    def run(self, **values: Any) -> int:
        """Run a write with ``values`` for the placeholders; how many rows it changed."""
        rendered = self._compile({})
        return int(execute(rendered.sql, rendered.bind(values)).rowcount)

    def insert(self, **values: Any) -> int:
        """Run an INSERT made with ``returns_id``; the new row's primary key."""
        if not self._returns_id:
            raise TypeError("insert() needs a Prepared made with returns_id=True")
        rendered = self._compile({})
        cursor = execute(rendered.sql, rendered.bind(values))
        return int(cursor.fetchone()[0] if rendered.returning else cursor.lastrowid)


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
