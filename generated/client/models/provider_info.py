from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.provider_info_kind import ProviderInfoKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="ProviderInfo")


@_attrs_define
class ProviderInfo:
    """One provider a plugin registered. An extractor (`kind: extractor`) also has
    `photo_types` and `available`, and `unavailable_reason` when it is not available;
    the other kinds have none of them.

        Attributes:
            kind (ProviderInfoKind): What the provider does.
            order (int): Its place among the providers of its kind; 1 is asked first. Extractors: a photo
                goes to the available extractors for its type in this order, and product
                extractors run, in this order, after the session's photos.
            name (str): The provider's name (for freshness, the plugin's name; for an extractor, the
                proposals' `source` when it names none).
            plugin (str): The plugin that registered it.
            photo_types (list[str] | Unset): Extractors only: the photo types (`PhotoTypeEnum` values) routed to it, sorted;
                empty for a product extractor, which runs once per capture with a product.
            available (bool | Unset): Extractors only: whether it can run on this server, checked when asked (as
                extraction checks it for each session). An unavailable extractor is skipped.
            unavailable_reason (str | Unset): Extractors only, present exactly when `available` is false: why it cannot run
                here (a missing program, missing configuration).
    """

    kind: ProviderInfoKind
    order: int
    name: str
    plugin: str
    photo_types: list[str] | Unset = UNSET
    available: bool | Unset = UNSET
    unavailable_reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        order = self.order

        name = self.name

        plugin = self.plugin

        photo_types: list[str] | Unset = UNSET
        if not isinstance(self.photo_types, Unset):
            photo_types = self.photo_types

        available = self.available

        unavailable_reason = self.unavailable_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "order": order,
                "name": name,
                "plugin": plugin,
            }
        )
        if photo_types is not UNSET:
            field_dict["photo_types"] = photo_types
        if available is not UNSET:
            field_dict["available"] = available
        if unavailable_reason is not UNSET:
            field_dict["unavailable_reason"] = unavailable_reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        kind = ProviderInfoKind(d.pop("kind"))

        order = d.pop("order")

        name = d.pop("name")

        plugin = d.pop("plugin")

        photo_types = cast(list[str], d.pop("photo_types", UNSET))

        available = d.pop("available", UNSET)

        unavailable_reason = d.pop("unavailable_reason", UNSET)

        provider_info = cls(
            kind=kind,
            order=order,
            name=name,
            plugin=plugin,
            photo_types=photo_types,
            available=available,
            unavailable_reason=unavailable_reason,
        )

        provider_info.additional_properties = d
        return provider_info

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
