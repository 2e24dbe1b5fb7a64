"""The mock's generated values (scanserve.http.mock_values): valid against every schema an
answer of the contract can carry, from many seeds; the same seed gives the same value; what it cannot satisfy it
says so instead of answering something invalid."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from scanserve.app import contract
from scanserve.http.mock_values import Unsatisfiable, value_for
from scanserve.http.oas31_schema import schema_validator

SPEC = contract()
SCHEMAS = SPEC["components"]["schemas"]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _answered_schemas() -> list[str]:
    """The schemas an answer can carry: reachable from the operations' responses (the mock
    makes answers, never requests; request schemas say things, such as exactly one of three
    fields, that only a validator needs)."""
    seen: set[str] = set()
    todo = [
        ref
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for ref in _refs(op.get("responses", {}))
    ]
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        todo.extend(_refs(_resolve(ref)))
    prefix = "#/components/schemas/"
    return sorted(ref.removeprefix(prefix) for ref in seen if ref.startswith(prefix))


def _resolve(ref: str) -> Any:
    node: Any = SPEC
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_answered_schemas_are_found() -> None:
    found = _answered_schemas()
    assert {"CaptureResponse", "Problem", "QrHop", "SessionDetail"} <= set(found)
    assert "CaptureCreateRequest" not in found


@pytest.mark.parametrize("name", _answered_schemas())
def test_values_are_valid_against_each_answered_schema(name: str) -> None:
    validator = schema_validator({**SCHEMAS[name], "components": SPEC["components"]})
    for seed in range(60):
        value = value_for(SCHEMAS[name], random.Random(seed), _resolve)
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, (seed, value, errors)


def test_the_same_seed_gives_the_same_value_and_another_seed_another() -> None:
    schema = SCHEMAS["CaptureResponse"]
    first = value_for(schema, random.Random(3), _resolve)
    assert value_for(schema, random.Random(3), _resolve) == first
    assert value_for(schema, random.Random(4), _resolve) != first


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[2-9A-HJ-NP-Za-km-z]{22}$",
        r"^(0(\.[0-9]{1,2})?|1(\.0{1,2})?)$",
        r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]*)?([/?#][^\s\x00-\x1f\x7f]*)?$",
        r"^(ab|cd)+x?$",
    ],
)
def test_patterns_are_sampled_from_the_expression(pattern: str) -> None:
    for seed in range(40):
        value = value_for({"type": "string", "pattern": pattern}, random.Random(seed), _resolve)
        assert re.search(pattern, value), (seed, value)


def test_formats_are_written_as_the_contract_means_them() -> None:
    rng = random.Random(1)
    short = value_for({"type": "string", "format": "shortuuid"}, rng, _resolve)
    assert re.fullmatch(r"[2-9A-HJ-NP-Za-km-z]{22}", short)
    moment = value_for({"type": "string", "format": "date-time"}, rng, _resolve)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", moment)


@pytest.mark.parametrize(
    "schema",
    [
        {"not": {"type": "string"}},
        {"type": "string", "pattern": "^(?=a)b$"},
        {"type": "integer", "minimum": 5, "maximum": 1},
        False,
    ],
)
def test_what_it_cannot_satisfy_is_refused(schema: Any) -> None:
    with pytest.raises(Unsatisfiable):
        value_for(schema, random.Random(0), _resolve)
