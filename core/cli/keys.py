"""``scanserve keys``: API keys."""

from __future__ import annotations

import click

from scanserve.cli.common import find_org, json_option, open_db, parse_expiry, print_table, when


@click.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option("--kind", type=click.Choice(["csb", "csu", "cpk"]), default="csb", show_default=True)
@click.option(
    "--expires",
    default=None,
    help="ISO date-time, a duration (30d, 12h, 45m), or 'never' (the default).",
)
@click.option("--name", default="", help="A label for listings.")
@click.option(
    "--per-minute",
    type=click.IntRange(min=0),
    default=0,
    help="Rate limit per minute (0 = default).",
)
@click.option(
    "--per-day", type=click.IntRange(min=0), default=0, help="Rate limit per day (0 = default)."
)
@click.option(
    "--allowed-origin",
    "allowed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="A browser origin (https://shop.example) the publishable key may be used from; "
    "repeatable. Other origins are refused, and get no CORS answers. Only with --kind cpk.",
)
def keys_create(
    *,
    org_ref: str,
    kind: str,
    expires: str | None,
    name: str,
    per_minute: int,
    per_day: int,
    allowed_origins: tuple[str, ...],
) -> None:
    """Create a key. Prints only the key, once: it is not stored."""
    from scanserve.identity.keys import generate_key, hash_secret, normalize_origin, parse_key
    from scanserve.storage import models

    if allowed_origins and kind != "cpk":
        raise click.BadParameter(
            "only publishable keys (--kind cpk) are used from browsers and take origins",
            param_hint="--allowed-origin",
        )
    origins: list[str] = []
    for text in allowed_origins:
        try:
            origin = normalize_origin(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--allowed-origin") from None
        if origin not in origins:
            origins.append(origin)
    open_db()
    org = find_org(org_ref)
    # 'never' as 'tokens create' takes it: one word for one thing in every command
    expires_at = None if (expires or "").strip().lower() == "never" else parse_expiry(expires)
    if expires_at is not None:
        from scanserve.storage.fields import utcnow

        if expires_at <= utcnow():
            raise click.BadParameter(
                f"{expires_at.isoformat()} is in the past", param_hint="--expires"
            )
    raw = generate_key(kind)  # type: ignore[arg-type]
    parsed = parse_key(raw)
    assert parsed is not None
    with models.ApiKey._meta.database.atomic():
        key = models.ApiKey.create(
            organization=org,
            kind=kind,
            name=name,
            key_hash=hash_secret(raw),
            hint=parsed.hint,
            expires_at=expires_at,
            rate_limit_per_minute=per_minute,
            rate_limit_per_day=per_day,
        )
        for origin in origins:
            models.ApiKeyOrigin.create(api_key=key, origin=origin)
    click.echo(raw)


@keys.command("list")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@json_option
def keys_list(org_ref: str, as_json: bool) -> None:
    """List an organisation's keys (never the keys themselves). STATUS is active, revoked or
    expired; EXPIRES is never for a key without an expiry; ORIGINS the browser origins a
    publishable key is allowed from, comma-separated ('-': none; a list with --json)."""
    from scanserve.storage import models
    from scanserve.storage.fields import utcnow

    open_db()
    org = find_org(org_ref)
    now = utcnow()
    origins: dict[int, list[str]] = {}
    for row in (
        models.ApiKeyOrigin.select(models.ApiKeyOrigin.api_key, models.ApiKeyOrigin.origin)
        .join(models.ApiKey)
        .where(models.ApiKey.organization == org)
        .order_by(models.ApiKeyOrigin.id)
    ):
        origins.setdefault(row.api_key_id, []).append(row.origin)
    rows = [
        {
            "key_id": key.short_id,
            "hint": key.hint,
            "kind": key.kind,
            "status": "revoked"
            if not key.is_active
            else "expired"
            if key.expires_at is not None and key.expires_at <= now
            else "active",
            "expires": when(key.expires_at),
            "last_used": when(key.last_used),
            "origins": origins.get(key.id, []),
            "name": key.name,
        }
        for key in models.ApiKey.select()
        .where(models.ApiKey.organization == org)
        .order_by(models.ApiKey.created)
    ]
    print_table(
        ("key_id", "hint", "kind", "status", "expires", "last_used", "origins", "name"),
        rows,
        as_json=as_json,
        text={
            "hint": lambda hint: f"{hint}…",
            "expires": lambda at: at or "never",
            "origins": lambda listed: ",".join(listed) or "-",
        },
    )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (from 'keys list')."""
    from scanserve.storage import models

    open_db()
    if not models.ApiKey.update(is_active=False).where(models.ApiKey.short_id == key_id).execute():
        raise click.ClickException(f"no key with id {key_id}")
    from scanserve.identity.websessions import (
        end_sessions_of,  # browser sessions signed in with the key end too
    )

    ended = end_sessions_of(api_key_id=models.ApiKey.get(models.ApiKey.short_id == key_id).id)
    click.echo(f"revoked {key_id}" + (f" and ended {ended} browser session(s)" if ended else ""))
