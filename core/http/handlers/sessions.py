"""Scanner Sessions operations."""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from scanserve.domain import budgets, keyed, sessions
from scanserve.generated import shapes
from scanserve.http import presenters, untrusted
from scanserve.http.context import principal, read_large, reads_inline, services


def create_session(body: dict[str, Any]) -> tuple[shapes.SessionResponse, int]:
    untrusted.check_free_forms(body, ["device_context"], services().settings)
    if not keyed.claimed():
        session = sessions.create(principal(), body)
        return presenters.session_view(sessions.get(principal(), session.short_id)), 201
    # With an Idempotency-Key the answer is kept with the session, in its transaction
    # (scanserve.domain.keyed): a retry after a crash replays it rather than making another.
    with services().db.atomic():
        session = sessions.create(principal(), body)
        answer = presenters.session_view(sessions.get(principal(), session.short_id))
        keyed.keep_answer(201, answer)
    return answer, 201


def list_sessions(
    page: int = 1, page_size: int = 25, status: str | None = None
) -> shapes.SessionPage:
    rows, total = sessions.page(principal(), page, page_size, status)
    return presenters.session_page_view(rows, page, page_size, total)


async def get_session(id_: str) -> shapes.SessionDetail:
    # On SQLite a small session is read on the event loop, a large one in a worker thread,
    # one at a time (see sessions.INLINE_ROWS, context.read_large); elsewhere the whole read
    # is one thread hop.
    if not reads_inline():
        detail = await to_thread.run_sync(sessions.detail, principal(), id_)
        return presenters.session_detail_view(detail)
    session = sessions.find(principal(), id_)
    if session["rows"] <= sessions.INLINE_ROWS:
        return presenters.session_detail_view(sessions.detail_of(session, id_))
    return presenters.session_detail_view(await read_large(sessions.detail_of, session, id_))


async def get_session_status(id_: str) -> shapes.SessionStatusResponse:
    if not reads_inline():
        session, captures = await to_thread.run_sync(sessions.status_summary, principal(), id_)
        return presenters.session_status_view(session, captures)
    session = sessions.find(principal(), id_, for_status=True)
    if session["rows"] <= sessions.INLINE_ROWS:
        return presenters.session_status_view(session, sessions.status_of(session))
    return presenters.session_status_view(session, await read_large(sessions.status_of, session))


def submit_session(id_: str) -> shapes.SessionResponse:
    # vision extraction runs for a submitted session: the organisation's budget of them
    # (scanserve.domain.budgets)
    budgets.spend_for_session(services(), principal(), id_, "extractions")
    session = sessions.submit(principal(), id_)
    if session.extraction_status == "processing":
        # Queued again on a repeated submit too: harmless, the task claims it only once.
        services().queue.enqueue_extraction(session.short_id)
    return presenters.session_view(session)


def end_session(id_: str) -> shapes.SessionResponse:
    return presenters.session_view(sessions.end(principal(), id_))
