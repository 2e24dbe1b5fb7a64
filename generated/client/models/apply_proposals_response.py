from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.proposal import Proposal


T = TypeVar("T", bound="ApplyProposalsResponse")


@_attrs_define
class ApplyProposalsResponse:
    """The outcome of applying a capture's accepted proposals.

    Attributes:
        product_short_id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        applied (list[Proposal]): The `ACCEPTED` proposals whose values were written, oldest first.
    """

    product_short_id: str
    applied: list[Proposal]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        product_short_id = self.product_short_id

        applied = []
        for applied_item_data in self.applied:
            applied_item = applied_item_data.to_dict()
            applied.append(applied_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "product_short_id": product_short_id,
                "applied": applied,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.proposal import Proposal

        d = dict(src_dict)
        product_short_id = d.pop("product_short_id")

        applied = []
        _applied = d.pop("applied")
        for applied_item_data in _applied:
            applied_item = Proposal.from_dict(applied_item_data)

            applied.append(applied_item)

        apply_proposals_response = cls(
            product_short_id=product_short_id,
            applied=applied,
        )

        apply_proposals_response.additional_properties = d
        return apply_proposals_response

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
