r"""JSON Schema 2020-12 as the contract means it, for :mod:`scanserve.http.oas31`'s validators.

:data:`FORMAT_CHECKER` enforces ``shortuuid`` and a strict ``uri`` besides jsonschema's own
formats; :func:`ecma_regex` reads ``pattern`` and ``patternProperties`` as ECMA-262 regular
expressions (``\s``, ``\d`` and ``\w`` mean what they mean there, not what they mean to
Python's ``re``); :func:`schema_validator` builds (once per schema) a ``Draft202012Validator``
with both; :func:`schema_errors` turns its errors into sorted
:class:`~scanserve.errors.FieldError`\ s located at the field they are about.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from scanserve.errors import FieldError

__all__ = [
    "FORMAT_CHECKER",
    "SHORTUUID_ALPHABET",
    "ecma_regex",
    "json_pointer",
    "schema_errors",
    "schema_validator",
    "short_message",
    "sorted_unique",
]

# -- formats -------------------------------------------------------------------------------

SHORTUUID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
"""The alphabet of the ``shortuuid`` package; a ``shortuuid`` is 22 of these characters."""

_SHORTUUID = re.compile(f"[{SHORTUUID_ALPHABET}]{{22}}")
# RFC 3986 "URI": a scheme, then only characters a URI may hold, percent-escapes well formed
# and at most one fragment. jsonschema checks "uri" only when rfc3987 or rfc3986-validator is
# installed, which nothing here requires; this keeps the check the same on every machine.
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:(?:{_URI_CHAR}|[\[\]])*(?:#{_URI_CHAR}*)?")


def _is_shortuuid(instance: object) -> bool:
    return not isinstance(instance, str) or _SHORTUUID.fullmatch(instance) is not None


def _is_uri(instance: object) -> bool:
    return not isinstance(instance, str) or _URI.fullmatch(instance) is not None


FORMAT_CHECKER = FormatChecker(formats=())
"""jsonschema's 2020-12 formats (date-time via rfc3339-validator, which openapi-spec-validator
brings), plus ``shortuuid`` and ``uri``. A checker of our own: registering on jsonschema's
shared ones would change every other user of jsonschema in the process."""
FORMAT_CHECKER.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
FORMAT_CHECKER.checks("shortuuid")(_is_shortuuid)
FORMAT_CHECKER.checks("uri")(_is_uri)


# -- ECMA-262 patterns ------------------------------------------------------------------------

# JSON Schema's `pattern` is an ECMA-262 regular expression; Python's `re` reads the class
# escapes differently (its `\s` also takes \x1c-\x1f and \x85, not \ufeff; `\d` and `\w`
# take every Unicode digit and letter). These are ECMA-262's, spelled for `re`.
_ECMA_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_CLASS = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE}


@functools.lru_cache(maxsize=256)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    r"""``pattern`` compiled with ECMA-262 meanings of ``\d \D \w \W \s \S``.

    Outside a bracket class each becomes a class of its own; inside one, ``\d \w \s`` are
    spelled out, while a negated escape inside a class (``[^\S]``) keeps Python's reading,
    which no pattern of ours uses.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            members = _ECMA_CLASS.get(escape.lower())
            if members is not None and not in_class:
                out.append(f"[{members}]" if escape.islower() else f"[^{members}]")
            elif members is not None and escape.islower():
                out.append(members)
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _ecma_pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not ecma_regex(patrn).search(instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _ecma_pattern_properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in properties.items():
        for key, value in instance.items():
            if ecma_regex(patrn).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


_Draft202012ECMA = validators.extend(
    Draft202012Validator,
    {"pattern": _ecma_pattern, "patternProperties": _ecma_pattern_properties},
)


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Parameters are validated on every request: build each schema's validator once (by
    # identity; the entry keeps the schema alive, so its id is not reused while cached).
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) > 10_000:  # many apps built in one process (tests)
            _VALIDATORS.clear()
        entry = (schema, _Draft202012ECMA(schema, format_checker=FORMAT_CHECKER))
        _VALIDATORS[id(schema)] = entry
    return entry[1]


# -- errors --------------------------------------------------------------------------------

_MAX_MESSAGE = 300  # jsonschema quotes the instance; a large one must not flood the response


def short_message(message: str) -> str:
    # jsonschema quotes the instance, which may hold what no response can carry
    message = message.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    first_line = message.splitlines()[0] if message else message
    return first_line if len(first_line) <= _MAX_MESSAGE else first_line[: _MAX_MESSAGE - 1] + "…"


def json_pointer(parts: Iterable[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _locate(error: ValidationError) -> list[tuple[list[object], str]]:
    """The instance locations an error is about, with a message for each.

    jsonschema reports a missing property, a bad property name and ``additionalProperties:
    false`` at the enclosing object; clients want the field itself.
    """
    path, instance, keyword = list(error.absolute_path), error.instance, error.validator
    excluded = _excluded_by(error)
    if excluded is not None:  # `dependentSchemas: {a: {properties: {b: false}}}`: a excludes b
        sent, other = excluded
        message = f"{sent!r} and {other!r} may not be sent together"
        return [([*path[:-1], sent], message), ([*path[:-1], other], message)]
    if "propertyNames" in error.absolute_schema_path:
        return [([*path, instance], f"Invalid property name: {error.message}")]
    if keyword == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance and error.message == f"{name!r} is a required property":
                return [([*path, name], error.message)]
    if keyword == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [
            ([*path, name], f"Additional property {name!r} is not allowed")
            for name in instance
            if name not in known and not any(re.search(p, name) for p in patterns)
        ]
        if extras:
            return extras
    return [(path, error.message)]


def _excluded_by(error: ValidationError) -> tuple[str, str] | None:
    """``(a, b)`` for ``b`` sent beside ``a`` where the schema says ``dependentSchemas: {a:
    {not: {anyOf: [{required: [b]}, ...]}}}`` (fields that exclude each other, such as a field
    and its deprecated aliases); ``None`` for any other error."""
    schema_path = list(error.absolute_schema_path)
    if (
        error.validator == "not"
        and len(schema_path) >= 3
        and schema_path[-3] == "dependentSchemas"
        and isinstance(error.instance, dict)
    ):
        excluded = [
            name
            for branch in error.validator_value.get("anyOf", [error.validator_value])
            for name in branch.get("required", [])
            if name in error.instance
        ]
        if excluded:
            return str(schema_path[-2]), excluded[0]
    return None


def sorted_unique(errors: Iterable[FieldError]) -> list[FieldError]:
    # dict keeps first-seen order, and sorted() is stable: a field's errors stay in schema order
    return sorted(dict.fromkeys(errors), key=lambda e: e.pointer)


def schema_errors(validator: Draft202012Validator, instance: Any) -> list[FieldError]:
    return sorted_unique(
        FieldError(json_pointer(parts), short_message(message))
        for error in validator.iter_errors(instance)
        for parts, message in _locate(error)
    )
