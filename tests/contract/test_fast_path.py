"""The fast path (scanserve.http.fastpath) answers exactly as Connexion's full stack does.

Two apps on one database, one built with the fast path (the default) and one without it,
get the same requests in lock step (so their rate-limit counters agree too), and must answer
with the same status, the same headers (but ``date`` and the rate-limit reset times, which
depend on the clock) and the same body (a problem document's ``timestamp`` aside). The
requests: hand-written edge cases (each credential kind, missing scopes, anonymous callers,
UUID ids, unknown and repeated query parameters, percent-encoding, HEAD, bodies on a GET,
JSON bodies the validation refuses, other media types, a client leaving mid-body), writes
(whose new ids and times are compared as such), and schemathesis-generated requests for
every operation the fast path plans, valid and invalid.
A spy checks that the fast path did serve the requests it should, so the comparison is not
between two full stacks.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from scanserve.app import create_app
from scanserve.domain import catalog_import as catalog
from scanserve.http.fastpath import FastPath
from scanserve.identity import tokens
from scanserve.identity.keys import hash_secret
from scanserve.infra import ids
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.database import database_proxy
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
UNLIMITED = 1_000_000_000
# Headers that tell the time, not the answer.
CLOCK_HEADERS = {"date", "ratelimit-reset", "x-ratelimit-reset"}
REQUEST_ID = "x-request-id"  # a new one each request: only its presence (and place) counts
# The operations the fast path plans are read from its plans for the app's route table
# (``planned`` below), so that an operation it comes to plan is compared without a list to
# keep: reads (GET, and signOut's DELETE), JSON-body operations, and writes without a body
# (planned when no body headers but ``Content-Length: 0`` come with them).


class Planned:
    def __init__(self, fast_path: FastPath):
        plans = [fast_path.plans[r] for r in fast_path.routes.routes if r in fast_path.plans]
        self.body = {p.operation_id for p in plans if p.body_validator is not None}
        self.bodiless_writes = {
            p.operation_id
            for p in plans
            if p.body_validator is None and p.operation.method.upper() in ("POST", "PATCH", "PUT")
        }
        self.reads = {p.operation_id for p in plans} - self.body - self.bodiless_writes
        self.writes = self.body | self.bodiless_writes
        self.all = self.reads | self.writes


def _fast_path_of(app: Any) -> FastPath:
    """The FastPath middleware of a built app; before its first request (when Connexion
    builds its stack) one built the same way, apart from the app's."""
    middleware = app.middleware
    stack = middleware.middleware_stack
    if stack is None:
        _, stack = middleware._build_middleware_stack()
    (fast_path,) = [m for m in stack if isinstance(m, FastPath)]
    return fast_path


# What a new object gets per request: compared as what it is, not by value.
_NEW_ID = re.compile(r"[2-9A-HJ-NP-Za-km-z]{22}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")


class Pair:
    """The same app twice: ``fast`` with the fast path, ``full`` without it.

    The models' database proxy is one per process: it is bound to the fast app's database,
    and to the full app's only while the full app answers (a write mixes the proxy's
    connection with the app's own transaction; two connections would lock each other out).
    """

    def __init__(self, fast: Any, full: Any, served: list[str]):
        self.fast = fast
        self.full = _Bound(full, home=fast.app.services.db)
        self.served = served  # operation ids the fast path answered, in order

    def send(self, method: str, url: str, *, new: bool = False, **kwargs: Any) -> httpx.Response:
        """Send one request to both; assert they answer alike (with ``new``: but for the ids
        and times of what each made); return the fast one's."""
        kwargs.setdefault("follow_redirects", False)
        try:
            fast = self.fast.request(method, url, **kwargs)
        except Exception as exc:  # the transport refused it: so must the other
            with pytest.raises(type(exc)):
                self.full.request(method, url, **kwargs)
            return None  # type: ignore[return-value]
        full = self.full.request(method, url, **kwargs)
        where = f"{method} {url} {kwargs}"
        assert fast.status_code == full.status_code, (where, fast.text, full.text)
        assert _headers(fast, new=new) == _headers(full, new=new), where
        assert _body(fast, new=new) == _body(full, new=new), where
        return fast

    def send_each(
        self, method: str, fast_url: str, full_url: str, **kwargs: Any
    ) -> httpx.Response:
        """A write sent to each app for an object of its own (``fast_url``, ``full_url``): the
        answers must be alike but for the objects' ids and times. Returns the fast one's."""
        before = len(self.served)
        fast = self.fast.request(method, fast_url, **kwargs)
        full = self.full.request(method, full_url, **kwargs)
        where = f"{method} {fast_url} {kwargs}"
        assert fast.status_code == full.status_code, (where, fast.text, full.text)
        assert _headers(fast, new=True) == _headers(full, new=True), where
        assert _body(fast, new=True) == _body(full, new=True), where
        assert len(self.served) == before + 1, f"the fast path did not serve {method} {fast_url}"
        return fast

    def served_by_fast_path(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        before = len(self.served)
        response = self.send(method, url, **kwargs)
        assert len(self.served) == before + 1, f"the fast path did not serve {method} {url}"
        return response

    def not_served_by_fast_path(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        before = len(self.served)
        response = self.send(method, url, **kwargs)
        assert len(self.served) == before, f"the fast path served {method} {url}"
        return response


class _Bound:
    """A test client whose requests run with the models' database proxy bound to its app's
    database, and bound back to ``home`` after."""

    def __init__(self, client: Any, home: Any):
        self._client = client
        self._home = home

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
        database_proxy.initialize(self._client.app.services.db)
        try:
            return self._client.request(*args, **kwargs)  # type: ignore[no-any-return]
        finally:
            database_proxy.initialize(self._home)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def __getattr__(self, name: str) -> Any:  # cookies, app
        return getattr(self._client, name)


def _headers(response: httpx.Response, *, new: bool = False) -> list[tuple[str, str]]:
    """The headers but the clock's; with ``new``, a new object's ids and times (in a
    ``Location``, say, or a sign-in's cookie) as such."""
    return [
        (k, "<request id>" if k == REQUEST_ID else _new(v) if new else v)
        for k, v in response.headers.multi_items()
        if k not in CLOCK_HEADERS and not (new and k == "content-length")
    ]


def _new(value: Any) -> Any:
    """``value`` with every id and time it holds as ``<id>`` and ``<time>``, and every
    secret a sign-in makes (its cookie and CSRF token) as ``<secret>``."""
    if isinstance(value, dict):
        return {k: "<secret>" if k == "csrf_token" else _new(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_new(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"sessionid=[^;]*", "sessionid=<secret>", value)
        return _TIME.sub("<time>", _NEW_ID.sub("<id>", value))
    return value


def _body(response: httpx.Response, *, new: bool = False) -> Any:
    if new and response.content and response.headers.get("content-type", "").endswith("json"):
        document = _new(json.loads(response.content))
        if isinstance(document, dict):
            document.pop("timestamp", None)
        return document
    if response.headers.get("content-type") == "application/problem+json":
        document = json.loads(response.content)
        document.pop("timestamp", None)
        return document
    if response.url.path.endswith("/presigned-upload-url") and response.status_code == 200:
        # a fresh object key and signature each time: the fields, not their values
        document = json.loads(response.content)
        key = document["s3_key"].rsplit("/", 1)[0]  # the file name is drawn per request
        return {
            **document,
            "s3_key": key,
            "upload_url": ...,
            "upload_fields": sorted(document["upload_fields"]),
        }
    return response.content


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("fastpath")
    settings = Settings(
        data_dir=root / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
        rate_limit_per_minute=UNLIMITED,
        rate_limit_per_day=UNLIMITED,
        anonymous_rate_limit_per_minute=UNLIMITED,
        anonymous_rate_limit_per_day=UNLIMITED,
        failed_auth_per_minute=UNLIMITED,
        failed_auth_per_day=UNLIMITED,
    )
    full = create_app(settings, fast_path=False)
    fast = create_app(settings)  # built last: the models' database proxy is bound to its db
    csv = root / "catalog.csv"
    csv.write_text("gtin,name,brand\n4006381333931,Highlighter Yellow,Stabilo\n")
    catalog.import_file(csv)
    yield settings, fast, full
    fast.services.db.close()
    full.services.db.close()


@pytest.fixture
def pair(data: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    _settings, fast_app, full_app = data
    database_proxy.initialize(fast_app.services.db)
    served: list[str] = []
    serve = FastPath._serve

    async def spy(self: FastPath, plan: Any, *args: Any, **kwargs: Any) -> None:
        served.append(plan.operation_id)
        await serve(self, plan, *args, **kwargs)

    monkeypatch.setattr(FastPath, "_serve", spy)
    with (
        fast_app.test_client(raise_server_exceptions=False) as fast,
        full_app.test_client(raise_server_exceptions=False) as full,
    ):
        yield Pair(fast, full, served)


class World:
    """An organisation with a session of captures, another organisation, and credentials of
    every kind: its API key, bearer tokens with each scope, browser session cookies."""

    def __init__(self, pair: Pair):
        self.key = issue_key("Fast Org")
        self.other = issue_key("Other Org")
        # Writes go through the app whose connection the models' database proxy uses (two
        # connections of one thread in one transaction would lock each other out), with keys
        # of their own, so that only the two apps' counters of `key` and `other` are compared.
        client = pair.fast
        setup = self.setup = issue_key(org_short_id=self.key.org_short_id)
        other_setup = issue_key(org_short_id=self.other.org_short_id)
        self.session = client.post(f"{BASE}/sessions", json={}, headers=setup.headers).json()["id"]
        capture = client.post(
            f"{BASE}/captures",
            json={
                "session_id": self.session,
                "capture_type": "BARCODE",
                "raw_value": "4006381333931",
            },
            headers=setup.headers,
        )
        assert capture.status_code == 201, capture.text
        self.capture = capture.json()["id"]
        self.other_session = client.post(
            f"{BASE}/sessions", json={}, headers=other_setup.headers
        ).json()["id"]
        user = models.User.create(email=f"{uuid.uuid4().hex}@example.com")
        models.Membership.create(user=user, organization=self.key.org_id)
        self.read = self._token(user, "scanner:read")
        self.write = self._token(user, "scanner:write")
        self.both = self._token(user, "scanner:read scanner:write")

    def _token(self, user: Any, scopes: str) -> dict[str, str]:
        raw = tokens.generate_token()
        models.AccessToken.create(
            user=user,
            organization=self.key.org_id,
            token_hash=hash_secret(raw),
            hint=tokens.hint(raw),
            name="",
            scopes=scopes,
            expires_at=None,
        )
        return {"Authorization": f"Bearer {raw}"}

    def cookie(self, client: Any, headers: dict[str, str]) -> tuple[dict[str, str], str]:
        """Sign in (through ``client``) with ``headers``: the cookie and the CSRF token."""
        response = client.post(f"{BASE}/auth/session", headers=headers)
        assert response.status_code == 201, response.text
        value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        return {"sessionid": value}, response.json()["csrf_token"]


@pytest.fixture
def world(pair: Pair) -> World:
    return World(pair)


def test_reads_answer_alike_through_the_fast_path(pair: Pair, world: World) -> None:
    key = world.key.headers
    as_uuid = ids.to_uuid(world.session)
    fast = pair.served_by_fast_path
    statuses = []
    for url in (
        f"{BASE}/sessions/{world.session}",
        f"{BASE}/sessions/{as_uuid}",
        f"{BASE}/sessions/{as_uuid.upper()}",
        f"{BASE}/sessions/{world.session}/status",
        f"{BASE}/captures/{world.capture}",
        f"{BASE}/captures/{ids.to_uuid(world.capture)}",
        f"{BASE}/captures/{world.capture}/proposals",
        f"{BASE}/sessions",
        f"{BASE}/sessions?page=1&page_size=1",
        f"{BASE}/sessions?page=2&page_size=1",
        f"{BASE}/sessions?status=ACTIVE",
        f"{BASE}/sessions?page=1&page=2",  # repeated: the last one counts
        f"{BASE}/sessions?unknown=1&page_size=5",  # unknown parameters are ignored
        f"{BASE}/sessions?page=%2B1",  # "+1" is an integer to Connexion's cast
        f"{BASE}/freshness-thresholds?gtin=04006381333931",
        f"{BASE}/freshness-thresholds?gtin=4006381-333931",
        f"{BASE}/freshness-thresholds?gtin=1&gtin=04006381333931",
        f"{BASE}/freshness-thresholds?gtin=%E2%82%AC",  # percent-encoded text
        f"{BASE}/health/live",
        f"{BASE}/health/ready",
        f"{BASE}/plugins",
        f"{BASE}/sessions/{world.other_session}",  # another organisation's: 404
        f"{BASE}/captures/{'2' * 22}",  # no such capture: 404, raised by the handler
        f"{BASE}/sessions/{world.session}/presigned-upload-url?photo_type=nutrition",
    ):
        statuses.append(fast("GET", url, headers=key).status_code)
    # both stacks answering alike is not enough: each answer is the one the request earns
    assert statuses == [200] * 21 + [404, 404, 200], statuses
    # public reads, with no credential or a failing one
    statuses = [
        fast("GET", f"{BASE}/freshness-thresholds?gtin=04006381333931").status_code,
        fast(
            "GET", f"{BASE}/freshness-thresholds?gtin=1", headers={"X-API-Key": "csb_nope"}
        ).status_code,
        fast("GET", f"{BASE}/health/live").status_code,
    ]
    # tokens and cookies with the scope the operation needs
    statuses += [
        fast("GET", f"{BASE}/sessions/{world.session}", headers=world.read).status_code,
        fast("GET", f"{BASE}/sessions/{world.session}", headers=world.both).status_code,
        fast(
            "GET", f"{BASE}/sessions/{world.session}/presigned-upload-url", headers=world.write
        ).status_code,
    ]
    for client in (pair.fast, pair.full):  # each app's browser session of its own
        cookies, _ = world.cookie(client, world.read)
        client.cookies.update(cookies)
    statuses.append(fast("GET", f"{BASE}/captures/{world.capture}").status_code)
    pair.fast.cookies.clear()
    pair.full.cookies.clear()
    assert statuses == [200] * 7, statuses  # a public read ignores a failing key


def test_what_the_plan_cannot_decide_goes_down_the_full_stack(pair: Pair, world: World) -> None:
    key = world.key.headers
    full = pair.not_served_by_fast_path
    session = f"{BASE}/sessions/{world.session}"
    # invalid parameters: the full stack's 422s
    for url in (
        f"{BASE}/sessions/abc",
        f"{BASE}/sessions/{world.session}x",
        f"{BASE}/sessions/{world.session[:-1]}%20",
        f"{BASE}/sessions/a%00b",
        f"{BASE}/sessions?page=0",
        f"{BASE}/sessions?page=abc",
        f"{BASE}/sessions?page=",
        f"{BASE}/sessions?page_size=101",
        f"{BASE}/sessions?status=BOGUS",
        f"{BASE}/freshness-thresholds",
        f"{BASE}/freshness-thresholds?gtin=",
        f"{BASE}/freshness-thresholds?gtin={'1' * 21}",
        f"{BASE}/freshness-thresholds?gtin=%00",
        f"{BASE}/freshness-thresholds?gtin=04006381333931&gtin=",  # the last one counts
        f"{BASE}/sessions/{world.session}/presigned-upload-url?photo_type=selfie",
    ):
        answer = full("GET", url, headers=key)
        assert answer.status_code == 422, (url, answer.text)
    # what is not a planned operation, or not this method
    for method, url in (
        ("GET", f"{BASE}/captures/upload-image"),  # fits getCapture's path: 405
        ("GET", f"{session}/"),  # the trailing-slash redirect
        ("GET", f"{BASE}/sessions/a%2Fb"),
        ("GET", f"{BASE}/plugins%0A"),  # a final newline, which "$" lets through: 404
        ("GET", f"{BASE}//sessions"),
        ("GET", f"{BASE}/nowhere"),
        ("GET", f"{BASE}/openapi.json"),
        ("GET", f"{BASE}/"),
        ("HEAD", session),
        ("HEAD", f"{BASE}/health/live"),
        ("PUT", session),
        ("DELETE", session),
        ("OPTIONS", session),
    ):
        full(method, url, headers=key)
    # a body, or a media type, on a read
    full("GET", session, headers={**key, "Content-Type": "text/plain"}, content=b"hello")
    full("GET", session, headers={**key, "Content-Type": "application/json"}, content=b"{}")
    # ... but an empty body announced as such is no body (a chunked one the gateway has read
    # and measured: "Content-Length: 0" too)
    pair.served_by_fast_path("GET", session, headers={**key, "Content-Length": "0"})
    pair.served_by_fast_path(
        "GET", session, headers={**key, "Transfer-Encoding": "chunked"}, content=b""
    )
    # credentials the operation does not take, scopes it lacks, no credentials at all
    full("GET", session, headers=world.write)  # needs scanner:read: 403
    full("GET", f"{session}/presigned-upload-url", headers=world.read)  # needs write: 403
    full("GET", session)  # anonymous: 401
    full("GET", f"{BASE}/plugins")
    for client in (pair.fast, pair.full):
        cookies, _ = world.cookie(client, world.write)
        client.cookies.update(cookies)
    full("GET", session)  # a cookie made from a token without scanner:read: 403
    pair.fast.cookies.clear()
    pair.full.cookies.clear()


def test_sign_out_through_the_fast_path(pair: Pair, world: World) -> None:
    """DELETE /auth/session ends the caller's browser session: each app its own."""
    csrf = {}
    for name, client in (("fast", pair.fast), ("full", pair.full)):
        cookies, csrf[name] = world.cookie(client, world.key.headers)
        client.cookies.update(cookies)
    # without the CSRF token: the gateway refuses (403), before any routing
    pair.not_served_by_fast_path("DELETE", f"{BASE}/auth/session")
    # the token differs per session: send each app its own
    before = len(pair.served)
    fast = pair.fast.delete(f"{BASE}/auth/session", headers={"X-CSRF-Token": csrf["fast"]})
    full = pair.full.delete(f"{BASE}/auth/session", headers={"X-CSRF-Token": csrf["full"]})
    assert pair.served[before:] == ["signOut"]
    assert (fast.status_code, _headers(fast), fast.content) == (
        full.status_code,
        _headers(full),
        full.content,
    )
    assert fast.status_code == 204
    pair.fast.cookies.clear()
    pair.full.cookies.clear()


def test_writes_answer_alike_through_the_fast_path(pair: Pair, world: World) -> None:
    key = world.key.headers
    fast = pair.served_by_fast_path
    for body in ({}, {"device_context": {"app": "scanner", "build": [1, 2, {"x": None}]}}):
        response = fast("POST", f"{BASE}/sessions", headers=key, json=body, new=True)
        assert response.status_code == 201, response.text
    capture = {"session_id": world.session, "capture_type": "BARCODE"}
    for raw_value, status in (("4006381333931", "COMPLETED"), ("4006381333932", "FAILED")):
        response = fast(
            "POST",
            f"{BASE}/captures",
            headers=key,
            json={**capture, "raw_value": raw_value},
            new=True,
        )
        assert response.json()["status"] == status
    # each spelling of the JSON media type the plan takes; the session as a UUID
    body = json.dumps({**capture, "raw_value": "4006381333931"}).encode()
    for content_type in (
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ):
        fast(
            "POST",
            f"{BASE}/captures",
            headers={**key, "Content-Type": content_type},
            content=body,
            new=True,
        )
    as_uuid = {**capture, "session_id": str(ids.to_uuid(world.session)), "raw_value": "1"}
    fast("POST", f"{BASE}/captures", headers=key, json=as_uuid, new=True)
    # handlers' own refusals: another organisation's session, an ended one
    fast(
        "POST",
        f"{BASE}/captures",
        headers=key,
        json={**capture, "session_id": world.other_session, "raw_value": "1"},
    )
    fast("POST", f"{BASE}/resolve-url", headers=key, json={"url": "http://127.0.0.1:9/x"})
    # a token with the write scope, and a browser session with its CSRF token
    fast("POST", f"{BASE}/sessions", headers=world.write, json={}, new=True)
    # bodiless writes: each app ends, submits and retries its own objects
    setup = world.setup.headers  # the objects each app acts on, made with a key of their own
    one, other = (
        pair.fast.post(f"{BASE}/sessions", json={}, headers=setup).json()["id"] for _ in range(2)
    )
    for action in ("submit", "end"):
        response = pair.send_each(
            "POST",
            f"{BASE}/sessions/{one}/{action}",
            f"{BASE}/sessions/{other}/{action}",
            headers=key,
        )
        assert response.status_code == 200, response.text
    ended = pair.send_each(  # and again: an ended session, answered as it is
        "POST", f"{BASE}/sessions/{one}/end", f"{BASE}/sessions/{other}/end", headers=key
    )
    assert ended.json()["status"] == "COMPLETED", ended.text
    failed = [
        pair.fast.post(
            f"{BASE}/captures", headers=setup, json={**capture, "raw_value": "4006381333932"}
        ).json()["id"]
        for _ in range(2)
    ]
    retried = pair.send_each(
        "POST",
        f"{BASE}/captures/{failed[0]}/retry",
        f"{BASE}/captures/{failed[1]}/retry",
        headers=key,
    )
    assert retried.status_code == 200, retried.text
    pair.send_each(
        "POST",
        f"{BASE}/captures/{failed[0]}/apply",
        f"{BASE}/captures/{failed[1]}/apply",
        headers=key,
    )
    # signing in: a cookie and a CSRF token of each app's own
    signed = pair.send_each("POST", f"{BASE}/auth/session", f"{BASE}/auth/session", headers=key)
    assert signed.status_code == 201, signed.text
    cookies = {}
    for name, client in (("fast", pair.fast), ("full", pair.full)):
        cookie, csrf = world.cookie(client, world.both)
        cookies[name] = (cookie, csrf)
        client.cookies.update(cookie)
    before = len(pair.served)
    answers = [
        client.post(f"{BASE}/sessions", json={}, headers={"X-CSRF-Token": cookies[name][1]})
        for name, client in (("fast", pair.fast), ("full", pair.full))
    ]
    assert pair.served[before:] == ["createSession"]
    assert [a.status_code for a in answers] == [201, 201]
    assert _body(answers[0], new=True) == _body(answers[1], new=True)
    pair.fast.cookies.clear()
    pair.full.cookies.clear()


def test_bodies_the_plan_does_not_take_go_down_the_full_stack(pair: Pair, world: World) -> None:
    """Every body the request validation refuses, every other media type or framing, and
    every credential the operation does not take: the full stack's answer, byte for byte."""
    key = world.key.headers
    full = pair.not_served_by_fast_path
    captures = f"{BASE}/captures"
    start = f'{{"session_id": "{world.session}", "capture_type": "BARCODE", '
    for raw in (
        b"",  # no body at all: required
        b"null",
        b"[]",
        b"{",
        b"not json",
        b"\xef\xbb\xbf{}",  # a byte order mark
        b"\xff\xfe",  # not UTF-8
        start.encode() + b'"raw_value": "1", "raw_value": "2"}',  # a key twice
        start.encode() + b'"raw_value": "a\\u0000b"}',  # NUL
        start.encode() + b'"raw_value": "\\ud800"}',  # a lone surrogate
        start.encode() + b'"raw_value": "1", "metadata": {"n": 1e999}}',
        start.encode() + b'"raw_value": NaN}',
        start.encode() + b'"raw_value": ' + b"[" * 40 + b"]" * 40 + b"}",
        start.encode() + b'"raw_value": ""}',  # too short
        start.encode() + b'"raw_value": 5}',
        start.encode() + b'"raw_value": "1", "capture_type": "SELFIE"}',
        b'{"capture_type": "BARCODE", "raw_value": "1"}',  # no session
    ):
        full("POST", captures, headers={**key, "Content-Type": "application/json"}, content=raw)
    # a free-form object nested too deeply is the handler's to refuse: served, and alike
    deep = start.encode() + b'"raw_value": "1", "gs1_dl_data": ' + b'{"a":' * 12 + b"1" + b"}" * 13
    refused = pair.served_by_fast_path(
        "POST", captures, headers={**key, "Content-Type": "application/json"}, content=deep
    )
    assert refused.status_code == 422, refused.text
    valid = (start + '"raw_value": "1"}').encode()
    for content_type in (
        "text/plain",
        "application/json; charset=latin-1",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        # (the full stack takes some of these: new captures, compared as such)
        full(
            "POST",
            captures,
            headers={**key, "Content-Type": content_type},
            content=valid,
            new=True,
        )
    full("POST", captures, headers=key, content=valid)  # no Content-Type
    # credentials the operation does not take, scopes it lacks, no credentials at all
    full("POST", captures, headers=world.read, content=valid)
    full("POST", captures, headers={"Content-Type": "application/json"}, content=valid)
    # a body on an operation that takes none; a path that is not planned
    end = f"{BASE}/sessions/{world.session}/end"
    full("POST", end, headers={**key, "Content-Type": "application/json"}, content=b"{}")
    full("POST", end, headers={**key, "Content-Type": "text/plain"}, content=b"")
    full("POST", f"{BASE}/captures/upload-image", headers=key, files={"file": ("a", b"x")})
    full("PUT", captures, headers=key, content=valid)
    full("PATCH", f"{BASE}/sessions/{world.session}", headers=key, json={})


def test_a_client_that_leaves_mid_body_meets_the_full_stack(pair: Pair, world: World) -> None:
    """The plan hands the full stack exactly what it received, the client's leaving too."""
    body = json.dumps(
        {"session_id": world.session, "capture_type": "BARCODE", "raw_value": "4006381333931"}
    ).encode()

    async def call(app: Any) -> list[Any]:
        messages = iter(
            [
                {"type": "http.request", "body": body[:10], "more_body": True},
                {"type": "http.disconnect"},
            ]
        )
        sent: list[Any] = []

        async def receive() -> Any:
            return next(messages, {"type": "http.disconnect"})

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"{BASE}/captures",
            "raw_path": f"{BASE}/captures".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *[(k.lower().encode(), v.encode()) for k, v in world.key.headers.items()],
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        return [
            {k: v for k, v in m.items() if k != "headers"} | {"headers": _scrub(m)} for m in sent
        ]

    before = len(pair.served)
    fast = asyncio.run(call(pair.fast.app))
    database_proxy.initialize(pair.full.app.services.db)
    try:
        full = asyncio.run(call(pair.full.app))
    finally:
        database_proxy.initialize(pair.fast.app.services.db)
    assert fast == full
    assert len(pair.served) == before  # the full stack answered
    count = models.Capture.select().where(models.Capture.session == _session_pk(world)).count()
    assert count == 1  # only the capture World made


def _scrub(message: Any) -> list[tuple[bytes, bytes]]:
    return [
        (k, b"<request id>" if k.decode() == REQUEST_ID else v)
        for k, v in message.get("headers", [])
        if k.decode() not in CLOCK_HEADERS
    ]


def _session_pk(world: World) -> Any:
    return models.ScanSession.get(models.ScanSession.short_id == world.session).id


def test_errors_raised_by_handlers_answer_alike(
    pair: Pair, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler's exceptions leave the fast path as they leave the full stack: a scanserve
    error as its problem document, anything else as the error handlers' 500, and a response
    against the contract as the response validation's 500."""
    from scanserve.errors import Conflict
    from scanserve.http import presenters

    def refused(_plugins: Any) -> Any:
        raise Conflict("not now")

    def broken(_plugins: Any) -> Any:
        raise RuntimeError("boom")

    def against_the_contract(_plugins: Any) -> Any:
        return {"plugins": "not a list"}

    for report, status in ((refused, 409), (broken, 500), (against_the_contract, 500)):
        monkeypatch.setattr(presenters, "plugin_list_view", report)
        response = pair.served_by_fast_path("GET", f"{BASE}/plugins", headers=world.key.headers)
        assert response.status_code == status, response.text

    def not_ready(*_args: Any) -> int:
        raise OSError("the object store is gone")

    # a required dependency (the queue is reported but not required: writes go on without it)
    for app in (pair.fast.app, pair.full.app):
        monkeypatch.setattr(app.services.objects, "size", not_ready)
    response = pair.served_by_fast_path("GET", f"{BASE}/health/ready")
    assert response.status_code == 503, response.text


# -- generated requests ------------------------------------------------------------------

# Generated requests per strategy of each operation, each sent to both stacks (the coverage of
# the contract itself is test_contract.py's, with schemathesis's coverage phase).
EXAMPLES = 15


@pytest.fixture
def generated(pair: Pair, world: World) -> Any:
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20_261_130,
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "allow-x00": False,
            },
        }
    )
    return schemathesis.openapi.from_asgi(f"{BASE}/openapi.json", pair.fast.app, config=config)


@pytest.fixture(scope="module")
def planned(data: Any) -> Planned:
    return Planned(_fast_path_of(data[1]))


def test_the_route_table_plans_what_it_should(planned: Planned) -> None:
    """The table read is the fast path's: every operation but the two multipart ones, which
    the full stack reads, is planned (a plan lost would otherwise shrink the comparison)."""
    spec = yaml.load(SPEC.read_text(), Loader=yaml.CSafeLoader)
    operations = {
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert planned.all == operations - {"uploadCaptureImage", "receiveUpload"}
    assert "createSession" in planned.body and "submitSession" in planned.bodiless_writes
    assert {"getSession", "signOut"} <= planned.reads


def _planned_operations(schema: Any, planned: Planned) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in planned.all:
            found.append(operation)
    return found


@pytest.mark.slow
def test_generated_requests_answer_alike(
    pair: Pair, world: World, generated: Any, planned: Planned
) -> None:
    operations = _planned_operations(generated, planned)
    assert {op.definition.raw["operationId"] for op in operations} == planned.all
    ids_for = {"id": world.session, "session_id": world.session}
    for operation in operations:
        operation_id = operation.definition.raw["operationId"]
        write = operation_id in planned.writes
        if write:
            # The two apps act in turn on one database: a write to a known object would find
            # it changed by the first. Writes get generated ids (their refusals) and bodies,
            # and what they make is compared as such.
            known = {}
        elif operation_id in ("getCapture", "listCaptureProposals"):
            known = {"id": world.capture}
        else:
            known = {k: v for k, v in ids_for.items() if f"{{{k}}}" in operation.path}
        strategies = [operation.as_strategy(GenerationMode.NEGATIVE)]
        if operation_id != "resolveUrl":  # valid URLs would be fetched: TestResolveUrl's part
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE))
        if known:
            strategies.append(
                operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
            )
        for strategy in strategies:
            try:
                _compare_cases(pair, world, strategy, new=write)
            except hypothesis.errors.Unsatisfiable:
                # no invalid request exists for an operation without parameters or body
                assert not operation.definition.raw.get("parameters")
                assert "requestBody" not in operation.definition.raw
    # and the fast path did answer the valid ones
    assert set(pair.served) - {"resolveUrl"} == planned.all - {"signOut", "resolveUrl"}


def _compare_cases(pair: Pair, world: World, strategy: Any, *, new: bool) -> None:
    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def compare(case: schemathesis.Case) -> None:
        if case.method.upper() == "DELETE":
            return  # signOut ends the session it is given: tested above, per app
        kwargs = case.as_transport_kwargs(base_url=f"http://testserver{BASE}")
        method, url = kwargs.pop("method"), kwargs.pop("url")
        headers = dict(kwargs.pop("headers", None) or {})
        if new:
            # One organisation's key on one database: the second app would replay the first's
            # answer. (The Idempotency middleware sits outside the fast path.)
            headers = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
        kwargs = _transport(kwargs)
        pair.send(method, url, headers=headers, new=new, **kwargs)  # the generated credentials
        # and with the organisation's key instead of them
        headers = {
            k: v for k, v in headers.items() if k.lower() not in ("x-api-key", "authorization")
        }
        kwargs.pop("cookies", None)
        pair.send(method, url, headers={**headers, **world.key.headers}, new=new, **kwargs)

    compare()


def _transport(kwargs: dict[str, Any]) -> dict[str, Any]:
    allowed = {"params", "content", "json", "data", "files", "cookies"}
    return {k: v for k, v in kwargs.items() if k in allowed and v is not None}
