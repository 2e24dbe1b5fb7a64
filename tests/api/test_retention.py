"""Retention (``scanserve.domain.retention``): old ended sessions are deleted with their
captures, photos, proposals and objects, and the storage quota drops by what they held;
active and recent sessions, and everything of theirs, stay. On SQLite and PostgreSQL, with
local files, and on an S3 bucket (moto)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from photo_support import s3_endpoint, s3_settings  # noqa: F401  (fixtures)
from retention_support import age, end, jpeg, make_session, rows_of, stored

from scanserve.app import create_app
from scanserve.domain import quotas, retention
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key


@pytest.fixture(params=["sqlite", "postgres", "s3"])
def app(request, tmp_path):
    options = {
        "data_dir": tmp_path / "data",
        "queue": "immediate",
        "validate_responses": True,
        "load_entrypoint_plugins": False,
        "auth_cache_seconds": 0,
    }
    if request.param == "postgres":
        options["database_url"] = request.getfixturevalue("postgres_url")
    if request.param == "s3":
        options.update(request.getfixturevalue("s3_settings"))
    application = create_app(Settings(**options))
    yield application
    application.services.db.close()


def test_purge_removes_old_ended_sessions_and_all_of_theirs(app):
    settings = app.services.settings
    key, other = issue_key(), issue_key("Other Org")
    with app.test_client() as client:
        completed = make_session(client, key)
        expired = make_session(client, key, photo=False, colour="blue")
        active_old = make_session(client, key, colour="green")
        recent = make_session(client, key, colour="white")
        theirs = make_session(client, other, colour="black")
        for made, owner in ((completed, key), (recent, key), (theirs, other)):
            end(client, owner, made)
        models.ScanSession.update(status="EXPIRED").where(
            models.ScanSession.short_id == expired.short_id
        ).execute()
        for made in (completed, expired, active_old, theirs):
            age(made)
        age(recent, timedelta(days=10))
    org = completed.org_id
    before = quotas.usage(settings, org)
    S = models.StoredObject
    sizes = dict(S.select(S.object_key, S.size).tuples())
    gone_bytes = sum(sizes[k] for k in completed.keys + expired.keys)
    everything = [completed, expired, active_old, recent, theirs]
    rows_before = {m.short_id: rows_of(m) for m in everything}

    # a dry run counts and changes nothing
    dry = retention.purge(app.services.objects, timedelta(days=90), organization_id=org)
    assert dry.executed is False
    assert set(dry.by_org) == {org}
    tally = dry.by_org[org]
    assert (tally.sessions, tally.captures, tally.photos, tally.proposals) == (2, 4, 1, 2)
    assert (tally.objects, tally.bytes) == (3, gone_bytes)
    assert {m.short_id: rows_of(m) for m in everything} == rows_before
    assert all(stored(app.services.objects, k) for m in everything for k in m.keys)
    assert quotas.usage(settings, org) == before
    everyone = retention.purge(app.services.objects, timedelta(days=90))
    assert set(everyone.by_org) == {org, theirs.org_id}
    assert everyone.total.sessions == 3

    # the real run, in batches of one session, for one organisation
    seen = []
    done = retention.purge(
        app.services.objects,
        timedelta(days=90),
        organization_id=org,
        execute=True,
        batch_size=1,
        progress=lambda number, batch, report: seen.append((number, batch.sessions)),
    )
    assert seen == [(1, 1), (2, 1)]
    assert done.by_org[org] == tally and done.objects_failed == 0
    for made in (completed, expired):
        assert rows_of(made) == {"sessions": 0, "captures": 0, "photos": 0, "proposals": 0}
        assert not any(stored(app.services.objects, k) for k in made.keys)
        assert (
            not models.Capture.select().where(models.Capture.short_id.in_(made.captures)).exists()
        )
    for made in (active_old, recent, theirs):  # kept, untouched, with their files
        assert rows_of(made) == rows_before[made.short_id]
        assert all(stored(app.services.objects, k) for k in made.keys)
        kept = models.Capture.get(models.Capture.short_id == made.captures[0])
        assert kept.uploaded_image_key == made.keys[0]
        assert app.services.objects.get(made.keys[0]) == jpeg(made.colour)
    after = quotas.usage(settings, org)
    assert (after.objects, after.bytes) == (before.objects - 3, before.bytes - gone_bytes)
    purging = models.StoredObject.select().where(models.StoredObject.state == quotas.PURGING)
    assert not purging.exists()

    # nothing left to do for that organisation; the other one's old session goes next
    assert retention.purge(app.services.objects, timedelta(days=90), execute=True).total == (
        retention.Tally(
            sessions=1,
            captures=2,
            photos=1,
            proposals=1,
            objects=len(theirs.keys),
            bytes=sum(sizes[k] for k in theirs.keys),
        )
    )
    assert rows_of(theirs)["sessions"] == 0 and not any(
        stored(app.services.objects, k) for k in theirs.keys
    )


def test_objects_left_by_a_stopped_purge_are_deleted_by_the_sweep_and_the_next_purge(app):
    key = issue_key()
    with app.test_client() as client:
        first, second = make_session(client, key), make_session(client, key, colour="blue")
        for made in (first, second):
            end(client, key, made)
            age(made)
    org = first.org_id
    before = quotas.usage(app.services.settings, org)

    class Failing:  # a store that cannot delete, as after a crash before the objects went
        def __getattr__(self, name):
            return getattr(app.services.objects, name)

        def delete(self, key):
            raise OSError("the store is down")

    stopped = retention.purge(Failing(), timedelta(days=90), execute=True)
    assert stopped.total.sessions == 2 and stopped.objects_failed == 4
    assert rows_of(first)["sessions"] == rows_of(second)["sessions"] == 0
    # rows are gone, objects stay, still counted until deleted
    assert all(stored(app.services.objects, k) for k in first.keys + second.keys)
    assert quotas.usage(app.services.settings, org) == before
    left = models.StoredObject.select().where(models.StoredObject.state == quotas.PURGING)
    assert sorted(r.object_key for r in left) == sorted(first.keys + second.keys)

    # the periodic sweep finishes the job ...
    models.StoredObject.update(state=quotas.STORED).where(
        models.StoredObject.object_key.in_(second.keys)
    ).execute()  # (these two wait for the purge below)
    app.services.queue.sweep()
    assert not any(stored(app.services.objects, k) for k in first.keys)
    assert all(stored(app.services.objects, k) for k in second.keys)
    # ... and so does the next purge, even with no session left to purge
    models.StoredObject.update(state=quotas.PURGING).where(
        models.StoredObject.object_key.in_(second.keys)
    ).execute()
    again = retention.purge(app.services.objects, timedelta(days=90), execute=True)
    assert again.total.sessions == 0 and again.objects_failed == 0
    assert not any(stored(app.services.objects, k) for k in second.keys)
    assert quotas.usage(app.services.settings, org).objects == before.objects - 4


def test_a_session_that_changed_recently_or_is_extracting_is_kept(app):
    key = issue_key()
    with app.test_client() as client:
        touched, extracting = make_session(client, key), make_session(client, key, colour="blue")
        for made in (touched, extracting):
            end(client, key, made)
            age(made)
    # one capture of the first changed yesterday; the second's extraction is running
    C, S = models.Capture, models.ScanSession
    C.update(state_changed_at=utcnow() - timedelta(days=1)).where(
        C.short_id == touched.captures[1]
    ).execute()
    S.update(extraction_status="processing").where(S.short_id == extracting.short_id).execute()
    report = retention.purge(app.services.objects, timedelta(days=90), execute=True)
    assert report.total.sessions == 0
    assert rows_of(touched)["sessions"] == rows_of(extracting)["sessions"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), (" 2w ", timedelta(weeks=2))],
)
def test_ages(text, expected):
    assert retention.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "0d", "-1d", "1.5d", "90m", "d", "90 days", "1y"])
def test_nonsense_ages_are_refused(text):
    with pytest.raises(ValueError, match="is not an age"):
        retention.parse_age(text)


@pytest.mark.parametrize("days", [0, 90])
def test_the_daily_purge_runs_only_when_retention_days_is_set(tmp_path, days):
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
        retention_days=days,
    )
    app = create_app(settings)
    try:
        key = issue_key()
        with app.test_client() as client:
            old, recent = make_session(client, key), make_session(client, key, colour="blue")
            for made in (old, recent):
                end(client, key, made)
            age(old)
        huey = app.services.queue.huey
        at_night = datetime(2027, 1, 4, 3, 17)
        due = [t for t in huey.read_periodic(at_night) if "purge_ended_sessions" in t.name]
        assert len(due) == (1 if days else 0)
        later = huey.read_periodic(datetime(2027, 1, 4, 4, 17))  # once a day, at 03:17
        assert not [t for t in later if "purge_ended_sessions" in t.name]
        for task in due:
            task.execute()
        assert rows_of(old)["sessions"] == (0 if days else 1)
        assert stored(app.services.objects, old.keys[0]) == (days == 0)
        assert rows_of(recent)["sessions"] == 1
        assert all(stored(app.services.objects, k) for k in recent.keys)
    finally:
        app.services.db.close()
