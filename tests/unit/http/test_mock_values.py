"""The mock's generated values (scanserve.http.mock_values): valid against every schema of
the contract, from many seeds; the same seed gives the same value; what it cannot satisfy it
says so instead of answering something invalid."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from scanserve.app import contract
from scanserve.http.mock_values import Unsatisfiable, value_for
from scanserve.http.oas31_schema import schema_validator

SPEC = contract()
SCHEMAS = SPEC["components"]["schemas"]


def _resolve(ref: str) -> Any:
    node: Any = SPEC
    for part in ref[2:].split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_values_are_valid_against_each_schema_of_the_contract(name: str) -> None:
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
