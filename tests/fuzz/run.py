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
tests/contract/test_contract.py gives it, ``schemathesis.toml`` holds the per-operation expectations.

The run fails when schemathesis reports anything, when the server's log holds a traceback or
an ERROR line (a failure a response does not show, such as one on the queue, or an extractor
or provider raising anything but ProviderError: those are logged at ERROR with their
traceback), and when an operation of :data:`MUST_REACH_2XX` never got a 2xx answer.
``--plant-bug`` serves with the built-in lookup provider and extractor raising TypeError, to
show that such a run fails.
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from lookup_service import lookup_service

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "support"))  # the scratch database the test suite makes
from loopback import served_port  # noqa: E402
from postgres_support import scratch_database  # noqa: E402

BASE = "/scanner/api/v1"
UNLIMITED = str(10**9)
STATELESS_PHASES = "examples,coverage,fuzzing"
SCANSERVE = [sys.executable, "-c", "from scanserve.cli import main; main()"]
SCHEMATHESIS = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
# A line of the server's log that is a finding by itself. Access-log lines of 5xx answers are
# left to schemathesis, which reports the request that caused them.
LOG_FINDING = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b|[Uu]nhandled exception")
# Operations that even a run of a minute on a loaded two-core machine takes past refusals to
# a 2xx, needing nothing made before them: one that never gets there means the run stopped
# testing it (a hook, the keys or the server broke). Left out, as reached only by some seeds
# or in longer runs (a minute gave 111 cases in all): everything that needs an object made
# first (sessions by id, captures, photos, uploads, proposals, redirects), and the health
# probes, which a short run tries with a negative case only.
MUST_REACH_2XX = (
    "createSession",
    "listSessions",
    "resolveUrl",
    "getFreshnessThresholds",
    "listPlugins",
    "signIn",
    "signOut",
)
# Runs shorter than this many seconds have no stateful pass (see fuzz()).
STATEFUL_AFTER = 120
# ``--plant-bug``: the server with a bug planted in the built-in lookup provider (every
# capture of a GTIN outside the catalog asks it) and the lookup-data extractor (every
# submitted session with a catalog product runs it).
PLANTED = (
    "import scanserve.plugins.builtin.openfoodfacts as off, "
    "scanserve.plugins.builtin.lookup_extractor as lx\n"
    "def planted(*args, **kwargs): raise TypeError('planted by tests/fuzz/run.py --plant-bug')\n"
    "off.OpenFoodFactsProvider.lookup = planted\n"
    "lx.LookupDataExtractor.extract = planted\n"
    "from scanserve.cli import main; main()"
)


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


def start_server(
    env: dict[str, str], log: Path, plant_bug: bool
) -> tuple[subprocess.Popen[bytes], int]:
    """``scanserve serve --demo`` on a port the kernel picks (read from its banner), once it
    answers ready; its port."""
    command = [sys.executable, "-c", PLANTED] if plant_bug else SCANSERVE
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--demo", "--port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port = served_port(proc, log)
    except (RuntimeError, TimeoutError) as error:
        proc.kill()
        sys.exit(f"scanserve serve did not start ({error}):\n{log.read_text(errors='replace')}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{BASE}/health/ready", timeout=5).is_success:
                return proc, port
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"scanserve serve did not come up:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def warm_up(base: str, key: str) -> None:
    """One pass through what a short run's generated requests rarely reach, so that every
    run, a minute long or not, has the capture pipeline's lookups and the extractors run at
    least once (their failures land in the log, which is read for findings): a session with
    a capture of a catalog GTIN and one of a GTIN the catalog lacks (Open Food Facts, the
    stand-in, is asked), submitted, until its extraction is over."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        session = http.post("/sessions", json={"metadata": {"fuzz": "warm-up"}})
        session.raise_for_status()
        session_id = session.json()["id"]
        for gtin in ("4006381333931", "5901234123457"):
            http.post(
                "/captures",
                json={"session_id": session_id, "capture_type": "BARCODE", "raw_value": gtin},
            ).raise_for_status()
        http.post(f"/sessions/{session_id}/submit").raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = http.get(f"/sessions/{session_id}/status").json()
            if status.get("extraction_status") not in ("pending", "processing"):
                print(f"fuzz: warm-up session {session_id}: {status['extraction_status']}")
                return
            time.sleep(0.2)
        print(f"fuzz: warm-up session {session_id} still extracting after 60 s", flush=True)


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


def tally_counts(tally: Path) -> dict[str, dict[str, int]]:
    """Per operation, from the hooks' tally (one JSON line per response): cases, and answers
    per status class, all phases together and the stateful phase alone."""
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
    return counts


def never_2xx(counts: dict[str, dict[str, int]], required: tuple[str, ...]) -> list[str]:
    """The operations of ``required`` that no answer of the run took to a 2xx."""
    return [name for name in required if not counts.get(name, {}).get("2xx")]


def answers_by_operation(counts: dict[str, dict[str, int]]) -> str:
    """A table of cases and status classes per operation, so a reader sees which operations
    got past refusals."""
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
    parser.add_argument(
        "--plant-bug",
        action="store_true",
        help="serve with a TypeError planted in the built-in lookup provider and extractor "
        "(the run must then fail: a check of the checks)",
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
    log = report_dir / "server.log"
    tally = report_dir / "answers.ndjson"
    tally.unlink(missing_ok=True)
    print(f"fuzz: seed {seed}, {args.seconds} s, server log {log}", flush=True)
    proc, port = start_server(env, log, args.plant_bug)
    base = f"http://127.0.0.1:{port}{BASE}"
    results = []
    try:
        key = (scratch / "data" / "demo-key").read_text().strip()
        warm_up(base, key)
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
            # hooks.py imports the image bodies the contract suite uses (tests/support/image_bodies.py)
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(HERE.parent / "support"), os.environ.get("PYTHONPATH")) if p
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
        if args.seconds < STATEFUL_AFTER:
            # In a short run the stateful pass's share is spent before its first scenario
            # (60 s: schemathesis took its 20 s to load the schema and infer links, and
            # generated no case), so the stateless pass takes it.
            stateful_seconds = 0
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
        passes = [each for each in passes if each[1] > 0]
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
    counts = tally_counts(tally)
    print(f"fuzz: answers by operation, all passes (from {tally}):")
    print(answers_by_operation(counts))
    for config, code, elapsed, summary in results:
        print(f"fuzz: {config}: exit {code}, {summary}, {elapsed:.0f} s, seed {seed}")
    if findings:
        print(f"fuzz: the server's log has {len(findings)} error line(s), first ones:")
        print("\n".join(findings[:20]))
    missing = never_2xx(counts, MUST_REACH_2XX)
    if missing:
        print(f"fuzz: FAILED: never answered 2xx, though every run must reach it: {missing}")
    failed = (
        findings or missing or len(results) < len(passes) or any(result[1] for result in results)
    )
    print(f"fuzz: {'FAILED' if failed else 'passed'} (seed {seed})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
