"""Health operations: liveness and readiness (:mod:`scanserve.domain.health` looks at each
dependency)."""

from __future__ import annotations

from scanserve.domain import health
from scanserve.errors import ServiceUnavailable
from scanserve.generated import shapes
from scanserve.http.context import services


def get_liveness() -> shapes.HealthStatus:
    return {"status": "ok", "checks": {}}


def get_readiness() -> shapes.HealthStatus:
    checks, failed = health.readiness(services())
    if failed:
        raise ServiceUnavailable(checks, f"Not ready: {', '.join(failed)}.")
    return {"status": "ok", "checks": checks}
