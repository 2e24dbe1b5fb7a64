"""Logging: one format for scanserve, uvicorn and the queue, as text or as JSON lines.

Every line carries the time (UTC, ISO 8601), the level and the logger's name. ``text`` is
``2026-11-30T17:40:01.123Z INFO scanserve.queue: re-queued 2 stale captures``; ``json`` is one
object a line (``time``, ``level``, ``logger``, ``message``, ``request_id`` while a request or
the capture it queued is handled, the record's ``fields`` (an access line's method, path,
operation, status, ...), and ``exc_info`` with the traceback as one string) for log shippers.
``scanserve serve`` and ``scanserve worker`` install it (``--log-format`` or
``SCANSERVE_LOG_FORMAT``); uvicorn's own loggers are routed through it, and so are Python's
warnings (``logging.captureWarnings``), so that with ``json`` every line is JSON.

Request ids: :data:`REQUEST_ID` holds the id of the request (or of the queued capture) the
current thread or task works for; :func:`valid_request_id` says which ``X-Request-ID`` values
are taken as sent, :func:`new_request_id` makes one otherwise.

Secrets: every handler carries :class:`RedactSecrets`, the one place where log lines are
cleaned before they are written. It replaces anything shaped like an API key with its prefix,
and runs each function in :data:`REDACTORS` over the message, so another kind of secret (a
query-string credential in an access-log line, a bearer token) is added there, not at each
call site. Code of ours never passes a credential to a logger in the first place.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]

# The request (or the queued work of a request) this thread or task works for.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "scanserve_request_id", default=None
)
MAX_REQUEST_ID = 128
# Letters, digits and the punctuation of UUIDs, ULIDs and most tracing ids; nothing that
# could break a log line or a header.
_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:+=/-]{{1,{MAX_REQUEST_ID}}}")


def valid_request_id(value: str) -> bool:
    return _REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    return os.urandom(16).hex()


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_API_KEY = re.compile(r"\b(csb|csu|cpk)_[A-Za-z0-9]{32}_[0-9a-f]{8}\b")

# The value of a query parameter named like a credential (``?api_key=``, ``&access_token=``):
# clients put keys in URLs although the API refuses them there, and the access log writes
# every request's URL.
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:[^=&;#\s]*?[_-])?"
    r"(?:api[_-]?key|key|token|access[_-]?token|secret|password|passwd|sessionid|auth|"
    r"authorization|signature|sig|code)=)([^&;#\s\"]*)"
)


def _query_secrets(text: str) -> str:
    if "=" not in text or not ("?" in text or "&" in text or ";" in text):
        return text  # no query parameter in it: the common case, without the regex

    def clean(match: re.Match[str]) -> str:
        if match.group(2).endswith("[redacted]"):
            return match.group(0)  # an API key, already cut to its kind (csb_[redacted])
        return match.group(1) + "[redacted]"

    return _QUERY_SECRET.sub(clean, text)


# Functions str -> str run over every message after the API-key pattern; append to add one.
REDACTORS: list[Callable[[str], str]] = [_query_secrets]


def redact(text: str) -> str:
    if "csb_" in text or "csu_" in text or "cpk_" in text:  # else the pattern cannot match
        text = _API_KEY.sub(r"\1_[redacted]", text)
    for redactor in REDACTORS:
        text = redactor(text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with :func:`redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        return True


def _utc_time(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a record's ``fields`` (``extra={"fields": {...}}``) become
    members of it (never replacing ``time``, ``level``, ``logger`` or ``message``)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if fields:
            for key, value in fields.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode()


def json_line(name: str, message: str, **fields: Any) -> str:
    """An INFO line as :class:`JsonFormatter` writes it, for what a command prints on
    stdout (``serve``'s banner) when the log format is ``json``."""
    record = logging.LogRecord(name, logging.INFO, __file__, 0, message, None, None)
    record.fields = fields
    return JsonFormatter().format(record)


def stream_handler(stream: Any = None) -> logging.Handler:
    """The handler of every logger (stderr), built by ``dictConfig``, also in each process
    of ``serve --workers`` (uvicorn configures them from the same dictionary). It routes
    Python's warnings into the log, so that they take its format too."""
    logging.captureWarnings(True)
    return logging.StreamHandler(stream or sys.stderr)


def _huey_level(level: str) -> str:
    """The configured level, except that INFO is WARNING (see :func:`logging_config`)."""
    return "WARNING" if level.upper() == "INFO" else level


def logging_config(fmt: LogFormat = "text", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (also given to uvicorn as ``log_config``)."""
    formatter = (
        {"()": JsonFormatter} if fmt == "json" else {"()": TextFormatter, "format": TEXT_FORMAT}
    )
    handler = {
        "()": stream_handler,
        "formatter": "scanserve",
        "filters": ["redact"],
    }
    routed = {"handlers": ["default"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": {"scanserve": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": routed,
            "uvicorn.error": {"level": level},
            "uvicorn.access": routed,
            # one line per table at INFO; scanserve.migrate already names each migration
            "peewee_migrate": {"level": "WARNING"},
            # Huey logs two lines per task at INFO ("Executing <task id>", "... executed in"),
            # which name no capture: at hundreds of captures a second they cost the worker
            # more than they tell (DEBUG shows them). Failures are WARNING and ERROR; the
            # consumer's own lines (start, stop, periodic tasks) stay at the configured level.
            "huey": {"level": _huey_level(level)},
            "huey.consumer": {"level": level},
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure_logging(fmt: LogFormat = "text", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
