"""scanserve: a contract-first server for the Scanner API.

For plugin authors this module is the short import: ``from scanserve import hookimpl`` and
the types a plugin builds or receives (``from scanserve import ProductRecord, Thresholds``).
Those types are listed once, in :data:`scanserve.plugins.DOCUMENTED_TYPES`, from which
:mod:`scanserve.plugins.docs` renders their reference in ``docs/hooks.md``; they are imported
here on first use, so ``import scanserve`` stays cheap.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from scanserve.plugins import DOCUMENTED_TYPES, documented_type
from scanserve.plugins.hookspecs import hookimpl

try:
    __version__ = version("scanserve")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

if TYPE_CHECKING:  # the same names as DOCUMENTED_TYPES, for type checkers (a test compares)
    from scanserve.plugins.providers import EnrichmentProvider as EnrichmentProvider
    from scanserve.plugins.providers import ExtractionInput as ExtractionInput
    from scanserve.plugins.providers import Extractor as Extractor
    from scanserve.plugins.providers import Hop as Hop
    from scanserve.plugins.providers import LookupProvider as LookupProvider
    from scanserve.plugins.providers import OrgRule as OrgRule
    from scanserve.plugins.providers import PhotoInput as PhotoInput
    from scanserve.plugins.providers import ProductRecord as ProductRecord
    from scanserve.plugins.providers import ProposalDraft as ProposalDraft
    from scanserve.plugins.providers import ProviderError as ProviderError
    from scanserve.plugins.providers import ProviderUnavailable as ProviderUnavailable
    from scanserve.plugins.providers import QrResolution as QrResolution
    from scanserve.plugins.providers import QrResolver as QrResolver
    from scanserve.plugins.providers import Thresholds as Thresholds


def __getattr__(name: str) -> Any:
    # PEP 562: the documented plugin types, imported when first asked for.
    return documented_type(name)


# Built from the one list of documented types.
__all__ = ["__version__", "hookimpl", *(p.rpartition(".")[2] for p in DOCUMENTED_TYPES)]  # noqa: PLE0604
