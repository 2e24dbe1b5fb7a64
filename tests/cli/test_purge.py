"""``scanserve purge`` as an operator runs it, on SQLite and PostgreSQL with local files: a dry
run by default that reports per organisation and changes nothing, ``--execute`` that deletes
the old ended sessions, their rows and files, in batches; nonsense refused in one line."""

from __future__ import annotations

import json

import pytest
from cli_runner import run
from retention_support import age, end, make_session, rows_of, stored

from scanserve.app import create_app
from scanserve.domain import quotas
from scanserve.infra.objectstore import open_object_store
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.database import open_database
from scanserve.testing import issue_key


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request):
    if request.param == "sqlite":
        return {}
    return {"SCANSERVE_DATABASE_URL": request.getfixturevalue("postgres_url")}


def _settings(data_dir, env) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=env.get("SCANSERVE_DATABASE_URL", ""),
        queue="immediate",
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
    )


def _reopen(settings: Settings):
    return open_database(settings.effective_database_url)


def test_purge_dry_run_then_execute(tmp_path, database_env):
    data_dir = tmp_path / "data"
    settings = _settings(data_dir, database_env)
    app = create_app(settings)
    key, other = issue_key("Corner Shop"), issue_key("Other Org")
    with app.test_client() as client:
        old = make_session(client, key)
        old_too = make_session(client, key, photo=False, colour="blue")
        active = make_session(client, key, colour="green")
        theirs = make_session(client, other, colour="white")
        for made, owner in ((old, key), (old_too, key), (theirs, other)):
            end(client, owner, made)
        for made in (old, old_too, active, theirs):
            age(made)
    S = models.StoredObject
    sizes = dict(S.select(S.object_key, S.size).tuples())
    org = old.org_id
    before = quotas.usage(settings, org)
    app.services.db.close()
    objects = open_object_store(settings)
    gone = old.keys + old_too.keys

    dry = run(
        data_dir,
        *("purge", "--older-than", "90d", "--org", "Corner Shop"),
        check=False,
        env=database_env,
    )
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[1].split("\t") == [
        "ORG",
        "NAME",
        "SESSIONS",
        "CAPTURES",
        "PHOTOS",
        "PROPOSALS",
        "OBJECTS",
        "BYTES",
    ]
    row = lines[2].split("\t")
    assert row[0] == key.org_short_id and row[1] == "Corner Shop"
    assert row[2:] == ["2", "4", "1", "2", "3", str(sum(sizes[k] for k in gone))]
    assert lines[-1].startswith("would delete (dry run; --execute to delete): 2 session(s)")
    assert "batch" not in dry.stderr
    _reopen(settings)
    assert rows_of(old)["sessions"] == rows_of(old_too)["sessions"] == 1
    assert all(stored(objects, k) for k in gone)

    everyone = run(data_dir, "purge", "--older-than", "12w", "--json", env=database_env)
    report = json.loads(everyone.stdout)
    assert report["executed"] is False
    assert [o["name"] for o in report["organizations"]] == ["Corner Shop", "Other Org"]
    assert report["total"]["sessions"] == 3

    done = run(
        data_dir,
        "purge",
        "--older-than",
        "2160h",
        "--org",
        key.org_short_id,
        "--execute",
        "--batch-size",
        "1",
        "--json",
        env=database_env,
    )
    report = json.loads(done.stdout)
    assert report["executed"] is True and report["objects_failed"] == 0
    assert report["total"]["sessions"] == 2 and report["total"]["objects"] == 3
    assert "batch 1: 1 session(s) deleted" in done.stderr
    assert "batch 2: 1 session(s) deleted (2 so far" in done.stderr
    _reopen(settings)
    for made in (old, old_too):
        assert rows_of(made) == {"sessions": 0, "captures": 0, "photos": 0, "proposals": 0}
    assert not any(stored(objects, k) for k in gone)
    for made in (active, theirs):
        assert rows_of(made)["sessions"] == 1 and rows_of(made)["captures"] == 2
        assert all(stored(objects, k) for k in made.keys)
    after = quotas.usage(settings, org)
    assert (after.objects, after.bytes) == (
        before.objects - 3,
        before.bytes - sum(sizes[k] for k in gone),
    )


@pytest.mark.parametrize("age_text", ["90", "0d", "90x", "-3d", "ninety days"])
def test_purge_refuses_nonsense_in_one_line(tmp_path, age_text):
    from cli_runner import create_database

    create_database(tmp_path / "data")
    refused = run(tmp_path / "data", "purge", "--older-than", age_text, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: --older-than: {age_text!r} is not an age: use a whole number above 0 and "
        "h, d or w (90d, 12h, 2w)"
    ]
    assert refused.stdout == ""


def test_purge_needs_an_age(tmp_path):
    from cli_runner import create_database

    create_database(tmp_path / "data")
    refused = run(tmp_path / "data", "purge", check=False)
    assert refused.returncode == 2 and "--older-than" in refused.stderr
