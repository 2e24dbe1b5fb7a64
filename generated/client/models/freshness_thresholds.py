from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.freshness_source_enum import FreshnessSourceEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="FreshnessThresholds")


@_attrs_define
class FreshnessThresholds:
    """Shelf-life thresholds in days (camelCase names on purpose). `criticalDays` is never
    greater than `warningDays`.

        Attributes:
            warning_days (int): With at least this many days left the product is fresh; below it, warning.
            critical_days (int): With fewer than this many days left the product counts as expired.
            category_label (str): Human-readable name of the category the thresholds belong to; never empty.
            source (FreshnessSourceEnum): The configuration layer that supplied the thresholds, most specific first:
                `org-override` (the organisation's value for the product's GPC brick),
                `org-fallback` (the organisation's catch-all), `global-default` (the global value for
                the brick), `global-fallback` (the global catch-all), `built-in` (compiled-in values);
                `plugin` when a server plugin answered (its name is in `pluginName`).
            plugin_name (str | Unset): The name of the plugin that answered (as the server's plugin listing shows it);
                present exactly when `source` is `plugin`.
    """

    warning_days: int
    critical_days: int
    category_label: str
    source: FreshnessSourceEnum
    plugin_name: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        warning_days = self.warning_days

        critical_days = self.critical_days

        category_label = self.category_label

        source = self.source.value

        plugin_name = self.plugin_name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "warningDays": warning_days,
                "criticalDays": critical_days,
                "categoryLabel": category_label,
                "source": source,
            }
        )
        if plugin_name is not UNSET:
            field_dict["pluginName"] = plugin_name

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        warning_days = d.pop("warningDays")

        critical_days = d.pop("criticalDays")

        category_label = d.pop("categoryLabel")

        source = FreshnessSourceEnum(d.pop("source"))

        plugin_name = d.pop("pluginName", UNSET)

        freshness_thresholds = cls(
            warning_days=warning_days,
            critical_days=critical_days,
            category_label=category_label,
            source=source,
            plugin_name=plugin_name,
        )

        freshness_thresholds.additional_properties = d
        return freshness_thresholds

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
