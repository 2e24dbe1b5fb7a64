"""The Open Food Facts provider against a scripted HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from loopback import refused_port

from scanserve.plugins.builtin.openfoodfacts import OpenFoodFactsProvider
from scanserve.plugins.providers import (
    LookupProvider,
    ProductRecord,
    ProviderError,
    ProviderUnavailable,
)

USER_AGENT = "scanserve-tests/1.0 (ops@example.com)"
NUTELLA = "03017620422003"
FIELDS = [
    "code",
    "product_name",
    "brands",
    "generic_name",
    "categories",
    "ingredients_text",
    "image_front_url",
    "image_url",
]


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, object] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class Upstream:
    """Answers each request with the next scripted Reply (a 599 when none is left)."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Seen] = []
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self.release = threading.Event()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                Seen(parts.path, parse_qs(parts.query), dict(handler.headers.items()))
            )
            reply = self._replies.pop(0) if self._replies else Reply(599, b"unscripted")
        if reply.delay:
            self.release.wait(reply.delay)
        body = reply.body
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        try:
            handler.send_response_only(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up (timeout test)
            pass


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.handle(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def client(upstream: Upstream) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0, trust_env=False) as c:
        yield c


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(upstream: Upstream, client: httpx.Client, clock: FakeClock) -> OpenFoodFactsProvider:
    return OpenFoodFactsProvider(
        client,
        base_url=upstream.base_url,
        user_agent=USER_AGENT,
        cache_ttl=600.0,
        miss_ttl=60.0,
        clock=clock,
    )


def found(code: str = "3017620422003", **product: object) -> Reply:
    body = {
        "code": code,
        "product": {
            "code": code,
            "product_name": "Nutella",
            "brands": "Ferrero, Nutella",
            "generic_name": "Pâte à tartiner aux noisettes et au cacao",
            "categories": "Petit-déjeuners, Produits à tartiner, Pâtes à tartiner",
            "ingredients_text": "Sucre, huile de palme, NOISETTES 13%",
            "image_front_url": "https://images.openfoodfacts.org/front_fr.400.jpg",
            "image_url": "https://images.openfoodfacts.org/other.400.jpg",
            **product,
        },
        "status": 1,
        "status_verbose": "product found",
    }
    return Reply(200, body, {"Content-Type": "application/json"})


def not_found(code: str = "3017620422003") -> Reply:
    body = {"code": code, "status": 0, "status_verbose": "product not found"}
    return Reply(404, body, {"Content-Type": "application/json"})


def test_is_a_lookup_provider(provider: OpenFoodFactsProvider) -> None:
    assert isinstance(provider, LookupProvider)
    assert (provider.name, provider.external) == ("openfoodfacts", True)


def test_found_product_is_mapped(provider: OpenFoodFactsProvider, upstream: Upstream) -> None:
    upstream.script(found())

    record = provider.lookup(NUTELLA)

    assert record == ProductRecord(
        gtin=NUTELLA,
        name="Nutella",
        brand="Ferrero",
        description="Pâte à tartiner aux noisettes et au cacao",
        category="Pâtes à tartiner",
        ingredients="Sucre, huile de palme, NOISETTES 13%",
        image_urls=("https://images.openfoodfacts.org/front_fr.400.jpg",),
        source="openfoodfacts",
    )
    [seen] = upstream.requests
    assert seen.path == "/api/v2/product/3017620422003.json"
    assert seen.query["fields"][0].split(",") == FIELDS


def test_name_falls_back_to_generic_name_then_empty(
    provider: OpenFoodFactsProvider, upstream: Upstream
) -> None:
    upstream.script(
        found(product_name="", image_front_url=None),
        found("4006381333931", product_name=None, generic_name=None, brands=""),
    )

    first = provider.lookup(NUTELLA)
    nameless = provider.lookup("04006381333931")

    assert first is not None
    assert first.name == "Pâte à tartiner aux noisettes et au cacao"
    assert first.image_urls == ("https://images.openfoodfacts.org/other.400.jpg",)
    assert nameless is not None
    assert (nameless.name, nameless.brand, nameless.description) == ("", "", "")


def test_unknown_product_is_none_and_the_miss_is_cached(
    provider: OpenFoodFactsProvider, upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script(not_found(), not_found())

    assert provider.lookup(NUTELLA) is None
    assert provider.lookup(NUTELLA) is None
    assert len(upstream.requests) == 1

    clock.now += 60.0  # miss_ttl
    assert provider.lookup(NUTELLA) is None
    assert len(upstream.requests) == 2


def test_200_with_status_0_is_a_miss(provider: OpenFoodFactsProvider, upstream: Upstream) -> None:
    upstream.script(Reply(200, {"code": "3017620422003", "status": 0}))

    assert provider.lookup(NUTELLA) is None


def test_hit_is_cached_until_its_ttl(
    provider: OpenFoodFactsProvider, upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script(found(), found(product_name="Nutella 2"))

    first = provider.lookup(NUTELLA)
    clock.now += 599.0
    assert provider.lookup(NUTELLA) == first
    assert len(upstream.requests) == 1

    clock.now += 1.0  # cache_ttl reached
    refreshed = provider.lookup(NUTELLA)
    assert refreshed is not None
    assert refreshed.name == "Nutella 2"
    assert len(upstream.requests) == 2


def test_cache_is_bounded_and_evicts_the_oldest(
    upstream: Upstream, client: httpx.Client, clock: FakeClock
) -> None:
    provider = OpenFoodFactsProvider(
        client,
        base_url=upstream.base_url,
        user_agent=USER_AGENT,
        clock=clock,
        max_cache_entries=2,
    )
    upstream.script(*(not_found() for _ in range(4)))

    for gtin in ("03017620422003", "04006381333931", "00036000291452"):
        provider.lookup(gtin)
    provider.lookup("00036000291452")  # newest: still cached
    provider.lookup("04006381333931")  # still cached
    assert len(upstream.requests) == 3
    provider.lookup("03017620422003")  # the oldest was evicted
    assert len(upstream.requests) == 4


def test_user_agent_is_sent_exactly(provider: OpenFoodFactsProvider, upstream: Upstream) -> None:
    upstream.script(not_found(), found())

    provider.lookup("04006381333931")
    provider.lookup(NUTELLA)

    assert [seen.headers["User-Agent"] for seen in upstream.requests] == [USER_AGENT] * 2


@pytest.mark.parametrize("user_agent", ["", "   "])
def test_empty_user_agent_is_refused(client: httpx.Client, user_agent: str) -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        OpenFoodFactsProvider(client, user_agent=user_agent)


def test_429_backs_off_for_every_gtin_until_retry_after(
    provider: OpenFoodFactsProvider, upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script(Reply(429, b"Too Many Requests", {"Retry-After": "30"}), found())

    with pytest.raises(ProviderUnavailable) as first:
        provider.lookup(NUTELLA)
    assert first.value.retry_after == 30

    clock.now += 29.0
    for gtin in (NUTELLA, "04006381333931"):
        with pytest.raises(ProviderUnavailable) as during:
            provider.lookup(gtin)
        assert during.value.retry_after == pytest.approx(1.0)
    assert len(upstream.requests) == 1

    clock.now += 1.0
    assert provider.lookup(NUTELLA) is not None
    assert len(upstream.requests) == 2


def test_cached_answers_are_served_during_a_backoff(
    provider: OpenFoodFactsProvider, upstream: Upstream
) -> None:
    upstream.script(found(), Reply(429, b"", {"Retry-After": "30"}))
    hit = provider.lookup(NUTELLA)
    with pytest.raises(ProviderUnavailable):
        provider.lookup("04006381333931")

    assert provider.lookup(NUTELLA) == hit
    assert len(upstream.requests) == 2


def test_503_with_an_http_date_retry_after(
    provider: OpenFoodFactsProvider, upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script(
        Reply(
            503,
            b"Service Unavailable",
            {
                "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
                "Retry-After": "Wed, 21 Oct 2015 07:30:00 GMT",
            },
        )
    )

    with pytest.raises(ProviderUnavailable) as raised:
        provider.lookup(NUTELLA)
    assert raised.value.retry_after == 120

    clock.now += 119.0
    with pytest.raises(ProviderUnavailable):
        provider.lookup(NUTELLA)
    assert len(upstream.requests) == 1


def test_http_date_without_a_date_header_is_measured_from_now(
    provider: OpenFoodFactsProvider, upstream: Upstream
) -> None:
    retry_at = formatdate(time.time() + 90, usegmt=True)
    upstream.script(Reply(503, b"", {"Retry-After": retry_at}))

    with pytest.raises(ProviderUnavailable) as raised:
        provider.lookup(NUTELLA)
    assert raised.value.retry_after is not None
    assert 85 <= raised.value.retry_after <= 91


def test_500_is_an_error_and_not_cached(
    provider: OpenFoodFactsProvider, upstream: Upstream
) -> None:
    upstream.script(Reply(500, b"oops"), found())

    with pytest.raises(ProviderError, match="HTTP 500") as raised:
        provider.lookup(NUTELLA)
    assert not isinstance(raised.value, ProviderUnavailable)
    assert provider.lookup(NUTELLA) is not None
    assert len(upstream.requests) == 2


def test_404_that_is_not_an_off_answer_is_an_error(
    provider: OpenFoodFactsProvider, upstream: Upstream
) -> None:
    upstream.script(Reply(404, b"<html>Not Found</html>"), not_found())

    with pytest.raises(ProviderError, match="not JSON"):
        provider.lookup(NUTELLA)
    assert provider.lookup(NUTELLA) is None
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b'{"status": 1, "product": ', b"[1, 2]"],
)
def test_invalid_json_is_an_error(
    provider: OpenFoodFactsProvider, upstream: Upstream, body: bytes
) -> None:
    upstream.script(Reply(200, body, {"Content-Type": "application/json"}))

    with pytest.raises(ProviderError, match="openfoodfacts"):
        provider.lookup(NUTELLA)


def test_timeout_is_an_error(upstream: Upstream, clock: FakeClock) -> None:
    # the answer would take 30 s (the server is released at teardown); the 0.3 s timeout
    # ends the lookup long before, with room to spare on a loaded machine
    upstream.script(Reply(delay=30.0, body=b"{}"))
    with httpx.Client(timeout=0.3, trust_env=False) as client:
        provider = OpenFoodFactsProvider(
            client, base_url=upstream.base_url, user_agent=USER_AGENT, clock=clock
        )
        started = time.monotonic()
        with pytest.raises(ProviderError, match="timed out"):
            provider.lookup(NUTELLA)
    assert time.monotonic() - started < 15


def test_connection_refused_is_an_error(client: httpx.Client) -> None:
    with refused_port() as port:
        provider = OpenFoodFactsProvider(
            client, base_url=f"http://127.0.0.1:{port}", user_agent=USER_AGENT
        )
        with pytest.raises(ProviderError, match="failed"):
            provider.lookup(NUTELLA)


@pytest.mark.parametrize(
    ("gtin", "path"),
    [
        ("04006381333931", "/api/v2/product/4006381333931.json"),
        ("00036000291452", "/api/v2/product/0036000291452.json"),
        ("14006381333938", "/api/v2/product/14006381333938.json"),
    ],
)
def test_gtin14_is_queried_in_its_gtin13_form_when_it_can_be(
    provider: OpenFoodFactsProvider, upstream: Upstream, gtin: str, path: str
) -> None:
    upstream.script(not_found())

    provider.lookup(gtin)

    assert upstream.requests[0].path == path


@pytest.mark.parametrize("gtin", ["4006381333931", "0400638133393a", "../../admin/x"])
def test_a_gtin_that_is_not_a_gtin14_is_refused(
    provider: OpenFoodFactsProvider, upstream: Upstream, gtin: str
) -> None:
    with pytest.raises(ValueError, match="GTIN-14"):
        provider.lookup(gtin)
    assert upstream.requests == []
