"""The sandbox's test-control endpoints, under ``/_sandbox/``, outside the contract's base
path. Only ``scanserve sandbox`` adds this middleware (``create_app(..., sandbox=)``): in any
other app the paths do not exist and answer the ordinary ``404``.

``GET /_sandbox``              the seed, the clock, the credentials, the outcomes queued
``POST /_sandbox/reset``       back to the seeded start (the same ids again)
``POST /_sandbox/clock``       ``{"advance_seconds": 90}`` or ``{"to": "2026-01-02T00:00:00Z"}``
``POST /_sandbox/outcomes``    ``{"kind": "lookup", "outcome": "not_found", "times": 1}``
``DELETE /_sandbox/outcomes``  forget the outcomes queued

JSON in, JSON out; bad input is a problem document (``400``/``422``), as on the API.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from scanserve import errors
from scanserve.domain.sandbox import KINDS, OUTCOMES, Sandbox
from scanserve.domain.services import Services
from scanserve.http.problems import send_problem
from scanserve.http.untrusted import loads
from scanserve.infra.encoding import dumps

PREFIX = "/_sandbox"
MAX_BODY = 4096
# The clock goes no further: the server adds windows, lifetimes and retention periods to
# its time, and a clock near the end of ``datetime`` (9999) would make every later answer
# overflow, the problem documents included, until a reset.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class SandboxControl:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sandbox: Sandbox,
        services: Services,
        on_reset: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.sandbox = sandbox
        self.services = services
        self.on_reset = on_reset
        self.routes: dict[tuple[str, str], Callable[[Any], Awaitable[dict[str, Any]]]] = {
            ("GET", ""): self._state,
            ("POST", "/reset"): self._reset,
            ("POST", "/clock"): self._clock,
            ("POST", "/outcomes"): self._force,
            ("DELETE", "/outcomes"): self._forget,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        tail = path[len(PREFIX) :].rstrip("/")
        type_base = self.services.settings.problem_type_base
        handler = self.routes.get((scope["method"], tail))
        if handler is None:
            methods = sorted(m for m, t in self.routes if t == tail)
            error: errors.ScanserveError = (
                errors.MethodNotAllowed(headers={"Allow": ", ".join(methods)})
                if methods
                else errors.NotFound("No such sandbox control path.")
            )
            await send_problem(send, error, {}, type_base=type_base)
            return
        try:
            body = await _json_body(receive) if scope["method"] == "POST" else None
            answer = await handler(body)
        except errors.ScanserveError as exc:
            await send_problem(send, exc, {}, type_base=type_base)
            return
        content = dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def state(self) -> dict[str, Any]:
        sandbox = self.sandbox
        return {
            "seed": sandbox.seed,
            "now": _iso(sandbox.clock.now()),
            "real_time": sandbox.clock.ticking,
            "base_path": self.services.settings.base_path,
            "credentials": sandbox.credentials.as_dict(),
            "outcomes": sandbox.script.pending(),
        }

    async def _state(self, _body: Any) -> dict[str, Any]:
        return self.state()

    async def _reset(self, body: Any) -> dict[str, Any]:
        _fields(body, set())
        await run_in_threadpool(self.sandbox.reset, self.services, self.on_reset)
        return self.state()

    async def _clock(self, body: Any) -> dict[str, Any]:
        fields = _fields(body, {"advance_seconds", "to"})
        clock = self.sandbox.clock
        if len(fields) != 1:
            raise _invalid("/", "send exactly one of advance_seconds and to")
        if "advance_seconds" in fields:
            seconds = fields["advance_seconds"]
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds < 0
            ):
                raise _invalid("/advance_seconds", "a number of seconds, 0 or more")
            if seconds > (LATEST - clock.now()).total_seconds():
                raise _invalid("/advance_seconds", f"a move that ends by {_iso(LATEST)}")
            clock.advance(seconds)
        else:
            instant = _instant(fields["to"])
            if instant > LATEST:
                raise _invalid("/to", f"an instant by {_iso(LATEST)}")
            if instant < clock.now():
                raise errors.Conflict(
                    f"The clock is at {_iso(clock.now())} and does not go back; "
                    "POST /_sandbox/reset starts it again."
                )
            clock.set(instant)
        return self.state()

    async def _force(self, body: Any) -> dict[str, Any]:
        fields = _fields(body, {"kind", "outcome", "times"})
        problems = []
        kind, outcome, times = fields.get("kind"), fields.get("outcome"), fields.get("times", 1)
        if kind not in KINDS:
            problems.append(errors.FieldError("/kind", f"one of {', '.join(KINDS)}"))
        if outcome not in OUTCOMES:
            problems.append(errors.FieldError("/outcome", f"one of {', '.join(OUTCOMES)}"))
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 100:
            problems.append(errors.FieldError("/times", "a whole number from 1 to 100"))
        if problems:
            raise errors.ValidationFailed(problems)
        self.sandbox.script.push(str(kind), str(outcome), times)
        return self.state()

    async def _forget(self, _body: Any) -> dict[str, Any]:
        self.sandbox.script.clear()
        return self.state()


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _invalid(pointer: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed([errors.FieldError(pointer, message)])


def _fields(body: Any, allowed: set[str]) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _invalid("/", "a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise errors.ValidationFailed(
            [errors.FieldError(f"/{name}", "not a field of this request") for name in unknown]
        )
    return body


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if instant.tzinfo is not None:
                return instant
    raise _invalid("/to", "an RFC 3339 date-time with its offset (2026-01-02T00:00:00Z)")


async def _json_body(receive: Receive) -> Any:
    """The request's JSON (None for an empty body), bounded at :data:`MAX_BODY` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise errors.BadRequest("The client disconnected before the body was complete.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.PayloadTooLarge(f"A sandbox control body holds at most {MAX_BODY} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest("The request body is not UTF-8.") from None
    return loads(text)
