from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.presigned_upload_response_upload_fields import (
        PresignedUploadResponseUploadFields,
    )


T = TypeVar("T", bound="PresignedUploadResponse")


@_attrs_define
class PresignedUploadResponse:
    """A presigned POST target for uploading one photo to object storage.

    Attributes:
        upload_url (str): Where to POST the `multipart/form-data` upload.
        upload_fields (PresignedUploadResponseUploadFields): Form fields to send, unchanged, before the `file` part.
        s3_key (str): The storage key the upload lands at; pass it to `registerPhoto`.
        expires_in (int): Seconds from now until the presigned upload stops being accepted.
    """

    upload_url: str
    upload_fields: PresignedUploadResponseUploadFields
    s3_key: str
    expires_in: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        upload_url = self.upload_url

        upload_fields = self.upload_fields.to_dict()

        s3_key = self.s3_key

        expires_in = self.expires_in

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "upload_url": upload_url,
                "upload_fields": upload_fields,
                "s3_key": s3_key,
                "expires_in": expires_in,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.presigned_upload_response_upload_fields import (
            PresignedUploadResponseUploadFields,
        )

        d = dict(src_dict)
        upload_url = d.pop("upload_url")

        upload_fields = PresignedUploadResponseUploadFields.from_dict(
            d.pop("upload_fields")
        )

        s3_key = d.pop("s3_key")

        expires_in = d.pop("expires_in")

        presigned_upload_response = cls(
            upload_url=upload_url,
            upload_fields=upload_fields,
            s3_key=s3_key,
            expires_in=expires_in,
        )

        presigned_upload_response.additional_properties = d
        return presigned_upload_response

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
