r"""Serve an OpenAPI 3.1 document with Connexion 3.3, validating with JSON Schema 2020-12.

Connexion 3.3 checks every document against its bundled OpenAPI 3.0 meta-schema and validates
requests and responses with JSON Schema draft 4, so it refuses a 3.1 document, and with a 3.0
one it would not know ``type`` lists, ``const``, numeric ``exclusiveMinimum``, ``prefixItems``
and the like. This module plugs 3.1 in through Connexion's own extension points, by subclassing
only: nothing of Connexion is patched, and a plain ``connexion.AsyncApp`` in the same process
behaves exactly as before. ::

    app = OpenAPI31App("scanserve", resolver=...)    # any connexion.AsyncApp argument
    app.add_api("openapi.yaml", validate_responses=True)  # or a dict, or an OpenAPI31Specification

- :class:`~scanserve.http.oas31_spec.OpenAPI31Specification` (:mod:`scanserve.http.oas31_spec`)
  validates the document with openapi-spec-validator's OAS 3.1 validator and refuses anything
  else. ``{{ }}`` in a file is rendered by Jinja, as Connexion does.
- :data:`~scanserve.http.oas31_validators.VALIDATOR_MAP` (the app's default;
  :mod:`scanserve.http.oas31_validators`) validates parameters, JSON and form bodies and
  JSON/text responses with ``Draft202012Validator`` and
  :data:`~scanserve.http.oas31_schema.FORMAT_CHECKER` (:mod:`scanserve.http.oas31_schema`),
  which enforces ``shortuuid`` and a strict ``uri`` besides jsonschema's own formats
  (date-time, uuid, ...), and reads ``pattern`` and ``patternProperties`` as ECMA-262 regular
  expressions (as JSON Schema says) rather than Python's: ``\s``, ``\d`` and ``\w`` mean what
  they mean there.
- :func:`~scanserve.http.oas31_spec.load_spec` gives the validated document as a dict;
  ``<base>/openapi.json`` serves that document as written (``$ref`` kept, ``servers`` set to
  the base path), Swagger UI at ``<base>/ui/``.
- An operation produces the media types of its responses below 400, so a handler returning a
  dict needs to name none when errors are ``application/problem+json``.

Failures leave as :mod:`scanserve.errors`: a body that is not JSON or not text in its charset is
:class:`~scanserve.errors.BadRequest`; a request against the contract is
:class:`~scanserve.errors.ValidationFailed` with one :class:`~scanserve.errors.FieldError` per
problem, all of them, sorted by pointer (``/raw_value``, ``/metadata/foo``, a missing property
``x`` at ``/x``, ``""`` for the whole body; ``query/page``, ``path/id`` for parameters); a
response against the contract is :class:`~scanserve.errors.InternalError`, logged at ERROR.
Connexion itself still raises its ``UnsupportedMediaTypeProblem`` (415, wrong Content-Type)
ahead of these validators, and ``NonConformingResponseHeaders`` (500: a response's media type
is not in the contract, or a required response header is missing when the response leaves the
handler, which headers set by outer middleware are too late for): the app maps them by status.

Limits that Connexion sets, kept visible rather than papered over:

- It casts query and path parameters and form fields by one ``type`` before handlers see them,
  so a ``type`` list or a missing ``type`` there would fail on every request; such a document is
  refused at load instead. ``type`` lists in JSON bodies are fine.
- ``readOnly``/``writeOnly`` are annotations (as in 2020-12), not enforced either way;
  ``discriminator`` is not used for validation. ``nullable`` is not a 3.1 keyword and schemas
  ignore it (write ``type: [..., "null"]``); Connexion still reads it on a whole request body,
  and then lets a JSON ``null`` body through unchecked.
- ``$ref`` is resolved by Connexion, inside the document and to files, by merging the target
  over the ``$ref``'s siblings; a sibling that repeats a keyword of a target in the document
  is refused at load (write ``allOf``). ``$id``/``$dynamicRef`` are not supported.
- The bundled Swagger UI (swagger-ui 4.15) cannot render a 3.1 document: the page loads but says
  the version is invalid. Point ``SwaggerUIOptions(swagger_ui_template_dir=...)`` at a
  swagger-ui 5 dist that has an ``index.j2``.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.decorators import StarletteDecorator
from connexion.middleware.main import API, ConnexionMiddleware

from scanserve.http.oas31_spec import OpenAPI31Specification
from scanserve.http.oas31_validators import VALIDATOR_MAP

__all__ = ["OpenAPI31App"]


_API_OPTIONS = (
    # the options ConnexionMiddleware.add_api lets an API override (validator_map aside)
    "auth_all_paths",
    "jsonifier",
    "swagger_ui_options",
    "pythonic_params",
    "resolver",
    "resolver_error",
    "strict_validation",
    "uri_parser_class",
    "validate_responses",
    "security_map",
)


_URLS = ("http://", "https://")


class _OpenAPI31Middleware(ConnexionMiddleware):
    """ConnexionMiddleware whose ``add_api`` loads documents as 3.1.

    Its body mirrors ``ConnexionMiddleware.add_api`` (3.3.0), which calls
    ``Specification.load`` directly; everything downstream takes the built specification.
    """

    def add_api(
        self,
        specification: str | pathlib.Path | dict[str, Any] | OpenAPI31Specification,
        *,
        base_path: str | None = None,
        name: str | None = None,
        arguments: dict[str, Any] | None = None,
        validator_map: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add api after an application has started")
        if not isinstance(specification, OpenAPI31Specification):
            source = specification
            if isinstance(source, (str, pathlib.Path)) and not str(source).startswith(_URLS):
                source = self.specification_dir / source
                if pathlib.Path.cwd() in source.parents:  # watched when run with reload
                    self.extra_files.append(str(source.relative_to(pathlib.Path.cwd())))
            specification = OpenAPI31Specification.load(source, arguments=arguments)
        options = self.options.replace(
            # a partial map must not let Connexion's draft-4 validators back in for the rest
            validator_map={**VALIDATOR_MAP, **validator_map} if validator_map else None,
            **{key: kwargs.pop(key) for key in _API_OPTIONS if key in kwargs},
        )
        self.apis.append(
            API(specification, base_path=base_path, name=name, **options.__dict__, **kwargs)
        )


class _OnceDecorator(StarletteDecorator):
    """Connexion wraps a handler in its parameter, response and sync/async decorators, and
    inspects its signature, on every request; the result depends on the operation only, so
    it is built once."""

    def decorate(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.__dict__.get("_decorated")
        if decorated is None:
            decorated = self._decorated = super().decorate(function)
        return decorated  # type: ignore[no-any-return]


class _Operation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> Callable[..., Any]:  # type: ignore[override]
        decorator = _OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)  # type: ignore[no-any-return]


class _Api(AsyncApi):
    def make_operation(self, operation: Any) -> AsyncOperation:
        return _Operation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _ASGIApp(AsyncASGIApp):
    api_cls = _Api


class OpenAPI31App(AsyncApp):
    """A ``connexion.AsyncApp`` that serves OpenAPI 3.1 documents; it takes the same arguments.

    ``validator_map`` defaults to :data:`VALIDATOR_MAP`; a map given here or to ``add_api``
    replaces entries of it.
    """

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        kwargs["validator_map"] = {**VALIDATOR_MAP, **(kwargs.get("validator_map") or {})}
        super().__init__(import_name, **kwargs)
        # operations that decorate their handler once, not per request (see _OnceDecorator)
        self._middleware_app = _ASGIApp()
        # AbstractApp.__init__ builds a plain ConnexionMiddleware; use ours, same arguments.
        self.middleware = _OpenAPI31Middleware(
            self._middleware_app, import_name=import_name, **kwargs
        )
