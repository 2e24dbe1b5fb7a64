"""The contract's operations served without walking Connexion's middleware stack.

Connexion answers a request through a stack of middlewares, each of which finds the request's
operation again (SwaggerUI, Routing, Security, RequestValidation, ResponseValidation, Context,
then the app's own router), and then through per-request parameter and response decorators
that read the operation through context proxies. For a ``GET /captures/{id}`` that is several
times the work of the handler itself, and for a ``POST /captures`` about a third of the
request's CPU.

:class:`FastPath` sits inside Connexion's exception middleware, so whatever it raises is
answered by the same error handlers as before. At start-up (Connexion hands it the API, as to
its own middlewares) it compiles each operation that takes no request body or a JSON one into a
plan, made of Connexion's own pieces for that operation, for its route of the app's one route
table (:mod:`scanserve.http.routing`, which picks the operation Connexion's router picks): the
security check (``SecurityOperation``'s verification function, built with the app's
``security_map``), the URI parser and parameter validator (the app's ``validator_map``, so
:mod:`scanserve.http.oas31_validators`'s), the JSON body validator (the same map's), the
resolved handler with its argument names, the response decorator and, where responses are
validated, Connexion's response validation. Per request it does in one place what those layers
do:

1. route: the route table's match, which the gateway left in the scope; it must be a planned
   operation, and not one that :class:`~scanserve.http.routing.MostSpecificPath` refuses;
2. the scope the layers would hand the handler: a copy with ``path_params`` and Connexion's
   routing extension, then the security context;
3. security, then parameter validation, then (for a JSON body) reading the body whole,
   parsing and validating it, exactly as the layers run them;
4. Connexion's context variables (as its ``ContextMiddleware`` sets them), the handler's
   keyword arguments (Connexion's ``get_arguments``, with the parsed body), the handler (sync
   ones in the threadpool), the response as the response decorator builds it, the rate-limit
   headers (as :class:`~scanserve.http.innermost.RateHeadersMiddleware`), response validation.

Whatever the plan cannot decide with certainty goes down the full stack unchanged: HEAD, a
``root_path``, a route that is not planned (a multipart upload), body headers other than the
plan takes (any body or ``Content-Type`` on an operation without one, ``Content-Length: 0``
aside; on a JSON one, anything but one ``application/json`` Content-Type, optionally with
``charset=utf-8``, and a positive Content-Length), a failed security check (a missing scope,
another kind of credential), any parameter that fails its parsing or validation, and any body
that does not parse or validate, or that arrives short or with the client gone. Those checks
have no side effects and are deterministic, so the full stack reaches the same verdict and
answers with the very bytes it always has: every error answer is Connexion's by
construction. A body the plan has read is replayed to the full stack message by message (a
failure of receiving it included), as the request validation replays it. Once the handler
runs, its exceptions leave as they would from the full stack. ``create_app(...,
fast_path=False)`` builds the app without it (the equivalence tests compare the two).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connexion.context import _context, _operation, _receive, _scope
from connexion.decorators.parameter import (
    CONTEXT_NAME,
    get_arguments,
    pythonic,
    sanitized,
    unwrap_decorators,
)
from connexion.decorators.response import AsyncResponseDecorator
from connexion.exceptions import ResolverError
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.abstract import ROUTING_CONTEXT, SpecMiddleware
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.middleware.security import SecurityOperation
from connexion.security import SecurityHandlerFactory
from connexion.utils import inspect_function_arguments, is_nullable
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATOR_MAP
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.http.asgi_body import replaying
from scanserve.http.asgi_keys import RATE_HEADERS_KEY
from scanserve.http.innermost import with_rate_headers
from scanserve.http.routing import ROUTE_KEY, Route, RouteTable

logger = logging.getLogger("scanserve.fastpath")

PLANNED_METHODS = frozenset({"GET", "DELETE", "POST", "PATCH", "PUT"})
# The one media type a body plan reads, and the Content-Type values it takes as saying so
# (lower-cased): any other spelling, charset or parameter goes down the full stack.
JSON = "application/json"
_JSON_CONTENT_TYPES = frozenset(
    {b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8"}
)
# What ConnexionRequest.mimetype is for a request without a Content-Type header.
_NO_CONTENT_TYPE = "application/octet-stream"
_UNDECIDED = object()  # a body the plan leaves to the full stack


@dataclass(frozen=True)
class Plan:
    operation_id: str
    operation: Any  # connexion.operations.AbstractOperation
    security: Sequence[Any]
    verify: Callable[[ConnexionRequest], Any]
    uri_parser: Any
    parameters: Any  # the validator_map's parameter validator, built once
    function: Callable[..., Any]
    is_async: bool
    arguments: Sequence[str]
    sanitize: Callable[[str], str]
    response_validator_map: dict[str, Any] | None  # None: responses are not validated
    # The validator_map's body validator for application/json, built once (as the request
    # validation builds it per request); None: the operation takes no request body.
    body_validator: Any


async def _empty() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _chunk(raw: bytes) -> Any:  # an AsyncGenerator[bytes, None], as the validator reads
    yield raw


def _body_length(headers: Sequence[tuple[bytes, bytes]], *, json: bool) -> int | None:
    """The body length a plan takes these headers to announce, or None where the plan does
    not take them: for an operation without a body, no body headers but ``Content-Length:
    0``; for one with a JSON body, one ``Content-Type`` of :data:`_JSON_CONTENT_TYPES` and one
    positive ``Content-Length`` (the gateway has already read a chunked body and put its
    length in the headers)."""
    content_type: bytes | None = None
    length: bytes | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-type" and content_type is None:
            content_type = value
        elif lowered == b"content-length" and length is None:
            length = value
        elif lowered in (b"content-type", b"content-length", b"transfer-encoding"):
            return None  # repeated, or chunked
    if not json:
        return 0 if content_type is None and length in (None, b"0") else None
    if content_type is None or content_type.lower() not in _JSON_CONTENT_TYPES:
        return None
    if length is None or not length.isdigit() or int(length) == 0:
        return None
    return int(length)


class FastPath(SpecMiddleware):
    """See the module docstring. Add it at ``MiddlewarePosition.BEFORE_SWAGGER``, giving it
    the app's :class:`~scanserve.http.routing.RouteTable`."""

    def __init__(self, app: ASGIApp, routes: RouteTable):
        self.app = app
        self.routes = routes
        self.base_path: str | None = None
        # the plan of each route of the table that has one, compiled once at start-up
        self.plans: dict[Route, Plan] = {}
        self.response_decorator: AsyncResponseDecorator | None = None

    # -- start-up ------------------------------------------------------------------------

    def add_api(self, specification: Any, base_path: str | None = None, **kwargs: Any) -> None:
        if self.base_path is not None:
            # Several APIs chain their routers in Connexion; one is all the app mounts.
            raise RuntimeError("FastPath serves a single API")
        self.base_path = base_path if base_path is not None else specification.base_path
        if self.base_path.rstrip("/") != self.routes.base_path:
            raise RuntimeError(
                f"FastPath's API is mounted at {self.base_path!r}, its route table at "
                f"{self.routes.base_path!r}"
            )
        jsonifier = kwargs.get("jsonifier") or Jsonifier()
        self.response_decorator = AsyncResponseDecorator(
            framework=StarletteFramework, jsonifier=jsonifier
        )
        factory = SecurityHandlerFactory(kwargs.get("security_map"))
        validator_map = {**CONNEXION_VALIDATOR_MAP, **(kwargs.get("validator_map") or {})}
        sanitize = functools.lru_cache(maxsize=512)(
            pythonic if kwargs.get("pythonic_params") else sanitized
        )
        for route in self.routes.routes:
            try:
                operation = specification.operation_cls.from_spec(
                    specification,
                    path=route.template,
                    method=route.method.lower(),
                    resolver=kwargs["resolver"],
                    uri_parser_class=kwargs.get("uri_parser_class"),
                )
            except ResolverError:  # the routing middleware handles (or raises) these
                continue
            plan = self._plan(
                route.template,
                operation,
                factory=factory,
                validator_map=validator_map,
                sanitize=sanitize,
                options=kwargs,
            )
            if plan is not None:
                self.plans[route] = plan

    def _plan(
        self,
        path: str,
        operation: Any,
        *,
        factory: SecurityHandlerFactory,
        validator_map: dict[str, Any],
        sanitize: Callable[[str], str],
        options: Mapping[str, Any],
    ) -> Plan | None:
        if (
            operation.method.upper() not in PLANNED_METHODS
            # a form, or a choice of media types: the full stack reads those
            or (operation.is_request_body_defined and operation.consumes != [JSON])
            # a first segment that is a parameter could shadow the Swagger UI's own paths
            or path.lstrip("/").startswith("{")
        ):
            return None
        function = operation.function
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        if has_kwargs:
            return None
        if not operation.is_request_body_defined and (
            sanitize(operation.body_name(_NO_CONTENT_TYPE)) in arguments
        ):
            # Connexion would hand over a default body: not for a plan
            return None
        security = SecurityOperation.from_operation(
            operation, next_app=self.app, security_handler_factory=factory
        )
        validation = RequestValidationOperation(
            self.app,
            operation=operation,
            strict_validation=bool(options.get("strict_validation")),
            validator_map=validator_map,
        )
        uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())
        parameters = validator_map["parameter"](
            operation.parameters,
            uri_parser=uri_parser,
            strict_validation=validation.strict_validation,
            security_query_params=validation.security_query_params,
        )
        body_validator = None
        if operation.is_request_body_defined:
            validator_cls = validator_map["body"].get(JSON)
            if validator_cls is None:
                return None
            body_validator = validator_cls(
                schema=operation.body_schema(JSON),
                required=operation.request_body.get("required", False),
                nullable=is_nullable(operation.body_definition(JSON)),
                encoding="utf-8",
                strict_validation=validation.strict_validation,
                uri_parser=uri_parser,
            )
        return Plan(
            operation_id=operation.operation_id,
            operation=operation,
            security=security.security,
            verify=security.verification_fn,
            uri_parser=uri_parser,
            parameters=parameters,
            function=function,
            is_async=asyncio.iscoroutinefunction(function),
            arguments=arguments,
            sanitize=sanitize,
            response_validator_map=validator_map if options.get("validate_responses") else None,
            body_validator=body_validator,
        )

    # -- per request ---------------------------------------------------------------------

    def _route(self, scope: Scope) -> tuple[Plan, dict[str, Any], int] | None:
        """The plan and path parameters of the operation Connexion's router would pick (the
        route table's, which agrees with it), and the length of the body it is sent (0: none);
        None where the router would pick no planned one, or the request's body headers are not
        ones its plan takes."""
        method = scope["method"]
        if method not in PLANNED_METHODS or scope.get("root_path"):
            return None
        found = scope.get(ROUTE_KEY)  # the gateway's match
        if found is None:
            found = self.routes.match(method, scope["path"])
        route = found.route
        if route is None or found.refused:
            return None
        plan = self.plans.get(route)
        if plan is None:
            return None
        length = _body_length(scope["headers"], json=plan.body_validator is not None)
        if length is None:
            return None
        assert found.match is not None
        return plan, route.path_params(found.match), length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._route(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        plan, path_params, length = found
        # The scope the routing middleware hands on: a copy, with the path parameters and
        # the operation in Connexion's routing extension.
        routed = dict(scope)
        routed.setdefault("path_params", {}).update(path_params)
        routing = routed.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
        routing.update({"api_base_path": self.base_path, "operation_id": plan.operation_id})
        request = ConnexionRequest(routed, receive, uri_parser=plan.uri_parser)
        try:
            if plan.security:
                await plan.verify(request)
            plan.parameters.validate_request(request)
        except Exception:  # the full stack decides, and answers, again
            await self.app(scope, receive, send)
            return
        if plan.body_validator is None:
            # As IgnoreBodyWithoutContract: the handler and its response see an empty body
            # (and the request had none to drop).
            await self._serve(plan, request, routed, _empty, send)
            return
        body, replay = await self._read_body(plan.body_validator, receive, length, routed)
        if body is _UNDECIDED:
            await self.app(scope, replay, send)
            return
        await self._serve(plan, request, routed, replay, send, body=body)

    @staticmethod
    async def _read_body(
        validator: Any, receive: Receive, length: int, scope: Scope
    ) -> tuple[Any, Receive]:
        """The JSON body as the request validation reads, parses and checks it, and
        ``receive`` as it was before (the validation replays what it read, too). The body is
        :data:`_UNDECIDED` where the validation would not simply pass it: the full stack then
        gets the same messages, and decides and answers."""
        messages: list[Message] = []
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except Exception as exc:  # a timeout, say: the full stack meets it in its turn
            return _UNDECIDED, replaying(receive, messages, exc)
        replay = replaying(receive, messages)
        raw = b"".join(message.get("body", b"") for message in messages)
        if messages[-1]["type"] != "http.request" or len(raw) != length:
            return _UNDECIDED, replay  # the client left, or sent another length
        try:
            body = await validator._parse(_chunk(raw), scope=scope)
            if body is not None:  # a JSON null: the handler would get the default body
                validator._validate(body)
        except Exception:
            return _UNDECIDED, replay
        return (_UNDECIDED if body is None else body), replay

    async def _serve(
        self,
        plan: Plan,
        request: ConnexionRequest,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        body: Any = None,
    ) -> None:
        # As connexion.middleware.context.ContextOperation
        context = scope.get("extensions", {}).get("connexion_context", {})
        _context.set(context)
        _operation.set(plan.operation)
        _receive.set(receive)
        _scope.set(scope)
        # As connexion.decorators.parameter.prep_kwargs: a JSON body or none, and no files
        kwargs = get_arguments(
            plan.operation,
            path_params=request.path_params,
            query_params=request.query_params,
            body=body,
            files={},
            arguments=list(plan.arguments),
            has_kwargs=False,
            sanitize=plan.sanitize,
            content_type=_NO_CONTENT_TYPE if plan.body_validator is None else JSON,
        )
        kwargs = {plan.sanitize(k): v for k, v in kwargs.items()}
        for key, value in context.items():
            if key in plan.arguments:
                kwargs[key] = value
        if CONTEXT_NAME in plan.arguments:
            kwargs[CONTEXT_NAME] = context
        # As the sync/async and response decorators
        if plan.is_async:
            result = await plan.function(**kwargs)
        else:
            result = await run_in_threadpool(plan.function, **kwargs)
        if StarletteFramework.is_framework_response(result):
            response = result
        elif isinstance(result, ConnexionResponse):
            response = StarletteFramework.connexion_to_framework_response(result)
        else:
            assert self.response_decorator is not None
            response = self.response_decorator.build_framework_response(result)

        rate_headers = scope.get(RATE_HEADERS_KEY)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            if rate_headers:  # as RateHeadersMiddleware, inside the response validation

                async def send_with_headers(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message = with_rate_headers(message, rate_headers)
                    await send(message)

                await response(scope, receive, send_with_headers)
            else:
                await response(scope, receive, send)

        if plan.response_validator_map is None:
            await respond(scope, receive, send)
        else:
            validation = ResponseValidationOperation(
                respond, operation=plan.operation, validator_map=plan.response_validator_map
            )
            await validation(scope, receive, send)
