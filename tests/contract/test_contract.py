"""The contract suite: schemathesis drives the app in process and holds it to the spec.

The schema is loaded from the app itself (``<base>/openapi.json`` over ASGI), so what is
checked is what the server serves. Every request carries a real ``csb`` key of a fresh
organisation, configured as the ``ApiKeyAuth`` scheme: schemathesis then knows the credential
is deliberate, drops generated ones for the other schemes, and ``ignored_auth`` can probe each
operation without it. A small catalog lets captures reach COMPLETED with a product, so the
links from a new capture (``saveCaptureRedirect`` above all) have something to work on.

- ``test_operation_conforms``: every operation, through the examples, coverage and fuzzing
  phases, positive and negative data, with every check on.
- ``test_links_conform``: scenarios through the spec's OpenAPI links (the state machine).
- ``test_every_operation_is_implemented``: no operation of the contract lacks a handler (the
  app would refuse to start), computed from the app's handler table.

Deterministic: a fixed seed, Hypothesis's ``derandomize`` and no example database. The budget
per operation is ``SCANSERVE_CONTRACT_EXAMPLES``: 30 in the plain run (the README's and CI's),
200 in the tox ``contract`` environment; CI's seeded fuzz minute against a live server adds
its own. The coverage phase (every boundary and keyword of each schema) does not depend on
it.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis.stateful import initialize
from image_bodies import judge_file_parts_as_declared, register_image_media_types
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from scanserve.app import create_app, spec_path, unimplemented_operations
from scanserve.domain import catalog_import as catalog
from scanserve.http.oas31_spec import load_spec
from scanserve.plugins.builtin.qr.resolver import RedirectResolver, ResolverPolicy
from scanserve.plugins.hookspecs import hookimpl
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.database import database_proxy
from scanserve.testing import IssuedKey, issue_key

BASE = "/scanner/api/v1"
EXAMPLES = int(os.environ.get("SCANSERVE_CONTRACT_EXAMPLES", "30"))
SEED = 20_261_129
# Limits nobody reaches: a run sends thousands of requests, and a 429 would hide the answer
# under test. The rate limits have tests of their own.
UNLIMITED = 1_000_000_000
# schemathesis' default expected statuses for positive_data_acceptance, plus 400 (see below).
REDIRECT_OK = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# schemathesis' default expected statuses for positive_data_acceptance, plus 422 (see below).
CAPTURE_ACCEPTS = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
NEEDS_PRODUCT_ACCEPTS = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
# Uploads also judge the file's bytes: 415 (not an image of an accepted type), 413 (too large).
UPLOAD_ACCEPTS = [*CAPTURE_ACCEPTS, "413", "415"]

# 09506000134352 is the GTIN the spec's createSession -> createCapture link scans.
CATALOG = """\
gtin,name,brand,gpc_brick_code
09506000134352,Organic Oat Drink 1 l,GS1 Demo,10000025
4006381333931,Highlighter Yellow,Stabilo,
5000112637922,Cola Classic 330 ml,Demo Drinks,10000221
"""


class _OfflineWeb:
    """The real redirect follower (URL parsing, address checks, classification) on a web of
    its own: every name resolves to one public address, any path but ``/`` redirects there,
    and ``/`` answers 200. URL captures and resolveUrl never leave the process, wait on DNS,
    or depend on what some host answers today."""

    @staticmethod
    def _dns(host: str, port: int, *args: object, **kwargs: object) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    @staticmethod
    def _answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            return httpx.Response(200, text="ok")
        return httpx.Response(301, headers={"Location": "/"})

    @hookimpl(tryfirst=True)
    def register_qr_resolvers(self, register: Callable[[Any], None], settings: Settings) -> None:
        policy = ResolverPolicy(max_hops=settings.qr_max_hops, timeout=settings.qr_timeout_seconds)
        register(
            RedirectResolver(
                policy, getaddrinfo=self._dns, transport=httpx.MockTransport(self._answer)
            )
        )


class _Summaries:
    """A product extractor proposing an ``ai_summary`` for every capture with a product, so
    a submitted session has proposals for the links to list, review and apply."""

    name = "contract-summaries"
    photo_types: frozenset[str] = frozenset()

    def extract(self, item: Any) -> list[Any]:
        from scanserve.plugins.providers import ProposalDraft

        return [ProposalDraft("ai_summary", f"About {item.current['name']}.", 0.5, "a test")]

    @hookimpl
    def register_extractors(self, register: Callable[[Any], None]) -> None:
        register(self)


register_image_media_types()
judge_file_parts_as_declared()


@functools.cache
def _unimplemented() -> list[str]:
    return unimplemented_operations(load_spec(spec_path()))


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("contract")
    settings = Settings(
        data_dir=root / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        rate_limit_per_minute=UNLIMITED,
        rate_limit_per_day=UNLIMITED,
        anonymous_rate_limit_per_minute=UNLIMITED,
        anonymous_rate_limit_per_day=UNLIMITED,
        failed_auth_per_minute=UNLIMITED,
        failed_auth_per_day=UNLIMITED,
        # The organisation budgets of expensive work count per minute, outside the state each
        # scenario resets: with them, whether a step answers 201 or 429 would depend on how
        # fast the machine runs the scenarios, and Hypothesis, replaying a scenario, would
        # meet other answers (FlakyStrategyDefinition in test_links_conform).
        org_image_uploads_per_minute=UNLIMITED,
        org_image_uploads_per_day=UNLIMITED,
        org_link_captures_per_minute=UNLIMITED,
        org_link_captures_per_day=UNLIMITED,
        org_extractions_per_minute=UNLIMITED,
        org_extractions_per_day=UNLIMITED,
    )
    app = create_app(settings, extra_plugins=[_OfflineWeb(), _Summaries()])
    csv = root / "catalog.csv"
    csv.write_text(CATALOG)
    report = catalog.import_file(csv)
    assert not report.errors
    assert report.upserted == 3
    yield app
    app.services.db.close()


@pytest.fixture(autouse=True)
def _bound_to_contract_app(contract_app: Any) -> None:
    # Models are bound through one proxy; an app built by another module's test rebinds it.
    database_proxy.initialize(contract_app.services.db)


@pytest.fixture(scope="module")
def contract_key(contract_app: Any) -> IssuedKey:
    return issue_key("Contract Org")


def _load_schema(app: Any, key: IssuedKey, *, security_parameters: bool) -> Any:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": security_parameters,
                # The spec refuses NUL in all text ("Limits on what is accepted": 422), a
                # rule over every string and every key of free-form objects at any depth,
                # which JSON Schema cannot state once for all; tests/hostile/test_hostile_input.py
                # holds the server to it instead.
                "allow-x00": False,
            },
            "auth": {"openapi": {"ApiKeyAuth": {"api_key": key.key}}},
            "checks": {"enabled": True},  # every check schemathesis has (the default, stated)
            "operations": [
                {
                    # A capture that has no product (yet) answers 400 by contract: a state
                    # of the capture, which a schema-valid request cannot know about.
                    "include-operation-id": "saveCaptureRedirect",
                    "checks": {"positive_data_acceptance": {"expected-statuses": REDIRECT_OK}},
                },
                {
                    # A capture with no product yet (NOT_FOUND, FAILED, a URL) has nothing to
                    # write to: 400 by contract (NoLinkedProduct), whatever the request says.
                    "include-operation-id": ["applyCaptureProposals", "saveCaptureRedirect"],
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": NEEDS_PRODUCT_ACCEPTS}
                    },
                },
                {
                    # Schema-valid, and still refused by rules the spec documents and JSON
                    # Schema cannot express: a photo key not issued for the session or never
                    # uploaded, a gallery order that misses or invents photos (422); image
                    # bytes that are no JPEG/PNG/WebP (415), or a truncated image (422).
                    "include-operation-id": ["registerPhoto", "reorderPhotos"],
                    "checks": {"positive_data_acceptance": {"expected-statuses": CAPTURE_ACCEPTS}},
                },
                {
                    "include-operation-id": ["uploadCaptureImage", "receiveUpload"],
                    "checks": {"positive_data_acceptance": {"expected-statuses": UPLOAD_ACCEPTS}},
                },
            ],
        }
    )
    return schemathesis.openapi.from_asgi(
        f"{BASE}/openapi.json", _FreshIdempotencyKeys(app), config=config
    )


class _FreshIdempotencyKeys:
    """Gives every request that carries an Idempotency-Key a key of its own.

    Generated keys repeat (the spec's example, short strings) across different bodies, and a
    key reused with another body is a 422 by design, which JSON Schema cannot express; the
    replay rules have tests of their own (test_idempotency.py). The header is still sent,
    so every POST is exercised with it, and a key the contract forbids is left as it is."""

    counter = itertools.count()  # one for the module: both schemas share the organisation
    valid = re.compile(rb"[!-~]([ -~]{0,253}[!-~])?")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {
                **scope,
                "headers": [
                    (k, f"contract-{next(self.counter)}".encode())
                    if k.lower() == b"idempotency-key" and self.valid.fullmatch(v)
                    else (k, v)
                    for k, v in scope["headers"]
                ],
            }
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def contract_schema(contract_app: Any, contract_key: IssuedKey) -> Any:
    # Credentials are parameters here too: besides the configured key, requests carry
    # generated (mostly broken) keys, tokens and cookies, which must all get a 401.
    return _load_schema(contract_app, contract_key, security_parameters=True)


@pytest.fixture(scope="module")
def links_schema(contract_app: Any, contract_key: IssuedKey) -> Any:
    # Only the configured key: `ensure_resource_availability` judges a 404 after a 201 only
    # when links supplied every parameter, and a generated `Authorization` or `sessionid`
    # never comes from a link.
    return _load_schema(contract_app, contract_key, security_parameters=False)


@pytest.fixture
def _schemathesis_nodeid(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's fixture-loaded schemas read `request.node._nodeid`, which pytest 9.2
    # no longer has; it only relabels the node for its report, so the public id serves.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("contract_schema")


@pytest.mark.slow
@pytest.mark.usefixtures("_schemathesis_nodeid")
@schema.parametrize()
def test_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


@pytest.fixture(scope="module")
def sign_out_schema(contract_app: Any, contract_key: IssuedKey) -> Any:
    """signOut only, each case with a browser session of its own: signed in through the API
    with the contract key just before the case, so the cookie and CSRF token are live."""
    schema = _load_schema(contract_app, contract_key, security_parameters=False)

    @schema.auth(refresh_interval=None)
    class FreshBrowserSession:
        def get(self, case: schemathesis.Case, context: Any) -> tuple[str, str]:
            with contract_app.test_client() as client:
                response = client.post(f"{BASE}/auth/session", headers=contract_key.headers)
            assert response.status_code == 201, response.text
            cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
            return cookie, response.json()["csrf_token"]

        def set(self, case: schemathesis.Case, data: tuple[str, str], context: Any) -> None:
            case.cookies = {**(case.cookies or {}), "sessionid": data[0]}
            case.headers = {**(case.headers or {}), "X-CSRF-Token": data[1]}

    return schema


sign_out = schemathesis.pytest.from_fixture("sign_out_schema").include(operation_id="signOut")


@pytest.mark.usefixtures("_schemathesis_nodeid")
@sign_out.parametrize()
def test_sign_out_conforms_with_a_live_session(case: schemathesis.Case) -> None:
    response = case.call_and_validate()
    if case.method.upper() == "DELETE":  # (the coverage phase also tries other methods)
        assert response.status_code == 204, response.text


def _forget_scans(org_id: int) -> None:
    """Delete what the organisation's requests created; keys and the catalog stay."""
    for model in (
        models.ProductOverride,
        models.RedirectRule,
        models.Proposal,
        models.Photo,
        models.Capture,
        models.ScanSession,
    ):
        model.delete().where(model.organization == org_id).execute()


@pytest.mark.slow
def test_links_conform(links_schema: Any, contract_key: IssuedKey) -> None:
    create_session = links_schema.find_operation_by_id("createSession")
    links = links_schema.as_state_machine()

    class Workflow(links):
        def setup(self) -> None:
            # Each scenario starts from the same state, so the same draws get the same answers
            # (Hypothesis replays scenarios, and a session list that grew meanwhile, or a
            # session ended by an earlier scenario, would change what the links pick).
            _forget_scans(contract_key.org_id)

        # schemathesis starts scenarios only at operations it guesses need no earlier data,
        # and it reads `organization_short_id` as a reference to an "OrganizationShort" no
        # operation produces, so it never starts with createSession: every link would then
        # begin from a random id. Each scenario opens a session here instead, recorded and
        # checked like any other step, and its 201 feeds the links.
        @initialize(
            target=links.bundles["POST /sessions -> 201"], case=create_session.as_strategy()
        )
        def open_session(self, case: schemathesis.Case) -> StepOutput:
            self.recorder.record_case(case=case)
            return self.step(StepInput.initial(case))

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=EXAMPLES,
            stateful_step_count=10,
            derandomize=True,
            database=None,
            deadline=None,
        )
    )


def test_every_operation_is_implemented() -> None:
    # Computed from the app's handler table: an operation of the contract without a handler
    # stops create_app (and so every run above).
    assert _unimplemented() == []
