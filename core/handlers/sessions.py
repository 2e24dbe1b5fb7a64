"""Scanner Sessions operations."""

from __future__ import annotations

import math
from typing import Any

from anyio import to_thread

from .. import budgets, keyed, sessions, untrusted, views
from ..context import principal, read_large, reads_inline, services


def create_session(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    untrusted.check_free_forms(body, ["device_context"], services().settings)
    if not keyed.claimed():
        session = sessions.create(principal(), body)
        return views.session_view(sessions.get(principal(), session.short_id)), 201
    # With an Idempotency-Key the answer is kept with the session, in its transaction
    # (scanserve.keyed): a retry after a crash replays it rather than making another.
    with services().db.atomic():
        session = sessions.create(principal(), body)
        answer = views.session_view(sessions.get(principal(), session.short_id))
        keyed.keep_answer(201, answer)
    return answer, 201


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


async def get_session(id_: str) -> dict[str, Any]:
    # On SQLite a small session is read on the event loop, a large one in a worker thread,
    # one at a time (see sessions.INLINE_ROWS, context.read_large); elsewhere the whole read
    # is one thread hop.
    if not reads_inline():
        detail = await to_thread.run_sync(sessions.detail, principal(), id_)
        return views.session_detail_view(detail)
    session = sessions.find(principal(), id_)
    if session["rows"] <= sessions.INLINE_ROWS:
        return views.session_detail_view(sessions.detail_of(session, id_))
    return views.session_detail_view(await read_large(sessions.detail_of, session, id_))


async def get_session_status(id_: str) -> dict[str, Any]:
    if not reads_inline():
        session, captures = await to_thread.run_sync(sessions.status_summary, principal(), id_)
        return views.session_status_view(session, captures)
    session = sessions.find(principal(), id_, for_status=True)
    if session["rows"] <= sessions.INLINE_ROWS:
        return views.session_status_view(session, sessions.status_of(session))
    return views.session_status_view(session, await read_large(sessions.status_of, session))


def submit_session(id_: str) -> dict[str, Any]:
    # vision extraction runs for a submitted session: the organisation's budget of them
    # (scanserve.budgets)
    budgets.spend_for_session(services(), principal(), id_, "extractions")
    session = sessions.submit(principal(), id_)
    if session.extraction_status == "processing":
        # Queued again on a repeated submit too: harmless, the task claims it only once.
        services().queue.enqueue_extraction(session.short_id)
    return views.session_view(session)


def end_session(id_: str) -> dict[str, Any]:
    return views.session_view(sessions.end(principal(), id_))
