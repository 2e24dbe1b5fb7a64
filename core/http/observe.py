"""The outermost middleware: the request id, the access line and the request metrics.

Every answer, errors and the fast path's included, carries ``X-Request-ID``: the one the
client sent when it is a valid id (:func:`scanserve.infra.logconfig.valid_request_id`:
at most 128 letters, digits and ``._:+=/-``), else a new one. While the request is handled
the id is in :data:`scanserve.infra.logconfig.REQUEST_ID`, so every log line of it names the
request, and a capture it queues carries it to the worker that processes it
(:mod:`scanserve.infra.queue`).

When the answer is complete it writes one access line (logger ``scanserve.access``, at INFO:
method, path template, operationId, status, duration, organisation, request id; as fields of
the JSON line) and records the request's metrics (:mod:`scanserve.infra.metrics`), both
labelled by the contract's operationId, never by the raw path: a path the contract does not
have is ``unknown``. It sits outside Connexion's last-resort error middleware, so a 500
made there is counted as sent; a request left unanswered because its client went away is
counted (and logged) as ``499``, as nginx does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.http.asgi_keys import PRINCIPAL_KEY, REQUEST_ID_KEY
from scanserve.http.routing import ROUTE_KEY, RouteTable
from scanserve.infra import tracing
from scanserve.infra.logconfig import REQUEST_ID, new_request_id, valid_request_id
from scanserve.infra.metrics import UNKNOWN_OPERATION, Recorder

access_logger = logging.getLogger("scanserve.access")

HEADER = b"x-request-id"
CLIENT_LEFT = 499


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name.lower() == HEADER:
            sent = value.decode("latin-1")
            return sent if valid_request_id(sent) else new_request_id()
    return new_request_id()


def _organisation(scope: Scope) -> str | None:
    principal = scope.get(PRINCIPAL_KEY)
    if principal is None or principal.default_org_id is None:
        return None
    return str(principal.default_org_id)


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, routes: RouteTable, metrics: Recorder) -> None:
        self.app = app
        self.routes = routes
        self.metrics = metrics if metrics.enabled else None
        self.traced = tracing.enabled()  # a span a request (scanserve.infra.tracing)
        self.base_path = routes.base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        encoded = request_id.encode("ascii")
        scope[REQUEST_ID_KEY] = encoded
        token = REQUEST_ID.set(request_id)
        # what is logged and counted when no answer was started: the client left before
        # one was due (nginx's 499), or an exception escaped every handler (500)
        status = CLIENT_LEFT

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                # from the end: where the gateway puts it (with the rate-limit headers)
                if not any(name.lower() == HEADER for name, _ in reversed(headers)):
                    message = {**message, "headers": [*headers, (HEADER, encoded)]}
            await send(message)

        span = None
        traced = tracing.span(scope["method"], request_id=request_id) if self.traced else None
        try:
            if traced is not None:
                span = traced.__enter__()
            await self.app(scope, receive, send_with_id)
        except Exception:  # not a cancellation: that is the client gone (499)
            if status == CLIENT_LEFT:
                status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            operation = self._done(scope, status, seconds, request_id)
            if traced is not None:
                if span is not None:  # named when the operation is known
                    span.update_name(operation)
                    span.set_attribute("http.request.method", scope["method"])
                    span.set_attribute("http.response.status_code", status)
                traced.__exit__(None, None, None)
            REQUEST_ID.reset(token)

    def _done(self, scope: Scope, status: int, seconds: float, request_id: str) -> str:
        """Count and log the answer; its operation."""
        found = scope.get(ROUTE_KEY)
        if found is None:  # refused before the gateway matched it (a head too large)
            found = self.routes.match(scope["method"], scope["path"])
        route = found.route
        operation = route.operation_id if route is not None else UNKNOWN_OPERATION
        if self.metrics is not None:
            self.metrics.request(operation, status, seconds)
        if not access_logger.isEnabledFor(logging.INFO):
            return operation
        # the template, not the path: ids stay out of the line's shape (the request id and
        # the organisation name the request); a path the contract lacks is given as sent
        path = self.base_path + route.template if route is not None else scope["path"]
        organisation = _organisation(scope)
        duration_ms = round(seconds * 1000, 2)
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": path,
            "operation": operation,
            "status": status,
            "duration_ms": duration_ms,
            "organisation": organisation,
            "request_id": request_id,
        }
        access_logger.info(
            "%s %s %s %d %.2fms org=%s rid=%s",
            scope["method"],
            path,
            operation,
            status,
            duration_ms,
            organisation or "-",
            request_id,
            extra={"fields": fields},
        )
        return operation
