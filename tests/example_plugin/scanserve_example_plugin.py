"""An example scanserve plugin, loaded through the ``scanserve`` entry-point group."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from scanserve import LookupProvider, ProductRecord, hookimpl

# A valid GTIN-14 (check digit 2): UPC-A 012345600012 padded to 14 digits.
EXAMPLE_GTIN = "00012345600012"
EXAMPLE_NAME = "Example Plugin Widget"
EVENTS_FILE_VARIABLE = "SCANSERVE_EXAMPLE_EVENTS_FILE"


class ExampleLookupProvider:
    """Knows one product. Local (``external = False``): it sends no GTIN anywhere."""

    name = "example-lookup"
    external = False

    def lookup(self, gtin: str) -> ProductRecord | None:
        if gtin != EXAMPLE_GTIN:
            return None
        return ProductRecord(
            gtin=gtin,
            name=EXAMPLE_NAME,
            brand="Example Co.",
            description="The one product the example plugin knows.",
            source="example-plugin",
        )


@hookimpl
def register_lookup_providers(register: Callable[[LookupProvider], None], settings: Any) -> None:
    register(ExampleLookupProvider())


@hookimpl
def capture_finished(capture: dict[str, Any]) -> None:
    # Read at call time, so a test (or an operator) can point it somewhere after start-up.
    path = os.environ.get(EVENTS_FILE_VARIABLE)
    if not path:
        return
    line = json.dumps({"id": capture["id"], "status": capture["status"]})
    with open(path, "a", encoding="utf-8") as events:
        events.write(line + "\n")
