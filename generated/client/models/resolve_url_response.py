from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ResolveUrlResponse")


@_attrs_define
class ResolveUrlResponse:
    """The outcome of following a URL's redirects.

    Attributes:
        initial_url (str): The URL as sent.
        final_url (str): Where the redirects ended; equal to `initial_url` when none were followed, and
            when there were too many.
        hops (int): How many redirects were followed.
        error_message (str): Why resolving stopped early; `""` when it completed.
        succeeded (bool): True exactly when `error_message` is empty.
        chain (list[str]): Every URL that answered, in order, from `initial_url` on (`hops` + 1 entries when
            resolving completed); empty when no response came at all.
    """

    initial_url: str
    final_url: str
    hops: int
    error_message: str
    succeeded: bool
    chain: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        initial_url = self.initial_url

        final_url = self.final_url

        hops = self.hops

        error_message = self.error_message

        succeeded = self.succeeded

        chain = self.chain

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "initial_url": initial_url,
                "final_url": final_url,
                "hops": hops,
                "error_message": error_message,
                "succeeded": succeeded,
                "chain": chain,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        initial_url = d.pop("initial_url")

        final_url = d.pop("final_url")

        hops = d.pop("hops")

        error_message = d.pop("error_message")

        succeeded = d.pop("succeeded")

        chain = cast(list[str], d.pop("chain"))

        resolve_url_response = cls(
            initial_url=initial_url,
            final_url=final_url,
            hops=hops,
            error_message=error_message,
            succeeded=succeeded,
            chain=chain,
        )

        resolve_url_response.additional_properties = d
        return resolve_url_response

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
