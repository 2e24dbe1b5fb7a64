"""``scanserve conformance``: hold any server of the Scanner API to the contract, from outside.

Two parts, against the URL given (the base path's URL, ``https://host/scanner/api/v1``):

1. The contract's journey (:mod:`scanserve.cli.journey`): a client's whole life with the API,
   every answer judged against the contract and what it says in prose.
2. A schemathesis run driven by the contract the server serves (``URL/openapi.json``), else
   ``--spec`` or the bundled one, through its Python API: a pass of the stateful phase (the
   spec's links: scenarios from a new session through captures, photos and proposals) with
   two fifths of ``--seconds``, then the examples, coverage and fuzzing phases with the rest,
   every check on. With ``--key2``, schemathesis also replays reads of one organisation's
   objects with the other's key (``object_level_authorization``).

It prints a table per operation (checked, passed, failed, first failure) for each part,
writes ``--junit-xml`` (a test suite per part, a test case per operation) and exits 0 only if
everything passed. schemathesis comes with the ``conformance`` extra
(``pip install 'scanserve[conformance]'``); without it the command says so.
"""

from __future__ import annotations

import collections
import json
import re
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

# Checks whose verdict on a schema-valid request depends on state the generator cannot know,
# as tests/contract/test_contract.py and the live fuzz run configure them (docs/testing.md).
_NEEDS_PRODUCT = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
_REFUSED_BY_RULE = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
_UPLOADS = [*_REFUSED_BY_RULE, "413", "415"]
_OPERATIONS: list[dict[str, Any]] = [
    {
        # a capture with no product yet has nothing to write to: 400 by contract
        "include-operation-id": ["applyCaptureProposals", "saveCaptureRedirect"],
        "checks": {"positive_data_acceptance": {"expected-statuses": _NEEDS_PRODUCT}},
    },
    {
        # a photo key never uploaded, a gallery order that misses photos: 422 by rule
        "include-operation-id": ["registerPhoto", "reorderPhotos"],
        "checks": {"positive_data_acceptance": {"expected-statuses": _REFUSED_BY_RULE}},
    },
    {
        # the file's bytes are judged too (415, 413, 422), and schemathesis cannot judge a form
        # holding bytes, so a link that writes into one relabels a valid upload negative
        "include-operation-id": ["uploadCaptureImage", "receiveUpload"],
        "checks": {
            "positive_data_acceptance": {"expected-statuses": _UPLOADS},
            "negative_data_rejection": {"enabled": False},
        },
    },
]
_VALID_IDEMPOTENCY_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")


# Answers of the schemathesis part by status, counted as they come (for the rate-limit hint).
_STATUSES: collections.Counter[int] = collections.Counter()


def _register_hooks() -> None:
    """Each request with a valid Idempotency-Key gets a fresh one: generated keys repeat
    across different bodies, and a key reused with another body is a 422 by design. The
    header is still sent; a key the contract forbids is left as it is. Images for the image
    media types, so uploads get past the byte check. Every answer's status is counted in
    :data:`_STATUSES`."""
    import io

    import schemathesis
    from hypothesis import strategies as st
    from PIL import Image

    run = secrets.token_hex(4)
    counter = iter(range(1, 1 << 62))

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        for name, value in list((case.headers or {}).items()):
            valid = isinstance(value, str) and _VALID_IDEMPOTENCY_KEY.fullmatch(value)
            if name.lower() == "idempotency-key" and valid:
                case.headers[name] = f"conformance-{run}-{next(counter)}"

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        _STATUSES[response.status_code] += 1

    for media_type, fmt in (("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")):
        out = io.BytesIO()
        Image.new("RGB", (40, 30), "olive").save(out, format=fmt)
        schemathesis.openapi.media_type(media_type, st.just(out.getvalue()))


def _config(
    base: str,
    key: str,
    key2: str | None,
    *,
    seconds: int,
    phases: list[str],
    scratch: Path,
    seed: int,
) -> Any:
    from schemathesis.config import SchemathesisConfig

    auth: dict[str, Any] = {"openapi": {"ApiKeyAuth": {"api_key": key}}}
    if key2:
        identities = scratch / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "auth": [
                        {"name": "first", "fixedHeaders": [{"name": "X-API-Key", "value": key}]},
                        {"name": "second", "fixedHeaders": [{"name": "X-API-Key", "value": key2}]},
                    ]
                }
            )
        )
        auth = {"wfc": {"path": str(identities), "peers": ["first", "second"]}}
    every = ("examples", "coverage", "fuzzing", "stateful")
    return SchemathesisConfig.from_dict(
        {
            "base-url": base,
            "max-time": seconds,
            "seed": seed,
            # nothing left behind in the directory it runs in, nothing carried between runs
            "cache": {"enabled": False},
            "generation": {"database": "none", "allow-x00": False},
            "checks": {"enabled": True},
            "phases": {phase: {"enabled": phase in phases} for phase in every},
            "auth": auth,
            # signOut needs a browser session of its own for each request: the journey signs
            # in and out instead
            "operations": [*_OPERATIONS, {"include-operation-id": "signOut", "enabled": False}],
        }
    )


def _load_schema(base: str, spec: Path | None, config: Any) -> tuple[Any, str]:
    import schemathesis

    if spec is not None:
        return schemathesis.openapi.from_path(spec, config=config), str(spec)
    try:
        return schemathesis.openapi.from_url(f"{base}/openapi.json", config=config), "served"
    except Exception:  # the server serves no contract: the bundled one
        from importlib.resources import files

        bundled: Any = files("scanserve.spec") / "openapi.yaml"
        return schemathesis.openapi.from_path(str(bundled), config=config), "bundled"


def _schemathesis(
    base: str, key: str, key2: str | None, *, seconds: int, spec: Path | None, seed: int
) -> Any:
    """The schemathesis part, tallied per operation."""
    from hypothesis.configuration import set_hypothesis_home_dir
    from schemathesis import engine
    from schemathesis.engine import Status, events

    from scanserve.http.contract_check import Tally

    _register_hooks()
    tally = Tally()
    stateful = seconds * 2 // 5
    passes = [(["stateful"], stateful), (["examples", "coverage", "fuzzing"], seconds - stateful)]
    with tempfile.TemporaryDirectory(prefix="scanserve-conformance-") as scratch:
        # Hypothesis keeps its files (.hypothesis/) in the working directory otherwise
        set_hypothesis_home_dir(scratch)
        for phases, budget in passes:
            if budget <= 0:
                continue
            config = _config(
                base, key, key2, seconds=budget, phases=phases, scratch=Path(scratch), seed=seed
            )
            schema, source = _load_schema(base, spec, config)
            click.echo(
                f"conformance: schemathesis ({source} contract): {', '.join(phases)}, "
                f"{budget} s, seed {seed}"
            )
            for event in engine.from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    for case_id, node in event.recorder.cases.items():
                        operation = node.value.operation
                        name = operation.definition.raw.get("operationId", operation.label)
                        failed = [
                            f"{check.name}: {check.failure_info.failure.title}"
                            f" ({check.failure_info.failure.message.splitlines()[0][:200]})"
                            for check in event.recorder.checks.get(case_id, [])
                            if check.status == Status.FAILURE and check.failure_info
                        ]
                        if case_id in event.recorder.checks:
                            tally.record(name, failed)
                elif isinstance(event, events.NonFatalError):
                    tally.record(f"(schemathesis: {event.label})", [event.info.format()[:300]])
                elif isinstance(event, events.FatalError):
                    tally.record("(schemathesis)", [repr(event.exception)[:300]])
    return tally


@click.command()
@click.argument("url")
@click.option("--key", required=True, help="An API key of the server (a business key).")
@click.option(
    "--key2",
    help="A key of another organisation: its view of the first one's objects must be 404.",
)
@click.option(
    "--seconds",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="The schemathesis part's time budget (0: the journey alone).",
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML report here: a test suite per part, a test case per operation.",
)
@click.option(
    "--spec",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The contract to hold the server to (default: the one it serves, else the bundled one).",
)
@click.option(
    "--seed",
    type=int,
    help="schemathesis's seed, to replay a run (default: a random one, printed).",
)
@click.option(
    "--gtin",
    default="4006381333931",
    show_default=True,
    help="A GTIN the server knows as a product (the default is in the demo catalog).",
)
def conformance(
    *,
    url: str,
    key: str,
    key2: str | None,
    seconds: int,
    junit_xml: Path | None,
    spec: Path | None,
    seed: int | None,
    gtin: str,
) -> None:
    """Check the Scanner API server at URL (its base path) against the contract.

    Walks the contract's journey, then runs schemathesis for --seconds; prints a table per
    operation and exits 0 only if everything passed.
    """
    from scanserve.cli.journey import Journey
    from scanserve.cli.proxy import load_contract
    from scanserve.http.contract_check import junit_xml as junit_document

    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"URL must be an http(s) URL, not {url!r}")
    if seconds:
        try:
            import schemathesis  # noqa: F401 (present, or the command says how to get it)
        except ImportError:
            raise click.ClickException(
                "the schemathesis part needs the conformance extra: "
                "pip install 'scanserve[conformance]' (or --seconds 0 for the journey alone)"
            ) from None
    base = url.rstrip("/")
    check = load_contract(spec)
    parts = {"journey": Journey(base, key, key2, check, gtin=gtin).run()}
    click.echo(parts["journey"].table())
    if seconds:
        if seed is None:
            seed = secrets.randbelow(1 << 32)
        parts["schemathesis"] = _schemathesis(
            base, key, key2, seconds=seconds, spec=spec, seed=seed
        )
        click.echo(parts["schemathesis"].table())
        if _STATUSES[429]:
            click.echo(
                f"conformance: {_STATUSES[429]} of {sum(_STATUSES.values())} schemathesis "
                "requests were answered 429 (rate limited): checks that expected another "
                "answer fail on them, and the run covered less. Lift the server's limits for "
                "the run, or give the keys limits of their own (on scanserve: "
                "SCANSERVE_RATE_LIMIT_*, SCANSERVE_FAILED_AUTH_*, keys create --per-minute N)."
            )
    if junit_xml is not None:
        junit_xml.write_bytes(junit_document({f"conformance {n}": t for n, t in parts.items()}))
    failed = {name: tally.failed for name, tally in parts.items() if tally.failed}
    verdict = (
        "passed"
        if not failed
        else "FAILED: " + ", ".join(f"{n} {c} failed" for n, c in failed.items())
    )
    click.echo(f"scanserve conformance: {base}: {verdict}")
    sys.exit(1 if failed else 0)
