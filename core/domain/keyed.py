"""The ``Idempotency-Key`` claim of the request being handled, for the transaction that
creates its object (:mod:`scanserve.http.idempotency`).

The middleware keeps a keyed request's answer after the handler's own transaction has
committed; a server killed between the two would leave an object without its answer, and a
retry would create a second object. A handler that creates an object calls
:func:`keep_answer` inside the transaction that writes it: the answer it is about to give is
kept with the object, atomically, as *provisional* (a negative status). The middleware
replaces it with the answer's very bytes once sent; a retry after a crash replays the
provisional one once the first request's lease has lapsed. A request that outlived its
lease (its server stalled, say, on a database outage) and whose key a retry took over finds
its record gone here and its transaction is rolled back: one object per key, whichever
request gets to commit.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from scanserve.errors import IdempotencyInProgress
from scanserve.infra.encoding import dumps
from scanserve.storage import models

# The record id claimed for the request this context handles (set by the middleware; the
# handler's worker thread gets a copy of the context).
CLAIM: ContextVar[int | None] = ContextVar("scanserve_idempotency_claim", default=None)


def claimed() -> bool:
    """Whether the request being handled holds an ``Idempotency-Key``."""
    return CLAIM.get() is not None


def keep_answer(status: int, answer: Any) -> None:
    """Inside the transaction creating a keyed request's object: keep ``answer`` (the JSON
    body about to be sent with ``status``) with it. Without a key, nothing."""
    record_id = CLAIM.get()
    if record_id is None:
        return
    record = models.IdempotencyRecord
    kept = (
        record.update(status=-status, content_type="application/json", body=dumps(answer))
        .where(record.id == record_id, record.status == 0)
        .execute()
    )
    if not kept:  # a retry took the key over (this request outlived its lease): roll back
        raise IdempotencyInProgress(
            "A retry with this Idempotency-Key took it over while this request was delayed; "
            "repeat the request to get that retry's answer."
        )
