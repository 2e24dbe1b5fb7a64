"""storage.prepared: a query rendered once per engine and list length, bound per call."""

from __future__ import annotations

from datetime import UTC, datetime

from scanserve.storage import models
from scanserve.storage.prepared import Prepared, seq

ORGS = Prepared(
    lambda ph: (
        models.ScanSession.select(
            models.ScanSession.short_id.alias("id"),
            models.ScanSession.metadata,
            models.ScanSession.created,
            models.ScanSession.status,
        )
        .where(models.ScanSession.organization.in_(ph("orgs", as_int=True)))
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
            .where(models.Capture.organization == ph("org", as_int=True))
            .order_by(models.Capture.id)
        )
    )
    rows = lookup.dicts(org=org.id)
    assert [r["metadata"] for r in rows] == [m for m, _ in stored]
    assert [r["processed_at"] for r in rows] == [p for _, p in stored]
    by_model = list(models.Capture.select().where(models.Capture.organization == org))
    assert [r["created"] for r in rows] == [c.created for c in by_model]
    assert all(r["created"].tzinfo is UTC for r in rows)
