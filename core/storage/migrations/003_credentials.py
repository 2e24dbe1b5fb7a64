"""Credentials: personal access tokens get an id, name, hint, scopes, an optional
organisation and last use; browser sessions record the credential that signed them in, a
CSRF token hash and, for sessions made from outside JWTs, what the token said."""

import peewee as pw
import shortuuid
from peewee_migrate import Migrator


def _fill_token_ids(database: pw.Database) -> None:
    rows = database.execute_sql("SELECT id FROM access_token WHERE short_id IS NULL").fetchall()
    for (row_id,) in rows:
        database.execute_sql(
            "UPDATE access_token SET short_id = %s WHERE id = %s"
            if not isinstance(database, pw.SqliteDatabase)
            else "UPDATE access_token SET short_id = ? WHERE id = ?",
            (str(shortuuid.uuid()), row_id),
        )


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "access_token",
        short_id=pw.CharField(max_length=22, null=True, unique=True),
        name=pw.CharField(max_length=200, default=""),
        hint=pw.CharField(max_length=16, default=""),
        organization=pw.ForeignKeyField(
            column_name="organization_id",
            field="id",
            model=migrator.orm["organization"],
            null=True,
            on_delete="CASCADE",
        ),
        scopes=pw.CharField(max_length=200, default="scanner:read scanner:write"),
        last_used=pw.DateTimeField(null=True),
    )
    # Rows from before get an id; the column stays nullable in the table (the model always
    # sets it), since peewee-migrate cannot add a NOT NULL column without a shared default.
    migrator.run(_fill_token_ids, database)

    migrator.drop_not_null("web_session", "user")
    migrator.add_fields(
        "web_session",
        csrf_hash=pw.CharField(max_length=64, default=""),
        api_key=pw.ForeignKeyField(
            column_name="api_key_id",
            field="id",
            model=migrator.orm["api_key"],
            null=True,
            on_delete="CASCADE",
        ),
        access_token=pw.ForeignKeyField(
            column_name="access_token_id",
            field="id",
            model=migrator.orm["access_token"],
            null=True,
            on_delete="CASCADE",
        ),
        subject=pw.CharField(max_length=500, default=""),
        org_short_ids=pw.TextField(null=True),
        scopes=pw.TextField(null=True),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields(
        "web_session", "csrf_hash", "api_key", "access_token", "subject", "org_short_ids", "scopes"
    )
    migrator.add_not_null("web_session", "user")
    migrator.remove_fields(
        "access_token", "short_id", "name", "hint", "organization", "scopes", "last_used"
    )
