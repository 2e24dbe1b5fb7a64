"""Health operations: liveness (no I/O) and readiness (the database and the queue answer)."""

from __future__ import annotations

import logging
from typing import Any

from ..context import services
from ..errors import ServiceUnavailable

logger = logging.getLogger("scanserve.health")


def get_liveness() -> dict[str, Any]:
    return {"status": "ok", "checks": {}}


def get_readiness() -> dict[str, Any]:
    svc = services()
    checks: dict[str, str] = {}
    try:
        svc.db.execute_sql("SELECT 1").fetchone()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {exc}"
    try:
        svc.queue.pending_count()  # reads the queue's storage: SQLite file or Redis
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"unavailable: {exc}"
    failed = [name for name, state in checks.items() if state != "ok"]
    # Not required: while its store is down, rate limits are counted in the process.
    limits = svc.limiter.state()
    checks["limits"] = "ok" if limits["status"] == "up" else f"degraded: {limits.get('error')}"
    if failed:
        logger.warning("not ready: %s", "; ".join(f"{n} {checks[n]}" for n in failed))
        raise ServiceUnavailable(checks, f"Not ready: {', '.join(failed)}.")
    return {"status": "ok", "checks": checks}
