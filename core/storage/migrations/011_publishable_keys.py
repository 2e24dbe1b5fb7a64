"""Publishable keys are scoped: a session remembers the API key that created it
(``scan_session.created_by_key_id``, indexed; NULL for sessions made before, and for those
of tokens and browser sessions of users), and a publishable key may carry the browser
origins it is allowed from (``api_key_origin``)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "scan_session",
        created_by_key=pw.ForeignKeyField(
            column_name="created_by_key_id",
            field="id",
            model=migrator.orm["api_key"],
            null=True,
            on_delete="SET NULL",
            index=True,
        ),
    )

    @migrator.create_model
    class ApiKeyOrigin(pw.Model):
        id = pw.AutoField()
        api_key = pw.ForeignKeyField(
            column_name="api_key_id",
            field="id",
            model=migrator.orm["api_key"],
            on_delete="CASCADE",
        )
        origin = pw.CharField(max_length=255, index=True)

        class Meta:
            table_name = "api_key_origin"
            indexes = ((("api_key", "origin"), True),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("api_key_origin")
    migrator.remove_fields("scan_session", "created_by_key")
