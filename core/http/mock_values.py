"""Values made from a JSON Schema, for the mock server's ``--dynamic`` answers
(:mod:`scanserve.http.mock`).

:func:`value_for` walks the contract's own subset of JSON Schema 2020-12 (``$ref`` inside the
document, ``allOf``, ``anyOf``/``oneOf``, ``const``, ``enum``, ``type`` lists, objects with
``required``, ``additionalProperties``, ``propertyNames`` and ``maxProperties``, arrays with
``minItems``/``maxItems``/``uniqueItems``, numbers with their bounds, strings with lengths, a
``pattern`` or a ``format``) and draws from the ``random.Random`` it is given, so a seed gives
the same values every time. Formats are written as the contract means them: ``shortuuid``
from the shortuuid alphabet, ``uuid``, ``date-time`` (UTC, to the second), ``date``, ``uri``
and ``uri-reference``. A ``pattern`` is sampled from the regular expression itself (parsed by
Python's own parser, which reads the patterns the contract uses as ECMA-262 does), within
the schema's length bounds when the pattern allows them.

Every property a schema declares is filled in, required or not (a client sees each field it
may meet), unless the schema caps the count. What this module cannot satisfy (``not``,
``if``/``then``, a pattern with look-arounds) raises :class:`Unsatisfiable`; the contract
has none in its responses, and the mock's tests generate every response to show it.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

# Python's regular-expression parser: its tree is what a pattern is sampled from.
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

SHORTUUID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Timestamps fall in the year after this instant, so answers look current and stay stable.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_WORDS = ("oat", "drink", "shelf", "aisle", "label", "front", "batch", "fresh", "scan", "store")
_UNBOUNDED_REPEAT = 3  # how many times ``*`` or ``+`` repeats at most in a sampled pattern
_MAX_DEPTH = 12

Resolve = Callable[[str], Mapping[str, Any]]


class Unsatisfiable(ValueError):
    """A schema this generator cannot make a value for."""


def value_for(schema: Mapping[str, Any] | bool, rng: random.Random, resolve: Resolve) -> Any:
    """A value valid against ``schema``; ``resolve`` turns a ``$ref`` into its schema."""
    return _Generator(rng, resolve).make(schema, 0)


class _Generator:
    def __init__(self, rng: random.Random, resolve: Resolve):
        self.rng = rng
        self.resolve = resolve

    def make(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if schema is True:
            return self.rng.choice(_WORDS)
        if schema is False or depth > _MAX_DEPTH:
            raise Unsatisfiable("no value is valid against this schema")
        schema = self._flatten(schema)
        for unsupported in ("not", "if", "dependentSchemas", "contains"):
            if unsupported in schema:
                raise Unsatisfiable(f"'{unsupported}' is not supported")
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        choices = schema.get("anyOf") or schema.get("oneOf")
        if choices:
            # a non-null branch when there is one: a client should see the value's shape
            branches = [c for c in choices if self._flatten(c).get("type") != "null"] or choices
            merged = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return self.make({**merged, **self._flatten(self.rng.choice(branches))}, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = self.rng.choice(non_null) if non_null else "null"
        if kind is None:
            kind = self._implied_type(schema)
        makers: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
            "null": self._null,
            "boolean": self._boolean,
            "integer": self._integer,
            "number": self._number,
            "string": self._string,
            "array": self._array,
            "object": self._object,
        }
        maker = makers.get(kind)
        if maker is None:
            raise Unsatisfiable(f"unknown type {kind!r}")
        return maker(schema, depth)

    def _flatten(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """``$ref`` followed and ``allOf`` merged into one schema (the contract's ``allOf``
        only extends objects)."""
        flat: dict[str, Any] = {}
        ref = schema.get("$ref")
        if ref is not None:
            flat.update(self._flatten(self.resolve(ref)))
        for each in schema.get("allOf", ()):
            part = self._flatten(each)
            flat["properties"] = {**flat.get("properties", {}), **part.get("properties", {})}
            flat["required"] = [*flat.get("required", []), *part.get("required", [])]
            flat.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        for key, value in schema.items():
            if key in ("$ref", "allOf"):
                continue
            if key == "properties":
                flat["properties"] = {**flat.get("properties", {}), **value}
            elif key == "required":
                flat["required"] = [*flat.get("required", []), *value]
            else:
                flat[key] = value
        return flat

    @staticmethod
    def _implied_type(schema: Mapping[str, Any]) -> str:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        if "pattern" in schema or "format" in schema or "minLength" in schema:
            return "string"
        return "string"

    def _null(self, _schema: Mapping[str, Any], _depth: int) -> None:
        return None

    def _boolean(self, _schema: Mapping[str, Any], _depth: int) -> bool:
        return self.rng.random() < 0.5

    def _integer(self, schema: Mapping[str, Any], _depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        return self.rng.randint(int(low), int(high))

    def _number(self, schema: Mapping[str, Any], _depth: int) -> float:
        low, high = _bounds(schema, integer=False)
        return round(self.rng.uniform(low, high), 2)

    def _string(self, schema: Mapping[str, Any], _depth: int) -> str:
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt](self.rng)
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 24)))
        pattern = schema.get("pattern")
        if pattern is not None:
            for _ in range(20):  # a pattern's lengths and the schema's may only overlap
                text = _Pattern(self.rng).sample(pattern)
                if low <= len(text) <= high:
                    return text
            raise Unsatisfiable(f"no sample of {pattern!r} has a length in [{low}, {high}]")
        length = self.rng.randint(low, min(high, max(low, 12)))
        words: list[str] = []
        while len(" ".join(words)) < length:
            words.append(self.rng.choice(_WORDS))
        text = " ".join(words)[:length]
        return text if not text.endswith(" ") else text[:-1] + "s"

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 2))
        count = self.rng.randint(low, max(low, min(high, low + 2)))
        items = schema.get("items", True)
        made: list[Any] = []
        for _ in range(count * 10 if schema.get("uniqueItems") else count):
            if len(made) == count:
                break
            item = self.make(items, depth + 1)
            if not schema.get("uniqueItems") or item not in made:
                made.append(item)
        if len(made) < low:
            raise Unsatisfiable("too few distinct items")
        return made

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = list(dict.fromkeys(schema.get("required", [])))
        cap = int(schema.get("maxProperties", len(properties) + 2))
        names = required + [n for n in properties if n not in required]
        if len(required) > cap:
            raise Unsatisfiable("more required properties than maxProperties")
        made = {name: self.make(properties.get(name, True), depth + 1) for name in names[:cap]}
        extra = schema.get("additionalProperties", True)
        if not properties and extra is not False and len(made) < cap:
            # a free-form map (metadata, checks, upload fields): a couple of entries
            name_schema = self._flatten(schema.get("propertyNames", {}))
            for _ in range(min(2, cap - len(made))):
                name = self._string({"maxLength": 16, **name_schema, "minLength": 1}, depth)
                made[name] = self.make(extra, depth + 1)
        return made


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    step = 1 if integer else 0.01
    low = schema.get("minimum", 0)
    high = schema.get("maximum", max(low, 0) + 100)
    if "exclusiveMinimum" in schema:
        low = max(low, schema["exclusiveMinimum"] + step)
    if "exclusiveMaximum" in schema:
        high = min(high, schema["exclusiveMaximum"] - step)
    if low > high:
        raise Unsatisfiable(f"no number in [{low}, {high}]")
    return low, high


def _shortuuid(rng: random.Random) -> str:
    return "".join(rng.choice(SHORTUUID_ALPHABET) for _ in range(22))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _date_time(rng: random.Random) -> str:
    moment = _EPOCH + timedelta(seconds=rng.randrange(365 * 86_400))
    return moment.isoformat().replace("+00:00", "Z")


def _date(rng: random.Random) -> str:
    return (_EPOCH + timedelta(days=rng.randrange(365))).date().isoformat()


def _uri(rng: random.Random) -> str:
    return f"https://example.com/{rng.choice(_WORDS)}/{rng.randrange(1000)}"


def _uri_reference(rng: random.Random) -> str:
    return f"docs/{rng.choice(_WORDS)}.md"


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "shortuuid": _shortuuid,
    "uuid": _uuid,
    "date-time": _date_time,
    "date": _date,
    "uri": _uri,
    "uri-reference": _uri_reference,
    "email": lambda rng: f"{rng.choice(_WORDS)}@example.com",
}


class _Pattern:
    """A string matching a regular expression, sampled from its parsed tree. Anchors are
    taken as given (JSON Schema patterns are unanchored, the contract's are anchored)."""

    _PRINTABLE = string.ascii_letters + string.digits + "-._~/"

    def __init__(self, rng: random.Random):
        self.rng = rng

    def sample(self, pattern: str) -> str:
        return self._sequence(sre_parse.parse(pattern))

    def _sequence(self, items: Any) -> str:
        return "".join(self._item(op, arg) for op, arg in items)

    def _item(self, op: Any, arg: Any) -> str:  # noqa: PLR0911 - one branch per node type
        c = sre_constants
        if op is c.LITERAL:
            return chr(arg)
        if op is c.ANY:
            return self.rng.choice(self._PRINTABLE)
        if op is c.IN:
            return self._in(arg)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, body = arg
            high = low + _UNBOUNDED_REPEAT if high is c.MAXREPEAT else high
            return "".join(self._sequence(body) for _ in range(self.rng.randint(low, high)))
        if op is c.SUBPATTERN:
            return self._sequence(arg[-1])
        if op is c.BRANCH:
            return self._sequence(self.rng.choice(arg[1]))
        if op is c.AT:
            return ""
        raise Unsatisfiable(f"cannot sample a pattern with {op}")

    def _in(self, members: Any) -> str:
        c = sre_constants
        if members and members[0][0] is c.NEGATE:
            # a negated class: the printable characters it lets through
            negated = re.compile("[" + "".join(_class_text(op, arg) for op, arg in members) + "]")
            return self.rng.choice([ch for ch in self._PRINTABLE if negated.fullmatch(ch)])
        pool: list[str] = []
        for op, arg in members:
            if op is c.LITERAL:
                pool.append(chr(arg))
            elif op is c.RANGE:
                pool.extend(chr(code) for code in range(arg[0], arg[1] + 1))
            elif op is c.CATEGORY:
                pool.extend(_CATEGORIES.get(arg, ""))
            else:
                raise Unsatisfiable(f"cannot sample a character class with {op}")
        return self.rng.choice(pool)


def _class_text(op: Any, arg: Any) -> str:
    c = sre_constants
    if op is c.NEGATE:
        return "^"
    if op is c.LITERAL:
        return re.escape(chr(arg))
    if op is c.RANGE:
        return f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}"
    if op is c.CATEGORY:
        return {c.CATEGORY_DIGIT: r"\d", c.CATEGORY_SPACE: r"\s", c.CATEGORY_WORD: r"\w"}.get(
            arg, ""
        )
    raise Unsatisfiable(f"cannot sample a character class with {op}")


_CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_SPACE: " ",
}
