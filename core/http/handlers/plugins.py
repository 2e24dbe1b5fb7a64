"""Scanner Plugins operations."""

from __future__ import annotations

from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import services


def list_plugins() -> shapes.PluginList:
    return presenters.plugin_list_view(services().plugins)
