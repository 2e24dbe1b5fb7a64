from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capture_status_enum import CaptureStatusEnum

T = TypeVar("T", bound="CaptureStatusSummary")


@_attrs_define
class CaptureStatusSummary:
    """The processing state of one capture.

    Attributes:
        id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        status (CaptureStatusEnum): Background processing state. `PENDING`: queued. `LOOKING_UP`: matching the GTIN to
            a product. `ENRICHING`: gathering product data. `RESOLVING`: following a QR URL.
            `COMPLETED`: done. `FAILED`: an unrecoverable error, see `error_message`.
            `NOT_FOUND`: the GTIN matches no product. `FAILED` and `NOT_FOUND` can be retried.
        proposal_count (int): How many proposals (in any status) exist for the capture.
    """

    id: str
    status: CaptureStatusEnum
    proposal_count: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        proposal_count = self.proposal_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "proposal_count": proposal_count,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        status = CaptureStatusEnum(d.pop("status"))

        proposal_count = d.pop("proposal_count")

        capture_status_summary = cls(
            id=id,
            status=status,
            proposal_count=proposal_count,
        )

        capture_status_summary.additional_properties = d
        return capture_status_summary

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
