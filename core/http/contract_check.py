"""Holding one HTTP exchange to the contract, from outside the server: what ``scanserve
proxy`` and ``scanserve conformance`` both judge traffic with.

:class:`ContractCheck` is built once from a spec (the bundled one, or another server's): it
finds a request's operation in the same route table the server routes with
(:mod:`scanserve.http.routing`) and validates with the same JSON Schema reading
(:mod:`scanserve.http.oas31_schema`). :meth:`ContractCheck.check_request` judges the path
(a path under the base path that fits no operation is a violation, as in Prism's proxy and
openapi-cop), the method, the path, query and header parameters, the body's media type and
a JSON or multipart body against its schema. :meth:`ContractCheck.check_response` judges the
status (declared for the operation), the media type (``application/problem+json`` for every
error), the headers the response declares required (the rate-limit ones), and a JSON body
against its schema. Each finding is a :class:`Violation` naming where it is
(``response.body``, ``request.query``...) and what is wrong.

:class:`Tally` counts exchanges and violations per operation and writes them as JUnit XML
(a test case per operation), for CI.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from connexion.json_schema import resolve_refs

from scanserve.http.oas31_schema import schema_errors, schema_validator, short_message
from scanserve.http.routing import Route, RouteTable

__all__ = [
    "OUTSIDE",
    "UNKNOWN",
    "VIOLATION_HEADER",
    "ContractCheck",
    "Tally",
    "Violation",
    "junit_xml",
]

VIOLATION_HEADER = "X-Scanserve-Violation"
UNKNOWN = "(unknown operation)"  # the operation of a request under the base path that fits none
OUTSIDE = "(outside the contract)"  # a request outside the base path (health, sandbox controls)
PROBLEM_JSON = "application/problem+json"
# What the server serves beside the operations under its base path: the contract itself and
# its reference page (Connexion's), neither of them an operation of the contract.
_SERVED_DOCUMENTS = ("/openapi.json", "/openapi.yaml", "/ui")


@dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract. ``where``: ``request.path``,
    ``request.method``, ``request.query``, ``request.header``, ``request.content-type``,
    ``request.body``, ``response.status``, ``response.content-type``, ``response.header``,
    ``response.body``, or ``upstream`` (no answer came)."""

    operation_id: str
    method: str
    path: str
    status: int | None
    where: str
    message: str

    def header_value(self) -> str:
        """``response.body: 'id' is a required property``, as an HTTP header may carry it."""
        text = f"{self.where}: {self.message}"
        return text.encode("ascii", "backslashreplace").decode("ascii")

    def as_record(self) -> dict[str, Any]:
        return {
            "operationId": self.operation_id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "where": self.where,
            "message": self.message,
        }


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _cast(value: str, schema: Mapping[str, Any]) -> Any:
    """A parameter's text as the type its schema names (left as text when it is not one)."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    try:
        if "integer" in kinds:
            return int(value)
        if "number" in kinds:
            return float(value)
    except ValueError:
        return value
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


def _located(where: str, pointer: str, message: str) -> tuple[str, str]:
    """A field error's place: ``response.body`` and the message when it names the field
    itself (a missing one at the top), else the pointer added to the message."""
    if pointer.count("/") <= 1 and "is a required property" in message:
        return where, message
    return where, f"{message} (at {pointer})" if pointer else message


class ContractCheck:
    """The contract of one OpenAPI 3.1 document (a dict), ready to judge exchanges."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.routes = RouteTable.from_spec(spec)
        self.base_path = self.routes.base_path
        resolved = resolve_refs(dict(spec))
        self._operations: dict[str, dict[str, Any]] = {}
        self._path_parameters: dict[str, list[dict[str, Any]]] = {}
        for item in resolved["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    self._operations[operation["operationId"]] = operation
                    self._path_parameters[operation["operationId"]] = item.get("parameters", [])

    # -- which operation ----------------------------------------------------------------------

    def in_contract(self, path: str) -> bool:
        """Whether ``path`` (the whole request path) is one the contract speaks of: under
        its base path, and not the served contract or reference page."""
        if path != self.base_path and not path.startswith(self.base_path + "/"):
            return False
        rest = path[len(self.base_path) :]
        return not any(rest == doc or rest.startswith(doc + "/") for doc in _SERVED_DOCUMENTS)

    def route(self, method: str, path: str) -> Route | None:
        found = self.routes.match("GET" if method == "HEAD" else method, path)
        return None if found.refused else found.route

    def operation_id(self, method: str, path: str) -> str:
        """The operationId of a request, :data:`UNKNOWN` or :data:`OUTSIDE`."""
        if not self.in_contract(path):
            return OUTSIDE
        if path == self.base_path:  # the base path's index of links: no operation, no fault
            return OUTSIDE
        route = self.route(method, path)
        return route.operation_id if route else UNKNOWN

    # -- the request --------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> tuple[str, list[Violation]]:
        """The request's operation and its violations. ``body``: None when it was not kept
        (too large to hold), so not judged."""
        operation_id = self.operation_id(method, path)
        if operation_id == OUTSIDE:
            return operation_id, []
        if (
            operation_id == UNKNOWN
            and _is_preflight(method, headers)
            and self.routes.allowed_methods(path)
        ):
            # a browser's CORS preflight to a path of the contract (the server answers them
            # for publishable keys): the browser's own exchange, no operation a client calls
            return OUTSIDE, []
        if operation_id == UNKNOWN:
            allowed = self.routes.allowed_methods(path)
            where, message = (
                ("request.method", f"{method} is not an operation of {path} (it has {allowed})")
                if allowed
                else ("request.path", f"{path} is no path of the contract")
            )
            return operation_id, [Violation(operation_id, method, path, None, where, message)]
        route = self.route(method, path)
        assert route is not None
        operation = self._operations[operation_id]
        found: list[tuple[str, str]] = []
        matched = route.regex.fullmatch(path)
        values = {
            "path": dict(matched.groupdict()) if matched else {},
            "query": dict(parse_qsl(query, keep_blank_values=True)),
            "header": {k.lower(): v for k, v in headers.items()},
        }
        parameters = {
            (p["in"], p["name"]): p
            for p in [*self._path_parameters[operation_id], *operation.get("parameters", [])]
        }
        for (location, name), parameter in parameters.items():
            if location not in values:
                continue
            key = name.lower() if location == "header" else name
            value = values[location].get(key)
            schema = parameter.get("schema", {})
            if value is None:
                if parameter.get("required"):
                    found.append((f"request.{location}", f"{name!r} is required"))
                continue
            for error in schema_errors(schema_validator(schema), _cast(value, schema)):
                found.append((f"request.{location}", f"{name}: {error.message}"))
        found.extend(self._check_request_body(operation, headers, body))
        return operation_id, [
            Violation(operation_id, method, path, None, where, message) for where, message in found
        ]

    def _check_request_body(
        self, operation: Mapping[str, Any], headers: Mapping[str, str], body: bytes | None
    ) -> list[tuple[str, str]]:
        request_body = operation.get("requestBody")
        content_type = _header(headers, "content-type") or ""
        media_type = _media_type(content_type)
        if request_body is None:
            return [("request.body", "the operation takes no body")] if body else []
        content = request_body.get("content", {})
        if not body and not media_type:
            required = request_body.get("required")
            return [("request.body", "the operation requires a body")] if required else []
        if media_type not in content:
            declared = list(content)
            return [("request.content-type", f"{media_type or 'none'} is not one of {declared}")]
        schema = content[media_type].get("schema")
        try:
            instance = (
                _UNJUDGED
                if body is None or schema is None
                else _body_instance(media_type, content_type, body)
            )
        except ValueError as error:
            return [("request.body", short_message(str(error)))]
        if instance is _UNJUDGED:
            return []
        return [
            _located("request.body", error.pointer, error.message)
            for error in schema_errors(schema_validator(schema), instance)
        ]

    # -- the response -------------------------------------------------------------------------

    def declared_response(self, operation_id: str, status: int) -> dict[str, Any] | None:
        responses = self._operations[operation_id].get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                response: dict[str, Any] = responses[key]
                return response
        return None

    def check_response(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> list[Violation]:
        """The violations of the response to a request of ``method`` on ``path``. ``body``:
        None when it was not kept (not JSON, or too large), so not judged."""
        operation_id = self.operation_id(method, path)
        if operation_id in (OUTSIDE, UNKNOWN):
            return []
        found: list[tuple[str, str]] = []
        declared = self.declared_response(operation_id, status)
        media_type = _media_type(_header(headers, "content-type"))
        if status >= 400 and media_type != PROBLEM_JSON:
            found.append(
                (
                    "response.content-type",
                    f"an error must be {PROBLEM_JSON}, not {media_type or 'none'}",
                )
            )
        if declared is None:
            found.append(("response.status", f"{status} is not declared for {operation_id}"))
        else:
            found.extend(self._check_declared(declared, media_type, headers, body, method))
        return [
            Violation(operation_id, method, path, status, where, message)
            for where, message in dict.fromkeys(found)
        ]

    def _check_declared(
        self,
        declared: Mapping[str, Any],
        media_type: str,
        headers: Mapping[str, str],
        body: bytes | None,
        method: str,
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for name, header in declared.get("headers", {}).items():
            value = _header(headers, name)
            if value is None:
                if header.get("required"):
                    found.append(("response.header", f"{name} is required"))
                continue
            schema = header.get("schema", {})
            for error in schema_errors(schema_validator(schema), _cast(value, schema)):
                found.append(("response.header", f"{name}: {error.message}"))
        content = declared.get("content")
        if not content:
            if body and method != "HEAD":
                found.append(("response.body", "the response declares no body"))
            return found
        if media_type not in content:
            found.append(
                ("response.content-type", f"{media_type or 'none'} is not one of {list(content)}")
            )
            return found
        schema = content[media_type].get("schema")
        if body is None or schema is None or not _is_json(media_type) or method == "HEAD":
            return found
        try:
            instance = json.loads(body)
        except ValueError as error:
            return [*found, ("response.body", f"not JSON: {short_message(str(error))}")]
        found.extend(
            _located("response.body", error.pointer, error.message)
            for error in schema_errors(schema_validator(schema), instance)
        )
        return found


def _is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request is a CORS preflight: ``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``."""
    names = {name.lower() for name in headers}
    return method == "OPTIONS" and {"origin", "access-control-request-method"} <= names


_UNJUDGED = object()  # a body of a media type whose schema is not JSON Schema's to judge


def _body_instance(media_type: str, content_type: str, body: bytes) -> Any:
    """What a request body's schema judges: the JSON document, the form's fields, or
    :data:`_UNJUDGED`. Raises ValueError for a body that is not what its type says."""
    if _is_json(media_type):
        try:
            return json.loads(body)
        except ValueError as error:
            raise ValueError(f"not JSON: {error}") from None
    if media_type == "multipart/form-data":
        fields = _form_fields(content_type, body)
        if fields is None:
            raise ValueError("not a multipart/form-data body")
        return fields
    return _UNJUDGED


def _form_fields(content_type: str, body: bytes) -> dict[str, Any] | None:
    """A multipart/form-data body's fields: text parts as text, file parts as the string a
    ``format: binary`` schema declares (their bytes are not JSON Schema's to judge)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        if part.get_filename() is not None:
            fields[name] = "(file)"
        else:
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            fields[name] = raw.decode("utf-8", "replace")
    return fields


@dataclass
class _Row:
    checked: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


class Tally:
    """Exchanges and violations per operation (the keys of :class:`Violation`), for the
    summary table and the JUnit XML."""

    def __init__(self, keep: int = 20) -> None:
        self._rows: dict[str, _Row] = {}
        self._keep = keep  # messages kept per operation

    def record(self, operation_id: str, failures: Iterable[str]) -> None:
        row = self._rows.setdefault(operation_id, _Row())
        row.checked += 1
        messages = list(failures)
        if messages:
            row.failed += 1
            room = self._keep - len(row.failures)
            row.failures.extend(messages[: max(room, 0)])

    def rows(self) -> list[tuple[str, int, int, int, str]]:
        """(operation, checked, passed, failed, first failure) per operation, by name."""
        return [
            (name, row.checked, row.checked - row.failed, row.failed, (row.failures or [""])[0])
            for name, row in sorted(self._rows.items())
        ]

    @property
    def failed(self) -> int:
        return sum(row.failed for row in self._rows.values())

    def table(self, width: int = 100) -> str:
        header = ("operation", "checked", "passed", "failed", "first failure")
        rows = [(n, str(c), str(p), str(f), first) for n, c, p, f, first in self.rows()]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = []
        for cells in [header, *rows]:
            left = "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(cells[:4], widths, strict=True))
            )
            room = max(width - len(left) - 2, 20)
            last = cells[4] if len(cells[4]) <= room else cells[4][: room - 1] + "…"
            lines.append(f"{left}  {last}".rstrip())
        return "\n".join(lines)

    def junit_suite(self, suite: str) -> ET.Element:
        """A JUnit ``testsuite``: one test case per operation, failed with its violations."""
        cases = self.rows()
        element = ET.Element(
            "testsuite",
            name=suite,
            tests=str(len(cases)),
            failures=str(sum(1 for case in cases if case[3])),
            errors="0",
            skipped="0",
        )
        for name, checked, _passed, failed, first in cases:
            case = ET.SubElement(element, "testcase", name=name, classname=suite)
            if failed:
                failure = ET.SubElement(case, "failure", message=first, type="contract violation")
                failure.text = "\n".join(self._rows[name].failures)
            ET.SubElement(case, "system-out").text = f"{checked} checked, {failed} failed"
        return element


def junit_xml(suites: Mapping[str, Tally]) -> bytes:
    """A JUnit XML document of one ``testsuite`` per tally."""
    root = ET.Element("testsuites")
    root.extend(tally.junit_suite(name) for name, tally in suites.items())
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
