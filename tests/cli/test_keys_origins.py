"""``scanserve keys create --kind cpk --allowed-origin ...``: the origins a publishable key
may be used from, stored as browsers send them, shown by ``keys list``, and used by the app
on that data directory."""

from __future__ import annotations

import pytest
from cli_runner import create_database, run

from scanserve.app import create_app
from scanserve.settings import Settings

BASE = "/scanner/api/v1"


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    create_database(path)
    run(path, "orgs", "create", "Corner Shop")
    return path


def test_a_publishable_key_with_origins(data_dir):
    created = run(
        data_dir,
        *("keys", "create", "--org", "Corner Shop", "--kind", "cpk", "--name", "scan page"),
        *(
            "--allowed-origin",
            "https://Shop.Example:443",
            "--allowed-origin",
            "http://[::1]:8080/",
        ),
        *("--allowed-origin", "https://shop.example"),  # the same origin again: kept once
        *("--allowed-origin", "https://Bücher.example"),  # kept as browsers send it: punycode
    )
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("cpk_")  # only the key, as before
    lines = run(data_dir, "keys", "list", "--org", "Corner Shop").stdout.splitlines()
    assert lines[0].split("\t") == [
        *("KEY_ID", "HINT", "KIND", "STATUS", "EXPIRES", "LAST_USED", "ORIGINS", "NAME")
    ]
    row = lines[1].split("\t")
    assert row[2:4] == ["cpk", "active"] and row[-1] == "scan page"
    assert row[6] == "https://shop.example,http://[::1]:8080,https://xn--bcher-kva.example"
    plain = run(data_dir, "keys", "create", "--org", "Corner Shop", "--kind", "cpk").stdout
    assert plain.startswith("cpk_")
    assert (
        run(data_dir, "keys", "list", "--org", "Corner Shop").stdout.splitlines()[2].split("\t")[6]
        == "-"
    )

    app = create_app(
        Settings(
            data_dir=data_dir,
            queue="immediate",
            validate_responses=True,
            load_entrypoint_plugins=False,
            auth_cache_seconds=0,
        )
    )
    try:
        with app.test_client() as client:
            preflight = client.options(
                f"{BASE}/sessions",
                headers={
                    "Origin": "https://shop.example",
                    "Access-Control-Request-Method": "POST",
                },
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
            made = client.post(
                f"{BASE}/sessions",
                json={},
                headers={"X-API-Key": key, "Origin": "http://[::1]:8080"},
            )
            assert made.status_code == 201
            assert made.headers["access-control-allow-origin"] == "http://[::1]:8080"
            from_idn = client.post(  # what a browser on https://bücher.example sends
                f"{BASE}/sessions",
                json={},
                headers={"X-API-Key": key, "Origin": "https://xn--bcher-kva.example"},
            )
            assert from_idn.status_code == 201, from_idn.text
            refused = client.post(
                f"{BASE}/sessions",
                json={},
                headers={"X-API-Key": key, "Origin": "https://other.example"},
            )
            assert refused.status_code == 403 and refused.json()["key_scope"] == "publishable"
    finally:
        app.services.db.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--allowed-origin", "https://shop.example"), "only publishable keys"),
        (
            ("--kind", "cpk", "--allowed-origin", "https://shop.example/scan/"),
            "more than an origin",
        ),
        (("--kind", "cpk", "--allowed-origin", "shop.example"), "not an http(s) origin"),
        (("--kind", "cpk", "--allowed-origin", "null"), "not an http(s) origin"),
        (("--kind", "cpk", "--allowed-origin", "https://user@shop.example"), "credentials"),
    ],
)
def test_what_is_no_origin_is_refused_and_no_key_made(data_dir, args, message):
    refused = run(data_dir, "keys", "create", "--org", "Corner Shop", *args, check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert message in refused.stderr and "--allowed-origin" in refused.stderr
    assert len(run(data_dir, "keys", "list", "--org", "Corner Shop").stdout.splitlines()) == 1
