from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.extraction_failure_reason import ExtractionFailureReason

T = TypeVar("T", bound="ExtractionFailure")


@_attrs_define
class ExtractionFailure:
    """A photo of the session that one extractor could not read.

    Attributes:
        photo_id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        extractor (str): The extractor's name, as `GET /plugins` lists it.
        reason (ExtractionFailureReason): `timeout`: the extractor gave no answer within the per-photo time limit (the
            server's `SCANSERVE_EXTRACTION_TIMEOUT_SECONDS`). `error`: the extractor failed on
            the photo. `unreadable`: the stored photo could not be read. The server's log
            says more.
    """

    photo_id: str
    extractor: str
    reason: ExtractionFailureReason
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        photo_id = self.photo_id

        extractor = self.extractor

        reason = self.reason.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "photo_id": photo_id,
                "extractor": extractor,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        photo_id = d.pop("photo_id")

        extractor = d.pop("extractor")

        reason = ExtractionFailureReason(d.pop("reason"))

        extraction_failure = cls(
            photo_id=photo_id,
            extractor=extractor,
            reason=reason,
        )

        extraction_failure.additional_properties = d
        return extraction_failure

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
