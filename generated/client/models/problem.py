from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.problem_error_code import ProblemErrorCode
from ..models.problem_key_scope import ProblemKeyScope
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.problem_checks import ProblemChecks
    from ..models.problem_field_error import ProblemFieldError


T = TypeVar("T", bound="Problem")


@_attrs_define
class Problem:
    """An RFC 9457 problem details document. Match on `error_code`, which is stable;
    `title` and `detail` are for people. Further members may be added.

        Attributes:
            type_ (str): The problem type: the error reference's section for `error_code`,
                `<base>#<error_code>`. The base is `docs/errors.md`, the page in the server's
                source repository, unless the operator publishes the reference elsewhere (then
                it is that absolute URL).
            title (str): A short summary of the problem type (the status code's HTTP reason phrase).
            status (int): The HTTP status code of the response.
            detail (str): An explanation of this occurrence.
            error_code (ProblemErrorCode): Stable machine-readable error code.
            retryable (bool): Whether repeating the same request later may succeed.
            timestamp (datetime.datetime): When the error occurred.
            retry_after_seconds (int | Unset): On `429` only, seconds to wait before retrying (same as `Retry-After`).
            errors (list[ProblemFieldError] | Unset): On `422` only, one entry per offending field or parameter.
            key_scope (ProblemKeyScope | Unset): On `403` only, when the credential is a publishable key
                (`PublishableKeyAuth`)
                and the request is outside what such a key may do (an operation it does not
                list, or a browser origin the key is not allowed from).
            checks (ProblemChecks | Unset): On `503` only: from the readiness probe, each dependency and its state; from
                any other operation, the dependency that failed it.
    """

    type_: str
    title: str
    status: int
    detail: str
    error_code: ProblemErrorCode
    retryable: bool
    timestamp: datetime.datetime
    retry_after_seconds: int | Unset = UNSET
    errors: list[ProblemFieldError] | Unset = UNSET
    key_scope: ProblemKeyScope | Unset = UNSET
    checks: ProblemChecks | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        title = self.title

        status = self.status

        detail = self.detail

        error_code = self.error_code.value

        retryable = self.retryable

        timestamp = self.timestamp.isoformat()

        retry_after_seconds = self.retry_after_seconds

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        key_scope: str | Unset = UNSET
        if not isinstance(self.key_scope, Unset):
            key_scope = self.key_scope.value

        checks: dict[str, Any] | Unset = UNSET
        if not isinstance(self.checks, Unset):
            checks = self.checks.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "title": title,
                "status": status,
                "detail": detail,
                "error_code": error_code,
                "retryable": retryable,
                "timestamp": timestamp,
            }
        )
        if retry_after_seconds is not UNSET:
            field_dict["retry_after_seconds"] = retry_after_seconds
        if errors is not UNSET:
            field_dict["errors"] = errors
        if key_scope is not UNSET:
            field_dict["key_scope"] = key_scope
        if checks is not UNSET:
            field_dict["checks"] = checks

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.problem_checks import ProblemChecks
        from ..models.problem_field_error import ProblemFieldError

        d = dict(src_dict)
        type_ = d.pop("type")

        title = d.pop("title")

        status = d.pop("status")

        detail = d.pop("detail")

        error_code = ProblemErrorCode(d.pop("error_code"))

        retryable = d.pop("retryable")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        retry_after_seconds = d.pop("retry_after_seconds", UNSET)

        _errors = d.pop("errors", UNSET)
        errors: list[ProblemFieldError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = ProblemFieldError.from_dict(errors_item_data)

                errors.append(errors_item)

        _key_scope = d.pop("key_scope", UNSET)
        key_scope: ProblemKeyScope | Unset
        if isinstance(_key_scope, Unset):
            key_scope = UNSET
        else:
            key_scope = ProblemKeyScope(_key_scope)

        _checks = d.pop("checks", UNSET)
        checks: ProblemChecks | Unset
        if isinstance(_checks, Unset):
            checks = UNSET
        else:
            checks = ProblemChecks.from_dict(_checks)

        problem = cls(
            type_=type_,
            title=title,
            status=status,
            detail=detail,
            error_code=error_code,
            retryable=retryable,
            timestamp=timestamp,
            retry_after_seconds=retry_after_seconds,
            errors=errors,
            key_scope=key_scope,
            checks=checks,
        )

        problem.additional_properties = d
        return problem

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
