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
    """Multipart form of an image capture upload. The session is named by `session_id`, or
    by `session_short_id` / `session_public_id` (the published pages' names), exactly as
    in `CaptureCreateRequest`.

        Attributes:
            image (File): The image file, JPEG, PNG or WebP, within the server's upload size limit.
            session_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or the
                canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            session_short_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or the
                canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            session_public_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or
                the canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            capture_type (CaptureImageUploadCaptureType | Unset): `IMAGE`: the server decodes and analyses the image.
                `BARCODE`: the client has
                decoded it already and sends the value in `raw_value`.
                 Default: CaptureImageUploadCaptureType.IMAGE.
            raw_value (str | Unset): The value the client decoded from the image, if any. Default: ''.
            gtin (str | Unset): The GTIN the client decoded, if any; used as in `createCapture` (the server's own reading
                wins, and this value never makes the request fail). Default: ''.
    """

    image: File
    session_id: str | Unset | UUID = UNSET
    session_short_id: str | Unset | UUID = UNSET
    session_public_id: str | Unset | UUID = UNSET
    capture_type: CaptureImageUploadCaptureType | Unset = (
        CaptureImageUploadCaptureType.IMAGE
    )
    raw_value: str | Unset = ""
    gtin: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        image = self.image.to_tuple()

        session_id: str | Unset
        if isinstance(self.session_id, Unset):
            session_id = UNSET
        elif isinstance(self.session_id, UUID):
            session_id = str(self.session_id)
        else:
            session_id = self.session_id

        session_short_id: str | Unset
        if isinstance(self.session_short_id, Unset):
            session_short_id = UNSET
        elif isinstance(self.session_short_id, UUID):
            session_short_id = str(self.session_short_id)
        else:
            session_short_id = self.session_short_id

        session_public_id: str | Unset
        if isinstance(self.session_public_id, Unset):
            session_public_id = UNSET
        elif isinstance(self.session_public_id, UUID):
            session_public_id = str(self.session_public_id)
        else:
            session_public_id = self.session_public_id

        capture_type: str | Unset = UNSET
        if not isinstance(self.capture_type, Unset):
            capture_type = self.capture_type.value

        raw_value = self.raw_value

        gtin = self.gtin

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "image": image,
            }
        )
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if session_short_id is not UNSET:
            field_dict["session_short_id"] = session_short_id
        if session_public_id is not UNSET:
            field_dict["session_public_id"] = session_public_id
        if capture_type is not UNSET:
            field_dict["capture_type"] = capture_type
        if raw_value is not UNSET:
            field_dict["raw_value"] = raw_value
        if gtin is not UNSET:
            field_dict["gtin"] = gtin

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("image", self.image.to_tuple()))

        if not isinstance(self.session_id, Unset):
            if isinstance(self.session_id, str):
                files.append(
                    ("session_id", (None, str(self.session_id).encode(), "text/plain"))
                )
            else:
                files.append(("session_id", (None, str(self.session_id), "text/plain")))

        if not isinstance(self.session_short_id, Unset):
            if isinstance(self.session_short_id, str):
                files.append(
                    (
                        "session_short_id",
                        (None, str(self.session_short_id).encode(), "text/plain"),
                    )
                )
            else:
                files.append(
                    (
                        "session_short_id",
                        (None, str(self.session_short_id), "text/plain"),
                    )
                )

        if not isinstance(self.session_public_id, Unset):
            if isinstance(self.session_public_id, str):
                files.append(
                    (
                        "session_public_id",
                        (None, str(self.session_public_id).encode(), "text/plain"),
                    )
                )
            else:
                files.append(
                    (
                        "session_public_id",
                        (None, str(self.session_public_id), "text/plain"),
                    )
                )

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
        image = File(payload=BytesIO(d.pop("image")))

        def _parse_session_id(data: object) -> str | Unset | UUID:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                return componentsschemas_short_uuid_or_uuid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | Unset | UUID, data)

        session_id = _parse_session_id(d.pop("session_id", UNSET))

        def _parse_session_short_id(data: object) -> str | Unset | UUID:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                return componentsschemas_short_uuid_or_uuid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | Unset | UUID, data)

        session_short_id = _parse_session_short_id(d.pop("session_short_id", UNSET))

        def _parse_session_public_id(data: object) -> str | Unset | UUID:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_short_uuid_or_uuid_type_1 = UUID(data)

                return componentsschemas_short_uuid_or_uuid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | Unset | UUID, data)

        session_public_id = _parse_session_public_id(d.pop("session_public_id", UNSET))

        _capture_type = d.pop("capture_type", UNSET)
        capture_type: CaptureImageUploadCaptureType | Unset
        if isinstance(_capture_type, Unset):
            capture_type = UNSET
        else:
            capture_type = CaptureImageUploadCaptureType(_capture_type)

        raw_value = d.pop("raw_value", UNSET)

        gtin = d.pop("gtin", UNSET)

        capture_image_upload = cls(
            image=image,
            session_id=session_id,
            session_short_id=session_short_id,
            session_public_id=session_public_id,
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
