from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capture_mode_enum import CaptureModeEnum
from ..models.session_status_enum import SessionStatusEnum

if TYPE_CHECKING:
    from ..models.metadata import Metadata


T = TypeVar("T", bound="SessionResponse")


@_attrs_define
class SessionResponse:
    """A scanning session.

    Attributes:
        id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        status (SessionStatusEnum): `ACTIVE`: accepting captures and photos. `COMPLETED`: ended or submitted.
            `EXPIRED`: reaped after sitting idle past its time-to-live. Only `ACTIVE` can change.
        capture_mode (CaptureModeEnum): What the client intends to do in the session: scan barcodes, photograph
            products,
            or both. Informational; it does not restrict which operations are allowed.
        created (datetime.datetime): When the session was created.
        modified (datetime.datetime): When the session last changed (status, metadata, or content added).
        metadata (Metadata): Free-form client annotations: a flat map of string keys (at most 40 characters) to
            string values (at most 500 characters), at most 50 entries. Always present in
            responses, `{}` when empty.
        capture_count (int): How many captures the session holds. Default: 0.
        photo_count (int): How many product photos the session holds. Default: 0.
    """

    id: str
    status: SessionStatusEnum
    capture_mode: CaptureModeEnum
    created: datetime.datetime
    modified: datetime.datetime
    metadata: Metadata
    capture_count: int = 0
    photo_count: int = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        capture_mode = self.capture_mode.value

        created = self.created.isoformat()

        modified = self.modified.isoformat()

        metadata = self.metadata.to_dict()

        capture_count = self.capture_count

        photo_count = self.photo_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "capture_mode": capture_mode,
                "created": created,
                "modified": modified,
                "metadata": metadata,
                "capture_count": capture_count,
                "photo_count": photo_count,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata import Metadata

        d = dict(src_dict)
        id = d.pop("id")

        status = SessionStatusEnum(d.pop("status"))

        capture_mode = CaptureModeEnum(d.pop("capture_mode"))

        created = datetime.datetime.fromisoformat(d.pop("created"))

        modified = datetime.datetime.fromisoformat(d.pop("modified"))

        metadata = Metadata.from_dict(d.pop("metadata"))

        capture_count = d.pop("capture_count")

        photo_count = d.pop("photo_count")

        session_response = cls(
            id=id,
            status=status,
            capture_mode=capture_mode,
            created=created,
            modified=modified,
            metadata=metadata,
            capture_count=capture_count,
            photo_count=photo_count,
        )

        session_response.additional_properties = d
        return session_response

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
