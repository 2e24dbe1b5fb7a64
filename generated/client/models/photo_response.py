from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.photo_type_enum import PhotoTypeEnum

if TYPE_CHECKING:
    from ..models.metadata import Metadata


T = TypeVar("T", bound="PhotoResponse")


@_attrs_define
class PhotoResponse:
    """A product photo of a session.

    Attributes:
        id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        photo_type (PhotoTypeEnum): Which side or panel of the product a photo shows. It namespaces the photo's storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        s3_key (str): Storage key of the image.
        original_filename (str): The file's name on the device, `""` when not given.
        sort_order (int): Position in the session's gallery, from 0.
        created (datetime.datetime): When the photo was registered.
        metadata (Metadata): Free-form client annotations: a flat map of string keys (at most 40 characters) to
            string values (at most 500 characters), at most 50 entries. Always present in
            responses, `{}` when empty.
        file_size (int | None): Size in bytes, or `null` when unknown.
        capture_short_id (None | str): The capture the photo belongs with, or `null`.
    """

    id: str
    photo_type: PhotoTypeEnum
    s3_key: str
    original_filename: str
    sort_order: int
    created: datetime.datetime
    metadata: Metadata
    file_size: int | None
    capture_short_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        photo_type = self.photo_type.value

        s3_key = self.s3_key

        original_filename = self.original_filename

        sort_order = self.sort_order

        created = self.created.isoformat()

        metadata = self.metadata.to_dict()

        file_size: int | None
        file_size = self.file_size

        capture_short_id: None | str
        capture_short_id = self.capture_short_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "photo_type": photo_type,
                "s3_key": s3_key,
                "original_filename": original_filename,
                "sort_order": sort_order,
                "created": created,
                "metadata": metadata,
                "file_size": file_size,
                "capture_short_id": capture_short_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata import Metadata

        d = dict(src_dict)
        id = d.pop("id")

        photo_type = PhotoTypeEnum(d.pop("photo_type"))

        s3_key = d.pop("s3_key")

        original_filename = d.pop("original_filename")

        sort_order = d.pop("sort_order")

        created = datetime.datetime.fromisoformat(d.pop("created"))

        metadata = Metadata.from_dict(d.pop("metadata"))

        def _parse_file_size(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        file_size = _parse_file_size(d.pop("file_size"))

        def _parse_capture_short_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        capture_short_id = _parse_capture_short_id(d.pop("capture_short_id"))

        photo_response = cls(
            id=id,
            photo_type=photo_type,
            s3_key=s3_key,
            original_filename=original_filename,
            sort_order=sort_order,
            created=created,
            metadata=metadata,
            file_size=file_size,
            capture_short_id=capture_short_id,
        )

        photo_response.additional_properties = d
        return photo_response

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
