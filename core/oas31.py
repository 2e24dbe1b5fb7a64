r"""Serve an OpenAPI 3.1 document with Connexion 3.3, validating with JSON Schema 2020-12.

Connexion 3.3 checks every document against its bundled OpenAPI 3.0 meta-schema and validates
requests and responses with JSON Schema draft 4, so it refuses a 3.1 document, and with a 3.0
one it would not know ``type`` lists, ``const``, numeric ``exclusiveMinimum``, ``prefixItems``
and the like. This module plugs 3.1 in through Connexion's own extension points, by subclassing
only: nothing of Connexion is patched, and a plain ``connexion.AsyncApp`` in the same process
behaves exactly as before. ::

    app = OpenAPI31App("scanserve", resolver=...)    # any connexion.AsyncApp argument
    app.add_api("openapi.yaml", validate_responses=True)  # or a dict, or an OpenAPI31Specification

- :class:`OpenAPI31Specification` validates the document with openapi-spec-validator's OAS 3.1
  validator and refuses anything else. ``{{ }}`` in a file is rendered by Jinja, as Connexion does.
- :data:`VALIDATOR_MAP` (the app's default) validates parameters, JSON and form bodies and
  JSON/text responses with ``Draft202012Validator`` and :data:`FORMAT_CHECKER`, which enforces
  ``shortuuid`` and a strict ``uri`` besides jsonschema's own formats (date-time, uuid, ...),
  and reads ``pattern`` and ``patternProperties`` as ECMA-262 regular expressions (as JSON
  Schema says) rather than Python's: ``\s``, ``\d`` and ``\w`` mean what they mean there.
- :func:`load_spec` gives the validated document as a dict; ``<base>/openapi.json`` serves that
  document as written (``$ref`` kept, ``servers`` set to the base path), Swagger UI at
  ``<base>/ui/``.
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

import contextlib
import copy
import functools
import hashlib
import json
import logging
import pathlib
import re
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import Any, ClassVar

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.exceptions import BadRequestProblem, InvalidSpecification, TypeValidationError
from connexion.http_facts import METHODS
from connexion.json_schema import resolve_refs
from connexion.middleware.main import API, ConnexionMiddleware
from connexion.operations import OpenAPIOperation
from connexion.spec import OpenAPISpecification
from connexion.utils import coerce_type
from connexion.validators import (
    AbstractRequestBodyValidator,
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from scanserve import untrusted
from scanserve.cookies import cookie_value
from scanserve.errors import BadRequest, FieldError, InternalError, ValidationFailed

__all__ = [
    "FORMAT_CHECKER",
    "SHORTUUID_ALPHABET",
    "VALIDATOR_MAP",
    "OpenAPI31App",
    "OpenAPI31Specification",
    "load_spec",
]

logger = logging.getLogger(__name__)

# -- formats -------------------------------------------------------------------------------

SHORTUUID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
"""The alphabet of the ``shortuuid`` package; a ``shortuuid`` is 22 of these characters."""

_SHORTUUID = re.compile(f"[{SHORTUUID_ALPHABET}]{{22}}")
# RFC 3986 "URI": a scheme, then only characters a URI may hold, percent-escapes well formed
# and at most one fragment. jsonschema checks "uri" only when rfc3987 or rfc3986-validator is
# installed, which nothing here requires; this keeps the check the same on every machine.
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:(?:{_URI_CHAR}|[\[\]])*(?:#{_URI_CHAR}*)?")


def _is_shortuuid(instance: object) -> bool:
    return not isinstance(instance, str) or _SHORTUUID.fullmatch(instance) is not None


def _is_uri(instance: object) -> bool:
    return not isinstance(instance, str) or _URI.fullmatch(instance) is not None


FORMAT_CHECKER = FormatChecker(formats=())
"""jsonschema's 2020-12 formats (date-time via rfc3339-validator, which openapi-spec-validator
brings), plus ``shortuuid`` and ``uri``. A checker of our own: registering on jsonschema's
shared ones would change every other user of jsonschema in the process."""
FORMAT_CHECKER.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
FORMAT_CHECKER.checks("shortuuid")(_is_shortuuid)
FORMAT_CHECKER.checks("uri")(_is_uri)


# -- ECMA-262 patterns ------------------------------------------------------------------------

# JSON Schema's `pattern` is an ECMA-262 regular expression; Python's `re` reads the class
# escapes differently (its `\s` also takes \x1c-\x1f and \x85, not \ufeff; `\d` and `\w`
# take every Unicode digit and letter). These are ECMA-262's, spelled for `re`.
_ECMA_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_CLASS = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_SPACE}


@functools.lru_cache(maxsize=256)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    r"""``pattern`` compiled with ECMA-262 meanings of ``\d \D \w \W \s \S``.

    Outside a bracket class each becomes a class of its own; inside one, ``\d \w \s`` are
    spelled out, while a negated escape inside a class (``[^\S]``) keeps Python's reading,
    which no pattern of ours uses.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            members = _ECMA_CLASS.get(escape.lower())
            if members is not None and not in_class:
                out.append(f"[{members}]" if escape.islower() else f"[^{members}]")
            elif members is not None and escape.islower():
                out.append(members)
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _ecma_pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not ecma_regex(patrn).search(instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _ecma_pattern_properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in properties.items():
        for key, value in instance.items():
            if ecma_regex(patrn).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


_Draft202012ECMA = validators.extend(
    Draft202012Validator,
    {"pattern": _ecma_pattern, "patternProperties": _ecma_pattern_properties},
)


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Parameters are validated on every request: build each schema's validator once (by
    # identity; the entry keeps the schema alive, so its id is not reused while cached).
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) > 10_000:  # many apps built in one process (tests)
            _VALIDATORS.clear()
        entry = (schema, _Draft202012ECMA(schema, format_checker=FORMAT_CHECKER))
        _VALIDATORS[id(schema)] = entry
    return entry[1]


# -- errors --------------------------------------------------------------------------------

_MAX_MESSAGE = 300  # jsonschema quotes the instance; a large one must not flood the response


def _short(message: str) -> str:
    # jsonschema quotes the instance, which may hold what no response can carry
    message = message.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    first_line = message.splitlines()[0] if message else message
    return first_line if len(first_line) <= _MAX_MESSAGE else first_line[: _MAX_MESSAGE - 1] + "…"


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _locate(error: ValidationError) -> list[tuple[list[object], str]]:
    """The instance locations an error is about, with a message for each.

    jsonschema reports a missing property, a bad property name and ``additionalProperties:
    false`` at the enclosing object; clients want the field itself.
    """
    path, instance, keyword = list(error.absolute_path), error.instance, error.validator
    if "propertyNames" in error.absolute_schema_path:
        return [([*path, instance], f"Invalid property name: {error.message}")]
    if keyword == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance and error.message == f"{name!r} is a required property":
                return [([*path, name], error.message)]
    if keyword == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [
            ([*path, name], f"Additional property {name!r} is not allowed")
            for name in instance
            if name not in known and not any(re.search(p, name) for p in patterns)
        ]
        if extras:
            return extras
    return [(path, error.message)]


def _sorted_unique(errors: Iterable[FieldError]) -> list[FieldError]:
    # dict keeps first-seen order, and sorted() is stable: a field's errors stay in schema order
    return sorted(dict.fromkeys(errors), key=lambda e: e.pointer)


def _schema_errors(validator: Draft202012Validator, instance: Any) -> list[FieldError]:
    return _sorted_unique(
        FieldError(_pointer(parts), _short(message))
        for error in validator.iter_errors(instance)
        for parts, message in _locate(error)
    )


# -- request validators --------------------------------------------------------------------


class _ParameterValidator(ParameterValidator):
    """All parameters, all their errors, as ``<in>/<name>`` field errors.

    Query and path values arrive cast by Connexion's URI parser (``"3"`` -> 3, left a string
    when the cast fails, so the schema reports it). Headers and cookies are cast here too,
    which Connexion does not do (it rejects ``"5"`` for a ``type: integer`` header).
    """

    _READERS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "query": lambda request, name: request.query_params.get(name),
        "path": lambda request, name: request.path_params.get(name.replace("-", "_")),
        "header": lambda request, name: request.headers.get(name),
        # never request.cookies: Starlette unquotes with http.cookies (scanserve.cookies)
        "cookie": lambda request, name: cookie_value(
            "; ".join(request.headers.getlist("cookie")), name
        ),
    }

    def validate_request(self, request: Any) -> None:
        errors: list[FieldError] = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(request, self.security_query_params)
            errors += [FieldError(f"query/{name}", "Unknown query parameter") for name in extra]
        for location, params in self.parameters.items():
            for param in params:
                errors += self._check(location, param, request)
        if errors:
            raise ValidationFailed(_sorted_unique(errors))

    def _check(self, location: str, param: dict[str, Any], request: Any) -> list[FieldError]:
        name = param["name"]
        pointer = f"{location}/{name}"
        value = self._READERS[location](request, name) if location in self._READERS else None
        if value is None:
            if param.get("required"):
                return [FieldError(pointer, f"The {location} parameter {name!r} is required")]
            return []
        schema = param.get("schema")
        if schema is None:  # a parameter described by `content`: nothing to check it against
            return []
        if location in ("header", "cookie"):
            # a failed cast leaves the string, and the schema says what is wrong with it
            with contextlib.suppress(TypeValidationError):
                value = coerce_type(param, value, location, name)
        text_problem = untrusted.string_problem(value) if isinstance(value, str) else None
        if text_problem:
            return [FieldError(pointer, text_problem)]
        errors = _validator(schema).iter_errors(value)
        return [FieldError(pointer, _short(error.message)) for error in errors]


_NO_BODY = object()  # an empty body, told apart from a JSON `null`


def _body_required() -> ValidationFailed:
    return ValidationFailed([FieldError("", "A request body is required")])


class _RequiredBody(AbstractRequestBodyValidator):
    """Connexion's base class answers a missing required body with its own 400; ours is a 422."""

    async def wrap_receive(self, receive: Any, *, scope: Any) -> Any:
        try:
            return await super().wrap_receive(receive, scope=scope)
        except BadRequestProblem as exc:  # our _parse/_validate raise only scanserve errors
            raise _body_required() from exc


class _JSONRequestBodyValidator(_RequiredBody, JSONRequestBodyValidator):
    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Any) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return _NO_BODY
        try:
            text = raw.decode(self._encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest(f"The request body is not valid {self._encoding} text.") from exc
        services = scope.get("scanserve.services")
        max_depth = services.settings.max_json_depth if services else untrusted.MAX_JSON_DEPTH
        return untrusted.loads(text, max_depth)

    def _validate(self, body: Any) -> None:
        if body is _NO_BODY:
            if self._required:
                raise _body_required()
            return
        errors = untrusted.problems(body) + _schema_errors(_validator(self._schema), body)
        if errors:
            raise ValidationFailed(_sorted_unique(errors))


class _FormDataValidator(_RequiredBody, FormDataValidator):
    @property
    def _validator(self) -> Draft202012Validator:
        return _validator(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Any) -> Any:
        try:
            return await super()._parse(stream, scope)
        except MultiPartException as exc:
            raise BadRequest(f"The form body could not be read: {exc}") from exc

    def _validate(self, body: Any) -> None:
        errors: list[FieldError] = []
        if self._strict_validation:
            known = self._schema.get("properties", {})
            errors += [
                FieldError(_pointer([k]), "Unknown form field") for k in body if k not in known
            ]
        fields = {k: v for k, v in body.items() if isinstance(v, (str, list))}
        errors += untrusted.problems(fields)
        errors += _schema_errors(self._validator, body)
        if errors:
            raise ValidationFailed(_sorted_unique(errors))


class _ClosingMultiPartParser(MultiPartParser):
    """Validation only needs to know which parts are files, never their bytes: the
    temporary files Starlette spools them to are closed as soon as the form is parsed, not
    left to the garbage collector. (The handler gets a fresh parse of its own.)"""

    async def parse(self) -> FormData:
        form = await super().parse()
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.close()
        return form


class _MultiPartFormDataValidator(_FormDataValidator):
    @property
    def _form_parser_cls(self) -> type[MultiPartParser]:
        return _ClosingMultiPartParser


# -- response validators -------------------------------------------------------------------


class _JSONResponseBodyValidator(JSONResponseBodyValidator):
    @property
    def validator(self) -> Draft202012Validator:
        return _validator(self._schema)

    def _parse(self, stream: Generator[bytes, None, None]) -> Any:
        raw = b"".join(stream)
        if not raw:
            return None
        try:
            return json.loads(raw.decode(self._encoding))
        except (LookupError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise self._failure(f"is not valid JSON ({exc})") from exc

    def _validate(self, body: Any) -> None:
        errors = _schema_errors(self.validator, body)
        if errors:
            found = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors)
            raise self._failure(f"does not match the contract: {found}")

    def _failure(self, problem: str) -> InternalError:
        detail = f"The response to {self._scope.get('method')} {self._scope.get('path')} {problem}"
        logger.error("Response validation failed. %s", detail)
        return InternalError(detail)


class _TextResponseBodyValidator(_JSONResponseBodyValidator):
    """text/plain is checked as the string it is (Connexion parses it as JSON when it can)."""

    def _parse(self, stream: Generator[bytes, None, None]) -> Any:
        try:
            return b"".join(stream).decode(self._encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise self._failure(f"is not valid {self._encoding} text") from exc


VALIDATOR_MAP: dict[str, Any] = {
    "parameter": _ParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": _JSONRequestBodyValidator,
            "application/x-www-form-urlencoded": _FormDataValidator,
            "multipart/form-data": _MultiPartFormDataValidator,
        }
    ),
    "response": MediaTypeDict(
        {"*/*json": _JSONResponseBodyValidator, "text/plain": _TextResponseBodyValidator}
    ),
}
"""The validators to hand Connexion as ``validator_map``; :class:`OpenAPI31App` does so."""


# -- the specification ---------------------------------------------------------------------


class _OpenAPI31Operation(OpenAPIOperation):
    """What an operation produces: the media types of its responses below 400, once each.

    Connexion lists those of every response, repeats included, and a handler returning a dict
    must then name its media type: with ``application/problem+json`` errors (or two JSON
    responses) every handler would. Responses below 400 are what Connexion's response
    validation checks ``produces`` against; error bodies come from the error handlers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        produced = [
            media_type
            for status, response in self._responses.items()
            if str(status)[:1] in ("1", "2", "3")
            for media_type in response.get("content", {})
        ]
        if produced:
            self._produces = list(dict.fromkeys(produced))


class OpenAPI31Specification(OpenAPISpecification):
    """A Connexion specification for OpenAPI 3.1.x documents, and only those.

    Build it like any Connexion specification: ``OpenAPI31Specification.load(path_or_dict)``,
    ``.from_file(path)``, ``.from_dict(doc)``. An invalid document raises Connexion's
    ``InvalidSpecification`` listing what is wrong.
    """

    operation_cls = _OpenAPI31Operation

    def __init__(self, raw_spec: dict[str, Any], *, base_uri: str = "") -> None:
        # Mirrors Specification.__init__, whose _validate_spec hook is not given base_uri,
        # which the 3.1 validator needs for $refs to other files.
        if not isinstance(raw_spec, dict):
            raise InvalidSpecification("An OpenAPI document must be a mapping.")
        self._raw_spec = copy.deepcopy(raw_spec)
        self._set_defaults(raw_spec)
        _validate_oas31(raw_spec, base_uri)
        _check_ref_siblings(raw_spec)
        self._spec = resolve_refs(raw_spec, base_uri=base_uri)
        self._base_uri = base_uri
        _check_connexion_casts(self._spec)

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        _validate_oas31(spec, "")

    @classmethod
    def from_dict(cls, spec: dict[str, Any], *, base_uri: str = "") -> OpenAPI31Specification:
        # The base class picks its own Swagger2/OpenAPI class here instead of `cls`.
        return cls(_string_keys(spec), base_uri=base_uri)

    def with_base_path(self, base_path: str) -> OpenAPI31Specification:
        """The document as written, its ``servers`` set to ``base_path``: what Swagger UI's
        ``openapi.json`` serves.

        Connexion calls this on every request for the document. The base class re-validates a
        clone (slow with the 3.1 validator) and serves the resolved copy, with every ``$ref``
        inlined and ``components`` written into schemas by Connexion's operations.
        """
        served = copy.copy(self)
        served._raw_spec = dict(self._raw_spec)  # the base_path setter replaces `servers` only
        served._spec = served._raw_spec
        served.base_path = base_path
        return served


def load_spec(path_or_dict: str | pathlib.Path | dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document at a path (YAML or JSON) or in a dict, validated, as a dict.

    Raises ``connexion.exceptions.InvalidSpecification`` (a ``jsonschema.ValidationError``)
    naming every problem when it is not a valid 3.1 document Connexion can serve.
    """
    return OpenAPI31Specification.load(path_or_dict).raw


# Fingerprints of the documents (and base URIs) found valid in this process: an app built
# again from the same document (every test builds one) skips the 3.1 validator, two thirds of
# building an app. Only valid documents are remembered; an invalid one is judged each time.
_VALID: set[str] = set()
_EXTERNAL_REF = re.compile(r'"\$ref": "(?!#)')


def _validate_oas31(document: dict[str, Any], base_uri: str) -> None:
    if base_uri and "://" not in base_uri:  # Connexion passes a directory; the validator a URI
        base_uri = pathlib.Path(base_uri).resolve().as_uri() + "/"
    fingerprint = None
    try:
        text = json.dumps(document, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # not JSON-like (keys of mixed types): judge it
        pass
    else:
        # a $ref to another file: that file may have changed since, so judge it again
        if not _EXTERNAL_REF.search(text):
            fingerprint = hashlib.sha256(f"{base_uri}\n{text}".encode()).hexdigest()
            if fingerprint in _VALID:
                return
    errors = list(OpenAPIV31SpecValidator(document, base_uri=base_uri).iter_errors())
    if not errors and fingerprint is not None:
        _VALID.add(fingerprint)
    if errors:
        shown = [f"{_pointer(e.absolute_path) or '/'}: {_short(e.message)}" for e in errors[:20]]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise InvalidSpecification(
            "Not a valid OpenAPI 3.1 document:\n  " + "\n  ".join(shown) + more
        )


def _check_connexion_casts(spec: dict[str, Any]) -> None:
    """Refuse what Connexion's handler arguments would fail on at every request (see module)."""
    problems = []
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            for param in [*operation.get("parameters", []), *item.get("parameters", [])]:
                if param.get("in") in ("query", "path") and not _single_type(param.get("schema")):
                    problems.append(f"{where}: {param['in']} parameter {param.get('name')!r}")
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                fields = content.get(media_type, {}).get("schema", {}).get("properties", {})
                problems += [
                    f"{where}: {media_type} field {name!r}"
                    for name, schema in fields.items()
                    if not _single_type(schema)
                ]
    if problems:
        raise InvalidSpecification(
            "Connexion casts query and path parameters and form fields by a single `type` "
            "(one string, and one for array items); give these one:\n  " + "\n  ".join(problems)
        )


def _single_type(schema: Any) -> bool:
    if not isinstance(schema, dict) or not isinstance(schema.get("type"), str):
        return False
    return schema["type"] != "array" or _single_type(schema.get("items"))


def _check_ref_siblings(document: dict[str, Any]) -> None:
    """Refuse a ``$ref`` whose siblings repeat a keyword of its target.

    In 3.1 a schema's ``$ref`` applies alongside its siblings; Connexion's resolver merges the
    target over them, which equals that while their keywords differ (``{$ref, default}``) and
    silently drops the sibling when both set one (``maxLength`` twice). Annotations may clash.
    """
    clashes = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, list):
            stack += [(f"{where}/{i}", item) for i, item in enumerate(node)]
        elif isinstance(node, dict):
            stack += [(where + _pointer([key]), value) for key, value in node.items()]
            ref = node.get("$ref")
            target = _local_target(document, ref) if isinstance(ref, str) else None
            if isinstance(target, dict):
                clash = (set(node) & set(target)) - _ANNOTATIONS
                clashes += [f"{where}: {key!r} is set beside and in {ref}" for key in clash]
    if clashes:
        raise InvalidSpecification(
            "Connexion merges a $ref's target over its siblings, dropping these; "
            "use allOf instead:\n  " + "\n  ".join(sorted(clashes))
        )


# Keywords that validate nothing: a target's winning over the sibling changes no verdict.
_ANNOTATIONS = {"$ref", "$comment", "summary", "description", "title", "example", "examples"}
_ANNOTATIONS |= {"deprecated", "readOnly", "writeOnly", "externalDocs", "xml"}


def _local_target(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for token in ref[2:].split("/"):
        part = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _string_keys(node: Any) -> Any:
    # YAML reads `200:` as an int; JSON (and the validators) know only string keys
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(item) for item in node]
    return node


# -- the app -------------------------------------------------------------------------------

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
