"""Scanner Plugins operations."""

from __future__ import annotations

from typing import Any

from ..context import services
from ..plugins.manager import report


def list_plugins() -> dict[str, Any]:
    return report(services().plugins)
