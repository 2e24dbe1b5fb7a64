from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..models.presigned_upload_x_scanserve_algorithm import (
    PresignedUploadXScanserveAlgorithm,
)
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="PresignedUpload")


@_attrs_define
class PresignedUpload:
    """The multipart form of an upload to `receiveUpload`: the `upload_fields` of
    `getPresignedUploadUrl`, unchanged, then the file.

        Attributes:
            key (str): The object key the policy was signed for.
            content_type (str): The media type the policy allows.
            policy (str): The base64-encoded policy document.
            x_scanserve_signature (str): The policy's HMAC-SHA256 under the server's secret, in hexadecimal.
            file (File): The photo, last in the form.
            x_scanserve_algorithm (PresignedUploadXScanserveAlgorithm | Unset): How the policy is signed.
    """

    key: str
    content_type: str
    policy: str
    x_scanserve_signature: str
    file: File
    x_scanserve_algorithm: PresignedUploadXScanserveAlgorithm | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        content_type = self.content_type

        policy = self.policy

        x_scanserve_signature = self.x_scanserve_signature

        file = self.file.to_tuple()

        x_scanserve_algorithm: str | Unset = UNSET
        if not isinstance(self.x_scanserve_algorithm, Unset):
            x_scanserve_algorithm = self.x_scanserve_algorithm.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "key": key,
                "Content-Type": content_type,
                "policy": policy,
                "x-scanserve-signature": x_scanserve_signature,
                "file": file,
            }
        )
        if x_scanserve_algorithm is not UNSET:
            field_dict["x-scanserve-algorithm"] = x_scanserve_algorithm

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("key", (None, str(self.key).encode(), "text/plain")))

        files.append(
            ("Content-Type", (None, str(self.content_type).encode(), "text/plain"))
        )

        files.append(("policy", (None, str(self.policy).encode(), "text/plain")))

        files.append(
            (
                "x-scanserve-signature",
                (None, str(self.x_scanserve_signature).encode(), "text/plain"),
            )
        )

        files.append(("file", self.file.to_tuple()))

        if not isinstance(self.x_scanserve_algorithm, Unset):
            files.append(
                (
                    "x-scanserve-algorithm",
                    (
                        None,
                        str(self.x_scanserve_algorithm.value).encode(),
                        "text/plain",
                    ),
                )
            )

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        key = d.pop("key")

        content_type = d.pop("Content-Type")

        policy = d.pop("policy")

        x_scanserve_signature = d.pop("x-scanserve-signature")

        file = File(payload=BytesIO(d.pop("file")))

        _x_scanserve_algorithm = d.pop("x-scanserve-algorithm", UNSET)
        x_scanserve_algorithm: PresignedUploadXScanserveAlgorithm | Unset
        if isinstance(_x_scanserve_algorithm, Unset):
            x_scanserve_algorithm = UNSET
        else:
            x_scanserve_algorithm = PresignedUploadXScanserveAlgorithm(
                _x_scanserve_algorithm
            )

        presigned_upload = cls(
            key=key,
            content_type=content_type,
            policy=policy,
            x_scanserve_signature=x_scanserve_signature,
            file=file,
            x_scanserve_algorithm=x_scanserve_algorithm,
        )

        presigned_upload.additional_properties = d
        return presigned_upload

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
