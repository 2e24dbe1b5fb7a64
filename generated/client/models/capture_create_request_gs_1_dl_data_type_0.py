from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CaptureCreateRequestGs1DlDataType0")


@_attrs_define
class CaptureCreateRequestGs1DlDataType0:
    """What the client decoded itself (GS1 Application Identifiers, say), free-form, or
    `null`. The server decodes `raw_value` itself, and its reading wins: the capture's
    `gs1_dl_data` is what it finds there. When `raw_value` carries no Application
    Identifiers, the members of this object that are Application Identifiers (keys of
    2 to 4 digits with string values of at most 90 characters) are kept as the
    capture's `gs1_dl_data`; the other members are ignored, never a reason to refuse
    the capture.
    Like every free-form object, at most 256 members and items in all, nested at
    most 8 levels (`422` otherwise).

    """

    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        capture_create_request_gs_1_dl_data_type_0 = cls()

        capture_create_request_gs_1_dl_data_type_0.additional_properties = d
        return capture_create_request_gs_1_dl_data_type_0

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
