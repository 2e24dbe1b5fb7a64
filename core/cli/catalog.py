"""``scanserve catalog``: the product catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scanserve.cli.common import find_org, json_option, open_db, when


@click.group()
def catalog() -> None:
    """The product catalog."""


CATALOG_FORMATS_HELP = """
\b
Formats (each may be gzip-compressed; see docs/catalog.md):
  CSV    a header row; columns gtin, name (required), brand, description,
         category, gpc_brick_code, gpc_brick_label, ingredients, image_urls
         (separated by | or spaces); delimiter , or ; or tab
  JSONL  one object a line with the same field names (image_urls a list),
         or an Open Food Facts JSONL export (code, product_name, brands,
         categories, ingredients_text, image_front_url, ...)
"""


@catalog.command("import", epilog=CATALOG_FORMATS_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
    help="auto goes by the extension: .csv, .jsonl or .ndjson, each optionally .gz.",
)
@click.option(
    "--allow-rejects",
    is_flag=True,
    help="Exit 0 even when rows were rejected (they are still reported).",
)
def catalog_import(file: Path, fmt: str, allow_rejects: bool) -> None:
    """Load products into the catalog, replacing products with the same GTIN.

    Every rejected row is reported on stderr with its line; a GTIN that appears again in the
    file is reported and its later rows are rejected (the first one is imported). The exit
    status is 1 when any row was rejected, unless --allow-rejects.
    """
    from scanserve.domain import catalog_import as service

    open_db()
    try:
        report = service.import_file(file, fmt=fmt, progress=True)
    except ValueError as exc:  # an unknown extension, before any row is read
        message = str(exc)
        if fmt == "auto":  # the library's message speaks to Python callers (format='csv')
            message = (
                f"cannot tell the format of {file.name!r} from its extension (.csv, .jsonl "
                "or .ndjson, optionally .gz); give --format, choose one of: csv, jsonl"
            )
        raise click.BadParameter(message, param_hint="FILE") from None
    for error in report.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    for gtin, count in report.duplicates.items():
        click.echo(
            f"GTIN {gtin}: {count} more row(s) with this GTIN rejected (the first one was kept)",
            err=True,
        )
    click.echo(f"imported {report.upserted} product(s), rejected {report.rejected} row(s)")
    if report.rejected and not allow_rejects:
        sys.exit(1)


def _product(gtin: str) -> Any:
    from scanserve.domain.gs1 import InvalidGtin, normalise_gtin
    from scanserve.storage import models

    try:
        normalised = normalise_gtin(gtin)
    except InvalidGtin as exc:
        raise click.BadParameter(str(exc), param_hint="GTIN") from None
    product = models.Product.get_or_none(models.Product.gtin == normalised)
    if product is None:
        raise click.ClickException(f"no product with GTIN {normalised} in the catalog")
    return product


@catalog.command("show")
@click.argument("gtin")
@click.option(
    "--org",
    "org_ref",
    help="Organisation id or name: show the product as it sees it (with the values its "
    "applied proposals wrote; the catalog is shared, those values are its own).",
)
@json_option
def catalog_show(gtin: str, org_ref: str | None, as_json: bool) -> None:
    """Show one product: every field, where it came from and how old it is. With --json, one
    JSON object with the same names (image_urls a list, times ISO 8601 or null)."""
    from scanserve.storage.fields import utcnow

    open_db()
    product = _product(gtin)
    own: dict[str, str] = {}
    if org_ref:
        from scanserve.domain.products import own_values

        own = own_values(find_org(org_ref).id, product)
    fields: tuple[str, ...] = ("short_id", "gtin", "name", "brand", "description", "category")
    fields += ("gpc_brick_code", "gpc_brick_label", "ingredients")
    if as_json:
        import json

        shown = {name: own.get(name, getattr(product, name)) for name in fields}
        shown["image_urls"] = (
            own["image_urls"].split() if "image_urls" in own else list(product.image_urls or [])
        )
        if org_ref:
            shown["ai_summary"] = own.get("ai_summary") or None
            shown["own_values"] = sorted(own)
        shown |= {
            "source": product.source,
            "fetched": when(product.fetched_at),
            "modified": when(product.modified),
        }
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    for name in fields:
        click.echo(f"{name}: {own.get(name, getattr(product, name))}")
    images = own["image_urls"] if "image_urls" in own else " ".join(product.image_urls or [])
    click.echo(f"image_urls: {images or '-'}")
    if org_ref:
        click.echo(f"ai_summary: {own.get('ai_summary', '') or '-'}")
        click.echo(f"organisation's own values: {', '.join(sorted(own)) or '-'}")
    click.echo(f"source: {product.source}")
    if product.fetched_at is not None:
        age = int((utcnow() - product.fetched_at).total_seconds())
        click.echo(f"fetched: {product.fetched_at.isoformat()} ({_age(age)} ago)")
    else:
        click.echo("fetched: - (imported; never refreshed)")
    click.echo(f"modified: {product.modified.isoformat()}")


def _age(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


@catalog.command("remove")
@click.argument("gtin")
def catalog_remove(gtin: str) -> None:
    """Remove one product. Captures that found it keep their history but lose the link."""
    open_db()
    product = _product(gtin)
    product.delete_instance()
    click.echo(f"removed {product.gtin} ({product.name})")
