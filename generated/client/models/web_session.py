from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebSession")


@_attrs_define
class WebSession:
    """A browser session just signed in (the cookie itself is in `Set-Cookie`).

    Attributes:
        csrf_token (str): Send it as `X-CSRF-Token` with every request with an unsafe method made with the
            cookie. Shown only here.
        expires (datetime.datetime): When the session ends at the latest.
        organization_short_ids (list[str]): The organisations the session may act for.
        scopes (list[str] | None): The scopes the session holds; `null` for every scope (API keys).
    """

    csrf_token: str
    expires: datetime.datetime
    organization_short_ids: list[str]
    scopes: list[str] | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        csrf_token = self.csrf_token

        expires = self.expires.isoformat()

        organization_short_ids = self.organization_short_ids

        scopes: list[str] | None
        if isinstance(self.scopes, list):
            scopes = self.scopes

        else:
            scopes = self.scopes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "csrf_token": csrf_token,
                "expires": expires,
                "organization_short_ids": organization_short_ids,
                "scopes": scopes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        csrf_token = d.pop("csrf_token")

        expires = datetime.datetime.fromisoformat(d.pop("expires"))

        organization_short_ids = cast(list[str], d.pop("organization_short_ids"))

        def _parse_scopes(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                scopes_type_0 = cast(list[str], data)

                return scopes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        scopes = _parse_scopes(d.pop("scopes"))

        web_session = cls(
            csrf_token=csrf_token,
            expires=expires,
            organization_short_ids=organization_short_ids,
            scopes=scopes,
        )

        web_session.additional_properties = d
        return web_session

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
