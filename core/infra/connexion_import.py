"""Connexion imported without ``starlette.testclient``: importing this module imports it.

Connexion's ``apps.abstract`` imports Starlette's test client at import time, for
``app.test_client()`` alone; importing that warns, once per process, that httpx is deprecated
there (a line no log format holds, in every process of ``serve --workers``). Here Connexion
is imported with a stand-in for the test client, which imports the real one when a test calls
``test_client()``; the real module is then imported as usual. Every module that imports
Connexion imports this first (``scanserve.http`` does it for its layer, ``scanserve.app`` and
``scanserve.infra.encoding`` themselves).
"""

from __future__ import annotations

import re
import sys
import types
import warnings
from typing import Any

_HTTPX_WARNING = "Using `httpx` with `starlette.testclient`"


class _TestClientOnUse:
    """Stands for ``starlette.testclient.TestClient`` in Connexion's ``apps.abstract``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            # as scanserve.testing does for the app's imports: a test (a plugin author's
            # `pytest -W error`) cannot act on which HTTP client Starlette's prefers
            warnings.filterwarnings("ignore", message=re.escape(_HTTPX_WARNING))
            from starlette.testclient import TestClient  # noqa: PLC0415 - tests only

        return TestClient(*args, **kwargs)


def _import_connexion_without_test_client() -> None:
    if "connexion" in sys.modules or "starlette.testclient" in sys.modules:
        return
    placeholder = types.ModuleType("starlette.testclient")
    placeholder.TestClient = _TestClientOnUse  # type: ignore[attr-defined]
    sys.modules["starlette.testclient"] = placeholder
    try:
        import connexion  # noqa: F401, PLC0415 - imported here, with the placeholder
    finally:
        if sys.modules.get("starlette.testclient") is placeholder:
            del sys.modules["starlette.testclient"]


_import_connexion_without_test_client()
