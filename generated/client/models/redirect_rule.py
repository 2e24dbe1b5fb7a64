from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RedirectRule")


@_attrs_define
class RedirectRule:
    """A product-scoped redirect rule.

    Attributes:
        id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        product_short_id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        url (str): The redirect target.
        position (int): The rule's place among the product's rules of the caller's organisation, from 0;
            new rules go last. Each organisation numbers (and sees) only its own rules.
        created (datetime.datetime): When the rule was stored.
    """

    id: str
    product_short_id: str
    url: str
    position: int
    created: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        product_short_id = self.product_short_id

        url = self.url

        position = self.position

        created = self.created.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "product_short_id": product_short_id,
                "url": url,
                "position": position,
                "created": created,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        product_short_id = d.pop("product_short_id")

        url = d.pop("url")

        position = d.pop("position")

        created = datetime.datetime.fromisoformat(d.pop("created"))

        redirect_rule = cls(
            id=id,
            product_short_id=product_short_id,
            url=url,
            position=position,
            created=created,
        )

        redirect_rule.additional_properties = d
        return redirect_rule

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
