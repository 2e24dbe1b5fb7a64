"""Scanner Sessions operations."""

from __future__ import annotations

import math
from typing import Any

from .. import sessions, untrusted, views
from ..context import principal, services


def create_session(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    untrusted.check_free_forms(body, ["device_context"], services().settings)
    session = sessions.create(principal(), body)
    return views.session_view(sessions.get(principal(), session.short_id)), 201


def list_sessions(page: int = 1, page_size: int = 25, status: str | None = None) -> dict[str, Any]:
    rows, total = sessions.page(principal(), page, page_size, status)
    total_pages = math.ceil(total / page_size)
    return {
        "data": [views.session_view(row) for row in rows],
        "pagination": {
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "total_pages": total_pages,
            "has_next": page < total_pages,
            "has_previous": page > 1,
        },
    }


def get_session(id_: str) -> dict[str, Any]:
    return views.session_detail_view(sessions.detail(principal(), id_))


def get_session_status(id_: str) -> dict[str, Any]:
    session, captures = sessions.status_summary(principal(), id_)
    return views.session_status_view(session, captures)


def submit_session(id_: str) -> dict[str, Any]:
    session = sessions.submit(principal(), id_)
    if session.extraction_status == "processing":
        # Queued again on a repeated submit too: harmless, the task claims it only once.
        services().queue.enqueue_extraction(session.short_id)
    return views.session_view(session)


def end_session(id_: str) -> dict[str, Any]:
    return views.session_view(sessions.end(principal(), id_))
