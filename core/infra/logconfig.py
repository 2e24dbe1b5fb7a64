"""Logging: one format for scanserve, uvicorn and the queue, as text or as JSON lines.

Every line carries the time (UTC, ISO 8601), the level and the logger's name. ``text`` is
``2026-11-30T17:40:01.123Z INFO scanserve.queue: re-queued 2 stale captures``; ``json`` is one
object a line (``time``, ``level``, ``logger``, ``message``, and ``exc_info`` when there is a
traceback) for log shippers. ``scanserve serve`` and ``scanserve worker`` install it
(``--log-format`` or ``SCANSERVE_LOG_FORMAT``); uvicorn's own loggers are routed through it.

Secrets: every handler carries :class:`RedactSecrets`, the one place where log lines are
cleaned before they are written. It replaces anything shaped like an API key with its prefix,
and runs each function in :data:`REDACTORS` over the message, so another kind of secret (a
query-string credential in an access-log line, a bearer token) is added there, not at each
call site. Code of ours never passes a credential to a logger in the first place.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
from collections.abc import Callable
from typing import Any, Literal

LogFormat = Literal["text", "json"]

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
    def clean(match: re.Match[str]) -> str:
        if match.group(2).endswith("[redacted]"):
            return match.group(0)  # an API key, already cut to its kind (csb_[redacted])
        return match.group(1) + "[redacted]"

    return _QUERY_SECRET.sub(clean, text)


# Functions str -> str run over every message after the API-key pattern; append to add one.
REDACTORS: list[Callable[[str], str]] = [_query_secrets]


def redact(text: str) -> str:
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
        return True


def _utc_time(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def _huey_level(level: str) -> str:
    """The configured level, except that INFO is WARNING (see :func:`logging_config`)."""
    return "WARNING" if level.upper() == "INFO" else level


def logging_config(fmt: LogFormat = "text", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (also given to uvicorn as ``log_config``)."""
    formatter = (
        {"()": JsonFormatter} if fmt == "json" else {"()": TextFormatter, "format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
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
