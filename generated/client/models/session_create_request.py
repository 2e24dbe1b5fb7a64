from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capture_mode_enum import CaptureModeEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metadata_update_type_0 import MetadataUpdateType0
    from ..models.session_create_request_device_context import (
        SessionCreateRequestDeviceContext,
    )


T = TypeVar("T", bound="SessionCreateRequest")


@_attrs_define
class SessionCreateRequest:
    """Options for a new session. Every field is optional; `{}` takes all defaults.

    Example:
        {'capture_mode': 'barcode_scan', 'user_agent': 'ScannerApp/4.2.0 (Android 15; Pixel 9)'}

    Attributes:
        metadata (MetadataUpdateType0 | None | Unset): Changes to an object's metadata, merged into what is stored: `{}`
            or `null` removes
            every entry; a key sent with the empty string `""` is deleted; a key sent with any
            other value is set; keys not sent are kept. Omitting the field changes nothing. The
            result must stay within 50 entries, keys of at most 40 characters and values of at
            most 500 characters (`422` otherwise).
        organization_short_id (str | Unset): The organisation to create the session in. Required when authenticating
            with a
            bearer token or the session cookie: then it must be a shortuuid (or its UUID form,
            `422` otherwise) of an organisation the user is a member of (`404` otherwise).
            Ignored, and not checked at all, with an API key, whose organisation is used.
             Default: ''.
        user_agent (str | Unset): The scanning client's own description of itself (app, version, OS), stored as given.
            Default: ''.
        device_context (SessionCreateRequestDeviceContext | Unset): Free-form facts about the capturing device
            (platform, camera, screen, locale,
            ...), stored as given for diagnostics. At most 256 object members and array
            items in all, nested at most 8 levels below `device_context` (`422` otherwise).
        capture_mode (CaptureModeEnum | Unset): What the client intends to do in the session: scan barcodes, photograph
            products,
            or both. Informational; it does not restrict which operations are allowed.
    """

    metadata: MetadataUpdateType0 | None | Unset = UNSET
    organization_short_id: str | Unset = ""
    user_agent: str | Unset = ""
    device_context: SessionCreateRequestDeviceContext | Unset = UNSET
    capture_mode: CaptureModeEnum | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_update_type_0 import MetadataUpdateType0

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, MetadataUpdateType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        organization_short_id = self.organization_short_id

        user_agent = self.user_agent

        device_context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.device_context, Unset):
            device_context = self.device_context.to_dict()

        capture_mode: str | Unset = UNSET
        if not isinstance(self.capture_mode, Unset):
            capture_mode = self.capture_mode.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if organization_short_id is not UNSET:
            field_dict["organization_short_id"] = organization_short_id
        if user_agent is not UNSET:
            field_dict["user_agent"] = user_agent
        if device_context is not UNSET:
            field_dict["device_context"] = device_context
        if capture_mode is not UNSET:
            field_dict["capture_mode"] = capture_mode

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metadata_update_type_0 import MetadataUpdateType0
        from ..models.session_create_request_device_context import (
            SessionCreateRequestDeviceContext,
        )

        d = dict(src_dict)

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

        organization_short_id = d.pop("organization_short_id", UNSET)

        user_agent = d.pop("user_agent", UNSET)

        _device_context = d.pop("device_context", UNSET)
        device_context: SessionCreateRequestDeviceContext | Unset
        if isinstance(_device_context, Unset):
            device_context = UNSET
        else:
            device_context = SessionCreateRequestDeviceContext.from_dict(
                _device_context
            )

        _capture_mode = d.pop("capture_mode", UNSET)
        capture_mode: CaptureModeEnum | Unset
        if isinstance(_capture_mode, Unset):
            capture_mode = UNSET
        else:
            capture_mode = CaptureModeEnum(_capture_mode)

        session_create_request = cls(
            metadata=metadata,
            organization_short_id=organization_short_id,
            user_agent=user_agent,
            device_context=device_context,
            capture_mode=capture_mode,
        )

        session_create_request.additional_properties = d
        return session_create_request

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
