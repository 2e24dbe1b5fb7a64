"""JSON encoding of responses with orjson: Connexion's :class:`~connexion.jsonifier.Jsonifier`
interface, several times faster than the json module it wraps by default. Datetimes are
written as RFC 3339 with ``Z`` for UTC (as pydantic wrote them before)."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

# first: Connexion without its test client (see there)
from scanserve.infra import connexion_import  # noqa: F401

# isort: split

import orjson
from connexion.jsonifier import Jsonifier

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return _default(value)


def dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=_default, option=_OPTIONS)
    except TypeError:
        # what orjson refuses (integers past 64 bits, echoed from a request) json writes
        return json.dumps(data, default=_json_default, separators=(",", ":")).encode()


class OrjsonJsonifier(Jsonifier):
    def __init__(self) -> None:
        super().__init__()

    def dumps(self, data: Any, **_kwargs: Any) -> str:
        return dumps(data).decode()

    def loads(self, data: Any) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            if isinstance(data, str):
                return data
            if isinstance(data, bytes):
                return data.decode()
            raise
