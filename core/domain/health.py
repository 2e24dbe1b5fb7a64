"""Health: what this process depends on, looked at.

Liveness looks at nothing outside the process (the gateway lets it through even when the
credential or limits store is down). Readiness looks at each dependency and names its state:
the database (a query), the queue's storage (its SQLite file or Redis), the object store, the
rate-limit store, and the free space of the data directory's filesystem against
``min_free_disk_mb``. It answers ``503`` while a required one is not ``ok``; the limits store
is not required (requests are still served without it, see ``scanserve.infra.ratelimit``), so its
failure shows in ``checks`` without making the server unready.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scanserve.storage.database import free_disk_bytes

if TYPE_CHECKING:
    from scanserve.domain.services import Services

logger = logging.getLogger("scanserve.health")

# Looked at, reported, but not a reason to take the server out of rotation: without its
# limits store a server counts in the process; without its queue it still accepts writes (the
# committed rows are the messages, and the relay hands them over once the queue is back), and
# every server shares the one queue, so taking them all out of rotation would help nobody.
OPTIONAL = frozenset({"limits", "queue"})
_PROBE_KEY = "health/readiness-probe"  # an object key that is never written


def _state(probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"unavailable: {text or type(exc).__name__}"
    return "ok"


def _disk(svc: Any) -> str:
    settings = svc.settings
    try:
        free_mb = free_disk_bytes(settings.data_dir) // (1024 * 1024)
    except OSError as exc:
        return f"unavailable: {exc}"
    if free_mb < settings.min_free_disk_mb:
        return f"low: {free_mb} MiB free, below the {settings.min_free_disk_mb} MiB minimum"
    return "ok"


def _degraded(state: str) -> str:
    return state.replace("unavailable: ", "degraded: ", 1)


def _limits(svc: Any) -> str:
    state = svc.limiter.state()
    if state["status"] == "up":
        return "ok"
    return f"degraded: {state.get('error') or 'store unreachable'}"


def _checks(svc: Services) -> dict[str, str]:
    return {
        "database": _state(lambda: svc.db.execute_sql("SELECT 1").fetchone()),
        # the queue's storage: its SQLite file or Redis
        "queue": _degraded(_state(svc.queue.pending_count)),
        "objects": _state(lambda: svc.objects.size(_PROBE_KEY)),
        # while its store is down, rate limits are counted in the process
        # (scanserve.infra.ratelimit)
        "limits": _limits(svc),
        "disk": _disk(svc),
    }


def dependencies_up(svc: Services) -> dict[str, bool]:
    """For the metrics: each dependency readiness looks at, and whether it is ``ok``."""
    return {name: state == "ok" for name, state in _checks(svc).items()}


def readiness(svc: Services) -> tuple[dict[str, str], list[str]]:
    """Each dependency's state (``ok`` or what is wrong) and the required ones not ``ok``;
    a failed or degraded dependency is logged."""
    checks = _checks(svc)
    failed = [name for name, state in checks.items() if state != "ok" and name not in OPTIONAL]
    degraded = [name for name in OPTIONAL if checks[name] != "ok"]
    if failed or degraded:
        logger.warning(
            "%s: %s",
            "not ready" if failed else "degraded",
            "; ".join(f"{n} {checks[n]}" for n in failed + degraded),
        )
    return checks, failed
