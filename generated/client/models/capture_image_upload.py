from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..models.capture_image_upload_capture_type import CaptureImageUploadCaptureType
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="CaptureImageUpload")


@_attrs_define
class CaptureImageUpload:
    """Multipart form of an image capture upload.

    Attributes:
        session_id (str | UUID): An object id as a request may give it: the 22-character shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        image (File): The image file, JPEG, PNG or WebP, within the server's upload size limit.
        capture_type (CaptureImageUploadCaptureType | Unset): `IMAGE`: the server decodes and analyses the image.
            `BARCODE`: the client has
            decoded it already and sends the value in `raw_value`.
             Default: CaptureImageUploadCaptureType.IMAGE.
        raw_value (str | Unset): The value the client decoded from the image, if any. Default: ''.
        gtin (str | Unset): The GTIN the client decoded, if any; used as in `createCapture` (the server's own reading
            wins, and this value never makes the request fail). Default: ''.
    """

    session_id: str | UUID
    image: File
    capture_type: CaptureImageUploadCaptureType | Unset = (
        CaptureImageUploadCaptureType.IMAGE
    )
    raw_value: str | Unset = ""
    gtin: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id: str
        if isinstance(self.session_id, UUID):
            session_id = str(self.session_id)
        else:
            session_id = self.session_id

        image = self.image.to_tuple()

        capture_type: str | Unset = UNSET
        if not isinstance(self.capture_type, Unset):
            capture_type = self.capture_type.value

        raw_value = self.raw_value

        gtin = self.gtin

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "image": image,
            }
        )
        if capture_type is not UNSET:
            field_dict["capture_type"] = capture_type
        if raw_value is not UNSET:
            field_dict["raw_value"] = raw_value
        if gtin is not UNSET:
            field_dict["gtin"] = gtin

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        if isinstance(self.session_id, str):
            files.append(
                ("session_id", (None, str(self.session_id).encode(), "text/plain"))
            )
        else:
            files.append(("session_id", (None, str(self.session_id), "text/plain")))

        files.append(("image", self.image.to_tuple()))

        if not isinstance(self.capture_type, Unset):
            files.append(
                (
                    "capture_type",
                    (None, str(self.capture_type.value).encode(), "text/plain"),
                )
            )

        if not isinstance(self.raw_value, Unset):
            files.append(
                ("raw_value", (None, str(self.raw_value).encode(), "text/plain"))
            )

        if not isinstance(self.gtin, Unset):
            files.append(("gtin", (None, str(self.gtin).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_session_id(data: object) -> str | UUID:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                return componentsschemas_short_uuid_or_uuid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | UUID, data)

        session_id = _parse_session_id(d.pop("session_id"))

        image = File(payload=BytesIO(d.pop("image")))

        _capture_type = d.pop("capture_type", UNSET)
        capture_type: CaptureImageUploadCaptureType | Unset
        if isinstance(_capture_type, Unset):
            capture_type = UNSET
        else:
            capture_type = CaptureImageUploadCaptureType(_capture_type)

        raw_value = d.pop("raw_value", UNSET)

        gtin = d.pop("gtin", UNSET)

        capture_image_upload = cls(
            session_id=session_id,
            image=image,
            capture_type=capture_type,
            raw_value=raw_value,
            gtin=gtin,
        )

        capture_image_upload.additional_properties = d
        return capture_image_upload

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
