"""The QR redirect resolver against real HTTP servers on loopback addresses.

Loopback is private, so these tests allow it explicitly: ``allow_private`` for 127.0.0.1,
or ``allowed_networks=("127.0.0.2/32",)`` where a test must show that everything else stays
refused. Names other than IP literals go through an injected fake DNS: nothing leaves the
machine.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import get_args

import httpx
import pytest
from loopback import Route, redirect, refused_port, server_factory, servers_on_one_port

from scanserve import QrResolution
from scanserve.generated.shapes import ResolverTypeEnum
from scanserve.plugins.builtin.qr import egress
from scanserve.plugins.builtin.qr.egress import PinnedTransport
from scanserve.plugins.builtin.qr.resolver import RedirectResolver, ResolverPolicy

ALLOW_LOOPBACK = ResolverPolicy(allow_private=True, timeout=2.0)
ONLY_127_0_0_2 = ResolverPolicy(allowed_networks=("127.0.0.2/32",), timeout=2.0)
GTIN = "09506000134352"


@pytest.fixture
def loopback_server():
    with server_factory() as start:
        yield start


@pytest.fixture
def resolver() -> Iterator[RedirectResolver]:
    with RedirectResolver(ALLOW_LOOPBACK) as r:
        yield r


def fake_dns(mapping: dict[str, list[str]], calls: list[str] | None = None) -> Callable[..., list]:
    """A getaddrinfo answering from ``mapping`` (name -> addresses), recording the names."""

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if calls is not None:
            calls.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in mapping[host]
        ]

    return getaddrinfo


# --- following redirects -------------------------------------------------------------------


def test_three_hop_chain(loopback_server, resolver):
    srv = loopback_server()
    srv.route("/a", Route(301, {"Location": srv.url("/b"), "X-Secret": "s", "Server": "t"}))
    srv.route("/b", redirect(302, srv.url("/c")))
    srv.route("/c", redirect(307, srv.url("/d")))
    srv.route("/d", Route(200, {"Content-Type": "text/html"}, b"<p>hi</p>"))

    res = resolver.resolve(srv.url("/a"))

    assert res.succeeded, res.error_message
    assert res.error_message == ""
    assert res.hop_count == 3
    assert res.initial_url == srv.url("/a")
    assert res.final_url == srv.url("/d")
    assert [(h.url, h.status_code) for h in res.hops] == [
        (srv.url("/a"), 301),
        (srv.url("/b"), 302),
        (srv.url("/c"), 307),
        (srv.url("/d"), 200),
    ]
    assert res.hops[0].headers == {"location": srv.url("/b"), "server": "t", "content-length": "0"}
    assert res.hops[3].headers["content-type"] == "text/html"
    assert srv.paths() == ["/a", "/b", "/c", "/d"]
    assert res.resolver_type == "UNKNOWN"  # redirects to an ordinary page
    assert res.resolver_domain == "127.0.0.1"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_each_redirect_status_is_followed(loopback_server, resolver, status):
    srv = loopback_server({"/a": redirect(status, "/b"), "/b": Route(200)})
    res = resolver.resolve(srv.url("/a"))
    assert res.succeeded, res.error_message
    assert [h.status_code for h in res.hops] == [status, 200]
    assert res.final_url == srv.url("/b")
    assert res.hop_count == 1


@pytest.mark.parametrize("status", [300, 304, 404, 500])
def test_other_statuses_end_the_chain_successfully(loopback_server, resolver, status):
    srv = loopback_server({"/a": Route(status, {"Location": "/b"})})
    res = resolver.resolve(srv.url("/a"))
    assert res.succeeded
    assert res.hop_count == 0
    assert res.final_url == res.initial_url
    assert srv.paths() == ["/a"]


def test_http_to_https_redirect_is_attempted_and_its_failure_reported(loopback_server, resolver):
    srv = loopback_server()
    https_url = f"https://127.0.0.1:{srv.port}/secure"
    srv.route("/a", redirect(301, https_url))

    res = resolver.resolve(srv.url("/a"))  # the plain-HTTP server cannot do a TLS handshake

    assert not res.succeeded
    assert https_url in res.error_message
    assert res.hop_count == 1  # the https hop was followed ...
    assert res.final_url == https_url  # ... it is where the chain stopped ...
    assert [h.status_code for h in res.hops] == [301]  # ... and it gave no answer
    assert srv.paths() == ["/a"]


@pytest.mark.parametrize(
    ("start", "location", "expected"),
    [
        ("/dir/a", "b?x=1", "/dir/b?x=1"),
        ("/dir/a", "../c", "/c"),
        ("/dir/a", "/d", "/d"),
        ("/dir/a", "?q=2", "/dir/a?q=2"),
    ],
)
def test_relative_location(loopback_server, resolver, start, location, expected):
    srv = loopback_server({start: redirect(302, location), expected: Route(200)})
    res = resolver.resolve(srv.url(start))
    assert res.succeeded, res.error_message
    assert res.final_url == srv.url(expected)
    assert srv.requests[-1].target == expected


def test_scheme_relative_location(loopback_server, resolver):
    srv = loopback_server()
    srv.route("/a", redirect(302, f"//127.0.0.1:{srv.port}/b"))
    srv.route("/b", Route(200))
    res = resolver.resolve(srv.url("/a"))
    assert res.final_url == srv.url("/b")
    assert res.succeeded


def test_eleven_redirects_are_too_many(loopback_server, resolver):
    srv = loopback_server({f"/r{i}": redirect(302, f"/r{i + 1}") for i in range(11)})
    srv.route("/r11", Route(200))

    res = resolver.resolve(srv.url("/r0"))

    assert "too many redirects" in res.error_message
    assert res.hop_count == 10
    assert len(res.hops) == 11
    assert res.final_url == srv.url("/r0")  # an error, not the last URL reached
    assert "/r11" not in srv.paths()
    assert res.resolver_type == "UNKNOWN"


def test_ten_redirects_are_fine(loopback_server, resolver):
    srv = loopback_server({f"/r{i}": redirect(302, f"/r{i + 1}") for i in range(10)})
    srv.route("/r10", Route(200))
    res = resolver.resolve(srv.url("/r0"))
    assert res.succeeded, res.error_message
    assert res.hop_count == 10


def test_max_hops_is_a_policy(loopback_server):
    srv = loopback_server({"/a": redirect(302, "/b"), "/b": redirect(302, "/c")})
    with RedirectResolver(ResolverPolicy(allow_private=True, max_hops=1)) as r:
        res = r.resolve(srv.url("/a"))
    assert "too many redirects" in res.error_message
    assert res.hop_count == 1
    assert "/c" not in srv.paths()


# --- failures come back as results ---------------------------------------------------------


def test_slow_server_times_out_within_the_deadline(loopback_server):
    # the answer would take 60 s (cut short when the server closes); the 0.5 s deadline
    # ends the resolution long before, with room to spare on a loaded machine
    srv = loopback_server({"/slow": Route(200, delay=60)})
    with RedirectResolver(ResolverPolicy(allow_private=True, timeout=0.5)) as r:
        started = time.monotonic()
        res = r.resolve(srv.url("/slow"))
        elapsed = time.monotonic() - started
    assert "timeout" in res.error_message
    assert 0.4 < elapsed < 20
    assert res.hops == []
    assert res.final_url == res.initial_url
    assert res.resolver_type == "UNKNOWN"


def test_the_deadline_covers_the_whole_chain(loopback_server):
    # Each hop (0.5 s) is well within the 2 s timeout; the eight together (4 s) are not.
    srv = loopback_server(
        {f"/r{i}": Route(302, {"Location": f"/r{i + 1}"}, delay=0.5) for i in range(8)}
    )
    with RedirectResolver(ResolverPolicy(allow_private=True, timeout=2.0)) as r:
        started = time.monotonic()
        res = r.resolve(srv.url("/r0"))
        elapsed = time.monotonic() - started
    assert "timeout" in res.error_message
    assert elapsed < 3.9  # stopped at the deadline, before the chain could end
    assert 1 <= res.hop_count <= 3
    assert "/r7" not in srv.paths()


def test_connection_refused(resolver):
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/"
        res = resolver.resolve(url)
    assert res.error_message.startswith("connection to")
    assert res.final_url == url
    assert res.hops == []
    assert res.hop_count == 0


def test_redirect_to_ftp_is_refused(loopback_server, resolver):
    srv = loopback_server({"/a": redirect(302, "ftp://127.0.0.1/file")})
    res = resolver.resolve(srv.url("/a"))
    assert "unsupported scheme 'ftp'" in res.error_message
    assert res.hop_count == 0
    assert res.final_url == srv.url("/a")
    assert [h.status_code for h in res.hops] == [302]


def test_redirect_without_location_is_an_error(loopback_server, resolver):
    srv = loopback_server({"/a": Route(302)})
    res = resolver.resolve(srv.url("/a"))
    assert res.error_message == "redirect (302) without a Location header"
    assert res.final_url == srv.url("/a")
    assert res.hop_count == 0
    assert len(res.hops) == 1


def test_malformed_location_is_an_error(loopback_server, resolver):
    srv = loopback_server({"/a": redirect(302, "http://[::1/")})
    res = resolver.resolve(srv.url("/a"))
    assert "malformed" in res.error_message
    assert res.hop_count == 0


def test_meta_refresh_is_not_followed(loopback_server, resolver):
    body = b'<html><head><meta http-equiv="refresh" content="0; url=/other"></head></html>'
    srv = loopback_server(
        {"/a": Route(200, {"Content-Type": "text/html"}, body), "/other": Route(200)}
    )
    res = resolver.resolve(srv.url("/a"))
    assert res.succeeded
    assert res.final_url == srv.url("/a")
    assert res.resolver_type == "DIRECT"
    assert srv.paths() == ["/a"]


def _served_body_bytes(loopback_server, policy: ResolverPolicy) -> int:
    """Resolve a 10 MB answer; how many of its bytes the server got to write. The server's
    send buffer is small, so that is about what the client read (plus the kernel's buffers,
    well under a megabyte on loopback while the client does not read)."""
    big = Route(200, {"Content-Type": "text/plain"}, b"x" * 10_000_000, send_buffer=16 * 1024)
    srv = loopback_server({"/big": big})
    with RedirectResolver(policy) as r:
        res = r.resolve(srv.url("/big"))
    assert res.succeeded
    assert res.hops[0].headers["content-length"] == "10000000"
    (request,) = srv.requests
    assert request.answered.wait(30)  # the server has written all, or the client has left
    return request.body_bytes_sent


def test_huge_body_is_not_read(loopback_server):
    assert _served_body_bytes(loopback_server, ALLOW_LOOPBACK) < 1_000_000


def test_the_huge_body_check_sees_a_body_read_whole(loopback_server):
    """The test of the test above: a resolver allowed to read 20 MB takes all 10 MB."""
    reads_all = ResolverPolicy(allow_private=True, timeout=10.0, max_body_bytes=20_000_000)
    assert _served_body_bytes(loopback_server, reads_all) == 10_000_000


def test_bytes_read_are_capped():
    pulled = 0

    def endless():
        nonlocal pulled
        while True:
            pulled += 4096
            yield b"x" * 4096

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    policy = ResolverPolicy(max_body_bytes=10_000)
    dns = fake_dns({"example.com": ["93.184.215.14"]})
    with RedirectResolver(policy, getaddrinfo=dns, transport=httpx.MockTransport(handler)) as r:
        res = r.resolve("http://example.com/")
    assert res.succeeded
    assert 10_000 <= pulled < 10_000 + 16 * 1024


def test_garbage_input_never_raises(resolver):
    for value in ["", " ", "http://", "http://[::1", "\x00", "http://exa\tmple.com/", None, 42]:
        res = resolver.resolve(value)  # type: ignore[arg-type]
        assert res.error_message
        assert res.hops == []


def test_surrounding_whitespace_is_ignored(loopback_server, resolver):
    srv = loopback_server({"/": Route(200)})
    res = resolver.resolve(srv.url("/") + "\n")
    assert res.succeeded, res.error_message
    assert res.initial_url == res.final_url == srv.url("/") + "\n"


# --- classification ------------------------------------------------------------------------


def test_direct(loopback_server, resolver):
    srv = loopback_server({"/p": Route(200)})
    res = resolver.resolve(srv.url("/p"))
    assert res.resolver_type == "DIRECT"
    assert res.hop_count == 0
    assert res.final_url == res.initial_url == srv.url("/p")
    assert res.extracted_gtin == ""
    assert res.is_closient_resolver is False


def test_digital_link_final_url(loopback_server, resolver):
    srv = loopback_server(
        {
            "/s": redirect(302, f"/gtin/01/{GTIN}/10/LOT1?17=261231"),
            f"/gtin/01/{GTIN}/10/LOT1": Route(200),
        }
    )
    res = resolver.resolve(srv.url("/s"))
    assert res.succeeded, res.error_message
    assert res.resolver_type == "GS1_DL"
    assert res.extracted_gtin == GTIN


def test_digital_link_with_short_gtin_is_padded(loopback_server, resolver):
    srv = loopback_server({"/01/12345670": Route(200)})
    res = resolver.resolve(srv.url("/01/12345670"))
    assert res.resolver_type == "GS1_DL"
    assert res.extracted_gtin == "00000012345670"


def test_digital_link_with_bad_check_digit_gives_no_gtin(loopback_server, resolver):
    srv = loopback_server({"/01/09506000134353": Route(200)})
    res = resolver.resolve(srv.url("/01/09506000134353"))
    assert res.resolver_type == "GS1_DL"
    assert res.extracted_gtin == ""


def test_a_date_path_is_no_digital_link(loopback_server, resolver):
    # 00000000000017 has a valid check digit, but a date path names no GTIN (gs1 reads URLs)
    srv = loopback_server({"/2024/01/17": Route(200)})
    res = resolver.resolve(srv.url("/2024/01/17"))
    assert res.succeeded, res.error_message
    assert res.resolver_type == "DIRECT"
    assert res.extracted_gtin == ""


def test_digital_link_with_trailing_slash(loopback_server, resolver):
    srv = loopback_server({f"/01/{GTIN}/": Route(200)})
    res = resolver.resolve(srv.url(f"/01/{GTIN}/"))
    assert res.resolver_type == "GS1_DL"
    assert res.extracted_gtin == GTIN


@pytest.mark.parametrize(
    ("query", "gtin"),
    [
        ("gtin=9506000134352", GTIN),
        ("EAN=9506000134352", GTIN),
        ("upc=036000291452", "00036000291452"),
        ("barcode=12345670", "00000012345670"),
        ("gtin=9506000134353", ""),  # bad check digit
        ("gtin=abc", ""),
        ("gtin=1234567895", ""),  # ten digits: no GTIN length
        ("gtin=00000000000000", ""),
        ("id=9506000134352", ""),
    ],
)
def test_gtin_from_query(loopback_server, resolver, query, gtin):
    srv = loopback_server({"/p": Route(200)})
    res = resolver.resolve(srv.url(f"/p?{query}"))
    assert res.resolver_type == "DIRECT"
    assert res.extracted_gtin == gtin


def test_gtin_from_initial_url_when_final_has_none(loopback_server, resolver):
    srv = loopback_server({f"/01/{GTIN}": redirect(302, "/shop"), "/shop": Route(200)})
    res = resolver.resolve(srv.url(f"/01/{GTIN}"))
    assert res.resolver_type == "GS1_DL"
    assert res.extracted_gtin == GTIN
    assert res.final_url == srv.url("/shop")


def test_url_shortener(loopback_server):
    srv = loopback_server(host="127.0.0.2")
    srv.route("/abc", redirect(301, srv.url("/landing")))
    srv.route("/landing", Route(200))
    dns = fake_dns({"bit.ly": ["127.0.0.2"]})
    with RedirectResolver(ONLY_127_0_0_2, getaddrinfo=dns) as r:
        res = r.resolve(f"http://bit.ly:{srv.port}/abc")
    assert res.succeeded, res.error_message
    assert res.resolver_type == "URL_SHORTENER"
    assert res.resolver_domain == "bit.ly"
    assert res.hop_count == 1
    assert res.final_url == srv.url("/landing")
    # Connected to the pinned address, but the request still names the host.
    assert srv.requests[0].headers["Host"] == f"bit.ly:{srv.port}"


def test_shortener_subdomain_and_classification_without_success():
    dns = fake_dns({})
    with RedirectResolver(ALLOW_LOOPBACK, getaddrinfo=dns) as r:
        res = r.resolve("https://WWW.Bit.LY./x")
    assert "DNS lookup failed" in res.error_message
    assert res.resolver_domain == "www.bit.ly"
    assert res.resolver_type == "URL_SHORTENER"


def test_custom_shortener_list():
    shorteners = frozenset({"sho.rt"})
    with RedirectResolver(ALLOW_LOOPBACK, shorteners=shorteners, getaddrinfo=fake_dns({})) as r:
        assert r.resolve("http://sho.rt/x").resolver_type == "URL_SHORTENER"
        assert r.resolve("http://bit.ly/x").resolver_type == "UNKNOWN"


def test_own_resolver_is_closient(loopback_server):
    srv = loopback_server(host="127.0.0.2")
    srv.route("/q", redirect(302, f"/01/{GTIN}"))
    srv.route(f"/01/{GTIN}", Route(200))
    policy = ResolverPolicy(
        allowed_networks=("127.0.0.2/32",), own_resolver_hosts=("QR.Scanserve.example",)
    )
    dns = fake_dns({"qr.scanserve.example": ["127.0.0.2"]})
    with RedirectResolver(policy, getaddrinfo=dns) as r:
        res = r.resolve(f"http://qr.scanserve.example:{srv.port}/q")
    assert res.succeeded, res.error_message
    assert res.resolver_type == "CLOSIENT"
    assert res.is_closient_resolver is True
    assert res.extracted_gtin == GTIN


def test_as_dict_is_the_contract_object(loopback_server, resolver):
    srv = loopback_server({"/a": redirect(302, "/b"), "/b": Route(200)})
    res = resolver.resolve(srv.url("/a"))
    data = res.as_dict()
    assert list(data) == [
        "initial_url",
        "final_url",
        "hops",
        "hop_count",
        "resolver_domain",
        "resolver_type",
        "is_closient_resolver",
        "extracted_gtin",
        "error_message",
    ]
    assert data["hops"][0] == {
        "url": srv.url("/a"),
        "status_code": 302,
        "headers": {"location": "/b", "content-length": "0"},
    }
    assert data["resolver_type"] in get_args(ResolverTypeEnum)
    json.dumps(data)
    assert isinstance(res, QrResolution)
    assert res.succeeded is (res.error_message == "")


# --- the address guard on every hop --------------------------------------------------------


def test_every_hop_is_checked(loopback_server):
    sentinel = loopback_server({"/": Route(200)}, host="127.0.0.1")
    srv = loopback_server({"/a": redirect(302, sentinel.url("/"))}, host="127.0.0.2")
    with RedirectResolver(ONLY_127_0_0_2) as r:
        res = r.resolve(srv.url("/a"))
    assert res.error_message.startswith("blocked address 127.0.0.1")
    assert [h.status_code for h in res.hops] == [302]
    assert res.hop_count == 0
    assert res.final_url == srv.url("/a")
    assert sentinel.requests == []


def test_allow_private_is_needed_for_loopback(loopback_server):
    srv = loopback_server({"/": Route(200)})
    with RedirectResolver(ResolverPolicy(timeout=1)) as r:
        res = r.resolve(srv.url("/"))
    assert res.error_message == "blocked address 127.0.0.1: loopback address"
    assert srv.requests == []


def test_dns_rebinding_connects_to_the_checked_address(monkeypatch):
    # The first answer is allowed, every later one points at 127.0.0.1. The fake also
    # replaces socket.getaddrinfo, so a transport doing its own lookup would get 127.0.0.1
    # and hit the sentinel listening there on the same port.
    real_getaddrinfo = socket.getaddrinfo
    calls: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        calls.append(host)
        address = "127.0.0.2" if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    good, sentinel = servers_on_one_port("127.0.0.2", "127.0.0.1", routes={"/": Route(200)})
    try:
        with RedirectResolver(ONLY_127_0_0_2, getaddrinfo=rebinding) as r:
            res = r.resolve(f"http://rebind.example:{good.port}/")
        assert res.succeeded, res.error_message
        assert calls == ["rebind.example"]  # one lookup for the hop ...
        assert good.paths() == ["/"]  # ... and the connection went to its answer
        assert sentinel.requests == []
    finally:
        good.close()
        sentinel.close()


def test_dns_rebinding_between_hops_is_refused(loopback_server):
    srv = loopback_server({"/a": redirect(302, "/b"), "/b": Route(200)}, host="127.0.0.2")
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])

    def rebinding(host, port, *args, **kwargs):
        return fake_dns({host: next(answers)})(host, port)

    with RedirectResolver(ONLY_127_0_0_2, getaddrinfo=rebinding) as r:
        res = r.resolve(f"http://rebind.example:{srv.port}/a")
    assert res.error_message == "blocked host 'rebind.example': the target is not allowed"
    assert "127.0.0.1" not in res.error_message  # internal DNS answers are not revealed
    assert srv.paths() == ["/a"]


def test_injected_transport_still_gets_the_guard():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://inside.example.com/"})

    dns = fake_dns({"outside.example.com": ["93.184.215.14"], "inside.example.com": ["10.0.0.5"]})
    with RedirectResolver(getaddrinfo=dns, transport=httpx.MockTransport(handler)) as r:
        res = r.resolve("http://outside.example.com/")
    assert seen == ["http://outside.example.com/"]
    assert res.error_message == "blocked host 'inside.example.com': the target is not allowed"
    assert "10.0.0.5" not in res.error_message


def test_pinned_transport_refuses_unchecked_connections(loopback_server):
    srv = loopback_server({"/": Route(200)})
    with httpx.Client(transport=PinnedTransport()) as client, pytest.raises(httpx.ConnectError):
        client.get(srv.url("/"))
    assert srv.requests == []


@pytest.fixture(scope="module")
def shop_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for shop.example, made with ``cryptography``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.example")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert), str(key_file)


def test_tls_is_verified_against_the_host_name_not_the_pinned_address(
    loopback_server, shop_certificate, monkeypatch
):
    cert, key = shop_certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: sni.append(name)
    srv = loopback_server({"/": Route(200)}, host="127.0.0.2", tls=server_tls)
    # Trust the test certificate instead of the public CAs.
    monkeypatch.setattr(egress, "_ssl_context", lambda: ssl.create_default_context(cafile=cert))
    dns = fake_dns({"shop.example": ["127.0.0.2"], "other.example": ["127.0.0.2"]})

    with RedirectResolver(ONLY_127_0_0_2, getaddrinfo=dns) as r:
        good = r.resolve(f"https://shop.example:{srv.port}/")
        wrong_name = r.resolve(f"https://other.example:{srv.port}/")

    assert good.succeeded, good.error_message
    assert srv.requests[0].headers["Host"] == f"shop.example:{srv.port}"
    assert "other.example" in wrong_name.error_message
    assert "certificate" in wrong_name.error_message.lower()
    assert sni == ["shop.example", "other.example"]
    assert len(srv.requests) == 1
