"""OpenTelemetry tracing, optional: ``pip install 'scanserve[otel]'`` and
``SCANSERVE_TRACING=true``.

scanserve uses the OpenTelemetry API only; where the spans go is the operator's choice, made
the standard way (an SDK ``TracerProvider`` with its exporter, e.g. ``opentelemetry-instrument
scanserve serve`` with ``OTEL_TRACES_EXPORTER=otlp``). Spans: one per request (named after
its operationId, :mod:`scanserve.http.observe`), one per capture a worker processes (its
parent the request that queued it: the context rides in the task's message, as W3C trace
context, :mod:`scanserve.infra.queue`), and one per call to a plugin's provider (lookup,
enrichment, QR resolver, extractor), inside the capture's or the extraction's.

Off (the default, or without the API installed) every function here does nothing and costs a
call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_state: dict[str, Any] = {"tracer": None}


def enable(provider: Any = None) -> bool:
    """Trace from now on, with ``provider`` (tests) or the global one. False when the
    OpenTelemetry API is not installed."""
    if provider is None and _state["tracer"] is not None:
        return True  # already on (a test's provider stays)
    try:
        from opentelemetry import trace  # noqa: PLC0415 - optional: scanserve[otel]
    except ImportError:
        return False
    tracer_provider = provider or trace.get_tracer_provider()
    _state["tracer"] = tracer_provider.get_tracer("scanserve")
    return True


def disable() -> None:
    _state["tracer"] = None


def enabled() -> bool:
    return _state["tracer"] is not None


@contextlib.contextmanager
def span(name: str, parent: Any = None, **attributes: Any) -> Iterator[Any]:
    """A span around the block (None when tracing is off); ``parent``: a context from
    :func:`extract`, else the current one."""
    tracer = _state["tracer"]
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name, context=parent, attributes={k: v for k, v in attributes.items() if v is not None}
    ) as current:
        yield current


def carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (``traceparent``), for a task's message;
    None when tracing is off."""
    if _state["tracer"] is None:
        return None
    from opentelemetry import propagate  # noqa: PLC0415 - optional: scanserve[otel]

    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers or None


def extract(headers: dict[str, str] | None) -> Any:
    """The context a :func:`carrier` holds (None: none, or tracing off)."""
    if not headers or _state["tracer"] is None:
        return None
    from opentelemetry import propagate  # noqa: PLC0415 - optional: scanserve[otel]

    return propagate.extract(headers)
