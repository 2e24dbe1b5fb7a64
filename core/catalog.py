"""Importing products into the catalog: validated rows upserted by GTIN, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .catalog_files import CatalogRow, RowError, count_lines, read_catalog
from .pipeline import product_short_id
from .storage import models
from .storage.fields import utcnow

BATCH = 500


@dataclass
class ImportReport:
    upserted: int = 0
    errors: list[RowError] = field(default_factory=list)


def _values(row: CatalogRow, now: Any) -> dict[str, Any]:
    return {
        "short_id": product_short_id(row.gtin),
        "gtin": row.gtin,
        "name": row.name,
        "brand": row.brand,
        "description": row.description,
        "category": row.category,
        "gpc_brick_code": row.gpc_brick_code,
        "gpc_brick_label": row.gpc_brick_label,
        "ingredients": row.ingredients,
        "image_urls": list(row.image_urls),
        "source": "catalog",
        "created": now,
        "modified": now,
    }


def _flush(batch: dict[str, CatalogRow]) -> int:
    if not batch:
        return 0
    now = utcnow()
    P = models.Product
    updatable = [
        P.name,
        P.brand,
        P.description,
        P.category,
        P.gpc_brick_code,
        P.gpc_brick_label,
        P.ingredients,
        P.image_urls,
        P.source,
        P.modified,
    ]
    with P._meta.database.atomic():
        (
            P.insert_many([_values(row, now) for row in batch.values()])
            .on_conflict(conflict_target=[P.gtin], preserve=updatable)
            .execute()
        )
    return len(batch)


def _rows(path: Path, fmt: str, progress: bool) -> Iterator[CatalogRow | RowError]:
    if not progress:
        yield from read_catalog(path, format=fmt)  # type: ignore[arg-type]
        return
    with click.progressbar(
        length=count_lines(path), label=f"importing {path.name}", file=None
    ) as bar:
        for item in read_catalog(path, format=fmt):  # type: ignore[arg-type]
            bar.update(1)
            yield item


def import_file(path: Path, *, fmt: str = "auto", progress: bool = False) -> ImportReport:
    """Upsert every valid row of ``path``; later rows for the same GTIN win."""
    report = ImportReport()
    batch: dict[str, CatalogRow] = {}
    for item in _rows(Path(path), fmt, progress):
        if isinstance(item, RowError):
            report.errors.append(item)
            continue
        batch[item.gtin] = item
        if len(batch) >= BATCH:
            report.upserted += _flush(batch)
            batch = {}
    report.upserted += _flush(batch)
    return report
