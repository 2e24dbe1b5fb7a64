"""Hostile URLs under the DEFAULT resolver policy: every one is refused before any request.

A sentinel server listens on 127.0.0.1 (and ::1 when the machine has IPv6) at the port the
URLs name; it must never see a request. DNS is a recording fake that would answer
127.0.0.1: none of these URLs may even reach DNS, names like metadata.google.internal are
refused by name.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from loopback import LoopbackServer, Route

from scanserve.plugins.builtin.qr.resolver import RedirectResolver, ResolverPolicy

HOSTILE = [
    # loopback, spelt every way inet_aton, browsers and IPv6 allow
    "http://127.0.0.1:{port}/",
    "HTTP://127.0.0.1:{port}/",
    "https://127.0.0.1:{port}/",
    "http://127.0.0.1.:{port}/",
    "http://127.127.127.127:{port}/",
    "http://2130706433:{port}/",
    "http://017700000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f.0.0.1:{port}/",
    "http://0x7f000001:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[fe80::1%25lo]:{port}/",
    "http://0.0.0.0:{port}/",
    "http://0:{port}/",
    "http://[::]:{port}/",
    "http://%31%32%37.0.0.1:{port}/",
    # names of this machine and of local networks
    "http://localhost:{port}/",
    "http://localhost.:{port}/",
    "http://LOCALHOST:{port}/",
    "http://foo.localhost:{port}/",
    "http://intranet:{port}/",
    "http://printer.local/",
    "http://kubernetes.default.svc.cluster.local/",
    "http://db.corp.internal/",
    # private, shared, link-local, special-purpose
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:a00:1]/",
    "http://[64:ff9b::a00:1]/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://[2001:db8::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    # cloud metadata, by address and by name
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/latest/meta-data/",
    "http://168.63.129.16/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
    "http://instance-data/latest/",
    # schemes other than http(s)
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "ftp://127.0.0.1:{port}/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "dict://127.0.0.1:{port}/",
    # user info tricks
    "http://user:pass@127.0.0.1:{port}/",
    "http://example.com@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}\\@example.com/",
    # no scheme, no host, malformed, too long
    "127.0.0.1",
    "127.0.0.1:{port}",
    "//127.0.0.1:{port}/",
    "",
    "http://",
    "http:///etc/passwd",
    "http://[::1/",
    "http://1.2.3.4.5/",
    "http://127.0.0.1:99999/",
    "http://example.com/" + "a" * 2100,
]


@pytest.fixture(scope="module")
def sentinel() -> Iterator[list[LoopbackServer]]:
    servers = [LoopbackServer({"/": Route(200)}, host="127.0.0.1")]
    with contextlib.suppress(OSError):  # no IPv6 loopback here: the v4 sentinel must do
        servers.append(LoopbackServer({"/": Route(200)}, host="::1", port=servers[0].port))
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def dns_calls() -> list[str]:
    return []


@pytest.fixture
def resolver(dns_calls: list[str]) -> Iterator[RedirectResolver]:
    def lying_dns(host: str, port: int, *args: object, **kwargs: object) -> list:
        dns_calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    with RedirectResolver(getaddrinfo=lying_dns) as r:
        yield r


@pytest.mark.parametrize("template", HOSTILE, ids=[t[:60] for t in HOSTILE])
def test_hostile_url_is_refused(template, sentinel, resolver, dns_calls):
    url = template.format(port=sentinel[0].port)

    res = resolver.resolve(url)

    assert res.error_message
    assert not res.succeeded
    assert res.hop_count == 0
    assert res.hops == []
    assert res.final_url == res.initial_url == url
    assert res.is_closient_resolver is False
    assert dns_calls == []
    assert [s.requests for s in sentinel] == [[] for _ in sentinel]


def test_the_list_is_long_enough():
    assert len(HOSTILE) >= 30


def test_default_policy_is_strict():
    policy = ResolverPolicy()
    assert policy.allow_private is False
    assert policy.allowed_networks == ()
    assert policy.max_hops == 10
    assert policy.timeout == 5.0


def fake_dns(answers: list[str], calls: list[str]):
    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        calls.append(host)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.5"],
        ["93.184.215.14", "10.0.0.5"],
        ["10.0.0.5", "93.184.215.14"],
        ["93.184.215.14", "127.0.0.1"],
        ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::1"],
        ["::ffff:10.0.0.5"],
        ["169.254.169.254"],
        ["100.100.100.200"],
        ["0.0.0.0"],
    ],
    ids="+".join,
)
def test_name_resolving_to_a_blocked_address_is_refused(answers, sentinel):
    requests: list[httpx.Request] = []
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not run
        requests.append(request)
        return httpx.Response(200)

    # Once with a transport that would record any request, once with the real one aimed
    # at the sentinel's port.
    for transport in (httpx.MockTransport(handler), None):
        with RedirectResolver(getaddrinfo=fake_dns(answers, calls), transport=transport) as r:
            res = r.resolve(f"http://innocent.example.com:{sentinel[0].port}/")
        assert res.error_message == (
            "blocked host 'innocent.example.com': the target is not allowed"
        )
        assert res.hops == []
        assert res.hop_count == 0
    assert requests == []
    assert calls == ["innocent.example.com", "innocent.example.com"]
    assert [s.requests for s in sentinel] == [[] for _ in sentinel]


def test_failing_dns_is_an_error_not_an_exception():
    def broken(host: str, *args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with RedirectResolver(getaddrinfo=broken) as r:
        res = r.resolve("http://does-not-exist.example.com/")
    assert res.error_message.startswith("DNS lookup failed for does-not-exist.example.com")


def test_slow_dns_is_bounded_by_the_deadline():
    released = threading.Event()

    def stuck(host: str, *args: object, **kwargs: object) -> list:
        released.wait(60)  # a resolver that would answer in a minute
        return []

    try:
        with RedirectResolver(ResolverPolicy(timeout=0.3), getaddrinfo=stuck) as r:
            started = time.monotonic()
            res = r.resolve("http://slow-dns.example.com/")
            # the 0.3 s deadline, with room to spare on a loaded machine
            assert time.monotonic() - started < 20
    finally:
        released.set()
    assert res.error_message.startswith("timeout")


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


@pytest.mark.parametrize(
    ("host", "lifted"),
    [
        ("127.0.0.1", True),
        ("[::1]", True),
        ("10.0.0.1", True),
        ("172.16.0.1", True),
        ("192.168.0.1", True),
        ("100.64.0.1", True),
        ("[fc00::1]", True),
        ("[::ffff:10.0.0.1]", True),
        ("169.254.1.1", False),
        ("[fe80::1]", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("[fd00:ec2::254]", False),
    ],
)
def test_what_allow_private_lifts(host, lifted):
    policy = ResolverPolicy(allow_private=True)
    with RedirectResolver(policy, transport=httpx.MockTransport(_ok)) as r:
        res = r.resolve(f"http://{host}/")
    assert res.succeeded is lifted, res.error_message


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://100.100.100.200/",
        "http://168.63.129.16/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_metadata_endpoints_are_refused_whatever_the_policy(url):
    policy = ResolverPolicy(allow_private=True, allowed_networks=("0.0.0.0/0", "::/0"))
    with RedirectResolver(policy, transport=httpx.MockTransport(_ok)) as r:
        res = r.resolve(url)
    assert "cloud metadata endpoint" in res.error_message


def test_allowed_networks_is_finer_than_allow_private():
    policy = ResolverPolicy(allowed_networks=("10.1.0.0/16", "fd12::/16"))
    with RedirectResolver(policy, transport=httpx.MockTransport(_ok)) as r:
        assert r.resolve("http://10.1.2.3/").succeeded
        assert r.resolve("http://[fd12::1]/").succeeded
        assert "private address" in r.resolve("http://10.2.0.1/").error_message
        assert "loopback" in r.resolve("http://127.0.0.1/").error_message
