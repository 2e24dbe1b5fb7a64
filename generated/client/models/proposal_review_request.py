from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.proposal_review_request_status import ProposalReviewRequestStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_update_type_0 import MetadataUpdateType0


T = TypeVar("T", bound="ProposalReviewRequest")


@_attrs_define
class ProposalReviewRequest:
    """A reviewer's decision on a proposal.

    Attributes:
        status (ProposalReviewRequestStatus): The decision. `PENDING` cannot be set back.
        metadata (MetadataUpdateType0 | None | Unset): Changes to an object's metadata, merged into what is stored: `{}`
            or `null` removes
            every entry; a key sent with the empty string `""` is deleted; a key sent with any
            other value is set; keys not sent are kept. Omitting the field changes nothing. The
            result must stay within 50 entries, keys of at most 40 characters and values of at
            most 500 characters (`422` otherwise).
    """

    status: ProposalReviewRequestStatus
    metadata: MetadataUpdateType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        status = self.status.value

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataUpdateType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
            }
        )
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        d = dict(src_dict)
        status = ProposalReviewRequestStatus(d.pop("status"))

        def _parse_metadata(data: object) -> MetadataUpdateType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_metadata_update_type_0 = (
                    MetadataUpdateType0.from_dict(data)
                )

                return componentsschemas_metadata_update_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MetadataUpdateType0 | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        proposal_review_request = cls(
            status=status,
            metadata=metadata,
        )

        proposal_review_request.additional_properties = d
        return proposal_review_request

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
