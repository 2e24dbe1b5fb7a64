"""Migrations upgrade an existing database step by step without losing data."""

from __future__ import annotations

import shutil
import sqlite3

import peewee
import pytest

from scanserve.storage import migrate, models
from scanserve.storage.database import open_database

EXTRA_MIGRATION = """
import peewee as pw


def migrate(migrator, database, *, fake=False):
    migrator.add_fields("organization", billing_email=pw.CharField(max_length=320, default=""))


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("organization", "billing_email")
"""


def test_upgrade_keeps_existing_rows(tmp_path, monkeypatch):
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    shipped = sorted(p.stem for p in migrate.MIGRATIONS_DIR.glob("[0-9]*.py"))
    assert shipped[0] == "001_initial"
    assert migrate.upgrade(db) == shipped
    org = models.Organization.create(name="Existing Shop")
    assert migrate.upgrade(db) == []

    # A later release adds a migration: the old rows survive it, with the new column.
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, later)
    (later / "999_billing_email.py").write_text(EXTRA_MIGRATION)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", later)
    assert migrate.pending(db) == ["999_billing_email"]
    assert migrate.upgrade(db) == ["999_billing_email"]
    row = db.execute_sql(
        "SELECT name, billing_email FROM organization WHERE id = ?", (org.id,)
    ).fetchone()
    assert row == ("Existing Shop", "")
    db.close()


def test_schema_matches_models(tmp_path):
    """The migrations create every column the models declare (a forgotten migration fails)."""
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate.upgrade(db)
    for model in models.ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name for c in db.get_columns(table)}
        declared = {f.column_name for f in model._meta.sorted_fields}
        assert declared <= columns, (table, declared - columns)
    assert isinstance(db, peewee.SqliteDatabase)
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def _schema(path):
    conn = sqlite3.connect(path)
    try:
        tables = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        history = [name for (name,) in conn.execute("SELECT name FROM migratehistory ORDER BY id")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return tables, history, mode
    finally:
        conn.close()


def test_a_new_sqlite_database_is_the_migrated_schema_copied(tmp_path, monkeypatch):
    """The first new SQLite database of a process is migrated; the next ones get a copy of
    it (no migration runs) with the same tables, indexes, history and WAL mode, and work."""
    monkeypatch.setattr(migrate, "_NEW_SQLITE", migrate._NewSqlite())
    first = open_database(f"sqlite:///{tmp_path / 'first.db'}")
    names = migrate.upgrade(first)
    assert names == migrate.shipped()
    first.close()

    def no_migrations(*args, **kwargs):
        raise AssertionError("a migration ran for a new database")

    monkeypatch.setattr(migrate.Router, "run", no_migrations)
    second = open_database(f"sqlite:///{tmp_path / 'second.db'}")
    assert migrate.upgrade(second) == names
    assert migrate.pending(second) == []
    models.Organization.create(name="Copied Shop")
    second.close()
    assert _schema(tmp_path / "second.db") == _schema(tmp_path / "first.db")
    assert _schema(tmp_path / "second.db")[2] == "wal"

    # another set of migrations (a later release's) is migrated, not given this copy
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, later)
    (later / "999_billing_email.py").write_text(EXTRA_MIGRATION)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", later)
    third = open_database(f"sqlite:///{tmp_path / 'third.db'}")
    with pytest.raises(AssertionError, match="a migration ran"):
        migrate.upgrade(third)
    third.close()
