"""OpenAPI 3.1 documents for Connexion: :class:`OpenAPI31Specification` (validated with
openapi-spec-validator's 3.1 validator, refused when Connexion could not serve it as written)
and :func:`load_spec`. The limits it enforces are described in :mod:`scanserve.http.oas31`."""

from __future__ import annotations

import copy
import hashlib
import json
import pathlib
import pickle
import re
from typing import Any

from connexion.exceptions import InvalidSpecification
from connexion.http_facts import METHODS
from connexion.json_schema import resolve_refs
from connexion.operations import OpenAPIOperation
from connexion.spec import OpenAPISpecification
from openapi_spec_validator import OpenAPIV31SpecValidator

from scanserve.http.oas31_schema import json_pointer, short_message

__all__ = ["OpenAPI31Specification", "load_spec"]


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

    def __init__(
        self, raw_spec: dict[str, Any], *, base_uri: str = "", trusted: bool = False
    ) -> None:
        """``trusted``: the package's own contract, which the test suite judges
        (tests/contract/test_spec_document.py), is not judged again by the 3.1 validator (two
        thirds of building an app), for a start that must be quick (``scanserve sandbox``)."""
        # Mirrors Specification.__init__, whose _validate_spec hook is not given base_uri,
        # which the 3.1 validator needs for $refs to other files.
        if not isinstance(raw_spec, dict):
            raise InvalidSpecification("An OpenAPI document must be a mapping.")
        self._raw_spec = copy_document(raw_spec)
        self._set_defaults(raw_spec)
        _judge(raw_spec, base_uri, validate=not trusted)
        self._spec = resolve_refs(raw_spec, base_uri=base_uri)
        self._base_uri = base_uri
        _check_connexion_casts(self._spec)

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        _judge(spec, "", validate=True)

    @classmethod
    def from_dict(
        cls, spec: dict[str, Any], *, base_uri: str = "", trusted: bool = False
    ) -> OpenAPI31Specification:
        # The base class picks its own Swagger2/OpenAPI class here instead of `cls`.
        return cls(_string_keys(spec), base_uri=base_uri, trusted=trusted)

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


def copy_document(document: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a parsed document (mappings, lists and scalars, YAML's dates too):
    pickle's round trip, a quarter of ``copy.deepcopy``'s time, parts shared in the original
    shared alike in the copy; ``copy.deepcopy`` for what pickle cannot take."""
    try:
        # our own bytes, made on the line above: nothing untrusted is unpickled
        return pickle.loads(pickle.dumps(document, pickle.HIGHEST_PROTOCOL))  # noqa: S301
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(document)


# Fingerprints of the documents (with their base URIs, and whether the 3.1 validator was
# asked) judged sound in this process: an app built again from the same document (every test
# builds one) skips the validator, two thirds of building an app, and the $ref check. Only
# sound documents are remembered; an unsound one is judged each time.
_SOUND: set[str] = set()
_EXTERNAL_REF = re.compile(r'"\$ref": "(?!#)')


def _judge(document: dict[str, Any], base_uri: str, *, validate: bool) -> None:
    """Refuse a document the 3.1 validator (when ``validate``) or the check of ``$ref``
    siblings finds fault with; one judged sound before in this process is not judged again."""
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
            fingerprint = hashlib.sha256(f"{validate}\n{base_uri}\n{text}".encode()).hexdigest()
            if fingerprint in _SOUND:
                return
    if validate:
        _validate_oas31(document, base_uri)
    _check_ref_siblings(document)
    if fingerprint is not None:
        _SOUND.add(fingerprint)


def _validate_oas31(document: dict[str, Any], base_uri: str) -> None:
    errors = list(OpenAPIV31SpecValidator(document, base_uri=base_uri).iter_errors())
    if errors:
        shown = [
            f"{json_pointer(e.absolute_path) or '/'}: {short_message(e.message)}"
            for e in errors[:20]
        ]
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
            stack += [(where + json_pointer([key]), value) for key, value in node.items()]
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
