"""Fuzz a live ``scanserve serve`` with the schemathesis CLI (not collected by pytest).

    python tests/fuzz/run.py                 # 5 minutes, a random seed (printed)
    python tests/fuzz/run.py --seconds 60 --seed 1234
    tox -e fuzz -- --seconds 600

The server runs on loopback on a scratch data directory: the demo organisation, key and
catalog (``serve --demo``, so captures of the catalog's GTINs complete with a product), a
second organisation whose key is the other peer of ``object_level_authorization``, rate
limits lifted as in the contract suite (a run sends tens of thousands of requests, and a 429
would hide the answer under test), entry-point plugins off, Open Food Facts on and pointed at
a stand-in on loopback (``lookup_service.py``: it gives the catalog's products images, so
submitted sessions get proposals to review). schemathesis then loads the
served ``/openapi.json`` and runs every phase (examples, coverage and fuzzing in one pass, the
stateful phase in a pass and with a share of its own, signOut in a last one) with every check
until the time budget is spent; ``hooks.py`` gives each request what
tests/test_contract.py gives it, ``schemathesis.toml`` holds the per-operation expectations.

The run fails when schemathesis reports anything, and also when the server's log holds a
traceback or an ERROR line (a failure a response does not show, such as one on the queue).
Reports (JUnit, the NDJSON event stream), the hooks' tally of answers (``answers.ndjson``,
printed as a table of cases and status classes per operation) and the server's log are kept
in ``--report-dir``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from lookup_service import lookup_service

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the scratch database the test suite makes
from postgres_support import scratch_database  # noqa: E402

BASE = "/scanner/api/v1"
UNLIMITED = str(10**9)
STATELESS_PHASES = "examples,coverage,fuzzing"
SCANSERVE = [sys.executable, "-c", "from scanserve.cli import main; main()"]
SCHEMATHESIS = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
# A line of the server's log that is a finding by itself. Access-log lines of 5xx answers are
# left to schemathesis, which reports the request that caused them.
LOG_FINDING = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b|[Uu]nhandled exception")


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch_postgres(url: str | None) -> Iterator[str | None]:
    """A database created on the PostgreSQL server ``url`` names, dropped afterwards."""
    if not url:
        yield None
        return
    with scratch_database(url, prefix="scanserve_fuzz") as scratch:
        yield scratch


def server_env(data_dir: Path, database_url: str | None, lookup_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        SCANSERVE_DATA_DIR=str(data_dir),
        SCANSERVE_OPENFOODFACTS_ENABLED="true",
        SCANSERVE_OPENFOODFACTS_BASE_URL=lookup_url,
        SCANSERVE_OPENFOODFACTS_USER_AGENT="scanserve-fuzz/1 (fuzz@example.com)",
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        SCANSERVE_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_RATE_LIMIT_PER_DAY=UNLIMITED,
        SCANSERVE_PUBLISHABLE_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_DAY=UNLIMITED,
        SCANSERVE_FAILED_AUTH_PER_MINUTE=UNLIMITED,
        SCANSERVE_FAILED_AUTH_PER_DAY=UNLIMITED,
    )
    if database_url:
        env["SCANSERVE_DATABASE_URL"] = database_url
    return env


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SCANSERVE, "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{BASE}/health/ready", timeout=5).is_success:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"scanserve serve did not come up:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def second_key(env: dict[str, str]) -> str:
    """A key of another organisation, made with the CLI on the server's database."""
    subprocess.run(
        [*SCANSERVE, "orgs", "create", "Fuzz Peer"],
        env=env,
        check=True,
        text=True,
        capture_output=True,
    )
    out = subprocess.run(
        [*SCANSERVE, "keys", "create", "--org", "Fuzz Peer", "--name", "fuzz"],
        env=env,
        check=True,
        text=True,
        capture_output=True,
    ).stdout
    return re.search(r"csb_\w+", out).group(0)  # type: ignore[union-attr]


def run_and_tally(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run schemathesis, its output passed through; its exit code and a one-line tally
    (operations tested, test cases, API links covered) read from its summary."""
    tested, cases, links, previous = "?", "?", "", ""
    with subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            text = line.strip()
            if text.startswith("Tested:"):
                tested = text.split(":", 1)[1].strip()
            if previous == "Test cases:":
                cases = text
            if text.startswith("API Links:"):
                links = ", API links: " + text.split(":", 1)[1].strip()
            previous = text
    return proc.returncode, f"{tested} operations tested, test cases: {cases}{links}"


STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")


def answers_by_operation(tally: Path) -> str:
    """What each operation was answered, from the hooks' tally (one JSON line per response):
    a table of cases and status classes, all phases together and the stateful phase alone,
    so a reader sees which operations got past refusals."""
    counts: dict[str, dict[str, int]] = {}
    lines = tally.read_text(encoding="utf-8").splitlines() if tally.exists() else []
    for line in lines:
        answer = json.loads(line)
        row = counts.setdefault(answer["operation"], {})
        status_class = f"{answer['status'] // 100}xx"
        row["cases"] = row.get("cases", 0) + 1
        row[status_class] = row.get(status_class, 0) + 1
        if answer["phase"] == "stateful":
            row["stateful"] = row.get("stateful", 0) + 1
            row["stateful " + status_class] = row.get("stateful " + status_class, 0) + 1
    header = ["operation", "cases", *STATUS_CLASSES, "stateful", "stateful 2xx"]
    rows = [
        [name, *(str(row.get(column, 0)) for column in header[1:])]
        for name, row in sorted(counts.items())
    ]
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    table = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        for cells in [header, *rows]
    ]
    never = [name for name, row in sorted(counts.items()) if not row.get("2xx")]
    table.append("never answered 2xx: " + (", ".join(never) or "none"))
    return "\n".join(table)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=300, help="time budget (default 300)")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--workers", default="1", help="schemathesis workers (default 1)")
    parser.add_argument("--report-dir", type=Path, default=Path("fuzz-report"))
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="serve from a scratch database on this PostgreSQL server (default: SQLite)",
    )
    parser.add_argument("extra", nargs="*", help="more `schemathesis run` options, after --")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    report_dir = args.report_dir.resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="scanserve-fuzz-"))
    with scratch_postgres(args.postgres) as database_url, lookup_service() as lookup_url:
        env = server_env(scratch / "data", database_url, lookup_url)
        return fuzz(args, seed, report_dir, scratch, env)


def fuzz(
    args: argparse.Namespace, seed: int, report_dir: Path, scratch: Path, env: dict[str, str]
) -> int:
    port = unused_port()
    base = f"http://127.0.0.1:{port}{BASE}"
    log = report_dir / "server.log"
    tally = report_dir / "answers.ndjson"
    tally.unlink(missing_ok=True)
    print(f"fuzz: seed {seed}, {args.seconds} s, server log {log}", flush=True)
    proc = start_server(env, port, log)
    results = []
    try:
        key = (scratch / "data" / "demo-key").read_text().strip()
        wfc = scratch / "identities.json"
        wfc.write_text(
            json.dumps(
                {
                    "auth": [
                        {"name": "demo", "fixedHeaders": [{"name": "X-API-Key", "value": key}]},
                        {
                            "name": "peer",
                            "fixedHeaders": [{"name": "X-API-Key", "value": second_key(env)}],
                        },
                    ]
                }
            )
        )
        run_env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
            # hooks.py imports the image bodies the contract suite uses (tests/image_bodies.py)
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p
            ),
            "SCANSERVE_FUZZ_KEY": key,
            "SCANSERVE_FUZZ_BASE": base,
            "SCANSERVE_FUZZ_WFC": str(wfc),
            "SCANSERVE_FUZZ_TALLY": str(tally),
        }
        # Most of the budget for every operation but signOut, the rest for signOut alone. The
        # stateful phase has a pass and a share of its own: in one pass schemathesis spends
        # nearly all of it on fuzzing (188 of 230 s, 30 s stateful), too little for scenarios
        # of five steps (a presigned upload, then registerPhoto, then updatePhoto).
        sign_out_seconds = max(10, args.seconds // 20)
        stateful_seconds = (args.seconds - sign_out_seconds) * 2 // 5
        # signOut is the target of no link: no stateful phase for it alone.
        # Stateful first: the demo catalog's products lack images until a scenario applies
        # an accepted images proposal (lookup_service.py), and the fuzzing phase, given real
        # ids by schemathesis's response pool, would otherwise apply them before any scenario
        # reviews one.
        passes = [
            ("schemathesis.toml", stateful_seconds, "stateful", "--exclude"),
            (
                "schemathesis.toml",
                args.seconds - sign_out_seconds - stateful_seconds,
                STATELESS_PHASES,
                "--exclude",
            ),
            ("signout.toml", sign_out_seconds, STATELESS_PHASES, "--include"),
        ]
        for config, seconds, phases, selection in passes:
            command = [
                *SCHEMATHESIS,
                "--config-file",
                str(HERE / config),
                "run",
                f"{base}/openapi.json",
                f"{selection}-operation-id",
                "signOut",
                "--checks",
                "all",
                "--phases",
                phases,
                "--max-time",
                str(seconds),
                "--seed",
                str(seed),
                "--workers",
                str(args.workers),
                "--report",
                "junit,ndjson",
                "--report-dir",
                str(report_dir),
                *args.extra,
            ]
            print("fuzz: schemathesis " + " ".join(command[len(SCHEMATHESIS) :]), flush=True)
            started = time.monotonic()
            code, summary = run_and_tally(command, run_env, scratch)
            results.append((f"{config} {phases}", code, time.monotonic() - started, summary))
    finally:
        stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)
    findings = [
        line for line in log.read_text(errors="replace").splitlines() if LOG_FINDING.search(line)
    ]
    print(f"fuzz: answers by operation, all passes (from {tally}):")
    print(answers_by_operation(tally))
    for config, code, elapsed, summary in results:
        print(f"fuzz: {config}: exit {code}, {summary}, {elapsed:.0f} s, seed {seed}")
    if findings:
        print(f"fuzz: the server's log has {len(findings)} error line(s), first ones:")
        print("\n".join(findings[:20]))
    failed = findings or len(results) < len(passes) or any(result[1] for result in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
