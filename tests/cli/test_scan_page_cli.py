"""``scanserve scan-page``: the scanning page's publishable key, given by the operator, kept
in the data directory; and the demo's page key surviving the demo key's replacement."""

from __future__ import annotations

import pytest
from cli_runner import create_database, run, start

from scanserve.identity.keys import generate_key


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    create_database(path)
    run(path, "orgs", "create", "Shop")
    return path


def _key(data_dir, kind: str) -> str:
    return run(data_dir, "keys", "create", "--org", "Shop", "--kind", kind).stdout.strip()


def test_a_publishable_key_is_kept_shown_and_forgotten(data_dir):
    assert "not configured" in run(data_dir, "scan-page").stdout
    banner, _ = start(data_dir)
    assert "Scan page: not configured (scanserve scan-page --key cpk_...)" in banner
    key = _key(data_dir, "cpk")
    done = run(data_dir, "scan-page", "--key", key)
    assert f"uses {key[:10]}... (Shop)" in done.stdout and key not in done.stdout
    kept = data_dir / "scan-page-key"
    assert kept.read_text() == key + "\n" and kept.stat().st_mode & 0o777 == 0o600
    assert f"uses {key[:10]}..." in run(data_dir, "scan-page").stdout
    # the setting wins over the kept key, and the command says so
    other = _key(data_dir, "cpk")
    shown = run(data_dir, "scan-page", env={"SCANSERVE_SCAN_PAGE_KEY": other}).stdout
    assert f"SCANSERVE_SCAN_PAGE_KEY is set ({other[:10]}...)" in shown
    assert "no kept key" in run(data_dir, "scan-page", "--off").stdout
    assert not kept.exists()
    assert "not configured" in run(data_dir, "scan-page").stdout


@pytest.mark.parametrize("kind", ["csb", "csu"])
def test_a_key_with_more_rights_is_never_kept(data_dir, kind):
    key = _key(data_dir, kind)
    refused = run(data_dir, "scan-page", "--key", key, check=False)
    assert refused.returncode == 2 and "publishable key (cpk_...)" in refused.stderr
    assert key not in refused.stderr + refused.stdout
    assert not (data_dir / "scan-page-key").exists()


def test_a_value_that_is_no_key_is_called_malformed_not_a_business_key(data_dir):
    cut = _key(data_dir, "cpk")[:-3]  # a publishable key, its checksum broken
    for value in ("cpk_garbage", cut):
        refused = run(data_dir, "scan-page", "--key", value, check=False)
        assert refused.returncode == 2 and "not a well-formed API key" in refused.stderr
        assert "business or user key" not in refused.stderr
    assert not (data_dir / "scan-page-key").exists()


def test_an_unknown_or_revoked_key_is_refused(data_dir):
    unknown = generate_key("cpk")
    refused = run(data_dir, "scan-page", "--key", unknown, check=False)
    assert refused.returncode == 2 and "no active publishable key" in refused.stderr
    key = _key(data_dir, "cpk")
    key_id = run(data_dir, "keys", "list", "--org", "Shop").stdout.splitlines()[1].split("\t")[0]
    run(data_dir, "keys", "revoke", key_id)
    refused = run(data_dir, "scan-page", "--key", key, check=False)
    assert refused.returncode == 2 and "no active publishable key" in refused.stderr
    assert not (data_dir / "scan-page-key").exists()


def test_the_demo_page_key_is_kept_and_replaced_only_when_it_no_longer_works(data_dir):
    from scanserve.cli.demo import seed_demo, seed_demo_scan_page
    from scanserve.settings import Settings
    from scanserve.storage import models
    from scanserve.storage.database import open_database

    settings = Settings(data_dir=data_dir)
    db = open_database(settings.effective_database_url)
    try:
        seed_demo(settings)
        seed_demo_scan_page(settings)
        first = (data_dir / "scan-page-key").read_text().strip()
        assert first.startswith("cpk_")
        seed_demo_scan_page(settings)
        assert (data_dir / "scan-page-key").read_text().strip() == first
        # a new demo key (the old one lost) leaves the page's key alone
        (data_dir / "demo-key").unlink()
        seed_demo(settings)
        seed_demo_scan_page(settings)
        assert (data_dir / "scan-page-key").read_text().strip() == first
        # revoked: replaced, and the earlier demo page keys revoked
        models.ApiKey.update(is_active=False).where(models.ApiKey.kind == "cpk").execute()
        seed_demo_scan_page(settings)
        second = (data_dir / "scan-page-key").read_text().strip()
        assert second != first
        active = models.ApiKey.select().where(
            models.ApiKey.kind == "cpk",
            models.ApiKey.is_active == True,  # noqa: E712
        )
        assert [k.name for k in active] == ["demo scan page"]
        # the operator's own kept key (another organisation's) is never replaced
        mine = _key(data_dir, "cpk")
        run(data_dir, "scan-page", "--key", mine)
        seed_demo_scan_page(settings)
        assert (data_dir / "scan-page-key").read_text().strip() == mine
    finally:
        db.close()
