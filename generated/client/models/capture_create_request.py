from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capture_type_enum import CaptureTypeEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.capture_create_request_gs_1_dl_data_type_0 import (
        CaptureCreateRequestGs1DlDataType0,
    )
    from ..models.metadata_update_type_0 import MetadataUpdateType0


T = TypeVar("T", bound="CaptureCreateRequest")


@_attrs_define
class CaptureCreateRequest:
    """One scanned or typed value to record. The session is named by `session_id`; clients
    written from the published Scanner API pages may name it `session_short_id` (or, in
    the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
    answers `422` naming `session_id`, two answer `422` naming both.

        Attributes:
            capture_type (CaptureTypeEnum): `BARCODE`: decoded on the client. `IMAGE`: an uploaded image decoded and
                analysed on
                the server. `MANUAL`: typed by an operator.
            raw_value (str): Exactly what was scanned or typed: digits, a GS1 element string, a URL, or any
                other text. The server parses it.
            session_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or the
                canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            session_short_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or the
                canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            session_public_id (str | Unset | UUID): An object id as a request may give it: the 22-character shortuuid, or
                the canonical
                UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
            metadata (MetadataUpdateType0 | None | Unset): Changes to an object's metadata, merged into what is stored: `{}`
                or `null` removes
                every entry; a key sent with the empty string `""` is deleted; a key sent with any
                other value is set; keys not sent are kept. Omitting the field changes nothing. The
                result must stay within 50 entries, keys of at most 40 characters and values of at
                most 500 characters (`422` otherwise).
            gtin (str | Unset): The GTIN as the client decoded it, if it did; any string of at most 14
                characters is taken. The server derives the normalised GTIN-14 from `raw_value`
                itself, and that wins. This value becomes the capture's `gtin` only when
                `raw_value` yields none, is not unusable, and this is a valid GTIN-8, -12, -13 or
                -14 (check digit included); otherwise it is ignored.
                 Default: ''.
            gs1_dl_data (CaptureCreateRequestGs1DlDataType0 | None | Unset): What the client decoded itself (GS1 Application
                Identifiers, say), free-form, or
                `null`. The server decodes `raw_value` itself, and its reading wins: the capture's
                `gs1_dl_data` is what it finds there. When `raw_value` carries no Application
                Identifiers, the members of this object that are Application Identifiers (keys of
                2 to 4 digits with string values of at most 90 characters) are kept as the
                capture's `gs1_dl_data`; the other members are ignored, never a reason to refuse
                the capture.
                Like every free-form object, at most 256 members and items in all, nested at
                most 8 levels (`422` otherwise).
    """

    capture_type: CaptureTypeEnum
    raw_value: str
    session_id: str | Unset | UUID = UNSET
    session_short_id: str | Unset | UUID = UNSET
    session_public_id: str | Unset | UUID = UNSET
    metadata: MetadataUpdateType0 | None | Unset = UNSET
    gtin: str | Unset = ""
    gs1_dl_data: CaptureCreateRequestGs1DlDataType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.capture_create_request_gs_1_dl_data_type_0 import (
            CaptureCreateRequestGs1DlDataType0,
        )
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        capture_type = self.capture_type.value

        raw_value = self.raw_value

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

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataUpdateType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        gtin = self.gtin

        gs1_dl_data: dict[str, Any] | None | Unset
        if isinstance(self.gs1_dl_data, Unset):
            gs1_dl_data = UNSET
        elif isinstance(self.gs1_dl_data, CaptureCreateRequestGs1DlDataType0):
            gs1_dl_data = self.gs1_dl_data.to_dict()
        else:
            gs1_dl_data = self.gs1_dl_data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "capture_type": capture_type,
                "raw_value": raw_value,
            }
        )
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if session_short_id is not UNSET:
            field_dict["session_short_id"] = session_short_id
        if session_public_id is not UNSET:
            field_dict["session_public_id"] = session_public_id
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if gtin is not UNSET:
            field_dict["gtin"] = gtin
        if gs1_dl_data is not UNSET:
            field_dict["gs1_dl_data"] = gs1_dl_data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.capture_create_request_gs_1_dl_data_type_0 import (
            CaptureCreateRequestGs1DlDataType0,
        )
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        d = dict(src_dict)
        capture_type = CaptureTypeEnum(d.pop("capture_type"))

        raw_value = d.pop("raw_value")

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

        gtin = d.pop("gtin", UNSET)

        def _parse_gs1_dl_data(
            data: object,
        ) -> CaptureCreateRequestGs1DlDataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gs1_dl_data_type_0 = CaptureCreateRequestGs1DlDataType0.from_dict(data)

                return gs1_dl_data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CaptureCreateRequestGs1DlDataType0 | None | Unset, data)

        gs1_dl_data = _parse_gs1_dl_data(d.pop("gs1_dl_data", UNSET))

        capture_create_request = cls(
            capture_type=capture_type,
            raw_value=raw_value,
            session_id=session_id,
            session_short_id=session_short_id,
            session_public_id=session_public_id,
            metadata=metadata,
            gtin=gtin,
            gs1_dl_data=gs1_dl_data,
        )

        capture_create_request.additional_properties = d
        return capture_create_request

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
