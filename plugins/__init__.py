"""scanserve plugins: the hook specifications, the plugin manager and the built-in providers.

Plugin authors import the hook marker and the types below from ``scanserve`` itself
(``from scanserve import hookimpl, ProductRecord``) and nothing else.
"""

from __future__ import annotations

import importlib

#: The types a plugin builds or receives, as ``module.Name``, in the order ``docs/hooks.md``
#: documents them. One line here makes a type public (``from scanserve import Name``) and
#: documented; ``tests/contract/test_hook_docs.py`` fails when one of its members has no
#: description.
DOCUMENTED_TYPES: tuple[str, ...] = (
    "scanserve.plugins.providers.ProductRecord",
    "scanserve.plugins.providers.Thresholds",
    "scanserve.plugins.providers.OrgRule",
    "scanserve.plugins.providers.QrResolution",
    "scanserve.plugins.providers.Hop",
    "scanserve.plugins.providers.LookupProvider",
    "scanserve.plugins.providers.EnrichmentProvider",
    "scanserve.plugins.providers.QrResolver",
    "scanserve.plugins.providers.ProviderError",
    "scanserve.plugins.providers.ProviderUnavailable",
    "scanserve.plugins.providers.Extractor",
    "scanserve.plugins.providers.ExtractionInput",
    "scanserve.plugins.providers.PhotoInput",
    "scanserve.plugins.providers.ProposalDraft",
)


def documented_type(name: str) -> type:
    """The documented type called ``name``, imported now; AttributeError for any other."""
    for path in DOCUMENTED_TYPES:
        module, _, attr = path.rpartition(".")
        if attr == name:
            found: type = getattr(importlib.import_module(module), attr)
            return found
    raise AttributeError(f"module 'scanserve' has no attribute {name!r}")
