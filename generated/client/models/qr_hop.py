from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.qr_hop_headers import QrHopHeaders


T = TypeVar("T", bound="QrHop")


@_attrs_define
class QrHop:
    """One response received while following a URL.

    Attributes:
        url (str): The URL that was requested.
        status_code (int): The HTTP status it answered with.
        headers (QrHopHeaders): Response headers of interest (among them `location` on a redirect), names
            lower-cased.
    """

    url: str
    status_code: int
    headers: QrHopHeaders
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        status_code = self.status_code

        headers = self.headers.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "url": url,
                "status_code": status_code,
                "headers": headers,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.qr_hop_headers import QrHopHeaders

        d = dict(src_dict)
        url = d.pop("url")

        status_code = d.pop("status_code")

        headers = QrHopHeaders.from_dict(d.pop("headers"))

        qr_hop = cls(
            url=url,
            status_code=status_code,
            headers=headers,
        )

        qr_hop.additional_properties = d
        return qr_hop

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
