"""Data at scale on PostgreSQL: do list, detail, status and capture latencies stay flat as the
tables grow from a thousand sessions to a million (and ten million captures)?

    python bench/scale.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python bench/scale.py --database-url ... --sizes 1000,20000 --rounds 5   # a smoke run

For each size (``--sizes``, default 1,000 / 100,000 / 1,000,000 sessions) the script creates
a scratch database beside the one named (``scanserve_scale_<pid>_<size>``), applies the
server's own migrations to it (so the schema and its indexes are the server's), and fills it
with that many sessions, each with ``--captures-per-session`` captures (default 10), spread
evenly over ``--orgs`` organisations (default 1,000): so organisation 1 holds 1, 100 and
1,000 sessions. Rows are made inside PostgreSQL by ``INSERT ... SELECT`` over
``generate_series`` (no rows cross the wire, which on this machine beat COPY from Python: the
ids are shortuuid-shaped text made from md5, statuses and timestamps spread over months),
then ``VACUUM ANALYZE``.

Then one ``scanserve serve`` per database runs, all at once, and the sizes are measured side
by side over HTTP, round after round (``--rounds``), each round sending every operation
``--per-round`` times to each server in turn, so that the machine's noise falls on every size
alike: the sessions list (first page, and page 40 of 25 or the last), session detail (10
captures), session status, capture detail (sessions and captures picked at random across
organisation 1's history), and ``POST /captures`` (a catalog hit). It prints p50 and p99 in
milliseconds per size, the ratio of the largest size's p50 to the smallest's per operation
(flat is 1.00), and the plans (``EXPLAIN ANALYZE``) of the hot queries on the largest
database. The scratch databases are dropped at the end (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2

SHORT = "translate(substr(md5({seed}) || md5(({seed}) || 'x'), 1, 22), '01', 'xy')"
ORG_SEED, SESSION_SEED, CAPTURE_SEED = "'o' || o", "'s' || i", "'c' || j"
STATUSES = ["COMPLETED", "COMPLETED", "COMPLETED", "NOT_FOUND", "FAILED"]


def _scratch_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str) -> Any:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def seed(conn: Any, start: int, stop: int, per_session: int, orgs: int) -> float:
    """Sessions start+1..stop (and their captures); returns the seconds it took."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO scan_session (id, short_id, organization_id, status, capture_mode,
                extraction_status, metadata, user_agent, device_context, created, modified,
                last_activity, extraction_claimed, extraction_attempts, extraction_failures)
            SELECT i, {SHORT.format(seed=SESSION_SEED)}, (i %% %(orgs)s) + 1,
                CASE WHEN i %% 50 = 0 THEN 'ACTIVE' ELSE 'COMPLETED' END, 'barcode_scan',
                'pending', '{{}}', 'bench', '{{}}',
                now() - make_interval(secs => (%(stop)s - i) * 15),
                now() - make_interval(secs => (%(stop)s - i) * 15),
                now() - make_interval(secs => (%(stop)s - i) * 15),
                false, 0, '[]'
            FROM generate_series(%(start)s + 1, %(stop)s) AS i
            """,
            {"start": start, "stop": stop, "orgs": orgs},
        )
        cur.execute(
            f"""
            INSERT INTO capture (short_id, organization_id, session_id, capture_type,
                raw_value, gtin, status, error_message, metadata, product_id, processed_at,
                created, modified, state_changed_at, attempts)
            SELECT {SHORT.format(seed=CAPTURE_SEED)}, (s %% %(orgs)s) + 1, s, 'BARCODE',
                '4006381333931', '04006381333931',
                (ARRAY{STATUSES!r})[1 + (j %% {len(STATUSES)})], '', '{{}}', 1,
                now() - make_interval(secs => (%(stop)s - s) * 15),
                now() - make_interval(secs => (%(stop)s - s) * 15 - (j %% %(per)s)),
                now() - make_interval(secs => (%(stop)s - s) * 15 - (j %% %(per)s)),
                now() - make_interval(secs => (%(stop)s - s) * 15 - (j %% %(per)s)), 1
            FROM generate_series(%(start)s * %(per)s, %(stop)s * %(per)s - 1) AS j,
                LATERAL (SELECT j / %(per)s + 1 AS s) AS owner
            """,
            {"start": start, "stop": stop, "orgs": orgs, "per": per_session},
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('scan_session', 'id'), %s)", (stop,))
        cur.execute("VACUUM ANALYZE scan_session")
        cur.execute("VACUUM ANALYZE capture")
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def make_key(conn: Any) -> str:
    """A business key of organisation 1 with limits no run reaches, written as the server
    would (only its hash is kept)."""
    from scanserve.identity.keys import generate_key, hash_secret, parse_key

    raw = generate_key("csb")
    parsed = parse_key(raw)
    assert parsed is not None
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO api_key (short_id, organization_id, kind, name, key_hash, hint, "
            "is_active, rate_limit_per_minute, rate_limit_per_day, created) "
            "VALUES (%s, 1, 'csb', 'bench', %s, %s, true, 1000000000, 1000000000, now())",
            ("benchkey" + raw[4:18], hash_secret(raw), parsed.hint),
        )
    return raw


class Server:
    """``scanserve serve`` on one scratch database, on a port of its own."""

    def __init__(self, url: str, data_dir: Path) -> None:
        env = {
            **os.environ,
            "SCANSERVE_DATABASE_URL": url,
            "SCANSERVE_DATA_DIR": str(data_dir),
            "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from scanserve.cli import main; main()",
                "serve",
                "--port",
                "0",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 300
        for line in self.process.stdout:
            found = re.search(r"Base URL:\s*(\S+)", line)
            if found:
                self.base = found.group(1).rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        else:
            raise SystemExit("scanserve serve did not start")
        # keep reading its output (the access log), or a full pipe would stall the server;
        # the last lines are kept to show should it stop
        self.tail: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        while True:  # the base URL is printed once it is bound; answering is what counts
            try:
                if httpx.get(f"{self.base}/health/live", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("scanserve serve did not answer:\n" + "".join(self.tail))
            time.sleep(0.2)

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.tail = [*self.tail[-40:], line]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def targets(conn: Any) -> tuple[list[str], list[str], str]:
    """Organisation 1's session ids, some of its capture ids, and an ACTIVE session of it."""
    with conn.cursor() as cur:
        cur.execute("SELECT short_id FROM scan_session WHERE organization_id = 1")
        sessions = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT short_id FROM capture WHERE organization_id = 1 ORDER BY id DESC LIMIT 2000"
        )
        captures = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT short_id FROM scan_session WHERE organization_id = 1 AND status = 'ACTIVE' "
            "ORDER BY id DESC LIMIT 1"
        )
        (active,) = cur.fetchone()
    return sessions, captures, active


def measure_round(
    http: httpx.Client,
    base: str,
    key: str,
    picks: tuple[list[str], list[str], str],
    times: int,
    rng: random.Random,
    into: dict[str, list[float]],
) -> None:
    sessions, captures, active = picks
    headers = {"X-API-Key": key}
    last = max(1, min(40, len(sessions) // 25))  # page 40, or the organisation's last
    body = {"session_id": active, "capture_type": "BARCODE", "raw_value": "4006381333931"}
    calls = {
        "GET /sessions": lambda: http.get(f"{base}/sessions", headers=headers),
        "GET /sessions?page=last": lambda: http.get(
            f"{base}/sessions", params={"page": last}, headers=headers
        ),
        "GET /sessions/{id}": lambda: http.get(
            f"{base}/sessions/{rng.choice(sessions)}", headers=headers
        ),
        "GET /sessions/{id}/status": lambda: http.get(
            f"{base}/sessions/{rng.choice(sessions)}/status", headers=headers
        ),
        "GET /captures/{id}": lambda: http.get(
            f"{base}/captures/{rng.choice(captures)}", headers=headers
        ),
        "POST /captures": lambda: http.post(f"{base}/captures", json=body, headers=headers),
    }
    for name, call in calls.items():
        for _ in range(times):
            started = time.perf_counter()
            response = call()
            into.setdefault(name, []).append(time.perf_counter() - started)
            if response.status_code >= 300:
                raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")


HOT_QUERIES = {
    "sessions list (page 1)": """
        SELECT id, short_id, status, created FROM scan_session
        WHERE organization_id = 1 ORDER BY created DESC, id DESC LIMIT 25 OFFSET 0""",
    "sessions list (page 40)": """
        SELECT id, short_id, status, created FROM scan_session
        WHERE organization_id = 1 ORDER BY created DESC, id DESC LIMIT 25 OFFSET 975""",
    "sessions list count": "SELECT count(*) FROM scan_session WHERE organization_id = 1",
    "session by short id": """
        SELECT * FROM scan_session WHERE short_id = %(sid)s AND organization_id = 1""",
    "a session's captures": """
        SELECT * FROM capture WHERE session_id = %(id)s ORDER BY created, id""",
    "capture by short id": "SELECT * FROM capture WHERE short_id = %(cid)s",
}


def plans(url: str) -> None:
    conn = _admin(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, short_id FROM scan_session WHERE organization_id = 1 "
            "ORDER BY id DESC LIMIT 1"
        )
        sid_id, sid = cur.fetchone()
        cur.execute("SELECT short_id FROM capture WHERE session_id = %s LIMIT 1", (sid_id,))
        (cid,) = cur.fetchone()
        for name, sql in HOT_QUERIES.items():
            cur.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql,
                {"sid": sid, "id": sid_id, "cid": cid},
            )
            print(f"\n-- {name}")
            for (line,) in cur.fetchall():
                print(f"   {line}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SCANSERVE_BENCH_POSTGRES_URL")
        or os.environ.get("SCANSERVE_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--captures-per-session", type=int, default=10)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=10, help="requests per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or SCANSERVE_BENCH_POSTGRES_URL) is required")
    sizes = [int(size) for size in args.sizes.split(",")]
    admin = _admin(args.database_url)
    names = {size: f"scanserve_scale_{os.getpid()}_{size}" for size in sizes}
    rng = random.Random(args.seed)
    servers: dict[int, Server] = {}
    try:
        from scanserve.storage import migrate
        from scanserve.storage.database import open_database

        keys, picks = {}, {}
        for size in sizes:
            with admin.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{names[size]}"')
            url = _scratch_url(args.database_url, names[size])
            db = open_database(url)
            migrate.upgrade(db)
            db.close()
            conn = _admin(url)
            _organisations_and_product(conn, args.orgs)
            seconds = seed(conn, 0, size, args.captures_per_session, args.orgs)
            print(
                f"seeded {size:,} sessions and {size * args.captures_per_session:,} captures "
                f"in {seconds:.0f} s",
                flush=True,
            )
            keys[size] = make_key(conn)
            picks[size] = targets(conn)
            conn.close()
        with tempfile.TemporaryDirectory() as scratch:
            for size in sizes:
                url = _scratch_url(args.database_url, names[size])
                servers[size] = Server(url, Path(scratch) / str(size))
            timings: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
            with httpx.Client(timeout=60) as http:
                for size in sizes:  # warm: connections, prepared statements, caches
                    measure_round(http, servers[size].base, keys[size], picks[size], 2, rng, {})
                for _ in range(args.rounds):
                    for size in sizes:
                        measure_round(
                            http,
                            servers[size].base,
                            keys[size],
                            picks[size],
                            args.per_round,
                            rng,
                            timings[size],
                        )
        header = "".join(f"{f'{size:,} p50 / p99':>22}" for size in sizes)
        print(f"\n{'operation (ms)':<26}{header}{'p50 ratio':>12}")
        for operation in timings[sizes[0]]:
            cells = []
            for size in sizes:
                p50, p99 = _percentiles(timings[size][operation])
                cells.append(f"{p50:>12.2f} / {p99:>7.2f}")
            ratio = (
                _percentiles(timings[sizes[-1]][operation])[0]
                / _percentiles(timings[sizes[0]][operation])[0]
            )
            print(f"{operation:<26}{''.join(cells)}{ratio:>12.2f}")
        print(f"(p50 ratio: {sizes[-1]:,} sessions against {sizes[0]:,}; flat is 1.00)")
        plans(_scratch_url(args.database_url, names[sizes[-1]]))
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            with admin.cursor() as cur:
                for name in names.values():
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _organisations_and_product(conn: Any, orgs: int) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO organization (id, short_id, name, created) "
            f"SELECT o, {SHORT.format(seed=ORG_SEED)}, 'Org ' || o, now() "
            "FROM generate_series(1, %s) AS o",
            (orgs,),
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('organization', 'id'), %s)", (orgs,))
        cur.execute(
            "INSERT INTO product (id, short_id, gtin, name, brand, description, category, "
            "gpc_brick_code, gpc_brick_label, ingredients, image_urls, source, created, "
            "modified) VALUES (1, 'HighlighterYeXXowProd2', '04006381333931', "
            "'Highlighter Yellow', 'Stabilo', '', '', '', '', '', '[]', 'catalog', now(), "
            "now())"
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('product', 'id'), 1)")


if __name__ == "__main__":
    sys.exit(main())
