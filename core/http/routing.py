"""The contract's one route table, built once from the spec at start-up.

Whatever must know a request's operation before Connexion's router runs reads this table:
the gateway (which body limit and media types apply, whether a credential that fails may be
ignored, the liveness probe), the 405 answers (:class:`MostSpecificPath`, and the methods
named in ``Allow``) and the fast path (which plan serves the request). A :class:`Route`
carries what was compiled for its operation once (its path regex and convertors, the media
types of its body, its methods' neighbours), as FastAPI's ``APIRoute`` does.

"Most specific" has one meaning here, OpenAPI's: concrete paths before templated ones, a
literal segment winning over a parameter at the first place two templates differ
(``/captures/upload-image`` before ``/captures/{id}``). Connexion's router, which serves the
operation in the end, tries the contract's paths in the order they are written, and takes the
first whose path and method fit; the table refuses a contract in which that order and this
one would pick different operations for a request, so that the two always agree.

The gateway matches a request once and leaves the :class:`RouteMatch` in the ASGI scope
under :data:`ROUTE_KEY`, as Starlette leaves ``scope["route"]``: the middlewares further in
read it instead of matching the path again (and match it themselves only when it is absent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from connexion.frameworks.starlette import (
    FloatConverter,
    IntegerConverter,
    starlettify_path,
)
from connexion.http_facts import METHODS
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

ROUTE_KEY = "scanserve.route"


@dataclass(frozen=True, eq=False)
class Route:
    """One operation of the contract, and what was compiled for it once.

    ``media_types``: the media types its request body may have (none: it takes no body);
    ``public_read``: a GET whose ``security`` admits ``{}``, where a credential that fails is
    ignored rather than refused; ``public``: any operation whose ``security`` admits ``{}``;
    ``publishable``: its ``security`` names a scheme that takes publishable (``cpk``) keys
    (``x-scanserve-key-kinds``), so it is in the publishable scope; ``regex`` and
    ``convertors``: the request path (base path included) as Connexion's router matches it,
    and its parameters; ``allowed``: the methods
    of its path (HEAD with GET, as Starlette answers it), for ``Allow``; ``shadowed_by``: the
    regexes of more specific paths that some request paths fit as well as this one and that
    have no operation with this method (such a request is a 405: see :class:`RouteMatch`).
    """

    method: str  # upper case, as the contract has it (HEAD is no route of its own)
    template: str  # the contract's path, without the base path
    operation_id: str
    media_types: frozenset[str] = frozenset()
    public_read: bool = False
    public: bool = False
    publishable: bool = False
    has_body: bool = False  # the operation declares a requestBody
    regex: re.Pattern[str] = field(default=re.compile(r"(?!)"), repr=False)
    convertors: Mapping[str, Convertor[Any]] = field(default_factory=dict, repr=False)
    allowed: frozenset[str] = frozenset()
    shadowed_by: tuple[re.Pattern[str], ...] = field(default=(), repr=False)
    # the "/"s of every request path it fits (None: a parameter of type path spans several)
    slashes: int | None = None

    def path_params(self, match: re.Match[str]) -> dict[str, Any]:
        """The path parameters of a request path this route's regex matched, converted as
        Connexion's router converts them."""
        return {
            name: self.convertors[name].convert(value) for name, value in match.groupdict().items()
        }


class RouteMatch(NamedTuple):
    """What the table says of one request.

    ``route``: the operation of the request's method on the most specific path that fits the
    request path (None: none; HEAD has none of its own). ``match``: its regex's match.
    ``refused``: the request is a 405 though a path with its method fits, because a more
    specific path fits too and has no such method (``GET /captures/upload-image``; HEAD
    counts as GET), where the router, which picks any path with the method, would hand it to
    the less specific one.
    """

    route: Route | None
    match: re.Match[str] | None
    refused: bool


NO_ROUTE = RouteMatch(None, None, False)


def _segments(template: str) -> list[str]:
    return template.split("/")


def _specificity(template: str) -> tuple[int, ...]:
    """Sorts most specific first: a literal segment (0) before a parameter (1)."""
    return tuple(int("{" in segment) for segment in _segments(template))


def _resolved(spec: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its local ``$ref`` followed (the contract's parameters and schemas)."""
    for _ in range(32):
        if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str)):
            return node
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    raise ValueError(f"$ref chain too long at {node!r}")


def _path_types(spec: Mapping[str, Any], item: Mapping[str, Any], template: str) -> dict[str, str]:
    """Each path parameter's type as Connexion's router reads it: ``integer``, ``number``,
    and ``path`` for a string of that format, get convertors of their own; any other fits
    one path segment."""
    types: dict[str, str] = {}
    operations = [op for method, op in item.items() if method in METHODS]
    for source in (item, *operations):
        for reference in source.get("parameters", []):
            parameter = _resolved(spec, reference)
            if parameter.get("in") != "path":
                continue
            schema = _resolved(spec, parameter.get("schema", {}))
            kind = schema.get("type")
            if kind == "string" and schema.get("format") == "path":
                kind = "path"
            name = parameter["name"]
            if types.setdefault(name, kind) != kind:
                raise ValueError(
                    f"the contract gives path parameter {name!r} of {template} two types"
                )
    return types


@dataclass(frozen=True, order=True)
class _Path:
    """A path of the contract, compiled; sorts most specific first, then in the contract's
    order."""

    specificity: tuple[int, ...]
    index: int  # in the contract's order
    template: str = field(compare=False)
    item: Mapping[str, Any] = field(compare=False)
    regex: re.Pattern[str] = field(compare=False)
    convertors: Mapping[str, Convertor[Any]] = field(compare=False)
    allowed: frozenset[str] = field(compare=False)  # its methods, and HEAD with GET
    spans: bool = field(compare=False)  # a parameter of type path may span segments

    @classmethod
    def compile(
        cls, spec: Mapping[str, Any], base_path: str, index: int, template: str, item: Any
    ) -> _Path:
        types = _path_types(spec, item, template)
        regex, _, convertors = compile_path(base_path + starlettify_path(template, types))
        methods = {method.upper() for method in item if method in METHODS}
        if "GET" in methods:
            methods.add("HEAD")  # routes answer HEAD wherever they answer GET
        return cls(
            _specificity(template),
            index,
            template,
            item,
            regex,
            convertors,
            frozenset(methods),
            "path" in types.values(),
        )

    def may_overlap(self, other: _Path) -> bool:
        """Whether some request path may fit both (certainly not: as many segments, and two
        different literals at one place)."""
        if self.spans or other.spans:
            return True
        mine, theirs = _segments(self.template), _segments(other.template)
        return len(mine) == len(theirs) and all(
            a == b or "{" in a or "{" in b for a, b in zip(mine, theirs, strict=True)
        )


class RouteTable:
    """The contract's operations, most specific path first (see the module docstring)."""

    def __init__(self, routes: Iterable[Route] = (), base_path: str = ""):
        self.routes: tuple[Route, ...] = tuple(routes)
        self.base_path = base_path
        # Per method, and (unless a parameter may span segments) per number of "/" in the
        # path: a request tries the regexes of the few routes that could fit it, in order.
        self._by_slashes = all(route.slashes is not None for route in self.routes)
        by_method: dict[str, dict[int, list[Route]]] = {}
        for route in self.routes:
            slashes = route.slashes if self._by_slashes and route.slashes is not None else -1
            by_method.setdefault(route.method, {}).setdefault(slashes, []).append(route)
        self._by_method = {
            method: {slashes: tuple(routes) for slashes, routes in buckets.items()}
            for method, buckets in by_method.items()
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> RouteTable:
        base_path = urlsplit(spec["servers"][0]["url"]).path.rstrip("/")
        # Connexion's routing registers these (for OpenAPI's integer and number path
        # parameters) when it is built; the table is compiled before, with the same ones.
        register_url_convertor("float", FloatConverter())
        register_url_convertor("int", IntegerConverter())
        paths = sorted(
            (_Path.compile(spec, base_path, index, template, item))
            for index, (template, item) in enumerate(spec["paths"].items())
        )
        _check_router_agrees(paths)
        publishable_schemes = publishable_scheme_names(spec)
        routes = []
        for position, path in enumerate(paths):
            for method, op in path.item.items():
                if method not in METHODS or not isinstance(op, dict) or "operationId" not in op:
                    continue
                content = op.get("requestBody", {}).get("content", {})
                security = op.get("security", spec.get("security", []))
                routes.append(
                    Route(
                        method=method.upper(),
                        template=path.template,
                        operation_id=op["operationId"],
                        media_types=frozenset(m.lower() for m in content),
                        public_read=method == "get" and {} in security,
                        public={} in security,
                        publishable=any(
                            publishable_schemes & requirement.keys() for requirement in security
                        ),
                        has_body="requestBody" in op,
                        regex=path.regex,
                        convertors=path.convertors,
                        allowed=path.allowed,
                        shadowed_by=tuple(
                            other.regex
                            for other in paths[:position]
                            if method.upper() not in other.allowed and path.may_overlap(other)
                        ),
                        slashes=None if path.spans else (base_path + path.template).count("/"),
                    )
                )
        return cls(routes, base_path)

    def match(self, method: str, path: str) -> RouteMatch:
        """The route of ``method`` on the most specific path that ``path`` (the whole request
        path) fits, and whether the request is refused (see :class:`RouteMatch`)."""
        buckets = self._by_method.get(method)
        if buckets is None:
            if method != "HEAD":
                return NO_ROUTE
            # answered as a GET, but no route of its own (the gateway's checks are a GET's
            # only when the router has made it one)
            found = self.match("GET", path)
            return NO_ROUTE if not found.refused else RouteMatch(None, None, True)
        for route in buckets.get(path.count("/") if self._by_slashes else -1, ()):
            matched = route.regex.fullmatch(path)
            if matched is not None:
                refused = False
                for regex in route.shadowed_by:
                    if regex.fullmatch(path) is not None:
                        refused = True
                        break
                return RouteMatch(route, matched, refused)
        return NO_ROUTE

    def allowed_methods(self, path: str) -> list[str]:
        """The methods of the most specific path that ``path`` fits (none: it fits none)."""
        for route in self.routes:
            if route.regex.fullmatch(path) is not None:
                return sorted(route.allowed)
        return []

    def operations_with_body(self) -> frozenset[str]:
        return frozenset(route.operation_id for route in self.routes if route.has_body)


def publishable_scheme_names(spec: Mapping[str, Any]) -> frozenset[str]:
    """The security schemes that take publishable (``cpk``) keys: those whose
    ``x-scanserve-key-kinds`` names ``cpk``."""
    schemes = spec.get("components", {}).get("securitySchemes", {})
    return frozenset(
        name
        for name, scheme in schemes.items()
        if "cpk" in scheme.get("x-scanserve-key-kinds", ())
    )


def _check_router_agrees(paths: Sequence[_Path]) -> None:
    """Connexion's router takes the first path in the contract's order that fits the request
    and has its method: refuse a contract where that is not the most specific one."""
    for position, path in enumerate(paths):
        methods = path.item.keys() & METHODS
        for other in paths[position + 1 :]:
            if (
                other.index < path.index
                and methods & other.item.keys()
                and path.may_overlap(other)
            ):
                raise ValueError(
                    f"the contract lists {other.template} before {path.template}, which is "
                    "more specific and has a method of it: Connexion's router would route "
                    f"requests that fit both to {other.template}; list {path.template} first"
                )


class MostSpecificPath:
    """A request path answers only the methods of the contract's path that fits it best.

    ``/captures/upload-image`` (POST) also fits the template ``/captures/{id}`` (GET), and
    ``.../photos/reorder`` (POST) fits ``.../photos/{photo_id}`` (PATCH); routing would hand
    a GET of the first to ``getCapture``, whose id check then answers 422. OpenAPI matches
    concrete paths before templated ones, so any other method there is a 405, which the
    exception middleware renders (with ``Allow``) like every other. Reads the gateway's
    :class:`RouteMatch` from the scope.
    """

    def __init__(self, app: ASGIApp, routes: RouteTable):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = scope.get(ROUTE_KEY)
            if found is None:
                found = self.routes.match(scope["method"], scope["path"])
            if found.refused:
                raise HTTPException(405)
        await self.app(scope, receive, send)
