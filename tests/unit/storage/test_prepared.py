"""storage.prepared: a query rendered once per engine and list length, bound per call; on
PostgreSQL, run as a server-side prepared statement of the connection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.prepared import Prepared, execute, seq

ORGS = Prepared(
    lambda ph: (
        models.ScanSession.select(
            models.ScanSession.short_id.alias("id"),
            models.ScanSession.metadata,
            models.ScanSession.created,
            models.ScanSession.status,
        )
        .where(models.ScanSession.organization.in_(ph("orgs")))
        .order_by(models.ScanSession.id)
    )
)


def test_lists_of_any_length_bind_and_rows_convert(scanserve_app):
    a, b, c = (models.Organization.create(name=n) for n in "abc")
    made = [
        models.ScanSession.create(organization=org, metadata={"store": org.name})
        for org in (a, b, c)
    ]
    rows = ORGS.dicts(orgs=seq({a.id, b.id}))
    assert [r["id"] for r in rows] == [made[0].short_id, made[1].short_id]
    assert rows[0]["metadata"] == {"store": "a"}
    assert isinstance(rows[0]["created"], datetime) and rows[0]["created"].tzinfo is not None
    assert rows[0]["status"] == "ACTIVE"
    # another length is another rendering; the first still binds correctly
    assert [r["id"] for r in ORGS.dicts(orgs=[c.id])] == [made[2].short_id]
    assert ORGS.dicts(orgs=[]) == []
    assert [r["id"] for r in ORGS.dicts(orgs=seq({a.id, b.id}))] == [
        made[0].short_id,
        made[1].short_id,
    ]


def test_a_value_that_looks_like_sql_is_only_ever_a_parameter(scanserve_app):
    lookup = Prepared(
        lambda ph: models.Organization.select(models.Organization.name).where(
            models.Organization.name == ph("name")
        )
    )
    models.Organization.create(name="x' OR '1'='1")
    models.Organization.create(name="other")
    assert lookup.dicts(name="x' OR '1'='1") == [{"name": "x' OR '1'='1"}]
    assert lookup.first(name="nobody") is None


def test_a_placeholder_given_a_field_is_bound_as_the_field_writes_it(scanserve_app):
    """Reads and writes take the same placeholders: ``ph(name, field)`` binds the value
    through the field's ``db_value`` (here a UTC datetime and JSON)."""
    org = models.Organization.create(name="o")
    session = models.ScanSession.create(organization=org)
    when = datetime(2026, 11, 30, 20, 13, 48, 7647, tzinfo=UTC)
    stamp = Prepared(
        lambda ph: models.ScanSession.update(
            last_activity=ph("when", models.ScanSession.last_activity),
            metadata=ph("metadata", models.ScanSession.metadata),
        ).where(models.ScanSession.id == ph("id"))
    )
    assert stamp.run(when=when, metadata={"a": "b"}, id=session.id) == 1
    since = Prepared(
        lambda ph: models.ScanSession.select(models.ScanSession.metadata).where(
            models.ScanSession.last_activity >= ph("when", models.ScanSession.last_activity)
        )
    )
    assert since.dicts(when=when) == [{"metadata": {"a": "b"}}]
    assert since.dicts(when=when.replace(year=2027)) == []
    with pytest.raises(TypeError):
        stamp.dicts(when=when, metadata={}, id=session.id)  # a write has no rows


def test_rows_convert_as_the_fields_read_them(scanserve_app):
    """The direct conversions of JSON and UTC datetimes give what the fields'
    ``python_value`` gives, for each shape of stored value, and NULL stays None."""
    org = models.Organization.create(name="o")
    stored = [
        ({"a": [1, 2]}, datetime(2026, 11, 30, 20, 13, 48, 7647, tzinfo=UTC)),
        ({}, datetime(2026, 11, 30, 20, 13, 48, tzinfo=UTC)),  # no microseconds: no fraction
        ({"big": 2**70}, None),  # past 64 bits: orjson refuses it, the json module reads it
    ]
    for metadata, processed_at in stored:
        session = models.ScanSession.create(organization=org, metadata=metadata)
        models.Capture.create(
            organization=org,
            session=session,
            capture_type="BARCODE",
            raw_value="x",
            metadata=metadata,
            processed_at=processed_at,
        )
    lookup = Prepared(
        lambda ph: (
            models.Capture.select(
                models.Capture.metadata, models.Capture.processed_at, models.Capture.created
            )
            .where(models.Capture.organization == ph("org"))
            .order_by(models.Capture.id)
        )
    )
    rows = lookup.dicts(org=org.id)
    assert [r["metadata"] for r in rows] == [m for m, _ in stored]
    assert [r["processed_at"] for r in rows] == [p for _, p in stored]
    by_model = list(models.Capture.select().where(models.Capture.organization == org))
    assert [r["created"] for r in rows] == [c.created for c in by_model]
    assert all(r["created"].tzinfo is UTC for r in rows)


# -- PostgreSQL: server-side prepared statements --------------------------------------------


@pytest.fixture(params=[True, False], ids=["prepared", "plain"])
def postgres_app(request, postgres_url, tmp_path):
    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            database_url=postgres_url,
            queue="immediate",
            load_entrypoint_plugins=False,
            database_prepared_statements=request.param,
        )
    )
    yield app
    app.services.db.close()


def _ours(db) -> dict[str, str]:
    """This connection's prepared statements of ours: name -> statement text."""
    rows = db.execute_sql("SELECT name, statement FROM pg_prepared_statements").fetchall()
    return {name: text for name, text in rows if name.startswith("scanserve_")}


RENAME = Prepared(
    lambda ph: models.Organization.update(name=ph("name")).where(
        models.Organization.id == ph("id")
    )
)


def test_postgres_prepares_each_statement_once_per_connection(postgres_app):
    """Reads and writes run as the connection's prepared statements (one per rendering), or
    as plain SQL with the setting off; the answers are the same either way."""
    db = postgres_app.services.db
    prepares = postgres_app.services.settings.database_prepared_statements
    a, b = (models.Organization.create(name=n) for n in "ab")
    made = [models.ScanSession.create(organization=org) for org in (a, b)]
    before = _ours(db)
    for _ in range(3):
        assert [r["id"] for r in ORGS.dicts(orgs=seq({a.id, b.id}))] == [s.short_id for s in made]
        assert [r["id"] for r in ORGS.dicts(orgs=[b.id])] == [made[1].short_id]
        assert RENAME.run(name="renamed", id=a.id) == 1
    assert RENAME.run(name="nobody", id=-1) == 0  # rowcount through EXECUTE
    assert models.Organization.get_by_id(a.id).name == "renamed"
    new = {k: v for k, v in _ours(db).items() if k not in before}
    if prepares:
        # two renderings of the read (two list lengths) and the write: three statements
        assert len(new) == 3, new
        assert all("$1" in text for text in new.values())
        assert any(text.startswith("PREPARE") and "UPDATE" in text for text in new.values())
    else:
        assert _ours(db) == {}


def test_a_statement_the_server_will_not_prepare_runs_as_plain_sql(postgres_app):
    """Even inside a transaction, which the refused PREPARE must leave usable."""
    db = postgres_app.services.db
    sql = 'SELECT %s IS NULL AS "unknown"'  # $1's type cannot be inferred: no PREPARE
    with db.atomic():
        models.Organization.create(name="before")
        assert execute(sql, [None]).fetchall() == [(True,)]
        models.Organization.create(name="after")
    assert execute(sql, [1]).fetchall() == [(False,)]
    names = {o.name for o in models.Organization.select()}
    assert {"before", "after"} <= names


def test_a_migration_under_a_prepared_statement_is_survived(postgres_app):
    """A column whose type changes under a prepared statement ("cached plan must not change
    result type"): outside a transaction the statement is prepared afresh and run again."""
    db = postgres_app.services.db
    org = models.Organization.create(name="o")
    lookup = Prepared(
        lambda ph: models.Organization.select(models.Organization.name).where(
            models.Organization.id == ph("id")
        )
    )
    assert lookup.dicts(id=org.id) == [{"name": "o"}]
    db.execute_sql("ALTER TABLE organization ALTER COLUMN name TYPE varchar(300)")
    assert lookup.dicts(id=org.id) == [{"name": "o"}]
    with db.atomic():  # and inside a transaction afterwards too
        assert lookup.dicts(id=org.id) == [{"name": "o"}]


def _inserts_answer_the_new_rows_id() -> None:
    from scanserve.http.idempotency import _CLAIM  # a real INSERT made with returns_id
    from scanserve.storage.fields import utcnow

    ids = [
        _CLAIM.insert(scope="org:1", key=key, fingerprint="f" * 64, now=utcnow())
        for key in ("first", "second")
    ]
    assert ids[0] != ids[1]
    rows = [models.IdempotencyRecord.get_by_id(i) for i in ids]
    assert [(r.key, r.status) for r in rows] == [("first", 0), ("second", 0)]
    with pytest.raises(TypeError):
        RENAME.insert(name="x", id=ids[0])


def test_an_insert_answers_the_new_rows_id(scanserve_app):
    _inserts_answer_the_new_rows_id()  # SQLite: the cursor's lastrowid


def test_an_insert_answers_the_new_rows_id_on_postgres(postgres_app):
    _inserts_answer_the_new_rows_id()  # PostgreSQL: RETURNING, prepared or not
