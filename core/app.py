"""The app factory: ``create_app(settings)`` builds everything, nothing happens at import.

Request flow: gateway middleware (auth, rate limits, body size) -> Connexion (routing,
security, validation against ``spec/openapi.yaml``; a valid request of an operation without
a body is served by :mod:`scanserve.http.fastpath` with the same pieces, past the layers) -> a
thin handler in ``scanserve.http.handlers.<tag>`` -> a core service -> storage / plugins -> a
view built from the generated models -> response. Every error on the way leaves as
problem+json.
"""

from __future__ import annotations

# first: Connexion without its test client (see there)
from scanserve.infra import connexion_import  # noqa: F401

# isort: split

import functools
import importlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

import yaml
from connexion import ConnexionMiddleware
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from scanserve import errors
from scanserve.bootstrap import build_services, reset_rate_limits
from scanserve.domain.sandbox import Sandbox
from scanserve.domain.services import Services
from scanserve.http.asgi_keys import PRINCIPAL_KEY
from scanserve.http.fastpath import FastPath
from scanserve.http.faults import LastResort, problem_for
from scanserve.http.gateway import SERVICES_KEY, GatewayMiddleware
from scanserve.http.idempotency import IdempotencyMiddleware
from scanserve.http.index import IndexMiddleware
from scanserve.http.innermost import IgnoreBodyWithoutContract, RateHeadersMiddleware
from scanserve.http.mock import MockEdge, MockResponder, ShapeOnly
from scanserve.http.oas31 import OpenAPI31App
from scanserve.http.oas31_spec import OpenAPI31Specification, copy_document
from scanserve.http.oas31_validators import VALIDATOR_MAP
from scanserve.http.observe import ObserveMiddleware
from scanserve.http.routing import MostSpecificPath, RouteTable
from scanserve.http.sandbox import SandboxControl
from scanserve.http.scanpage import ScanPageMiddleware
from scanserve.http.security import SECURITY_MAP
from scanserve.infra import metrics
from scanserve.infra.encoding import OrjsonJsonifier
from scanserve.infra.ids import accepting_uuid_ids
from scanserve.infra.ratelimit import RateLimiter
from scanserve.settings import Settings

logger = logging.getLogger("scanserve.app")

HANDLER_PACKAGE = "scanserve.http.handlers"
HANDLER_MODULES = (
    "sessions",
    "captures",
    "upload",
    "photos",
    "enrichment",
    "resolve",
    "freshness",
    "auth",
    "health",
    "plugins",
)


@functools.lru_cache(maxsize=1)
def _parsed_contract() -> dict[str, Any]:
    # The contract is package data and never changes while the process runs; parsing it once
    # (with libyaml where available) takes most of the cost out of create_app. add_api still
    # validates it as OpenAPI 3.1 every time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(spec_path().read_text(encoding="utf-8"), Loader=loader)  # noqa: S506


def contract() -> dict[str, Any]:
    """The spec as a fresh dict (callers may not mutate the cached parse)."""
    return copy_document(_parsed_contract())


def spec_path() -> Any:
    return files("scanserve.spec") / "openapi.yaml"


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


class HandlerProblem(RuntimeError):
    """A handler module that cannot be imported, or an operation of the contract without a
    handler: the app is not built (``scanserve serve`` says so in one line)."""


def _handler_table() -> dict[str, Callable[..., Any]]:
    table: dict[str, Callable[..., Any]] = {}
    for name in HANDLER_MODULES:
        module_name = f"{HANDLER_PACKAGE}.{name}"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # anything it raises: a typo must not become 501s
            reason = (str(exc).strip().splitlines() or [""])[0]
            raise HandlerProblem(
                f"handler module {module_name} cannot be imported: {type(exc).__name__}: {reason}"
            ) from exc
        for attr, value in vars(module).items():
            if (
                callable(value)
                and not attr.startswith("_")
                and getattr(value, "__module__", "") == module.__name__
            ):
                table[attr] = value
    return table


def unimplemented_operations(
    spec: dict[str, Any], handlers: dict[str, Callable[..., Any]] | None = None
) -> list[str]:
    """operationIds of the contract with no handler (``create_app`` refuses to build then)."""
    table = _handler_table() if handlers is None else handlers
    return sorted(
        op["operationId"]
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op and _snake(op["operationId"]) not in table
    )


def _handlers_of(spec: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Every handler, checked to cover every operation of ``spec``."""
    handlers = _handler_table()
    missing = unimplemented_operations(spec, handlers)
    if missing:
        names = ", ".join(f"{op_id} ({_snake(op_id)})" for op_id in missing)
        raise HandlerProblem(
            f"no handler for operation{'s' if len(missing) > 1 else ''} {names} in the "
            f"modules of {HANDLER_PACKAGE} ({', '.join(HANDLER_MODULES)})"
        )
    return handlers


class OperationResolver(Resolver):
    """operationId ``createSession`` -> ``scanserve.http.handlers.<tag>.create_session``; the
    contract names operations, never Python paths. ``handlers``: every operation's (see
    :func:`_handlers_of`)."""

    def __init__(self, handlers: dict[str, Callable[..., Any]]) -> None:
        super().__init__(
            function_resolver=lambda op_id: accepting_uuid_ids(handlers[_snake(op_id)])
        )

    def resolve_operation_id(self, operation: Any) -> str:
        return str(operation.operation_id)


def _swagger_ui_options() -> SwaggerUIOptions:
    # Swagger UI 5, vendored: the 4.x that Connexion bundles cannot render OpenAPI 3.1.
    folder = str(files("scanserve") / "swagger_ui")
    return SwaggerUIOptions(swagger_ui_template_dir=folder)


def _problem(error: errors.ScanserveError, type_base: str) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status,
        body=json.dumps(errors.problem_body(error, type_base=type_base)),
        content_type=errors.PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )


def _type_base(request: ConnexionRequest) -> str:
    services = request.scope.get(SERVICES_KEY)
    return (
        services.settings.problem_type_base
        if services is not None
        else errors.DEFAULT_PROBLEM_TYPE_BASE
    )


def _on_scanserve_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, errors.ScanserveError)
    if exc.status >= 500:
        logger.error("%s: %s", type(exc).__name__, exc.detail)
    return _problem(exc, _type_base(request))


NO_CREDENTIALS = (
    "No credential was sent: send an API key in the X-API-Key header "
    "(or 'Authorization: Bearer <token>', or the sessionid cookie)."
)


def _on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    detail = exc.detail
    if exc.status == 401:  # Connexion's security found no scheme of the operation satisfied
        principal = request.scope.get(PRINCIPAL_KEY)
        if principal is None or principal.is_anonymous:
            detail = NO_CREDENTIALS
        else:
            detail = "This operation does not accept the kind of credential sent."
    return _problem(errors.error_for_status(exc.status, detail), _type_base(request))


def _http_exception_handler(
    allowed_methods: Callable[[str], list[str]],
) -> Callable[[ConnexionRequest, Exception], ConnexionResponse]:
    """404 and 405 as problem documents; a 405's ``Allow`` names the methods the contract
    gives the request path (``allowed_methods``: the route table's). Routing answers 405 from
    the first route whose path matched, so its ``Allow`` names that one operation's method,
    not the others on the same path (``/sessions`` has GET and POST)."""

    def on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        detail = {404: "No such path.", 405: "The method is not allowed on this path."}.get(
            exc.status_code, exc.detail
        )
        error = errors.error_for_status(exc.status_code, detail)
        error.headers.update(exc.headers or {})
        if exc.status_code == 405:
            methods = allowed_methods(request.scope["path"])
            if methods:
                error.headers["Allow"] = ", ".join(methods)
        return _problem(error, _type_base(request))

    return on_http_exception


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # a database or Redis outage is a 503 (retryable), a full disk a 507, else a 500
    return _problem(problem_for(exc), _type_base(request))


def _on_disconnect(request: ConnexionRequest, _exc: Exception) -> ConnexionResponse:
    # The client went away mid-body: not an error of ours, and nobody reads the answer.
    logger.info("client left before sending the whole body")
    return _problem(
        errors.BadRequest("The client disconnected before the body was complete."),
        _type_base(request),
    )


def _replace_server_error_middleware(app: OpenAPI31App, type_base: str) -> None:
    """:class:`~scanserve.http.faults.LastResort` in place of Connexion's outermost
    ``ServerErrorMiddleware``, whose default answer fails on Starlette 1.x and leaves the
    server to answer plain text."""
    stack = app.middleware.middlewares
    for index, middleware in enumerate(stack):
        if getattr(middleware, "func", middleware) is ServerErrorMiddleware:
            stack[index] = functools.partial(LastResort, type_base=type_base)
            return
    raise RuntimeError("Connexion's ServerErrorMiddleware is not in the middleware stack")


def _add_sandbox_control(app: OpenAPI31App, sandbox: Sandbox, services: Services) -> None:
    """The sandbox's control endpoints just inside the last resort, before the gateway: they
    take no credential, count against no limit and lie outside the contract."""
    stack = app.middleware.middlewares
    index = next(i for i, m in enumerate(stack) if getattr(m, "func", m) is LastResort)
    stack.insert(
        index + 1,
        functools.partial(
            SandboxControl,
            sandbox=sandbox,
            services=services,
            on_reset=lambda: reset_rate_limits(services),
        ),
    )


def _observe_outermost(app: OpenAPI31App, routes: RouteTable) -> None:
    """:class:`~scanserve.http.observe.ObserveMiddleware` outside every other middleware,
    :class:`~scanserve.http.faults.LastResort` included: the request id goes on every
    answer, and the access line and the metrics see the status the client got."""
    observe = functools.partial(ObserveMiddleware, routes=routes, metrics=metrics.recorder())
    app.middleware.middlewares.insert(0, observe)


def _add_error_handlers(app: OpenAPI31App, routes: RouteTable) -> None:
    """Every failure mapped to its problem document, the same for the server and the mock."""
    app.add_error_handler(errors.ScanserveError, _on_scanserve_error)
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, _http_exception_handler(routes.allowed_methods))
    app.add_error_handler(ClientDisconnect, _on_disconnect)
    app.add_error_handler(Exception, _on_unexpected)


def create_app(
    settings: Settings | None = None,
    *,
    extra_plugins: Iterable[Any] = (),
    start_queue: bool = False,
    fast_path: bool = True,
    sandbox: Sandbox | None = None,
) -> OpenAPI31App:
    """Build the ASGI app. ``start_queue`` starts the embedded queue's consumer with the app
    (``scanserve serve`` does; tests usually use ``queue="immediate"``). ``fast_path=False``
    leaves out :class:`~scanserve.http.fastpath.FastPath`: every request then walks Connexion's
    whole stack (the equivalence tests compare the two). ``sandbox``: ``scanserve sandbox``'s
    seeded state (:mod:`scanserve.domain.sandbox`), served with its control endpoints; without
    it they do not exist."""
    settings = settings or Settings()
    spec = contract()
    # Before anything is opened: a handler that cannot serve its operation stops the start.
    handlers = _handlers_of(spec)
    routes = RouteTable.from_spec(spec)  # the one route table (scanserve.http.routing)
    services = build_services(settings, extra_plugins=extra_plugins, sandbox=sandbox)

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        # A shared rate-limit store that is unreachable now is a warning, not a failure:
        # requests are counted in this process until it answers (scanserve.infra.ratelimit).
        services.limiter.check()
        if start_queue:
            services.queue.start_embedded()
        try:
            yield
        finally:
            services.queue.stop_embedded()
            if services.jwt_verifier is not None:
                services.jwt_verifier.close()
            if not services.db.is_closed():
                services.db.close()

    app = OpenAPI31App(__name__, lifespan=lifespan, jsonifier=OrjsonJsonifier())
    app.add_api(
        # the sandbox starts on the package's own contract, judged by the test suite
        OpenAPI31Specification.from_dict(spec, trusted=True) if sandbox is not None else spec,
        swagger_ui_options=_swagger_ui_options(),
        resolver=OperationResolver(handlers),
        pythonic_params=True,
        validate_responses=settings.validate_responses,
        validator_map=VALIDATOR_MAP,
        security_map=SECURITY_MAP,
        strict_validation=False,
    )
    _add_error_handlers(app, routes)
    app.add_middleware(
        GatewayMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=services,
        routes=routes,
    )
    # Inside the gateway (it needs the caller, and the gateway's headers go on replays too)
    # and outside the exception middleware (it records error answers as sent).
    app.add_middleware(
        IdempotencyMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, services=services
    )
    app.add_middleware(
        IndexMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, base_path=settings.base_path
    )
    app.add_middleware(
        ScanPageMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, settings=settings
    )
    app.add_middleware(RateHeadersMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT)
    _replace_server_error_middleware(app, settings.problem_type_base)
    if sandbox is not None:
        _add_sandbox_control(app, sandbox, services)
    _observe_outermost(app, routes)
    if fast_path:
        app.add_middleware(FastPath, position=MiddlewarePosition.BEFORE_SWAGGER, routes=routes)
    app.add_middleware(MostSpecificPath, position=MiddlewarePosition.BEFORE_ROUTING, routes=routes)
    app.add_middleware(
        IgnoreBodyWithoutContract,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        operations_with_body=routes.operations_with_body(),
    )
    app.services = services  # type: ignore[attr-defined]
    return app


__all__ = ["ConnexionMiddleware", "Services", "create_app", "create_mock_app"]


def create_mock_app(
    settings: Settings | None = None, *, dynamic: bool = False, seed: int = 0
) -> OpenAPI31App:
    """The mock server of ``scanserve mock`` (:mod:`scanserve.http.mock`): the contract served
    through the server's own edge (the gateway, Connexion with the OpenAPI 3.1 validators,
    the same error handlers), every operation answered from the contract's examples (or, with
    ``dynamic``, values made from its schemas, from ``seed``). It opens no database, loads no
    plugin, starts no queue; any credential of the right shape is accepted. Every answer is
    validated against the contract before it leaves."""
    settings = settings or Settings()
    spec = contract()
    routes = RouteTable.from_spec(spec)
    responder = MockResponder(
        spec, dynamic=dynamic, seed=seed, type_base=settings.problem_type_base
    )
    edge = MockEdge(settings=settings, limiter=RateLimiter(settings.rate_limit_storage_url))
    app = OpenAPI31App(__name__, jsonifier=OrjsonJsonifier())
    app.add_api(
        spec,
        swagger_ui_options=_swagger_ui_options(),
        resolver=Resolver(function_resolver=responder.handler),
        pythonic_params=True,
        validate_responses=True,
        validator_map=VALIDATOR_MAP,
        security_map=SECURITY_MAP,
        strict_validation=False,
    )
    _add_error_handlers(app, routes)
    app.add_middleware(
        GatewayMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=edge,
        routes=routes,
        authenticator=ShapeOnly(responder.csrf_token()),
    )
    app.add_middleware(
        IndexMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, base_path=settings.base_path
    )
    app.add_middleware(RateHeadersMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT)
    _replace_server_error_middleware(app, settings.problem_type_base)
    app.add_middleware(MostSpecificPath, position=MiddlewarePosition.BEFORE_ROUTING, routes=routes)
    app.add_middleware(
        IgnoreBodyWithoutContract,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        operations_with_body=routes.operations_with_body(),
    )
    return app
