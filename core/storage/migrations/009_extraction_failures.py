"""Extraction says which photos it could not read: ``extraction_failures`` on sessions, a
JSON list of ``{photo_id, extractor, reason}`` written with ``ready`` (empty before)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("scan_session", extraction_failures=pw.TextField(default="[]"))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("scan_session", "extraction_failures")
