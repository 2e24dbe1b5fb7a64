from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.photo_type_enum import PhotoTypeEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_update_type_0 import MetadataUpdateType0


T = TypeVar("T", bound="PhotoCreateRequest")


@_attrs_define
class PhotoCreateRequest:
    """A photo uploaded with a presigned URL, to register with the session.

    Attributes:
        s3_key (str): The storage key returned by `getPresignedUploadUrl` for this session.
        metadata (MetadataUpdateType0 | None | Unset): Changes to an object's metadata, merged into what is stored: `{}`
            or `null` removes
            every entry; a key sent with the empty string `""` is deleted; a key sent with any
            other value is set; keys not sent are kept. Omitting the field changes nothing. The
            result must stay within 50 entries, keys of at most 40 characters and values of at
            most 500 characters (`422` otherwise).
        photo_type (PhotoTypeEnum | Unset): Which side or panel of the product a photo shows. It namespaces the photo's
            storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        capture_short_id (None | str | Unset | UUID): A capture of the same session the photo belongs with, or `null`.
        original_filename (str | Unset): The file's name on the device, kept for display. Default: ''.
        file_size (int | None | Unset): The file's size in bytes, if the client knows it.
    """

    s3_key: str
    metadata: MetadataUpdateType0 | None | Unset = UNSET
    photo_type: PhotoTypeEnum | Unset = UNSET
    capture_short_id: None | str | Unset | UUID = UNSET
    original_filename: str | Unset = ""
    file_size: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        s3_key = self.s3_key

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataUpdateType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        photo_type: str | Unset = UNSET
        if not isinstance(self.photo_type, Unset):
            photo_type = self.photo_type.value

        capture_short_id: None | str | Unset
        if isinstance(self.capture_short_id, Unset):
            capture_short_id = UNSET
        elif isinstance(self.capture_short_id, UUID):
            capture_short_id = str(self.capture_short_id)
        else:
            capture_short_id = self.capture_short_id

        original_filename = self.original_filename

        file_size: int | None | Unset
        if isinstance(self.file_size, Unset):
            file_size = UNSET
        else:
            file_size = self.file_size

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "s3_key": s3_key,
            }
        )
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if photo_type is not UNSET:
            field_dict["photo_type"] = photo_type
        if capture_short_id is not UNSET:
            field_dict["capture_short_id"] = capture_short_id
        if original_filename is not UNSET:
            field_dict["original_filename"] = original_filename
        if file_size is not UNSET:
            field_dict["file_size"] = file_size

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        d = dict(src_dict)
        s3_key = d.pop("s3_key")

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

        _photo_type = d.pop("photo_type", UNSET)
        photo_type: PhotoTypeEnum | Unset
        if isinstance(_photo_type, Unset):
            photo_type = UNSET
        else:
            photo_type = PhotoTypeEnum(_photo_type)

        def _parse_capture_short_id(data: object) -> None | str | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                return componentsschemas_short_uuid_or_uuid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | str | Unset | UUID, data)

        capture_short_id = _parse_capture_short_id(d.pop("capture_short_id", UNSET))

        original_filename = d.pop("original_filename", UNSET)

        def _parse_file_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        file_size = _parse_file_size(d.pop("file_size", UNSET))

        photo_create_request = cls(
            s3_key=s3_key,
            metadata=metadata,
            photo_type=photo_type,
            capture_short_id=capture_short_id,
            original_filename=original_filename,
            file_size=file_size,
        )

        photo_create_request.additional_properties = d
        return photo_create_request

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
