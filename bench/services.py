"""The work below the framework, timed alone: each bench read endpoint's service call (and
the authentication and rate-limit steps every request takes) called directly in a loop on
the data ``bench/run.py`` seeds, and the pipeline's work on one catalog-hit capture (what
the embedded queue's capture lanes do for each capture ``POST /captures`` accepts, in the
same process: every CPU microsecond of it is taken from accepting requests). Figures, never
pass/fail.

    python bench/services.py                  # every step
    python bench/services.py freshness --prof # one step, then cProfile by tottime

CPU time (``time.process_time``: worker threads included, other processes not), best of
five rounds, so that figures taken a minute apart on a busy machine can be compared; the
request-path figures with the framework are ``bench/run.py``'s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from run import GTIN, seed

from scanserve.app import create_app
from scanserve.domain import captures, freshness, gs1, pipeline, sessions
from scanserve.domain.metadata import initial
from scanserve.domain.services import Services
from scanserve.http import presenters
from scanserve.identity import auth, tokens
from scanserve.identity.keys import hash_secret
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.models import new_short_id

# Enough PENDING captures for best_of's warm-up, rounds and a --prof run of 2,000 calls.
PIPELINE_CAPTURES = 2000 // 10 + 5 * 2000 + 2000


def pending_captures(
    services: Services, session_short_id: str, n: int
) -> Iterator[tuple[str, gs1.Interpretation]]:
    """``n`` new catalog-hit captures, PENDING as ``captures.create`` leaves them, each with
    the reading of its value that the embedded queue hands to its lanes."""
    session = models.ScanSession.get(models.ScanSession.short_id == session_short_id)
    C = models.Capture
    made = []
    with services.db.atomic():
        for _ in range(n):
            interpretation = gs1.interpret(GTIN)
            short_id, now = new_short_id(), utcnow()
            captures._INSERT.run(
                short_id=short_id,
                organization=session.organization_id,
                session=session.id,
                capture_type="BARCODE",
                raw_value=GTIN,
                gtin=captures.server_gtin(interpretation, ""),
                gs1_dl_data=C.gs1_dl_data.db_value(interpretation.ai_data),
                metadata=C.metadata.db_value(initial(None)),
                now=now,
            )
            made.append((short_id, interpretation))
    return iter(made)


def steps(data_dir: Path) -> dict[str, tuple[Callable[[], Any], int]]:
    """name -> (one call, how many rows it reads per call: 0 when not a per-row figure)."""
    fx = seed(data_dir)
    app = create_app(fx.settings)
    services, settings = app.services, app.services.settings
    user = models.User.create(email="bench@example.com")
    models.Membership.create(user=user, organization=fx.org_id)
    token = tokens.generate_token()
    models.AccessToken.create(token_hash=hash_secret(token), user=user, hint="bench")
    key_creds, token_creds = auth.Credentials(api_key=fx.key), auth.Credentials(bearer=token)
    caller = auth.authenticate(key_creds, "127.0.0.1", settings)
    pending: list[Iterator[tuple[str, gs1.Interpretation]]] = []

    def process_one() -> None:
        if not pending:  # made at the first (warm-up) call, only when the step runs
            pending.append(pending_captures(services, fx.session20, PIPELINE_CAPTURES))
        pipeline.process_capture(services, *next(pending[0]))

    return {
        "session (20 captures)": (
            lambda: presenters.session_detail_view(sessions.detail(caller, fx.session20)),
            0,
        ),
        "session status": (
            lambda: presenters.session_status_view(*sessions.status_summary(caller, fx.session20)),
            0,
        ),
        "capture": (lambda: presenters.capture_view(captures.get_row(caller, fx.capture)), 0),
        "freshness": (lambda: freshness.thresholds(services, caller, "0" + GTIN), 0),
        "session (1,000 captures)": (
            lambda: presenters.session_detail_view(sessions.detail(caller, fx.session1000)),
            1000,
        ),
        "authenticate (API key, uncached)": (
            lambda: auth.authenticate(key_creds, "127.0.0.1", settings),
            0,
        ),
        "authenticate (access token)": (
            lambda: auth.authenticate(token_creds, "127.0.0.1", settings),
            0,
        ),
        "rate limit hit": (lambda: services.limiter.hit("key:bench", 10**9, 10**9), 0),
        "pipeline, one catalog hit": (process_one, 0),
    }


def best_of(call: Callable[[], Any], n: int, rounds: int = 5) -> float:
    """Microseconds of CPU per call, the best of ``rounds`` rounds of ``n`` calls."""
    for _ in range(max(1, n // 10)):
        call()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            call()
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", help="a step's name, or a part of it")
    parser.add_argument("--prof", action="store_true", help="cProfile the step, by tottime")
    args = parser.parse_args()
    os.environ["SCANSERVE_LOAD_ENTRYPOINT_PLUGINS"] = "false"
    with tempfile.TemporaryDirectory() as tmp:
        chosen = {
            name: step
            for name, step in steps(Path(tmp) / "data").items()
            if not args.step or args.step in name
        }
        for name, (call, rows) in chosen.items():
            n = 20 if rows else 2000
            us = best_of(call, n)
            per_row = f"  ({us / rows:.2f} us per capture)" if rows else ""
            print(f"{name:34} {us:9.1f} us{per_row}")
            if args.prof:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(n):
                    call()
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
