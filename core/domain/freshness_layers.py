"""Freshness thresholds by GS1 GPC brick -> warning / critical days, in layers: what the
built-in freshness plugin answers, and the organisation layers the plugin manager asks before
any plugin (``freshness_order`` ``org-rules-first``).

A product's GPC brick code (8 digits, from the catalog; "" when unknown) picks its thresholds.
Layers are tried in order and the first match wins; the winner names itself in ``source``:

1. ``org-override``    the organisation's rule for the brick, else its family, else its segment
2. ``org-fallback``    the organisation's ``fallback`` rule
3. ``global-default``  the data file's entry for the brick, else its family, else its segment
4. ``global-fallback`` the data file's ``fallback`` entry
5. ``built-in``        :data:`BUILT_IN`, when there is no catalog or it has no fallback

A brick's family and segment come from the data file, so without a catalog (or for a brick
the file does not know) only an organisation rule for the brick itself can match in layer 1.
An empty or malformed brick code matches nothing in layers 1 and 3.

The data file, ``scanserve.plugins/data/gpc_freshness.json``::

    {"version": 1,
     "bricks":   {"10000025": {"family": "50130000", "segment": "50000000",
                               "label": "Milk (Perishable)", "warningDays": 3, "criticalDays": 1}},
     "families": {"50130000": {"segment": "50000000", "label": "Milk/Butter/Cream/...",
                               "warningDays": 5, "criticalDays": 2}},
     "segments": {"50000000": {"label": "Food/Beverage/Tobacco",
                               "warningDays": 7, "criticalDays": 3}},
     "fallback": {"label": "General merchandise", "warningDays": 30, "criticalDays": 7}}

Codes are 8-digit strings, each at one level only. Days are integers >= 0 with
``criticalDays`` <= ``warningDays``; labels are non-empty. A brick names a family that exists
and that family's segment; a family names a segment that exists. A brick or family may leave
out both day counts: it is then only a link in the lineage, and layer 3 moves on to its
family or segment, whose label comes with the days. Segments and ``fallback`` carry both
counts; ``fallback`` itself is optional. The figures are store-policy defaults for days left
before expiry, not GS1 data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from scanserve.plugins.providers import OrgRule, Thresholds

__all__ = [
    "BUILT_IN",
    "GpcCatalog",
    "default_catalog",
    "org_thresholds",
    "resolve_thresholds",
]

_CODE = re.compile(r"^[0-9]{8}$")

# Used only when no data file answers: short enough that an unclassified chilled product is
# flagged in time, long enough not to flag everything on the shelf.
BUILT_IN = Thresholds(
    warning_days=7, critical_days=2, category_label="Uncategorised", source="built-in"
)


def _days(where: str, name: str, value: object) -> int:
    # bool is an int subclass; True days is a data error, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: {name} must be an integer >= 0, got {value!r}")
    return value


@dataclass(frozen=True)
class _Entry:
    label: str
    warning_days: int
    critical_days: int

    def thresholds(self, source: str) -> Thresholds:
        return Thresholds(self.warning_days, self.critical_days, self.label, source)


_DAYS = ("warningDays", "criticalDays")


def _entry(
    where: str, raw: object, parents: tuple[str, ...], *, inherits: bool = False
) -> _Entry | None:
    """Validate one entry; None for an entry that (``inherits``) leaves its days to its parent."""
    if not isinstance(raw, Mapping):
        # ValueError, not TypeError: a bad data file is one kind of error for the caller.
        raise ValueError(f"{where}: must be an object")  # noqa: TRY004
    unknown = sorted(set(raw) - {"label", *_DAYS, *parents})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    has_days = [key in raw for key in _DAYS]
    required = {"label", *parents} | (set() if inherits and not any(has_days) else set(_DAYS))
    missing = sorted(required - set(raw))
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
    label = raw["label"]
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{where}: label must be a non-empty string")
    if not any(has_days):
        return None
    warning = _days(where, "warningDays", raw["warningDays"])
    critical = _days(where, "criticalDays", raw["criticalDays"])
    if critical > warning:
        raise ValueError(f"{where}: criticalDays ({critical}) > warningDays ({warning})")
    return _Entry(label.strip(), warning, critical)


def _check_disjoint(**sections: Mapping[str, Any]) -> None:
    # GPC codes are unique across levels; a code at two levels is a copy-paste slip.
    seen: dict[str, str] = {}
    for level, section in sections.items():
        for code in section:
            if code in seen:
                raise ValueError(f"{level}[{code!r}]: code is also in {seen[code]}")
            seen[code] = level


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        raise ValueError(f"{name}: must be an object")  # noqa: TRY004 -- as in _entry
    for code in section:
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueError(f"{name}[{code!r}]: code must be 8 digits")
    return section


class GpcCatalog:
    """The freshness data file, validated: GPC bricks, families and segments with thresholds."""

    def __init__(
        self,
        entries: Mapping[tuple[str, str], _Entry],
        parents: Mapping[str, tuple[str, str]],
        fallback: _Entry | None,
    ) -> None:
        # Build through from_dict or load_default; this constructor trusts its input.
        self._entries = dict(entries)
        self._parents = dict(parents)  # brick -> (family, segment)
        self._fallback = fallback

    @classmethod
    def load_default(cls) -> GpcCatalog:
        """The data file shipped with scanserve."""
        path = resources.files("scanserve.plugins") / "data" / "gpc_freshness.json"
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: object) -> GpcCatalog:
        """Validate parsed JSON; raise ValueError naming the first bad entry."""
        if not isinstance(data, Mapping):
            raise ValueError("catalog: must be an object")  # noqa: TRY004 -- as in _entry
        unknown = sorted(set(data) - {"version", "bricks", "families", "segments", "fallback"})
        if unknown:
            raise ValueError(f"catalog: unknown key(s) {', '.join(map(repr, unknown))}")
        if data.get("version") != 1:
            raise ValueError(f"catalog: version must be 1, got {data.get('version')!r}")
        bricks = _section(data, "bricks")
        families = _section(data, "families")
        segments = _section(data, "segments")

        _check_disjoint(segments=segments, families=families, bricks=bricks)

        entries: dict[tuple[str, str], _Entry | None] = {}
        for code, raw in segments.items():
            entries[("segment", code)] = _entry(f"segments[{code!r}]", raw, ())
        family_segment: dict[str, str] = {}
        for code, raw in families.items():
            where = f"families[{code!r}]"
            entries[("family", code)] = _entry(where, raw, ("segment",), inherits=True)
            segment = raw["segment"]
            if not isinstance(segment, str) or segment not in segments:
                raise ValueError(f"{where}: segment {segment!r} is not in segments")
            family_segment[code] = segment
        parents: dict[str, tuple[str, str]] = {}
        for code, raw in bricks.items():
            where = f"bricks[{code!r}]"
            entries[("brick", code)] = _entry(where, raw, ("family", "segment"), inherits=True)
            family, segment = raw["family"], raw["segment"]
            if not isinstance(family, str) or family not in families:
                raise ValueError(f"{where}: family {family!r} is not in families")
            if segment != family_segment[family]:
                raise ValueError(
                    f"{where}: segment {segment!r} differs from its family's "
                    f"({family_segment[family]!r})"
                )
            parents[code] = (family, segment)
        fallback = (
            None if data.get("fallback") is None else _entry("fallback", data["fallback"], ())
        )
        figures = {key: entry for key, entry in entries.items() if entry is not None}
        return cls(figures, parents, fallback)

    def lineage(self, brick_code: str) -> list[tuple[str, str]]:
        """``[("brick", b), ("family", f), ("segment", s)]``, most specific first.

        A well-formed brick the file does not know yields only ``[("brick", b)]``;
        an empty or malformed code yields ``[]``.
        """
        code = (brick_code or "").strip()
        if not _CODE.match(code):
            return []
        if code not in self._parents:
            return [("brick", code)]
        family, segment = self._parents[code]
        return [("brick", code), ("family", family), ("segment", segment)]

    def entry(self, level: str, code: str) -> Thresholds | None:
        """The file's thresholds for one brick, family or segment (source ``global-default``)."""
        found = self._entries.get((level, code))
        return None if found is None else found.thresholds("global-default")

    @property
    def fallback(self) -> Thresholds | None:
        """The file's ``fallback`` entry (source ``global-fallback``), if it has one."""
        return None if self._fallback is None else self._fallback.thresholds("global-fallback")


@lru_cache(maxsize=1)
def default_catalog() -> GpcCatalog:
    """The shipped data file, read and validated once per process."""
    return GpcCatalog.load_default()


def _lineage(brick_code: str, catalog: GpcCatalog | None) -> list[tuple[str, str]]:
    if catalog is not None:
        return catalog.lineage(brick_code)
    code = (brick_code or "").strip()
    return [("brick", code)] if _CODE.match(code) else []


def _org_layers(
    lineage: Sequence[tuple[str, str]], org_rules: Sequence[OrgRule]
) -> Thresholds | None:
    rules: dict[tuple[str, str], OrgRule] = {}
    for rule in org_rules:
        rules.setdefault((rule.scope, rule.code), rule)
    for level, code in lineage:
        override = rules.get((level, code))
        if override is not None:
            return Thresholds(
                override.warning_days, override.critical_days, override.label, "org-override"
            )
    fallback_rule = rules.get(("fallback", ""))
    if fallback_rule is not None:
        return Thresholds(
            fallback_rule.warning_days,
            fallback_rule.critical_days,
            fallback_rule.label,
            "org-fallback",
        )
    return None


def org_thresholds(
    brick_code: str, *, catalog: GpcCatalog | None, org_rules: Sequence[OrgRule]
) -> Thresholds | None:
    """Layers 1 and 2 alone (the organisation's rules), or None when none of them matches.

    scanserve asks this before any freshness plugin unless ``freshness_order`` is
    ``plugins-first``.
    """
    return _org_layers(_lineage(brick_code, catalog), org_rules)


def resolve_thresholds(
    brick_code: str,
    *,
    catalog: GpcCatalog | None,
    org_rules: Sequence[OrgRule] = (),
) -> Thresholds:
    """The thresholds for one brick code, by the layers in this module's docstring.

    When ``org_rules`` holds two rules for the same scope and code, the first one wins.
    """
    lineage = _lineage(brick_code, catalog)
    found = _org_layers(lineage, org_rules)
    if found is not None:
        return found
    if catalog is not None:
        for level, code in lineage:
            default = catalog.entry(level, code)
            if default is not None:
                return default
        if catalog.fallback is not None:
            return catalog.fallback
    return BUILT_IN
