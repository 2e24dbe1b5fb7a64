"""The demo that ``scanserve serve --demo`` seeds: an organisation, its catalog and one key."""

from __future__ import annotations

import os

from scanserve.settings import Settings

DEMO_ORG_NAME = "Demo Shop"

DEMO_KEY_FILE = "demo-key"
DEMO_KEY_NAME = "demo"
DEMO_PAGE_KEY_NAME = "demo scan page"


def seed_demo(settings: Settings) -> str:
    """Seed the demo once and return its key.

    The organisation is created when missing; the demo catalog's products are inserted only
    where no product with their GTIN exists (source ``demo``), so an operator's rows are never
    overwritten. The key is kept in ``<data dir>/demo-key`` (mode 0600) and reused while it is
    valid; otherwise a new one replaces it and every older demo key is revoked.
    """
    from importlib.resources import as_file, files

    from scanserve.domain import catalog_import as catalog
    from scanserve.identity.keys import generate_key, hash_secret, parse_key
    from scanserve.storage import models
    from scanserve.storage.fields import utcnow

    org = models.Organization.get_or_none(models.Organization.name == DEMO_ORG_NAME)
    if org is None:
        org = models.Organization.create(name=DEMO_ORG_NAME)
    with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
        catalog.seed_file(path, source="demo")

    key_file = settings.data_dir / DEMO_KEY_FILE
    if key_file.exists():
        raw = key_file.read_text(encoding="ascii").strip()
        kept = models.ApiKey.get_or_none(
            models.ApiKey.key_hash == hash_secret(raw), models.ApiKey.organization == org
        )
        if (
            kept is not None
            and kept.is_active
            and (kept.expires_at is None or kept.expires_at > utcnow())
        ):
            return raw
    # Replace: revoke every earlier demo key, mint one, and keep it for the next start.
    models.ApiKey.update(is_active=False).where(
        models.ApiKey.organization == org,
        models.ApiKey.kind == "csb",  # not the scanning page's key (seed_demo_scan_page)
        models.ApiKey.name.startswith(DEMO_KEY_NAME),  # older releases named them "demo <date>"
        models.ApiKey.is_active == True,  # noqa: E712 - a peewee expression
    ).execute()
    raw = generate_key("csb")
    parsed = parse_key(raw)
    assert parsed is not None
    models.ApiKey.create(
        organization=org,
        kind="csb",
        name=DEMO_KEY_NAME,
        key_hash=hash_secret(raw),
        hint=parsed.hint,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(raw + "\n")
    return raw


def seed_demo_scan_page(settings: Settings) -> None:
    """Give the scanning page ``/scan/`` a publishable key of the demo organisation, once.

    Run after :func:`seed_demo`. A page already configured keeps its key: by the setting, or
    by a kept key (``scanserve scan-page --key``, or an earlier demo) that is still active.
    Otherwise a ``cpk`` key is minted, every earlier demo page key is revoked, and the new
    one is kept in ``<data dir>/scan-page-key`` (mode 0600), where the server reads it.
    """
    from scanserve.cli.scan_page import keep_page_key, usable_key
    from scanserve.http.scanpage import page_key
    from scanserve.identity.keys import generate_key, hash_secret, parse_key
    from scanserve.storage import models

    if settings.scan_page_key:
        return
    kept = page_key(settings)
    if kept and usable_key(kept) is not None:
        return
    org = models.Organization.get(models.Organization.name == DEMO_ORG_NAME)
    models.ApiKey.update(is_active=False).where(
        models.ApiKey.organization == org,
        models.ApiKey.kind == "cpk",
        models.ApiKey.name == DEMO_PAGE_KEY_NAME,
        models.ApiKey.is_active == True,  # noqa: E712 - a peewee expression
    ).execute()
    raw = generate_key("cpk")
    parsed = parse_key(raw)
    assert parsed is not None
    models.ApiKey.create(
        organization=org,
        kind="cpk",
        name=DEMO_PAGE_KEY_NAME,
        key_hash=hash_secret(raw),
        hint=parsed.hint,
    )
    keep_page_key(settings.data_dir, raw)
