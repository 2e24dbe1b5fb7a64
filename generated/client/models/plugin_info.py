from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PluginInfo")


@_attrs_define
class PluginInfo:
    """One loaded plugin.

    Attributes:
        name (str): The plugin's name (an installed plugin's entry-point name).
        version (str): The version of the package it comes from ("" when unknown).
        builtin (bool): True for the providers that ship with the server.
        hooks (list[str]): The hooks it implements, sorted by name.
    """

    name: str
    version: str
    builtin: bool
    hooks: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        version = self.version

        builtin = self.builtin

        hooks = self.hooks

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "version": version,
                "builtin": builtin,
                "hooks": hooks,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        version = d.pop("version")

        builtin = d.pop("builtin")

        hooks = cast(list[str], d.pop("hooks"))

        plugin_info = cls(
            name=name,
            version=version,
            builtin=builtin,
            hooks=hooks,
        )

        plugin_info.additional_properties = d
        return plugin_info

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
