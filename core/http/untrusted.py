"""Request text we accept: only what can be stored on every database and served back.

A request can be valid JSON and still hold values no response could carry or no database
could store; each would be stored once and break every later read of it. So, for every JSON
body, form body and parameter, before any handler runs:

- duplicate object keys are refused (``400``): which one a parser keeps is not defined, and
  two readers of the same body must not disagree about it;
- nesting deeper than ``max_json_depth`` is refused (``400``) before it can exhaust the stack;
- a string (key or value) holding a lone UTF-16 surrogate (``"\\ud800"``: not Unicode text,
  unencodable as UTF-8) or a NUL character (U+0000, which PostgreSQL's text cannot hold) is
  refused (``422``, pointing at it);
- a number too large for a double (``1e999``, read as infinity) is refused (``422``), as the
  ``NaN``/``Infinity`` literals already are (``400``).

Free-form objects (a session's ``device_context``, a capture's ``gs1_dl_data``) are bounded
by :func:`check_free_form`: at most ``free_form_max_depth`` levels of nesting and
``free_form_max_items`` object members and array items in all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from scanserve.errors import BadRequest, FieldError, ValidationFailed
from scanserve.settings import Settings

MAX_JSON_DEPTH = 32
"""The default of ``Settings.max_json_depth``."""

_NUL = "must not contain NUL characters (U+0000)"
_SURROGATE = "must be valid Unicode text (it holds a lone UTF-16 surrogate)"
_NOT_FINITE = "must be a finite number (this one is too large for a double)"


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = key if len(key) <= 40 else key[:39] + "…"
                raise ValueError(f"the key {shown!r} appears twice in one object")
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")  # Python's json accepts NaN and Infinity


def loads(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a request body; :class:`BadRequest` for anything that is not one JSON value we
    take (see the module docstring)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest(
            f"The request body is nested more than {max_depth} levels deep."
        ) from None
    except ValueError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    if depth(value, max_depth) > max_depth:
        raise BadRequest(f"The request body is nested more than {max_depth} levels deep.")
    return value


def depth(value: Any, stop_above: int) -> int:
    """How deeply ``value`` nests (a scalar 0, ``[]`` 1, ``[[1]]`` 2); counting stops past
    ``stop_above``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > stop_above:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored and served back, or None."""
    if "\x00" in text:
        return _NUL
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE
    return None


def problems(value: Any, at: tuple[object, ...] = ()) -> list[FieldError]:
    """Every string and number in ``value`` (a parsed body, keys included) that cannot be
    stored and served back, as field errors pointing at it."""
    found: list[FieldError] = []
    stack: list[tuple[Any, tuple[object, ...]]] = [(value, at)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            problem = string_problem(node)
            if problem:
                found.append(FieldError(_pointer(path), problem))
        elif isinstance(node, float):
            if not math.isfinite(node):
                found.append(FieldError(_pointer(path), _NOT_FINITE))
        elif isinstance(node, dict):
            for key, child in node.items():
                problem = string_problem(key) if isinstance(key, str) else None
                if problem:
                    # pointing at the object: the key itself cannot be echoed back safely
                    found.append(FieldError(_pointer(path), f"every key {problem}"))
                    continue
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(node))
    return found


def check_free_forms(body: dict[str, Any], names: Iterable[str], settings: Settings) -> None:
    """:func:`check_free_form` on each of ``body``'s members ``names`` with the settings'
    limits."""
    for name in names:
        check_free_form(
            body.get(name),
            _pointer([name]),
            max_depth=settings.free_form_max_depth,
            max_items=settings.free_form_max_items,
        )


def check_free_form(value: Any, pointer: str, *, max_depth: int, max_items: int) -> None:
    """Refuse (``422`` at ``pointer``) a free-form object nested deeper than ``max_depth``
    levels below itself or holding more than ``max_items`` members and items in all."""
    if not isinstance(value, (dict, list)):
        return
    items = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        children = list(node.values()) if isinstance(node, dict) else node
        items += len(children)
        if items > max_items:
            raise ValidationFailed(
                [FieldError(pointer, f"may hold at most {max_items} members and items in all")]
            )
        for child in children:
            if isinstance(child, (dict, list)):
                if level + 1 > max_depth:
                    raise ValidationFailed(
                        [FieldError(pointer, f"may nest at most {max_depth} levels deep")]
                    )
                stack.append((child, level + 1))
