"""bench/scale.py kept from rotting: a small run of it on PostgreSQL seeds its scratch
databases, measures every operation on each size side by side, shows the hot queries' plans
on the composite index of migration 012, and drops what it made."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"
OPERATIONS = (
    "GET /sessions",
    "GET /sessions?page=last",
    "GET /sessions/{id}",
    "GET /sessions/{id}/status",
    "GET /captures/{id}",
    "POST /captures",
)


def _scale_databases(url: str) -> set[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'scanserve_scale_%'")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_a_small_scale_run(postgres_url, tmp_path):
    before = _scale_databases(postgres_url)
    env = {**os.environ, "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false"}
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--database-url",
            postgres_url,
            "--sizes",
            "200,2000",
            "--orgs",
            "20",
            "--rounds",
            "2",
            "--per-round",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "seeded 200 sessions and 2,000 captures" in out
    assert "seeded 2,000 sessions and 20,000 captures" in out
    for operation in OPERATIONS:
        row = re.search(
            rf"^{re.escape(operation)}\s+([\d.]+) /\s+([\d.]+)\s+([\d.]+) /", out, re.M
        )
        assert row, f"{operation} not measured:\n{out}"
        assert float(row.group(1)) > 0
    # the organisation's sessions are listed from migration 012's index
    plans = out[out.index("-- sessions list (page 1)") :]
    assert "scansession_organization_id_created_id" in plans.split("-- sessions list count")[0]
    assert _scale_databases(postgres_url) == before
