from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PhotoReorderRequest")


@_attrs_define
class PhotoReorderRequest:
    """The complete new gallery order of a session.

    Attributes:
        photo_short_ids (list[str | UUID]): Every photo of the session exactly once, first to last (an id and its UUID
            form
            name the same photo, so they count as a repeat).
    """

    photo_short_ids: list[str | UUID]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        photo_short_ids = []
        for photo_short_ids_item_data in self.photo_short_ids:
            photo_short_ids_item: str
            if isinstance(photo_short_ids_item_data, UUID):
                photo_short_ids_item = str(photo_short_ids_item_data)
            else:
                photo_short_ids_item = photo_short_ids_item_data
            photo_short_ids.append(photo_short_ids_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "photo_short_ids": photo_short_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        photo_short_ids = []
        _photo_short_ids = d.pop("photo_short_ids")
        for photo_short_ids_item_data in _photo_short_ids:

            def _parse_photo_short_ids_item(data: object) -> str | UUID:
                try:
                    if not isinstance(data, str):
                        raise TypeError()
                    componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                    return componentsschemas_short_uuid_or_uuid_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(str | UUID, data)

            photo_short_ids_item = _parse_photo_short_ids_item(
                photo_short_ids_item_data
            )

            photo_short_ids.append(photo_short_ids_item)

        photo_reorder_request = cls(
            photo_short_ids=photo_short_ids,
        )

        photo_reorder_request.additional_properties = d
        return photo_reorder_request

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
