"""Object ids as clients may send them: the 22-character shortuuid every response carries, or
the canonical UUID form of the same id (``8-4-4-4-12`` hex digits, any case), which names the
same object. :func:`to_short` turns either into the shortuuid the database stores;
:func:`accepting_uuid_ids` applies it to a handler's id arguments, once, for every operation.
"""

from __future__ import annotations

import functools
import inspect
import re
import uuid
from collections.abc import Callable
from typing import Any

import shortuuid

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

# Handler arguments (Connexion's pythonic names) and body fields that hold shortuuid ids.
# Proposal ids are UUIDs of their own (`proposal_id`) and are left alone.
ID_ARGUMENTS = frozenset({"id_", "session_id", "short_id", "photo_id"})
ID_BODY_FIELDS = frozenset(
    {
        "session_id",
        "session_short_id",  # the published pages' names for a capture's session_id
        "session_public_id",
        "capture_short_id",
        "organization_short_id",
    }
)
ID_LIST_BODY_FIELDS = frozenset({"photo_short_ids"})


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def to_short(value: Any) -> Any:
    """The shortuuid for a canonical UUID string; anything else is returned unchanged (and
    matches nothing if it is no id)."""
    if isinstance(value, str) and is_uuid(value):
        return str(shortuuid.encode(uuid.UUID(value)))
    return value


def to_uuid(short_id: str) -> str:
    """The canonical UUID form of a shortuuid."""
    return str(shortuuid.decode(short_id))


def _normalised_body(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    changed = dict(body)
    for name in ID_BODY_FIELDS & body.keys():
        changed[name] = to_short(body[name])
    for name in ID_LIST_BODY_FIELDS & body.keys():
        if isinstance(body[name], list):
            changed[name] = [to_short(item) for item in body[name]]
    return changed


def accepting_uuid_ids(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` with its id arguments and body id fields turned into shortuuids."""

    def normalise(kwargs: dict[str, Any]) -> None:
        for name in ID_ARGUMENTS & kwargs.keys():
            kwargs[name] = to_short(kwargs[name])
        if "body" in kwargs:
            kwargs["body"] = _normalised_body(kwargs["body"])

    # Connexion runs a coroutine function on the event loop and anything else in a thread:
    # the wrapper must be of the handler's kind.
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            normalise(kwargs)
            return await handler(*args, **kwargs)

        return async_wrapper

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        normalise(kwargs)
        return handler(*args, **kwargs)

    return wrapper
