"""``scanserve sandbox`` as a command: its banner, its seed, and what it leaves behind.
What it serves is in tests/journeys/test_sandbox.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cli_runner import run
from loopback import refused_port

from scanserve.identity.keys import parse_key
from scanserve.identity.tokens import is_well_formed
from scanserve.sandbox import running_sandbox
from scanserve.testing import wait_for

STABLE = ("Clock:", "Business key:", "Publishable key:", "Access token:")


def _stable(banner: list[str]) -> list[str]:
    return [line for line in banner if line.startswith(STABLE)]


def test_one_seed_prints_the_same_credentials_and_another_seed_others(tmp_path):
    banners = []
    for seed in (5, 5, 6):
        with (
            open(tmp_path / f"{len(banners)}.log", "w") as log,
            running_sandbox(seed, log=log) as s,
        ):
            banners.append((s, _stable(s.banner)))
    (first, first_lines), (_, again_lines), (other, _) = banners
    assert first_lines == again_lines and len(first_lines) == 4
    assert first_lines[0] == "Clock: 2026-01-01T09:00:00Z (moves only when told)"
    assert {other.business_key, other.publishable_key, other.access_token}.isdisjoint(
        {first.business_key, first.publishable_key, first.access_token}
    )
    # well-formed, checksums and all, as the server's own
    assert parse_key(first.business_key).kind == "csb"
    assert parse_key(first.publishable_key).kind == "cpk"
    assert is_well_formed(first.access_token)


def test_it_uses_no_database_of_the_environment_and_leaves_no_file(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    data = tmp_path / "data"
    with refused_port() as port:
        env = {
            # a database that does not answer, and a data directory: the sandbox uses neither
            "SCANSERVE_DATABASE_URL": f"postgresql://scanserve@127.0.0.1:{port}/nothing",
            "SCANSERVE_DATA_DIR": str(data),
            "SCANSERVE_QUEUE": "redis",
            "TMPDIR": str(scratch),
        }
        with open(tmp_path / "log", "w") as log, running_sandbox(3, env=env, log=log) as server:
            created = httpx.post(
                f"{server.base_url}/sessions", json={}, headers={"X-API-Key": server.business_key}
            )
            assert created.status_code == 201, created.text
            assert next(p.name for p in scratch.iterdir()).startswith("scanserve-sandbox-")
    assert not data.exists()
    assert list(scratch.iterdir()) == []  # its scratch directory went with it


@pytest.mark.parametrize("args", [("--seed", "-1"), ("--seed", "x"), ("--port", "x")])
def test_bad_options_are_usage_errors(tmp_path, args):
    result = run(tmp_path, "sandbox", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_the_help_says_what_it_is(tmp_path):
    result = run(tmp_path, "sandbox", "--help")
    assert "--seed" in result.stdout and "/_sandbox" in result.stdout
    assert "sandbox" in run(tmp_path, "--help").stdout
    assert not Path(tmp_path / "scanserve.db").exists()


def test_real_time_lets_the_clock_run_from_its_start(tmp_path):
    with open(tmp_path / "log", "w") as log, running_sandbox(4, real_time=True, log=log) as server:
        assert any(line.endswith("(running)") for line in server.banner)
        first = server.state()
        assert first["real_time"] is True
        assert first["now"].startswith("2026-01-01T09:00:")

        # it runs: a later reading is later (polled: no sleep, a generous deadline)
        def instant(state: dict) -> datetime:
            return datetime.fromisoformat(state["now"].replace("Z", "+00:00"))

        later = wait_for(
            lambda: instant(state := server.state()) > instant(first) and state,
            30,
            "the clock to move",
        )
        assert later["now"].startswith("2026-01-01T09:0")
        server.advance_clock(3600)
        assert server.state()["now"].startswith("2026-01-01T10:0")
