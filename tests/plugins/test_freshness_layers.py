"""Freshness thresholds: the five layers, the shipped GPC data file, validation."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any, Literal

import pytest

from scanserve.domain.freshness_layers import BUILT_IN, GpcCatalog, resolve_thresholds
from scanserve.plugins.providers import OrgRule, Thresholds

MILK = "10000025"
DAIRY = "50130000"
FOOD = "50000000"
YOGURT = "10000278"  # a sibling of MILK in the shipped file: same family, same segment
UNKNOWN_BRICK = "10999999"

Scope = Literal["brick", "family", "segment", "fallback"]
SOURCES = {"org-override", "org-fallback", "global-default", "global-fallback", "built-in"}


def _data() -> dict[str, Any]:
    path = resources.files("scanserve.plugins") / "data" / "gpc_freshness.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def rule(scope: Scope, code: str, warning: int, critical: int, label: str = "") -> OrgRule:
    return OrgRule(scope, code, warning, critical, label or f"org {scope} {code}".strip())


# A small catalog whose every figure is distinct, so a result names the entry it came from.
SMALL: dict[str, Any] = {
    "version": 1,
    "bricks": {
        "11111111": {
            "family": "22222222",
            "segment": "33333333",
            "label": "Brick A",
            "warningDays": 4,
            "criticalDays": 1,
        },
        # inherits its family's days and label
        "11111112": {"family": "22222223", "segment": "33333333", "label": "Brick B"},
        # inherits through a family without days down to the segment
        "11111113": {"family": "22222224", "segment": "33333333", "label": "Brick C"},
    },
    "families": {
        "22222222": {
            "segment": "33333333",
            "label": "Family A",
            "warningDays": 8,
            "criticalDays": 3,
        },
        "22222223": {
            "segment": "33333333",
            "label": "Family B",
            "warningDays": 9,
            "criticalDays": 4,
        },
        "22222224": {"segment": "33333333", "label": "Family C"},
    },
    "segments": {
        "33333333": {"label": "Segment", "warningDays": 12, "criticalDays": 5},
        "33333334": {"label": "Empty segment", "warningDays": 13, "criticalDays": 6},
    },
    "fallback": {"label": "Anything", "warningDays": 20, "criticalDays": 7},
}


@pytest.fixture(scope="module")
def shipped() -> GpcCatalog:
    return GpcCatalog.load_default()


@pytest.fixture(scope="module")
def small() -> GpcCatalog:
    return GpcCatalog.from_dict(SMALL)


# ---------------------------------------------------------------- layers, shipped data file

ORG_BRICK = rule("brick", MILK, 10, 4, "Org milk")
ORG_FAMILY = rule("family", DAIRY, 11, 5, "Org dairy")
ORG_SEGMENT = rule("segment", FOOD, 12, 6, "Org food")
ORG_FALLBACK = rule("fallback", "", 40, 9, "Org anything")
ORG_OTHER_BRICK = rule("brick", YOGURT, 2, 1, "Org yogurt")


@pytest.mark.parametrize(
    ("brick", "org_rules", "expected"),
    [
        # layer 1: most specific org scope first, whatever the order of the rows
        (
            MILK,
            [ORG_SEGMENT, ORG_FAMILY, ORG_BRICK, ORG_FALLBACK],
            (10, 4, "Org milk", "org-override"),
        ),
        (MILK, [ORG_SEGMENT, ORG_FAMILY, ORG_FALLBACK], (11, 5, "Org dairy", "org-override")),
        (MILK, [ORG_SEGMENT, ORG_FALLBACK], (12, 6, "Org food", "org-override")),
        (YOGURT, [ORG_BRICK, ORG_FAMILY], (11, 5, "Org dairy", "org-override")),
        # layer 2: the org fallback beats the global default
        (MILK, [ORG_OTHER_BRICK, ORG_FALLBACK], (40, 9, "Org anything", "org-fallback")),
        ("", [ORG_BRICK, ORG_FALLBACK], (40, 9, "Org anything", "org-fallback")),
        (UNKNOWN_BRICK, [ORG_FAMILY, ORG_FALLBACK], (40, 9, "Org anything", "org-fallback")),
        # layer 3: the data file's brick entry
        (MILK, [], (3, 1, "Milk (Perishable)", "global-default")),
        (MILK, [ORG_OTHER_BRICK], (3, 1, "Milk (Perishable)", "global-default")),
        # layer 4: nothing matches the brick
        (UNKNOWN_BRICK, [], (30, 7, "General merchandise", "global-fallback")),
        ("", [], (30, 7, "General merchandise", "global-fallback")),
        ("not-a-code", [ORG_BRICK], (30, 7, "General merchandise", "global-fallback")),
        (DAIRY, [], (30, 7, "General merchandise", "global-fallback")),  # a family is no brick
    ],
)
def test_layers_with_shipped_file(
    shipped: GpcCatalog, brick: str, org_rules: list[OrgRule], expected: tuple[Any, ...]
) -> None:
    assert resolve_thresholds(brick, catalog=shipped, org_rules=org_rules) == Thresholds(*expected)


def test_org_rule_for_a_brick_the_file_does_not_know(shipped: GpcCatalog) -> None:
    own = rule("brick", UNKNOWN_BRICK, 5, 2, "House brand salad")
    got = resolve_thresholds(UNKNOWN_BRICK, catalog=shipped, org_rules=[own])
    assert got == Thresholds(5, 2, "House brand salad", "org-override")


def test_brick_code_is_stripped(shipped: GpcCatalog) -> None:
    assert resolve_thresholds(f" {MILK}\n", catalog=shipped).category_label == "Milk (Perishable)"


def test_first_of_duplicate_org_rules_wins(shipped: GpcCatalog) -> None:
    first, second = rule("brick", MILK, 9, 3, "First"), rule("brick", MILK, 8, 2, "Second")
    got = resolve_thresholds(MILK, catalog=shipped, org_rules=[first, second])
    assert got.category_label == "First"


# ------------------------------------------------------------ layers, small from_dict catalog


@pytest.mark.parametrize(
    ("catalog_data", "brick", "org_rules", "expected"),
    [
        (SMALL, "11111111", [], (4, 1, "Brick A", "global-default")),
        (SMALL, "11111112", [], (9, 4, "Family B", "global-default")),
        (SMALL, "11111113", [], (12, 5, "Segment", "global-default")),
        (
            SMALL,
            "11111113",
            [rule("family", "22222224", 6, 2, "Org C")],
            (6, 2, "Org C", "org-override"),
        ),
        (
            SMALL,
            "11111111",
            [rule("fallback", "", 50, 10, "Org")],
            (50, 10, "Org", "org-fallback"),
        ),
        (SMALL, "", [], (20, 7, "Anything", "global-fallback")),
        (SMALL, "99999999", [], (20, 7, "Anything", "global-fallback")),
        (
            SMALL,
            "11111112",
            [rule("segment", "33333333", 15, 5, "Org seg"), rule("family", "22222222", 1, 0)],
            (15, 5, "Org seg", "org-override"),  # the family rule is another family's
        ),
        (
            {k: v for k, v in SMALL.items() if k != "fallback"},
            "99999999",
            [],
            (BUILT_IN.warning_days, BUILT_IN.critical_days, BUILT_IN.category_label, "built-in"),
        ),
        (
            {k: v for k, v in SMALL.items() if k != "fallback"},
            "",
            [rule("fallback", "", 3, 3, "Org")],
            (3, 3, "Org", "org-fallback"),
        ),
        (
            {"version": 1, "fallback": None},
            "11111111",
            [],
            (BUILT_IN.warning_days, BUILT_IN.critical_days, BUILT_IN.category_label, "built-in"),
        ),
    ],
)
def test_layers_with_small_catalog(
    catalog_data: dict[str, Any], brick: str, org_rules: list[OrgRule], expected: tuple[Any, ...]
) -> None:
    catalog = GpcCatalog.from_dict(catalog_data)
    assert resolve_thresholds(brick, catalog=catalog, org_rules=org_rules) == Thresholds(*expected)


def test_catalog_lineage_and_entries(small: GpcCatalog) -> None:
    catalog = small
    assert catalog.lineage("11111111") == [
        ("brick", "11111111"),
        ("family", "22222222"),
        ("segment", "33333333"),
    ]
    assert catalog.entry("family", "22222222") == Thresholds(8, 3, "Family A", "global-default")
    assert catalog.entry("segment", "33333334") == Thresholds(
        13, 6, "Empty segment", "global-default"
    )
    assert catalog.entry("brick", "22222222") is None
    assert catalog.entry("brick", "11111112") is None  # inherits: no figures of its own
    assert catalog.entry("family", "22222224") is None
    assert catalog.lineage("99999999") == [("brick", "99999999")]
    assert catalog.lineage("") == []
    assert catalog.lineage("1234") == []


def test_without_catalog_only_org_brick_rules_and_fallback_apply() -> None:
    assert resolve_thresholds(MILK, catalog=None) == BUILT_IN
    assert resolve_thresholds("", catalog=None) == BUILT_IN
    family_only = [rule("family", DAIRY, 11, 5)]
    assert resolve_thresholds(MILK, catalog=None, org_rules=family_only) == BUILT_IN
    assert resolve_thresholds(MILK, catalog=None, org_rules=[ORG_BRICK]).source == "org-override"
    assert resolve_thresholds("", catalog=None, org_rules=[ORG_FALLBACK]).source == "org-fallback"


def test_every_source_is_reachable(shipped: GpcCatalog) -> None:
    no_fallback = GpcCatalog.from_dict({k: v for k, v in SMALL.items() if k != "fallback"})
    seen = {
        resolve_thresholds(MILK, catalog=shipped, org_rules=[ORG_BRICK]).source,
        resolve_thresholds(MILK, catalog=shipped, org_rules=[ORG_FALLBACK]).source,
        resolve_thresholds(MILK, catalog=shipped).source,
        resolve_thresholds("", catalog=shipped).source,
        resolve_thresholds("", catalog=no_fallback).source,
    }
    assert seen == SOURCES


def test_builtin_is_consistent() -> None:
    assert BUILT_IN.source == "built-in"
    assert 0 <= BUILT_IN.critical_days <= BUILT_IN.warning_days
    assert BUILT_IN.category_label


# ---------------------------------------------------------------------- the shipped data file


def test_shipped_file_loads_and_is_consistent(shipped: GpcCatalog) -> None:
    data = _data()
    assert data["version"] == 1
    assert len(data["bricks"]) >= 30
    entries = [
        *data["bricks"].values(),
        *data["families"].values(),
        *data["segments"].values(),
        data["fallback"],
    ]
    for entry in entries:
        assert entry["label"].strip()
        if "warningDays" in entry or entry in (*data["segments"].values(), data["fallback"]):
            assert isinstance(entry["warningDays"], int)
            assert isinstance(entry["criticalDays"], int)
            assert 0 <= entry["criticalDays"] <= entry["warningDays"]
    for code, brick in data["bricks"].items():
        assert brick["family"] in data["families"], code
        assert brick["segment"] == data["families"][brick["family"]]["segment"], code
        assert shipped.lineage(code)[1:] == [
            ("family", brick["family"]),
            ("segment", brick["segment"]),
        ]
    for code, family in data["families"].items():
        assert family["segment"] in data["segments"], code
    assert shipped.fallback == Thresholds(30, 7, "General merchandise", "global-fallback")


def test_every_shipped_brick_resolves_to_itself(shipped: GpcCatalog) -> None:
    for code, brick in _data()["bricks"].items():
        if "warningDays" not in brick:
            continue  # inherits from its family
        got = resolve_thresholds(code, catalog=shipped)
        assert got == Thresholds(
            brick["warningDays"], brick["criticalDays"], brick["label"], "global-default"
        )


# ------------------------------------------------------------------------------- validation


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("bricks", "11111111", "criticalDays"),
            5,
            r"bricks\['11111111'\]: criticalDays \(5\) > warningDays \(4\)",
        ),
        (
            ("families", "22222222", "warningDays"),
            -1,
            r"families\['22222222'\]: warningDays must be an integer >= 0",
        ),
        (
            ("segments", "33333333", "criticalDays"),
            2.5,
            r"segments\['33333333'\]: criticalDays must be an integer",
        ),
        (
            ("segments", "33333333", "warningDays"),
            "12",
            r"segments\['33333333'\]: warningDays must be an integer",
        ),
        (("fallback", "criticalDays"), True, r"fallback: criticalDays must be an integer"),
        (("fallback", "label"), "  ", r"fallback: label must be a non-empty string"),
        (
            ("bricks", "11111111", "label"),
            None,
            r"bricks\['11111111'\]: label must be a non-empty string",
        ),
        (
            ("bricks", "11111111", "family"),
            "22229999",
            r"bricks\['11111111'\]: family '22229999' is not in families",
        ),
        (
            ("bricks", "11111111", "segment"),
            "33333334",
            r"bricks\['11111111'\]: segment '33333334' differs",
        ),
        (
            ("families", "22222222", "segment"),
            "39999999",
            r"families\['22222222'\]: segment '39999999' is not in segments",
        ),
        (
            ("bricks", "11111111", "family"),
            _DELETE,
            r"bricks\['11111111'\]: missing key\(s\) 'family'",
        ),
        (
            ("bricks", "11111111", "family"),
            ["x"],
            r"bricks\['11111111'\]: family \['x'\] is not in families",
        ),
        (
            ("bricks", "11111111", "criticalDays"),
            _DELETE,
            r"bricks\['11111111'\]: missing key\(s\) 'criticalDays'",
        ),
        (
            ("segments", "33333333", "warningDays"),
            _DELETE,
            r"segments\['33333333'\]: missing key\(s\) 'warningDays'",
        ),
        (("fallback", "label"), _DELETE, r"fallback: missing key\(s\) 'label'"),
        (
            ("families", "22222222", "warningdays"),
            3,
            r"families\['22222222'\]: unknown key\(s\) 'warningdays'",
        ),
        (
            ("bricks", "1111"),
            SMALL["bricks"]["11111111"],
            r"bricks\['1111'\]: code must be 8 digits",
        ),
        (
            ("segments", "22222222"),
            {"label": "x", "warningDays": 1, "criticalDays": 0},
            r"families\['22222222'\]: code is also in segments",
        ),
        (("bricks", "11111111"), [], r"bricks\['11111111'\]: must be an object"),
        (("families",), [], r"families: must be an object"),
        (("version",), 2, r"catalog: version must be 1"),
        (("extra",), {}, r"catalog: unknown key\(s\) 'extra'"),
    ],
)
def test_from_dict_rejects_bad_entries(path: tuple[str, ...], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GpcCatalog.from_dict(_broken(path, value))


def test_from_dict_rejects_non_object() -> None:
    with pytest.raises(ValueError, match="catalog: must be an object"):
        GpcCatalog.from_dict([])


def test_from_dict_accepts_empty_sections() -> None:
    catalog = GpcCatalog.from_dict({"version": 1})
    assert catalog.fallback is None
    assert resolve_thresholds(MILK, catalog=catalog) == BUILT_IN


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("brick", MILK, 3, 4, "Milk"), r"critical_days \(4\) > warning_days \(3\)"),
        (("brick", MILK, -1, 0, "Milk"), r"warning_days must be an integer >= 0"),
        (("brick", MILK, 3, True, "Milk"), r"critical_days must be an integer"),
        (("brick", MILK, 3, 1, " "), r"label must not be empty"),
        (("brick", "1000", 3, 1, "Milk"), r"code must be 8 digits"),
        (("fallback", MILK, 3, 1, "Any"), r"a fallback rule has code ''"),
        (("class", "50131700", 3, 1, "Milk class"), r"scope must be one of"),
    ],
)
def test_org_rule_rejects_bad_rows(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OrgRule(*args)
