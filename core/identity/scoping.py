"""Organisation scoping: a caller sees only its organisations' objects. Another
organisation's id answers exactly like an id that does not exist.

A publishable (``cpk``) key sees less: within its organisation, only the sessions it created
itself and what belongs to them; any other session answers like one that does not exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

import peewee

from scanserve.errors import NotFound
from scanserve.identity.auth import Principal
from scanserve.storage import models

M = TypeVar("M", bound=peewee.Model)


def visible(query: Any, model: type[peewee.Model], principal: Principal) -> Any:
    query = query.where(model.organization.in_(list(principal.org_ids)))  # type: ignore[attr-defined]
    if principal.publishable_key_id is None:
        return query
    key = principal.publishable_key_id
    if model is models.ScanSession:
        return query.where(models.ScanSession.created_by_key == key)
    session = getattr(model, "session", None)
    if isinstance(session, peewee.ForeignKeyField) and session.rel_model is models.ScanSession:
        own = models.ScanSession.select(models.ScanSession.id).where(
            models.ScanSession.created_by_key == key
        )
        return query.where(session.in_(own))
    # nothing else of the organisation is the publishable key's to see
    return query.where(peewee.SQL("1 = 0"))


def owns_session(principal: Principal, created_by_key: int | None) -> bool:
    """Whether a session of the caller's organisations, created by ``created_by_key``, is
    the caller's to see (for queries that select the creator rather than filter on it)."""
    return principal.publishable_key_id is None or created_by_key == principal.publishable_key_id


def get_owned(model: type[M], short_id: str, principal: Principal, what: str) -> M:
    row = visible(model.select(), model, principal).where(model.short_id == short_id).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"No {what} with id {short_id}.")
    return row  # type: ignore[no-any-return]
