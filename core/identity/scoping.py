"""Organisation scoping: a caller sees only its organisations' objects. Another
organisation's id answers exactly like an id that does not exist."""

from __future__ import annotations

from typing import Any, TypeVar

import peewee

from scanserve.errors import NotFound
from scanserve.identity.auth import Principal

M = TypeVar("M", bound=peewee.Model)


def visible(query: Any, model: type[peewee.Model], principal: Principal) -> Any:
    return query.where(model.organization.in_(list(principal.org_ids)))  # type: ignore[attr-defined]


def get_owned(model: type[M], short_id: str, principal: Principal, what: str) -> M:
    row = visible(model.select(), model, principal).where(model.short_id == short_id).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"No {what} with id {short_id}.")
    return row  # type: ignore[no-any-return]
