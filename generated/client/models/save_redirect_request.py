from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SaveRedirectRequest")


@_attrs_define
class SaveRedirectRequest:
    """A URL to store as a redirect rule of the capture's product.

    Attributes:
        url (str): The redirect target: an absolute `http` or `https` URL with a host name and no
            white space or control characters (`422` otherwise). Patterns in this document
            are ECMA-262 regular expressions, as JSON Schema says, and the server evaluates
            them so: `\\s` is ECMA-262 white space.
    """

    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        url = d.pop("url")

        save_redirect_request = cls(
            url=url,
        )

        save_redirect_request.additional_properties = d
        return save_redirect_request

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
