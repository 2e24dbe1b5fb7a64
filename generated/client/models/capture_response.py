from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capture_status_enum import CaptureStatusEnum
from ..models.capture_type_enum import CaptureTypeEnum

if TYPE_CHECKING:
    from ..models.gs_1_element_data import Gs1ElementData
    from ..models.metadata import Metadata
    from ..models.qr_analysis import QrAnalysis


T = TypeVar("T", bound="CaptureResponse")


@_attrs_define
class CaptureResponse:
    """A capture and the outcome of its processing so far.

    Attributes:
        id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        session_id (str): A 22-character shortuuid over the alphabet
            `23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,
            `O` or `l`).
        status (CaptureStatusEnum): Background processing state. `PENDING`: queued. `LOOKING_UP`: matching the GTIN to
            a product. `ENRICHING`: gathering product data. `RESOLVING`: following a QR URL.
            `COMPLETED`: done. `FAILED`: an unrecoverable error, see `error_message`.
            `NOT_FOUND`: the GTIN matches no product. `FAILED` and `NOT_FOUND` can be retried.
        capture_type (CaptureTypeEnum): `BARCODE`: decoded on the client. `IMAGE`: an uploaded image decoded and
            analysed on
            the server. `MANUAL`: typed by an operator.
        raw_value (str): The value as sent (empty for an image capture until the server has decoded the
            image).
        gtin (str): The normalised, check-digit-verified GTIN-14, or `""` when none was found.
        error_message (str): Why processing failed when `status` is `FAILED`; `""` otherwise.
        created (datetime.datetime): When the capture was recorded.
        metadata (Metadata): Free-form client annotations: a flat map of string keys (at most 40 characters) to
            string values (at most 500 characters), at most 50 entries. Always present in
            responses, `{}` when empty.
        gs1_dl_data (Gs1ElementData | None): The GS1 Application Identifiers found in the value (Digital Link URI or
            element
            string), or `null` when it carried none.
        product_short_id (None | str): The product the capture was matched to, or `null` while unmatched.
        product_name (None | str): The matched product's name, or `null` while unmatched.
        processed_at (datetime.datetime | None): When processing last finished (`COMPLETED`, `FAILED` or `NOT_FOUND`),
            or `null`.
        uploaded_image_key (None | str): Storage key of the uploaded image for captures created by image upload, else
            `null`.
        qr_analysis (None | QrAnalysis): The redirect analysis of an http(s) `raw_value`; `null` until it has been
            analysed, and always `null` when `raw_value` is not an http(s) URL.
    """

    id: str
    session_id: str
    status: CaptureStatusEnum
    capture_type: CaptureTypeEnum
    raw_value: str
    gtin: str
    error_message: str
    created: datetime.datetime
    metadata: Metadata
    gs1_dl_data: Gs1ElementData | None
    product_short_id: None | str
    product_name: None | str
    processed_at: datetime.datetime | None
    uploaded_image_key: None | str
    qr_analysis: None | QrAnalysis
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.gs_1_element_data import Gs1ElementData
        from ..models.qr_analysis import QrAnalysis

        id = self.id

        session_id = self.session_id

        status = self.status.value

        capture_type = self.capture_type.value

        raw_value = self.raw_value

        gtin = self.gtin

        error_message = self.error_message

        created = self.created.isoformat()

        metadata = self.metadata.to_dict()

        gs1_dl_data: dict[str, Any] | None
        if isinstance(self.gs1_dl_data, Gs1ElementData):
            gs1_dl_data = self.gs1_dl_data.to_dict()
        else:
            gs1_dl_data = self.gs1_dl_data

        product_short_id: None | str
        product_short_id = self.product_short_id

        product_name: None | str
        product_name = self.product_name

        processed_at: None | str
        if isinstance(self.processed_at, datetime.datetime):
            processed_at = self.processed_at.isoformat()
        else:
            processed_at = self.processed_at

        uploaded_image_key: None | str
        uploaded_image_key = self.uploaded_image_key

        qr_analysis: dict[str, Any] | None
        if isinstance(self.qr_analysis, QrAnalysis):
            qr_analysis = self.qr_analysis.to_dict()
        else:
            qr_analysis = self.qr_analysis

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "session_id": session_id,
                "status": status,
                "capture_type": capture_type,
                "raw_value": raw_value,
                "gtin": gtin,
                "error_message": error_message,
                "created": created,
                "metadata": metadata,
                "gs1_dl_data": gs1_dl_data,
                "product_short_id": product_short_id,
                "product_name": product_name,
                "processed_at": processed_at,
                "uploaded_image_key": uploaded_image_key,
                "qr_analysis": qr_analysis,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.gs_1_element_data import Gs1ElementData
        from ..models.metadata import Metadata
        from ..models.qr_analysis import QrAnalysis

        d = dict(src_dict)
        id = d.pop("id")

        session_id = d.pop("session_id")

        status = CaptureStatusEnum(d.pop("status"))

        capture_type = CaptureTypeEnum(d.pop("capture_type"))

        raw_value = d.pop("raw_value")

        gtin = d.pop("gtin")

        error_message = d.pop("error_message")

        created = datetime.datetime.fromisoformat(d.pop("created"))

        metadata = Metadata.from_dict(d.pop("metadata"))

        def _parse_gs1_dl_data(data: object) -> Gs1ElementData | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gs1_dl_data_type_0 = Gs1ElementData.from_dict(data)

                return gs1_dl_data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Gs1ElementData | None, data)

        gs1_dl_data = _parse_gs1_dl_data(d.pop("gs1_dl_data"))

        def _parse_product_short_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        product_short_id = _parse_product_short_id(d.pop("product_short_id"))

        def _parse_product_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        product_name = _parse_product_name(d.pop("product_name"))

        def _parse_processed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                processed_at_type_0 = datetime.datetime.fromisoformat(data)

                return processed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        processed_at = _parse_processed_at(d.pop("processed_at"))

        def _parse_uploaded_image_key(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        uploaded_image_key = _parse_uploaded_image_key(d.pop("uploaded_image_key"))

        def _parse_qr_analysis(data: object) -> None | QrAnalysis:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                qr_analysis_type_0 = QrAnalysis.from_dict(data)

                return qr_analysis_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | QrAnalysis, data)

        qr_analysis = _parse_qr_analysis(d.pop("qr_analysis"))

        capture_response = cls(
            id=id,
            session_id=session_id,
            status=status,
            capture_type=capture_type,
            raw_value=raw_value,
            gtin=gtin,
            error_message=error_message,
            created=created,
            metadata=metadata,
            gs1_dl_data=gs1_dl_data,
            product_short_id=product_short_id,
            product_name=product_name,
            processed_at=processed_at,
            uploaded_image_key=uploaded_image_key,
            qr_analysis=qr_analysis,
        )

        capture_response.additional_properties = d
        return capture_response

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
