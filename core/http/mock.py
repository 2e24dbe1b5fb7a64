"""The mock server's answers: every operation of the contract answered from the contract alone.

``scanserve mock`` (:func:`scanserve.app.create_mock_app`) serves ``spec/openapi.yaml`` through
the server's own edge, the gateway (credentials, rate limits, body limits, the headers every
response carries) and Connexion with the OpenAPI 3.1 validators, so a request is refused
exactly as the server refuses it, with the same problem documents. No database is opened:
each operation's handler is :meth:`MockResponder.handler`'s, which answers with what the
contract itself says (docs/mock.md):

- the operation's first success status (its lowest ``2xx``), with the first example of its
  media type (``examples``, else ``example``, else the schema's ``examples``); with
  ``--dynamic`` a body made from the schema instead (:mod:`scanserve.http.mock_values`),
  seeded, so a seed gives the same answers to the same requests in the same order;
- ``Prefer: code=404`` picks a status the operation declares, ``Prefer: example=NAME`` one of
  the named examples, ``Prefer: dynamic=true|false`` overrides ``--dynamic``, as Prism's mock
  does (several preferences in one header, comma-separated, or in several headers; or
  Prism's query parameters ``__code``, ``__example``, ``__dynamic``). A status the operation
  does not declare, or an example it does not have, is answered ``404 not_found`` (as Prism
  answers), its ``detail`` naming what there is. An error status without an example (or
  with ``dynamic``) gets a problem document built as the server builds one;
- the response headers the contract requires: the rate-limit headers from the gateway's own
  count, the others (``Retry-After``, ``Set-Cookie`` ...) from their examples or schemas.

Credentials are checked for their shape only (:class:`ShapeOnly`): any well-formed key or
token is accepted, a malformed one is refused as the server refuses it, a missing one is
``401``. The validity of the answers is Connexion's response validation (the mock app turns
it on): an answer that breaks the contract is a ``500`` in the log, never sent.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connexion.context import _scope
from starlette.datastructures import UploadFile
from starlette.responses import Response

from scanserve.errors import (
    BadRequest,
    InsufficientStorage,
    NotFound,
    RateLimited,
    ScanserveError,
    ServiceUnavailable,
    Unauthorized,
    error_for_status,
    problem_body,
)
from scanserve.http.mock_values import value_for
from scanserve.identity import tokens
from scanserve.identity.auth import Credentials, Principal, Via, anonymous
from scanserve.identity.keys import hash_secret, parse_key
from scanserve.infra.encoding import dumps
from scanserve.infra.ratelimit import RateLimiter
from scanserve.settings import Settings

PREFER = b"prefer"
# Rate-limit headers come from the gateway's count, on every answer, errors included.
_GATEWAY_HEADERS = re.compile(r"(x-)?ratelimit-.*", re.IGNORECASE)
_PREFERENCE = re.compile(r'\s*([A-Za-z_-]+)\s*(?:=\s*("[^"]*"|[^,;\s]*))?')
_SESSION_VALUE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Mock principals all act for one organisation, which no operation of the mock looks at.
_MOCK_ORG = 1


@dataclass(frozen=True)
class Preferences:
    """What the client asked for in ``Prefer`` (RFC 7240; unknown preferences are ignored)."""

    code: str | None = None
    example: str | None = None
    dynamic: bool | None = None


def preferences(raw_headers: Iterable[tuple[bytes, bytes]], query: bytes = b"") -> Preferences:
    """From the ``Prefer`` headers, else from Prism's query parameters ``__code``,
    ``__example`` and ``__dynamic`` (for a browser, which cannot set the header)."""
    found: dict[str, str] = {}
    for name, value in raw_headers:
        if name.lower() != PREFER:
            continue
        for item in value.decode("latin-1").split(","):
            match = _PREFERENCE.match(item.split(";")[0])
            if match and match.group(1):
                found.setdefault(match.group(1).lower(), (match.group(2) or "").strip('"'))
    for parameter, given in parse_qsl(query.decode("latin-1")):
        if parameter in ("__code", "__example", "__dynamic"):
            found.setdefault(parameter[2:], given)
    dynamic = found.get("dynamic")
    if dynamic is not None and dynamic.lower() not in ("true", "false"):
        # a recognised preference with a value it cannot take: a typo, said rather than
        # answered as if dynamic=false
        raise BadRequest(f"Mock: Prefer: dynamic takes true or false, not {dynamic!r}.")
    return Preferences(
        code=found.get("code"),
        example=found.get("example"),
        dynamic=None if dynamic is None else dynamic.lower() == "true",
    )


@dataclass
class MockEdge:
    """What the gateway needs of the process (:class:`scanserve.http.gateway.Edge`): the
    settings and a rate limiter, no database."""

    settings: Settings
    limiter: RateLimiter
    jwt_verifier: Any = None


class ShapeOnly:
    """The mock's authentication: a credential of the right shape (an API key or personal
    access token with its checksum, a JWT's three parts, a session cookie's characters) is
    accepted, with every scope; a malformed one is refused with the server's words. With the
    cookie, unsafe requests need ``csrf_token`` as their ``X-CSRF-Token`` (the mock's answer
    to ``POST /auth/session`` gives it)."""

    def __init__(self, csrf_token: str | None) -> None:
        self._csrf_hash = hash_secret(csrf_token) if csrf_token else None

    def __call__(
        self, creds: Credentials, client_host: str, settings: Settings, _jwt: Any = None
    ) -> Principal:
        minute = settings.rate_limit_per_minute
        if creds.api_key is not None:
            key = parse_key(creds.api_key)
            if key is None:
                raise Unauthorized("The API key is malformed.")
            if key.kind == "cpk":
                minute = settings.publishable_rate_limit_per_minute
            return self._principal("api_key", creds.api_key, minute, settings)
        if creds.bearer is not None:
            if tokens.looks_like_token(creds.bearer):
                if not tokens.is_well_formed(creds.bearer):
                    raise Unauthorized("The access token is malformed.")
            elif creds.bearer.count(".") != 2:  # a JWT's three parts (as identity.oidc reads it)
                raise Unauthorized("The access token is not valid.")
            return self._principal("bearer", creds.bearer, minute, settings)
        if creds.session_cookie is not None:
            if not _SESSION_VALUE.fullmatch(creds.session_cookie):
                raise Unauthorized("The browser session has ended or is not valid; sign in again.")
            return self._principal("cookie", creds.session_cookie, minute, settings)
        return anonymous(client_host, settings)

    def _principal(self, via: Via, secret: str, per_minute: int, settings: Settings) -> Principal:
        return Principal(
            via=via,
            org_ids=frozenset({_MOCK_ORG}),
            default_org_id=_MOCK_ORG,
            rate_key=f"mock:{hash_secret(secret)[:24]}",
            per_minute=per_minute,
            per_day=settings.rate_limit_per_day,
            csrf_hash=self._csrf_hash if via == "cookie" else None,
        )


class MockResponder:
    """The handlers of the mock app: one per operation of ``spec`` (the contract as parsed,
    ``$ref`` kept), answering as the module docstring says."""

    def __init__(
        self, spec: Mapping[str, Any], *, dynamic: bool, seed: int, type_base: str
    ) -> None:
        self._spec = spec
        self._dynamic = dynamic
        self._seed = seed
        self._type_base = type_base
        self._operations = {
            op["operationId"]: op
            for item in spec["paths"].values()
            for method, op in item.items()
            if method in _METHODS
        }
        # answers per operation so far: each dynamic answer draws from its own seed
        self._counts: dict[str, itertools.count[int]] = {
            op_id: itertools.count() for op_id in self._operations
        }

    def csrf_token(self) -> str | None:
        """The ``csrf_token`` of the mock's answer to ``signIn`` (its example)."""
        sign_in = self.example_of("signIn", "201")
        return sign_in.get("csrf_token") if isinstance(sign_in, dict) else None

    def handler(self, operation_id: str) -> Callable[..., Awaitable[Response]]:
        if operation_id not in self._operations:
            raise KeyError(operation_id)

        async def answer(*_args: Any, **params: Any) -> Response:
            # the request was valid (Connexion validated it before calling this); the file
            # parts of a multipart body are closed unread, or their spooled files stay open
            for value in params.values():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, UploadFile):
                        await item.close()
            scope = _scope.get()
            prefer = preferences(scope["headers"], scope.get("query_string", b""))
            return self.answer(operation_id, prefer)

        answer.__name__ = operation_id
        return answer

    def answer(self, operation_id: str, prefer: Preferences) -> Response:
        responses: Mapping[str, Any] = self._operations[operation_id]["responses"]
        status = self._status(operation_id, responses, prefer.code)
        response = self._deref(responses[status])
        dynamic = self._dynamic if prefer.dynamic is None else prefer.dynamic
        # seeded mock data, not secrets: the same seed must give the same answers
        seed = f"{self._seed}:{operation_id}:{next(self._counts[operation_id])}"
        rng = random.Random(seed)  # noqa: S311
        headers = self._headers(response, rng)
        content: Mapping[str, Any] = response.get("content") or {}
        if not content:
            if prefer.example is not None:
                raise NotFound(
                    f"Mock: the {status} answer of {operation_id} has no body, so no example "
                    f"named {prefer.example!r}."
                )
            return Response(status_code=int(status), headers=headers)
        media_type, media = next(iter(content.items()))
        if prefer.example is not None:
            body = self._named_example(operation_id, status, media, prefer.example)
        elif media_type == "application/problem+json" and (
            dynamic or _first_example(media, self._deref) is _NONE
        ):
            body = self._server_problem(operation_id, int(status))
        elif dynamic:
            body = value_for(media.get("schema", True), rng, self._resolve)
        else:
            body = _first_example(media, self._deref)
            if body is _NONE:
                body = value_for(media.get("schema", True), rng, self._resolve)
        return Response(
            content=dumps(body), status_code=int(status), headers=headers, media_type=media_type
        )

    def example_of(self, operation_id: str, status: str) -> Any:
        """The example the mock answers ``operation_id``'s ``status`` with (``None``: none)."""
        response = self._deref(self._operations[operation_id]["responses"].get(status, {}))
        for media in (response.get("content") or {}).values():
            found = _first_example(media, self._deref)
            return None if found is _NONE else found
        return None

    def _status(self, operation_id: str, responses: Mapping[str, Any], code: str | None) -> str:
        declared = sorted(str(status) for status in responses)
        if code is None:
            success = [s for s in declared if s.startswith("2")]
            return success[0] if success else declared[0]
        if code not in declared:
            raise NotFound(
                f"Mock: {operation_id} declares no {code} answer (Prefer: code={code}); it "
                f"declares {', '.join(declared)}."
            )
        return code

    def _named_example(
        self, operation_id: str, status: str, media: Mapping[str, Any], name: str
    ) -> Any:
        examples = media.get("examples") or {}
        if name not in examples:
            known = ", ".join(sorted(examples)) or "none"
            raise NotFound(
                f"Mock: the {status} answer of {operation_id} has no example named {name!r} "
                f"(Prefer: example={name}); its named examples: {known}."
            )
        return self._deref(examples[name])["value"]

    def _server_problem(self, operation_id: str, status: int) -> Any:
        detail = f"Mock: the {status} answer of {operation_id}, as asked for."
        error: ScanserveError
        if status == 429:
            error = RateLimited(41, detail)
        elif status == 503:
            error = ServiceUnavailable({}, detail)
        elif status == 507:
            error = InsufficientStorage(detail)
        else:
            error = error_for_status(status, detail)
        return problem_body(error, type_base=self._type_base)

    def _headers(self, response: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, declared in (response.get("headers") or {}).items():
            header = self._deref(declared)
            if _GATEWAY_HEADERS.fullmatch(name) or not header.get("required", False):
                continue
            schema = header.get("schema", {})
            value = header.get("example", _NONE)
            if value is _NONE:
                value = next(iter(schema.get("examples", ())), _NONE)
            if value is _NONE:
                value = value_for(schema, rng, self._resolve)
            headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return headers

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only references inside the contract are followed: {ref}")
        node: Any = self._spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node  # type: ignore[no-any-return]

    def _deref(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            node = self._resolve(node["$ref"])
        return node


_NONE = object()


def _first_example(media: Mapping[str, Any], deref: Callable[[Any], Any]) -> Any:
    examples = media.get("examples")
    if examples:
        return deref(next(iter(examples.values())))["value"]
    if "example" in media:
        return media["example"]
    schema = deref(media.get("schema", {}))
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    return _NONE
