"""Importing products into the catalog: validated rows upserted by GTIN, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from scanserve.domain.catalog_files import CatalogRow, RowError, count_lines, read_catalog
from scanserve.domain.pipeline import product_short_id
from scanserve.storage import models
from scanserve.storage.fields import utcnow

BATCH = 500


@dataclass
class ImportReport:
    upserted: int = 0
    errors: list[RowError] = field(default_factory=list)
    # GTIN -> how many later rows of the file repeated it (those rows are not imported)
    duplicates: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.errors) + sum(self.duplicates.values())


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
        "fetched_at": None,  # imported: the operator's row, never refreshed from a provider
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
        P.fetched_at,
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
    """Upsert every valid row of ``path``. A GTIN seen again in the file is counted in
    ``report.duplicates`` and its later rows are skipped: the first row wins."""
    report = ImportReport()
    batch: dict[str, CatalogRow] = {}
    seen: set[int] = set()  # GTINs as integers: a multi-million-row export stays small
    for item in _rows(Path(path), fmt, progress):
        if isinstance(item, RowError):
            report.errors.append(item)
            continue
        number = int(item.gtin)
        if number in seen:
            report.duplicates[item.gtin] = report.duplicates.get(item.gtin, 0) + 1
            continue
        seen.add(number)
        batch[item.gtin] = item
        if len(batch) >= BATCH:
            report.upserted += _flush(batch)
            batch = {}
    report.upserted += _flush(batch)
    return report


def seed_file(path: Path, *, source: str) -> int:
    """Insert the valid rows of ``path`` whose GTIN is not in the catalog yet, marked with
    ``source``; existing products are left exactly as they are. Returns how many were added."""
    P = models.Product
    now = utcnow()
    rows = [
        {**_values(item, now), "source": source}
        for item in read_catalog(Path(path))
        if not isinstance(item, RowError)
    ]
    added = 0
    with P._meta.database.atomic():
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            known = {
                p.gtin for p in P.select(P.gtin).where(P.gtin.in_([r["gtin"] for r in chunk]))
            }
            fresh = [r for r in chunk if r["gtin"] not in known]
            if fresh:
                P.insert_many(fresh).on_conflict_ignore().execute()
                added += len(fresh)
    return added
