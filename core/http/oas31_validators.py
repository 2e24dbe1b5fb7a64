"""The request and response validators :mod:`scanserve.http.oas31` hands Connexion
(:data:`VALIDATOR_MAP`): parameters, JSON and form bodies, JSON and text responses, each
checked with JSON Schema 2020-12 (:mod:`scanserve.http.oas31_schema`), failures raised as
:mod:`scanserve.errors` (see :mod:`scanserve.http.oas31`)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, ClassVar

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, TypeValidationError
from connexion.utils import coerce_type
from connexion.validators import (
    AbstractRequestBodyValidator,
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft202012Validator
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from scanserve.errors import BadRequest, FieldError, InternalError, ValidationFailed
from scanserve.http import untrusted
from scanserve.http.oas31_schema import (
    json_pointer,
    schema_errors,
    schema_validator,
    short_message,
    sorted_unique,
)
from scanserve.identity.cookies import cookie_value

__all__ = ["VALIDATOR_MAP"]

# The logger's name is the one it had before the validators left scanserve.oas31: log
# configurations and alerts select response-validation failures by it.
logger = logging.getLogger("scanserve.oas31")


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
        # never request.cookies: Starlette unquotes with http.cookies (scanserve.identity.cookies)
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
            raise ValidationFailed(sorted_unique(errors))

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
        errors = schema_validator(schema).iter_errors(value)
        return [FieldError(pointer, short_message(error.message)) for error in errors]


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
        errors = untrusted.problems(body) + schema_errors(schema_validator(self._schema), body)
        if errors:
            raise ValidationFailed(sorted_unique(errors))


class _FormDataValidator(_RequiredBody, FormDataValidator):
    @property
    def _validator(self) -> Draft202012Validator:
        return schema_validator(self._schema)

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
                FieldError(json_pointer([k]), "Unknown form field") for k in body if k not in known
            ]
        fields = {k: v for k, v in body.items() if isinstance(v, (str, list))}
        errors += untrusted.problems(fields)
        errors += schema_errors(self._validator, body)
        if errors:
            raise ValidationFailed(sorted_unique(errors))


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
        return schema_validator(self._schema)

    def _parse(self, stream: Generator[bytes, None, None]) -> Any:
        raw = b"".join(stream)
        if not raw:
            return None
        try:
            return json.loads(raw.decode(self._encoding))
        except (LookupError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise self._failure(f"is not valid JSON ({exc})") from exc

    def _validate(self, body: Any) -> None:
        errors = schema_errors(self.validator, body)
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
"""The validators to hand Connexion as ``validator_map``;
:class:`~scanserve.http.oas31.OpenAPI31App` does so."""
