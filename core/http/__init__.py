"""The HTTP edge: everything that knows a request is HTTP.

The gateway middleware, the one route table, the fast path, Connexion serving the OpenAPI 3.1
contract, idempotency, the handlers (one module per spec tag), the presenters that build
response bodies from the generated shapes, and the mapping of every failure to a problem
document. May import the domain and everything below it; nothing below imports it
(``[tool.importlinter]`` in pyproject.toml, docs/architecture.md).
"""

from __future__ import annotations

# first, before any module of this layer imports Connexion (see there)
from scanserve.infra import connexion_import  # noqa: F401
