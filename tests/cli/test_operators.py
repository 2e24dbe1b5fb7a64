"""Running scanserve for real: the lookup cache, health probes, the root, the 401 for no
credential, and logs (format, levels, no secrets)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cli_runner import run
from loopback import refused_port

from scanserve.app import create_app
from scanserve.domain import catalog_import as catalog
from scanserve.infra.logconfig import JsonFormatter, RedactSecrets, TextFormatter
from scanserve.plugins.providers import ProductRecord, ProviderError
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import FakeLookupProvider, issue_key

BASE = "/scanner/api/v1"
GTIN = "09506000134352"
TTL = 3600


@pytest.fixture
def scanserve_settings(scanserve_settings):
    return scanserve_settings.model_copy(update={"lookup_cache_ttl_seconds": TTL})


@pytest.fixture
def outside(scanserve_plugins):
    """An outside lookup provider, registered as a plugin; tests change its answer."""
    provider = FakeLookupProvider(
        {GTIN: ProductRecord(gtin=GTIN, name="Oat drink")}, name="upstream", external=True
    )
    scanserve_plugins.append(provider)
    return provider


def scan(client, key, raw_value=GTIN):
    session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
    body = {"session_id": session, "capture_type": "BARCODE", "raw_value": raw_value}
    created = client.post(f"{BASE}/captures", json=body, headers=key.headers)
    assert created.status_code == 201, created.text
    return client.get(f"{BASE}/captures/{created.json()['id']}", headers=key.headers).json()


def product(gtin=GTIN):
    return models.Product.get(models.Product.gtin == gtin)


def age(gtin, seconds):
    models.Product.update(fetched_at=utcnow() - timedelta(seconds=seconds)).where(
        models.Product.gtin == gtin
    ).execute()


# --- products found by an outside provider --------------------------------------------------


def test_a_provider_answer_is_cached_with_its_source_and_refreshed_after_the_ttl(
    outside, scanserve_client, api_key
):
    first = scan(scanserve_client, api_key)
    assert (first["status"], first["product_name"]) == ("COMPLETED", "Oat drink")
    stored = product()
    assert stored.source == "upstream" and stored.fetched_at is not None
    fetched = stored.fetched_at

    outside.products[GTIN] = ProductRecord(gtin=GTIN, name="Oat drink barista")
    assert scan(scanserve_client, api_key)["product_name"] == "Oat drink"  # within the TTL
    assert outside.asked == [GTIN]

    age(GTIN, TTL + 1)  # the copy is now older than the TTL
    renamed = scan(scanserve_client, api_key)
    assert renamed["product_name"] == "Oat drink barista"
    assert renamed["product_short_id"] == first["product_short_id"]  # the same product
    assert outside.asked == [GTIN, GTIN]
    assert product().fetched_at >= fetched  # fetched again just now


def test_a_stale_copy_is_used_when_the_provider_cannot_answer(outside, scanserve_client, api_key):
    scan(scanserve_client, api_key)
    age(GTIN, TTL + 1)
    outside.products[GTIN] = ProviderError("upstream is down")
    kept = scan(scanserve_client, api_key)
    assert (kept["status"], kept["product_name"]) == ("COMPLETED", "Oat drink")
    assert len(outside.asked) == 2  # it was asked, and failed


def test_imported_products_are_never_refreshed_or_overwritten(
    outside, scanserve_client, api_key, tmp_path
):
    assert scan(scanserve_client, api_key)["product_name"] == "Oat drink"  # cached
    path = tmp_path / "ours.csv"
    path.write_text(f"gtin,name\n{GTIN},Our oat drink\n")
    catalog.import_file(path)  # the operator's row replaces the cached copy
    assert (product().source, product().fetched_at) == ("catalog", None)
    outside.products[GTIN] = ProductRecord(gtin=GTIN, name="Oat drink barista")
    assert scan(scanserve_client, api_key)["product_name"] == "Our oat drink"
    assert outside.asked == [GTIN]  # only for the first scan


def test_a_removed_product_leaves_its_captures_and_is_asked_for_again(
    outside, scanserve_client, api_key
):
    first = scan(scanserve_client, api_key)
    product().delete_instance()  # what 'scanserve catalog remove' does
    kept = scanserve_client.get(f"{BASE}/captures/{first['id']}", headers=api_key.headers)
    assert kept.json()["status"] == "COMPLETED" and kept.json()["product_name"] is None
    assert scan(scanserve_client, api_key)["product_name"] == "Oat drink"
    assert outside.asked == [GTIN, GTIN]


# --- health and the root ------------------------------------------------------------------


def test_liveness_and_readiness_need_no_credential(scanserve_client):
    live = scanserve_client.get(f"{BASE}/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok", "checks": {}}
    ready = scanserve_client.get(f"{BASE}/health/ready")
    assert ready.status_code == 200
    checks = dict.fromkeys(("database", "queue", "objects", "limits", "disk"), "ok")
    assert ready.json() == {"status": "ok", "checks": checks}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections for the test's length."""
    with refused_port() as port:
        yield port


def test_readiness_reports_a_queue_that_does_not_answer_without_leaving_rotation(
    scanserve_settings, closed_port
):
    """Writes are still accepted while the queue is down (the relay holds their messages), and
    every server shares the one queue: readiness names it degraded and stays 200."""
    settings = scanserve_settings.model_copy(
        update={"queue": "redis", "redis_url": f"redis://127.0.0.1:{closed_port}/0"}
    )
    app = create_app(settings)
    try:
        with app.test_client() as client:
            ready = client.get(f"{BASE}/health/ready")
            live = client.get(f"{BASE}/health/live")
    finally:
        app.services.db.close()
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"].startswith("degraded: ")
    assert "ratelimit-limit" in ready.headers
    assert live.status_code == 200  # alive all the same


@pytest.mark.parametrize("path", ["/", BASE, f"{BASE}/"])
def test_the_root_and_the_base_url_point_to_the_reference(scanserve_client, path):
    answer = scanserve_client.get(path, follow_redirects=False)
    assert answer.status_code == 200
    links = answer.json()
    assert links["reference"] == f"{BASE}/ui/" and links["openapi"] == f"{BASE}/openapi.json"
    assert links["health"] == {"live": f"{BASE}/health/live", "ready": f"{BASE}/health/ready"}
    for link in (links["reference"], links["openapi"], *links["health"].values()):
        assert scanserve_client.get(link).status_code == 200, link
    browser = scanserve_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 307 and browser.headers["location"] == f"{BASE}/ui/"


def test_no_credential_names_the_x_api_key_header(scanserve_client):
    answer = scanserve_client.get(f"{BASE}/sessions")
    assert answer.status_code == 401
    assert "X-API-Key header" in answer.json()["detail"]


# --- logs -----------------------------------------------------------------------------------


def record(message, *args, level=logging.INFO, name="scanserve.test"):
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_text_and_json_lines_carry_time_level_and_logger():
    text = TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(
        record("hello %s", "world", level=logging.WARNING)
    )
    stamp, level, rest = text.split(" ", 2)
    assert stamp.endswith("Z") and "T" in stamp
    assert (level, rest) == ("WARNING", "scanserve.test: hello world")
    line = json.loads(JsonFormatter().format(record("hello %s", "world")))
    assert set(line) == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == (
        "INFO",
        "scanserve.test",
        "hello world",
    )


def test_api_keys_are_redacted_from_any_line(api_key):
    entry = record("GET /sessions?api_key=%s 200", api_key.key)
    assert RedactSecrets().filter(entry)
    assert api_key.key not in entry.getMessage()
    assert entry.getMessage() == f"GET /sessions?api_key={api_key.key[:3]}_[redacted] 200"


def test_no_line_of_ours_carries_the_key(outside, scanserve_client, api_key, caplog):
    outside.products["05000112637922"] = ProviderError("upstream is down")
    caplog.set_level(logging.DEBUG)
    scan(scanserve_client, api_key)
    scan(scanserve_client, api_key, "05000112637922")  # a provider failure is logged
    scanserve_client.get(f"{BASE}/sessions", headers={"X-API-Key": api_key.key + "x"})
    assert caplog.records
    for entry in caplog.records:
        assert api_key.key not in entry.getMessage(), entry.getMessage()
        assert api_key.key[4:36] not in entry.getMessage(), entry.getMessage()


def test_provider_failures_and_retries_are_logged_at_their_level(
    outside, scanserve_client, api_key, caplog
):
    outside.products["05000112637922"] = ProviderError("upstream is down")
    caplog.set_level(logging.DEBUG)
    failed = scan(scanserve_client, api_key, "05000112637922")
    assert failed["status"] == "FAILED"
    pipeline = [r for r in caplog.records if r.name == "scanserve.pipeline"]
    warning = [r for r in pipeline if r.levelno >= logging.WARNING]
    assert [r.levelname for r in warning] == ["WARNING"]
    assert "upstream failed for 05000112637922" in warning[0].getMessage()
    # and the one line a capture, at INFO, with its outcome
    outcome = [r for r in pipeline if r.levelno == logging.INFO]
    assert [r.getMessage() for r in outcome] == [
        f"capture {failed['id']} FAILED: every lookup provider failed: upstream: upstream is down"
    ]
    assert outcome[0].fields == {"capture_id": failed["id"], "outcome": "FAILED"}
    retried = scanserve_client.post(
        f"{BASE}/captures/{failed['id']}/retry", headers=api_key.headers
    )
    assert retried.status_code == 200
    info = [r for r in caplog.records if r.name == "scanserve.captures"]
    assert [(r.levelname, r.getMessage()) for r in info] == [
        ("INFO", f"capture {failed['id']} retried from FAILED")
    ]


@pytest.mark.postgres
def test_the_lookup_cache_on_postgres(postgres_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        lookup_cache_ttl_seconds=TTL,
    )
    provider = FakeLookupProvider(
        {GTIN: ProductRecord(gtin=GTIN, name="Oat drink")}, name="upstream", external=True
    )
    app = create_app(settings, extra_plugins=[provider])
    try:
        key = issue_key()
        with app.test_client() as client:
            assert scan(client, key)["product_name"] == "Oat drink"
            provider.products[GTIN] = ProductRecord(gtin=GTIN, name="Oat drink barista")
            age(GTIN, TTL + 1)
            assert scan(client, key)["product_name"] == "Oat drink barista"
            age(GTIN, TTL + 1)
            provider.products[GTIN] = ProviderError("upstream is down")
            assert scan(client, key)["product_name"] == "Oat drink barista"
        assert product().source == "upstream" and len(provider.asked) == 3
    finally:
        app.services.db.close()


@pytest.mark.postgres
def test_a_command_refuses_an_empty_postgres_database(postgres_url, tmp_path):
    refused = run(
        tmp_path, "orgs", "list", check=False, env={"SCANSERVE_DATABASE_URL": postgres_url}
    )
    assert refused.returncode == 1 and "the database has no scanserve tables" in refused.stderr
    env = {"SCANSERVE_DATABASE_URL": postgres_url}
    assert run(tmp_path, "db", "upgrade", env=env).returncode == 0
    assert run(tmp_path, "orgs", "create", "Shop", env=env).returncode == 0


def test_a_refused_qr_url_is_logged_at_info_without_its_query(scanserve_client, api_key, caplog):
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/label?token=s3cr3t#frag"
    answer = scanserve_client.post(
        f"{BASE}/resolve-url", json={"url": url}, headers=api_key.headers
    )
    assert answer.status_code == 200 and answer.json()["error_message"]
    refused = [r for r in caplog.records if r.name.endswith(".qr")]
    assert [r.levelname for r in refused] == ["INFO"]
    assert "'http://127.0.0.1:9/label' refused" in refused[0].getMessage()
    assert all("s3cr3t" not in r.getMessage() for r in caplog.records)
