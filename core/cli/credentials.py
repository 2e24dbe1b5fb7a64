"""``scanserve users``, ``members`` and ``tokens``: the people behind bearer tokens and
browser sessions, their organisations, and their personal access tokens."""

from __future__ import annotations

import re
from typing import Any

import click

from scanserve.cli.common import find_org, json_option, open_db, parse_expiry, print_table, when

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
DEFAULT_TOKEN_LIFETIME = "90d"  # noqa: S105 - a duration, not a secret


def _user(email: str) -> Any:
    from scanserve.storage import models

    user = models.User.get_or_none(models.User.email == email.strip().lower())
    if user is None:
        raise click.BadParameter(f"no user {email}; create one with 'scanserve users create'")
    return user


@click.group()
def users() -> None:
    """Users: the people behind personal access tokens and browser sessions."""


@users.command("create")
@click.argument("email")
def users_create(email: str) -> None:
    """Create a user; prints their id."""
    from scanserve.storage import models

    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise click.BadParameter("give an e-mail address such as ana@example.com")
    open_db()
    if models.User.get_or_none(models.User.email == email) is not None:
        raise click.ClickException(f"a user {email} exists already")
    click.echo(models.User.create(email=email).short_id)


@users.command("list")
@json_option
def users_list(as_json: bool) -> None:
    """Every user with the organisations (ids) they are a member of."""
    from scanserve.storage import models

    open_db()
    rows = [
        {
            "user_id": user.short_id,
            "email": user.email,
            "organisations": [
                o.short_id
                for o in models.Organization.select(models.Organization.short_id)
                .join(models.Membership)
                .where(models.Membership.user == user)
                .order_by(models.Organization.short_id)
            ],
        }
        for user in models.User.select().order_by(models.User.created)
    ]
    print_table(("user_id", "email", "organisations"), rows, as_json=as_json)


@click.group()
def members() -> None:
    """Memberships: which organisations a user may act for."""


@members.command("add")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("email")
def members_add(org_ref: str, email: str) -> None:
    """Make a user a member of an organisation."""
    from scanserve.storage import models

    open_db()
    org, user = find_org(org_ref), _user(email)
    _, created = models.Membership.get_or_create(user=user, organization=org)
    click.echo(f"{user.email} is {'now' if created else 'already'} a member of {org.name}")


@members.command("list")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@json_option
def members_list(org_ref: str, as_json: bool) -> None:
    """The members of an organisation."""
    from scanserve.storage import models

    open_db()
    org = find_org(org_ref)
    rows = [
        {"user_id": user.short_id, "email": user.email}
        for user in models.User.select()
        .join(models.Membership)
        .where(models.Membership.organization == org)
        .order_by(models.User.email)
    ]
    print_table(("user_id", "email"), rows, as_json=as_json)


@members.command("remove")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("email")
def members_remove(org_ref: str, email: str) -> None:
    """Remove a user from an organisation: their tokens and browser sessions stop acting for
    it at once (tokens limited to it stop working)."""
    from scanserve.storage import models

    open_db()
    org, user = find_org(org_ref), _user(email)
    removed = (
        models.Membership.delete()
        .where(models.Membership.user == user, models.Membership.organization == org)
        .execute()
    )
    if not removed:
        raise click.ClickException(f"{user.email} is not a member of {org.name}")
    click.echo(f"removed {user.email} from {org.name}")


@click.group()
def tokens() -> None:
    """Personal access tokens (Authorization: Bearer cst_...)."""


@tokens.command("create")
@click.option("--user", "email", required=True, help="The user's e-mail address.")
@click.option(
    "--org",
    "org_ref",
    default=None,
    help="Limit the token to this organisation (id or name); default: all of the user's.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["scanner:read", "scanner:write"]),
    help="Repeat for several; default: scanner:read and scanner:write.",
)
@click.option(
    "--expires",
    default=DEFAULT_TOKEN_LIFETIME,
    show_default=True,
    help="ISO date-time, a duration (30d, 12h, 45m), or 'never'.",
)
@click.option("--name", default="", help="A label for listings.")
def tokens_create(
    *, email: str, org_ref: str | None, scopes: tuple[str, ...], expires: str, name: str
) -> None:
    """Create a token for a user. Prints only the token, once: it is not stored."""
    from scanserve.identity import tokens as service
    from scanserve.identity.keys import hash_secret
    from scanserve.storage import models
    from scanserve.storage.fields import utcnow

    open_db()
    user = _user(email)
    org = find_org(org_ref) if org_ref else None
    if org is not None and not (
        models.Membership.select()
        .where(models.Membership.user == user, models.Membership.organization == org)
        .exists()
    ):
        raise click.BadParameter(f"{user.email} is not a member of {org.name}", param_hint="--org")
    expires_at = None if expires.strip().lower() == "never" else parse_expiry(expires)
    if expires_at is not None and expires_at <= utcnow():
        raise click.BadParameter("the expiry is in the past", param_hint="--expires")
    raw = service.generate_token()
    models.AccessToken.create(
        user=user,
        organization=org,
        token_hash=hash_secret(raw),
        hint=service.hint(raw),
        name=name,
        scopes=" ".join(sorted(set(scopes or service.SCOPES))),
        expires_at=expires_at,
    )
    click.echo(raw)


@tokens.command("list")
@click.option("--user", "email", required=True, help="The user's e-mail address.")
@json_option
def tokens_list(email: str, as_json: bool) -> None:
    """A user's tokens (never the tokens themselves). ORG is * for a token acting for all of
    the user's organisations; STATUS is active, revoked or expired (as in 'keys list')."""
    from scanserve.storage import models
    from scanserve.storage.fields import utcnow

    open_db()
    user = _user(email)
    now = utcnow()
    token = models.AccessToken
    rows = [
        {
            "token_id": row.short_id,
            "hint": row.hint,
            "org": row.organization.short_id if row.organization is not None else None,
            "scopes": row.scopes.split(),
            "status": "revoked"
            if not row.is_active
            else "expired"
            if row.expires_at is not None and row.expires_at <= now
            else "active",
            "expires": when(row.expires_at),
            "last_used": when(row.last_used),
            "name": row.name,
        }
        for row in token.select().where(token.user == user).order_by(token.created)
    ]
    print_table(
        ("token_id", "hint", "org", "scopes", "status", "expires", "last_used", "name"),
        rows,
        as_json=as_json,
        text={
            "hint": lambda hint: f"{hint}…",
            "org": lambda org: org or "*",
            "expires": lambda at: at or "never",
        },
    )


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id (from 'tokens list'); its browser sessions end too."""
    from scanserve.identity.websessions import end_sessions_of
    from scanserve.storage import models

    open_db()
    row = models.AccessToken.get_or_none(models.AccessToken.short_id == token_id)
    if row is None:
        raise click.ClickException(f"no token with id {token_id}")
    models.AccessToken.update(is_active=False).where(models.AccessToken.id == row.id).execute()
    ended = end_sessions_of(access_token_id=row.id)
    click.echo(f"revoked {token_id}" + (f" and ended {ended} browser session(s)" if ended else ""))
