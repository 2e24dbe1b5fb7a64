"""The one error hierarchy of scanserve, and its problem+json envelope (RFC 9457).

Every error the server can emit, including Connexion's own and unexpected exceptions, leaves
as one of these, rendered by :func:`problem_body` with ``Content-Type: application/problem+json``
and the members the contract's ``Problem`` schema names::

    ScanserveError                       500 internal_error   (base; never raised bare)
    ├── BadRequest                       400 bad_request      body is not JSON / not UTF-8,
    │   │                                                      or a rule outside the schema
    │   └── CaptureHasNoProduct          400 bad_request      save-redirect before a product
    ├── Unauthorized                     401 unauthorized     missing/malformed/unknown/revoked/
    │                                                          expired credential
    ├── Forbidden                        403 forbidden        e.g. an upload its signed
    │   │                                                      policy does not allow
    │   └── OutsidePublishableScope      403 forbidden        a publishable key outside its
    │                                                          scope (``key_scope``)
    ├── NotFound                         404 not_found        unknown id, or another org's id
    ├── MethodNotAllowed                 405 method_not_allowed
    ├── RequestTimeout                   408 request_timeout  the body did not arrive in time
    ├── Conflict                         409 conflict         state forbids the change
    │   └── IdempotencyInProgress        409 conflict         same Idempotency-Key still
    │                                                          running (retryable)
    ├── PayloadTooLarge                  413 payload_too_large
    ├── UnsupportedMediaType             415 unsupported_media_type
    ├── ValidationFailed                 422 validation_error carries ``errors``:
    │                                                          [{pointer, message}], one per field
    ├── RateLimited                      429 rate_limited     carries ``retry_after_seconds``
    ├── HeadersTooLarge                  431 headers_too_large too many or too large headers
    ├── InternalError                    500 internal_error   generic detail; traceback is logged;
    │                                                          not retryable (a bug stays a bug)
    ├── NotImplementedYet                501 not_implemented  contract operation not built yet
    ├── ServiceUnavailable               503 service_unavailable  a dependency (the database, a
    │                                                          Redis) is down or busy: retryable,
    │                                                          ``Retry-After``; carries ``checks``
    └── InsufficientStorage              507 insufficient_storage  the database or the data
                                                               directory is full, or the
                                                               organisation's storage quota is
                                                               spent (scanserve.domain.quotas)

``type`` is one URI per error code, ``<base>#<error_code>``, pointing at the code's section
of ``docs/errors.md``; the base is the ``problem_type_base`` setting, ``docs/errors.md`` by
default (the page in the source repository), and the spec's examples show that default.
``title`` is the status code's HTTP reason phrase (RFC 9110), as in the spec's examples.

Lower layers raise these (or their own exceptions, which :func:`scanserve.http.faults.problem_for`
maps at the boundary: database and Redis outages to ``503``, a full disk to ``507``, anything
else to ``500``); handlers never build error responses by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

from scanserve import sources
from scanserve.generated import shapes

PROBLEM_CONTENT_TYPE = "application/problem+json"
DEFAULT_PROBLEM_TYPE_BASE = "docs/errors.md"


@dataclass(frozen=True)
class FieldError:
    """One offending field: ``pointer`` is a JSON Pointer into the body (``/raw_value``) or a
    parameter locator (``query/page``, ``path/id``, ``header/X-API-Key``)."""

    pointer: str
    message: str


class ScanserveError(Exception):
    """Base of every error the API answers with. Subclasses set the class attributes."""

    status: ClassVar[int] = 500
    error_code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal Server Error"
    retryable: ClassVar[bool] = False
    default_detail: ClassVar[str] = "The server could not complete the request."

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.detail = detail or self.default_detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)

    def extra_members(self) -> dict[str, Any]:
        """Extension members added to the problem body (RFC 9457 section 3.2)."""
        return {}


class BadRequest(ScanserveError):
    status = 400
    error_code = "bad_request"
    title = "Bad Request"
    default_detail = "The request could not be understood."


class CaptureHasNoProduct(BadRequest):
    default_detail = "The capture has no linked product yet."


class Unauthorized(ScanserveError):
    status = 401
    error_code = "unauthorized"
    title = "Unauthorized"
    default_detail = "A valid credential is required."


class Forbidden(ScanserveError):
    status = 403
    error_code = "forbidden"
    title = "Forbidden"
    default_detail = "The credential does not allow this operation."


class OutsidePublishableScope(Forbidden):
    """A publishable (``cpk``) key on an operation outside its scope, or from a browser
    origin it is not allowed from: ``key_scope: publishable`` says so to the client."""

    default_detail = (
        "The credential is a publishable key (cpk): it may only create sessions, add "
        "captures to them, read them and their captures, and read freshness thresholds."
    )

    def extra_members(self) -> dict[str, Any]:
        return {"key_scope": "publishable"}


class NotFound(ScanserveError):
    status = 404
    error_code = "not_found"
    title = "Not Found"
    default_detail = "No such resource."


class MethodNotAllowed(ScanserveError):
    status = 405
    error_code = "method_not_allowed"
    title = "Method Not Allowed"
    default_detail = "The method is not allowed on this resource."


class RequestTimeout(ScanserveError):
    status = 408
    error_code = "request_timeout"
    title = "Request Timeout"
    default_detail = "The request body did not arrive in time."


class Conflict(ScanserveError):
    status = 409
    error_code = "conflict"
    title = "Conflict"
    default_detail = "The resource's state does not allow this change."


class IdempotencyInProgress(Conflict):
    retryable = True
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry it shortly."
    )


class PayloadTooLarge(ScanserveError):
    status = 413
    error_code = "payload_too_large"
    title = "Content Too Large"
    default_detail = "The request body is larger than the server accepts."


class UnsupportedMediaType(ScanserveError):
    status = 415
    error_code = "unsupported_media_type"
    title = "Unsupported Media Type"
    default_detail = "The request body's content type is not accepted here."


class ValidationFailed(ScanserveError):
    status = 422
    error_code = "validation_error"
    title = "Unprocessable Content"
    default_detail = "The request does not match the contract."

    def __init__(
        self,
        errors: Iterable[FieldError],
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ):
        self.errors = list(errors)
        if detail is None and self.errors:
            detail = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in self.errors)
        super().__init__(detail, headers=headers)

    def extra_members(self) -> dict[str, Any]:
        return {"errors": [{"pointer": e.pointer, "message": e.message} for e in self.errors]}


class RateLimited(ScanserveError):
    status = 429
    error_code = "rate_limited"
    title = "Too Many Requests"
    retryable = True
    default_detail = "The rate limit for this credential is exhausted."

    def __init__(self, retry_after_seconds: int, detail: str | None = None, **kwargs: Any):
        self.retry_after_seconds = max(0, int(retry_after_seconds))
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after_seconds))

    def extra_members(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after_seconds}


class HeadersTooLarge(ScanserveError):
    status = 431
    error_code = "headers_too_large"
    title = "Request Header Fields Too Large"
    default_detail = "The request's headers are too many or too large."


class InternalError(ScanserveError):
    """A failure of ours. Not retryable: the same request would meet the same bug (or the
    same stored data); a dependency's outage is a :class:`ServiceUnavailable` instead."""


class NotImplementedYet(ScanserveError):
    status = 501
    error_code = "not_implemented"
    title = "Not Implemented"
    default_detail = "This operation of the contract is not implemented yet."


class ServiceUnavailable(ScanserveError):
    """A dependency is down (readiness), or failed this request (the database restarting,
    a Redis unreachable): nothing was stored, and the same request may succeed after
    ``Retry-After`` seconds. ``checks`` names the dependencies and their states."""

    status = 503
    error_code = "service_unavailable"
    title = "Service Unavailable"
    retryable = True
    default_detail = "The server cannot do its work right now."
    retry_after_seconds = 5

    def __init__(
        self,
        checks: Mapping[str, str] | None = None,
        detail: str | None = None,
        **kwargs: Any,
    ):
        self.checks = dict(checks or {})
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after_seconds))

    def extra_members(self) -> dict[str, Any]:
        return {"checks": self.checks} if self.checks else {}


class InsufficientStorage(ScanserveError):
    """No room left to store the request's data (RFC 4918's 507): the database's disk, or
    the data directory, is full, or the organisation's storage quota is spent
    (:mod:`scanserve.domain.quotas`). Nothing was stored; reads go on; the same request succeeds
    once space is freed (or the quota raised)."""

    status = 507
    error_code = "insufficient_storage"
    title = "Insufficient Storage"
    retryable = True
    default_detail = "The server has no room left to store this; retry once space is freed."
    retry_after_seconds = 60

    def __init__(self, detail: str | None = None, **kwargs: Any):
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after_seconds))


_BY_STATUS: dict[int, type[ScanserveError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        HeadersTooLarge,
        InternalError,
        NotImplementedYet,
    )
}


def error_for_status(status: int, detail: str | None = None) -> ScanserveError:
    """The error of our hierarchy for a bare HTTP status from a lower layer."""
    cls = _BY_STATUS.get(status)
    if cls is ValidationFailed:
        return ValidationFailed([], detail)
    if cls is None:
        cls = BadRequest if 400 <= status < 500 else InternalError
    return cls(detail)


def problem_type(error_code: str, base: str = DEFAULT_PROBLEM_TYPE_BASE) -> str:
    """The problem ``type`` URI of an error code: its section of the error reference."""
    return f"{base}#{error_code}"


def problem_body(
    error: ScanserveError,
    *,
    now: datetime | None = None,
    type_base: str = DEFAULT_PROBLEM_TYPE_BASE,
) -> shapes.Problem:
    """The RFC 9457 body for ``error``: the spec's ``Problem`` shape (generated), with the
    members an error adds beside those (``errors``, ``checks``, ...), which the schema allows."""
    body: shapes.Problem = {
        "type": problem_type(error.error_code, type_base),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "error_code": cast("Any", error.error_code),
        "retryable": error.retryable,
        # written here, to the second, as every problem has always carried it (the shape's
        # datetime would leave it to each encoder, and stdlib json writes no datetime)
        "timestamp": cast("Any", (now or sources.utcnow()).isoformat(timespec="seconds")),
    }
    cast("dict[str, Any]", body).update(error.extra_members())
    return body
