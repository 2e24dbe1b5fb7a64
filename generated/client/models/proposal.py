from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.proposal_field_name import ProposalFieldName
from ..models.proposal_status_enum import ProposalStatusEnum

if TYPE_CHECKING:
    from ..models.metadata import Metadata


T = TypeVar("T", bound="Proposal")


@_attrs_define
class Proposal:
    """A suggested value for one field of a capture's product.

    Attributes:
        id (UUID): The proposal's UUID.
        field_name (ProposalFieldName): The product field the proposal would change.
        current_value (str): The field's value on the product when the proposal was made, as text (`""` when
            empty); for `images` a JSON-encoded array of image URLs.
        proposed_value (str): The suggested value, in the same text form as `current_value`.
        confidence (str): The generator's confidence as a decimal string from `0.00` to `1.00`.
        reasoning (str): The generator's explanation of the suggestion.
        source (str): Free text naming what produced the proposal (extractor, model, data source).
        status (ProposalStatusEnum): `PENDING` until reviewed; then `ACCEPTED` (will be applied) or `REJECTED`.
        created (datetime.datetime): When the proposal was made.
        metadata (Metadata): Free-form client annotations: a flat map of string keys (at most 40 characters) to
            string values (at most 500 characters), at most 50 entries. Always present in
            responses, `{}` when empty.
        reviewed_at (datetime.datetime | None): When the proposal was last reviewed, or `null` while `PENDING`.
    """

    id: UUID
    field_name: ProposalFieldName
    current_value: str
    proposed_value: str
    confidence: str
    reasoning: str
    source: str
    status: ProposalStatusEnum
    created: datetime.datetime
    metadata: Metadata
    reviewed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        field_name = self.field_name.value

        current_value = self.current_value

        proposed_value = self.proposed_value

        confidence = self.confidence

        reasoning = self.reasoning

        source = self.source

        status = self.status.value

        created = self.created.isoformat()

        metadata = self.metadata.to_dict()

        reviewed_at: None | str
        if isinstance(self.reviewed_at, datetime.datetime):
            reviewed_at = self.reviewed_at.isoformat()
        else:
            reviewed_at = self.reviewed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "field_name": field_name,
                "current_value": current_value,
                "proposed_value": proposed_value,
                "confidence": confidence,
                "reasoning": reasoning,
                "source": source,
                "status": status,
                "created": created,
                "metadata": metadata,
                "reviewed_at": reviewed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata import Metadata

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        field_name = ProposalFieldName(d.pop("field_name"))

        current_value = d.pop("current_value")

        proposed_value = d.pop("proposed_value")

        confidence = d.pop("confidence")

        reasoning = d.pop("reasoning")

        source = d.pop("source")

        status = ProposalStatusEnum(d.pop("status"))

        created = datetime.datetime.fromisoformat(d.pop("created"))

        metadata = Metadata.from_dict(d.pop("metadata"))

        def _parse_reviewed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reviewed_at_type_0 = datetime.datetime.fromisoformat(data)

                return reviewed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        reviewed_at = _parse_reviewed_at(d.pop("reviewed_at"))

        proposal = cls(
            id=id,
            field_name=field_name,
            current_value=current_value,
            proposed_value=proposed_value,
            confidence=confidence,
            reasoning=reasoning,
            source=source,
            status=status,
            created=created,
            metadata=metadata,
            reviewed_at=reviewed_at,
        )

        proposal.additional_properties = d
        return proposal

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
