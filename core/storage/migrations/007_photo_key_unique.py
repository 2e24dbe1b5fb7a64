"""Peewee migrations -- 007_photo_key_unique.py.

An object is registered as at most one photo: a unique index on ``photo.s3_key`` makes a
second registration of the same object fail even when two requests race.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("photo", "s3_key", unique=True)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("photo", "s3_key")
