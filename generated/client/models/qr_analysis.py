from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.resolver_type_enum import ResolverTypeEnum

if TYPE_CHECKING:
    from ..models.qr_hop import QrHop


T = TypeVar("T", bound="QrAnalysis")


@_attrs_define
class QrAnalysis:
    """The result of following a QR code's URL through its redirects (at most 10, 5 seconds
    overall, no meta-refresh). Network and URL problems are reported in
    `error_message`, not as a failed capture.

        Attributes:
            initial_url (str): The URL as scanned.
            final_url (str): Where the redirects ended; equal to `initial_url` when none were followed.
            hops (list[QrHop]): Every response received, in order: each redirect, then the answer that ended the
                chain when there was one (so one entry more than `hop_count` then).
            hop_count (int): How many redirects were followed.
            resolver_domain (str): Host name of `initial_url`, lower-cased; `""` when the URL has none.
            resolver_type (ResolverTypeEnum): Classification of the QR URL's host: `CLOSIENT` (this service's own resolver),
                `GS1_DL` (a GS1 Digital Link resolver), `URL_SHORTENER`, `DIRECT` (a brand or
                retailer page reached directly), `UNKNOWN` (could not be classified, e.g. the URL
                was malformed).
            is_closient_resolver (bool): Whether `initial_url` points at this service's own resolver (`resolver_type`
                `CLOSIENT`).
            extracted_gtin (str): A GTIN found in `final_url`, normalised to 14 digits; `""` when none.
            error_message (str): Why resolving stopped early (timeout, refused connection, malformed URL, unsupported
                scheme, too many redirects); `""` when it completed.
    """

    initial_url: str
    final_url: str
    hops: list[QrHop]
    hop_count: int
    resolver_domain: str
    resolver_type: ResolverTypeEnum
    is_closient_resolver: bool
    extracted_gtin: str
    error_message: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        initial_url = self.initial_url

        final_url = self.final_url

        hops = []
        for hops_item_data in self.hops:
            hops_item = hops_item_data.to_dict()
            hops.append(hops_item)

        hop_count = self.hop_count

        resolver_domain = self.resolver_domain

        resolver_type = self.resolver_type.value

        is_closient_resolver = self.is_closient_resolver

        extracted_gtin = self.extracted_gtin

        error_message = self.error_message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "initial_url": initial_url,
                "final_url": final_url,
                "hops": hops,
                "hop_count": hop_count,
                "resolver_domain": resolver_domain,
                "resolver_type": resolver_type,
                "is_closient_resolver": is_closient_resolver,
                "extracted_gtin": extracted_gtin,
                "error_message": error_message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.qr_hop import QrHop

        d = dict(src_dict)
        initial_url = d.pop("initial_url")

        final_url = d.pop("final_url")

        hops = []
        _hops = d.pop("hops")
        for hops_item_data in _hops:
            hops_item = QrHop.from_dict(hops_item_data)

            hops.append(hops_item)

        hop_count = d.pop("hop_count")

        resolver_domain = d.pop("resolver_domain")

        resolver_type = ResolverTypeEnum(d.pop("resolver_type"))

        is_closient_resolver = d.pop("is_closient_resolver")

        extracted_gtin = d.pop("extracted_gtin")

        error_message = d.pop("error_message")

        qr_analysis = cls(
            initial_url=initial_url,
            final_url=final_url,
            hops=hops,
            hop_count=hop_count,
            resolver_domain=resolver_domain,
            resolver_type=resolver_type,
            is_closient_resolver=is_closient_resolver,
            extracted_gtin=extracted_gtin,
            error_message=error_message,
        )

        qr_analysis.additional_properties = d
        return qr_analysis

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
