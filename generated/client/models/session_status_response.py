from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.extraction_status_enum import ExtractionStatusEnum
from ..models.session_status_enum import SessionStatusEnum

if TYPE_CHECKING:
    from ..models.capture_status_summary import CaptureStatusSummary
    from ..models.extraction_failure import ExtractionFailure


T = TypeVar("T", bound="SessionStatusResponse")


@_attrs_define
class SessionStatusResponse:
    """A compact processing-state view of a session, for polling.

    Attributes:
        session_status (SessionStatusEnum): `ACTIVE`: accepting captures and photos. `COMPLETED`: ended or submitted.
            `EXPIRED`: reaped after sitting idle past its time-to-live. Only `ACTIVE` can change.
        extraction_status (ExtractionStatusEnum): Vision-extraction state of a session's photos: `pending` until the
            session is
            submitted, then `processing`, then `ready` once proposals can be reviewed, and
            finally `accepted` or `rejected` when the review is settled.
        extraction_failures (list[ExtractionFailure]): The photos vision extraction could not read, once it is no longer
            `processing`:
            one entry per photo and extractor that failed on it. The session's extraction
            still finishes (`ready`) with what the other photos and extractors proposed.
            Empty while extraction is `pending` or `processing`, and when every photo was read.
        captures (list[CaptureStatusSummary]): One entry per capture of the session, oldest first.
    """

    session_status: SessionStatusEnum
    extraction_status: ExtractionStatusEnum
    extraction_failures: list[ExtractionFailure]
    captures: list[CaptureStatusSummary]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_status = self.session_status.value

        extraction_status = self.extraction_status.value

        extraction_failures = []
        for extraction_failures_item_data in self.extraction_failures:
            extraction_failures_item = extraction_failures_item_data.to_dict()
            extraction_failures.append(extraction_failures_item)

        captures = []
        for captures_item_data in self.captures:
            captures_item = captures_item_data.to_dict()
            captures.append(captures_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_status": session_status,
                "extraction_status": extraction_status,
                "extraction_failures": extraction_failures,
                "captures": captures,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.capture_status_summary import CaptureStatusSummary
        from ..models.extraction_failure import ExtractionFailure

        d = dict(src_dict)
        session_status = SessionStatusEnum(d.pop("session_status"))

        extraction_status = ExtractionStatusEnum(d.pop("extraction_status"))

        extraction_failures = []
        _extraction_failures = d.pop("extraction_failures")
        for extraction_failures_item_data in _extraction_failures:
            extraction_failures_item = ExtractionFailure.from_dict(
                extraction_failures_item_data
            )

            extraction_failures.append(extraction_failures_item)

        captures = []
        _captures = d.pop("captures")
        for captures_item_data in _captures:
            captures_item = CaptureStatusSummary.from_dict(captures_item_data)

            captures.append(captures_item)

        session_status_response = cls(
            session_status=session_status,
            extraction_status=extraction_status,
            extraction_failures=extraction_failures,
            captures=captures,
        )

        session_status_response.additional_properties = d
        return session_status_response

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
