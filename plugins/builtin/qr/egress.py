"""The egress guard of the QR resolver: what a scanned URL may make this server contact.

Threat model (server-side request forgery)
------------------------------------------
The URL comes from whoever printed the QR code, and so does every ``Location`` after it. An
attacker uses the resolver to make this server send requests where it can reach and they
cannot: loopback services, the private network, the cloud metadata endpoint (credentials),
link-local and other special-purpose ranges. What we get back is small (status and a few
headers) but that is enough to probe ports and hit unauthenticated internal endpoints with
GET. Decisions:

- Every URL of the chain, not only the first, goes through the same checks before any
  request: http(s) only; no user info (``user:pass@``, ``example.com@127.0.0.1``); a host of
  plain ASCII letters, digits, dots, hyphens and underscores (percent-encoded hosts refused);
  a port in 1-65535; no IPv6 zone ids; at most 2048 characters (8192 for a ``Location``).
- The URL is parsed once, by httpx, and that very parse is what is checked and what is
  requested, so no second parser can read the authority differently.
- Numeric hosts are normalised the way ``inet_aton`` and browsers read them (decimal
  ``2130706433``, octal ``017700000001``, hex ``0x7f.1``, short ``127.1``) before the address
  checks, and the connection goes to the address as we read it; a host whose last label is a
  number but which is no valid IPv4 address is refused (httpx itself refuses dotted quads
  with leading zeros such as ``0177.0.0.1``).
- Refused by name, without asking DNS: ``localhost`` and ``*.localhost``; names under
  ``.local``, ``.internal``, ``.localdomain``, ``.home.arpa``; single-label names (they go
  through resolver search domains into the local network); cloud metadata names
  (``metadata``, ``metadata.google.internal``, ``metadata.goog``, ``instance-data``...).
- Refused by address, for literals and for every address DNS returns (one blocked address
  refuses the host): loopback, RFC 1918 private, unique-local fc00::/7, link-local, CGNAT
  100.64/10, multicast, broadcast, reserved, unspecified, documentation and every other
  address ``ipaddress`` does not call global; IPv4-mapped and IPv4-compatible IPv6, 6to4 and
  NAT64 (64:ff9b::/96) are judged by the IPv4 address they embed, Teredo and local-use NAT64
  are refused. Cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200,
  168.63.129.16, ...) are refused always: no policy setting allows them.
- DNS rebinding: a host is resolved once per hop, all its addresses are checked, and the TCP
  connection goes to exactly those checked addresses. The default transport's network
  backend never resolves names itself: it connects only to the addresses pinned for the host
  of the current request and refuses any other connection. The URL keeps its hostname, so
  the Host header, TLS SNI and certificate verification all use the name.
- No proxies (the environment is not read), no cookies, no credentials, no keep-alive
  between hops, one overall deadline, a cap on bytes read, a cap on hops.
- ``allow_private`` lifts the refusal of loopback, RFC 1918, unique-local and CGNAT
  addresses (tests with a loopback server, closed deployments). It never lifts link-local,
  metadata, multicast, reserved or unspecified addresses, nor the refusals by name.
  ``allowed_networks`` is the finer tool: addresses inside those CIDRs are allowed whatever
  they are, except metadata addresses and IPv6 forms that embed IPv4 (those are judged by
  the embedded address).
- When a ``transport`` is injected (``httpx.MockTransport`` in tests), the checks and the DNS
  lookup still run before each hop; pinning is then the transport's business.

Not covered: ports are not restricted (public hosts on odd ports can be reached), and a
public host may itself forward requests inward; the resolver cannot see that.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ipaddress
import re
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import httpcore
import httpx

MAX_URL_CHARS = 2048  # the contract's limit on a URL given to resolve
MAX_LOCATION_CHARS = 8192  # tracking URLs behind shorteners can be long

_BLOCKED_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_BLOCKED_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean... instance metadata
        "169.254.169.253",  # AWS DNS
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata
        "168.63.129.16",  # Azure wire server (a public address reachable from every VM)
        "100.100.100.200",  # Alibaba Cloud metadata
        "192.0.0.192",  # Oracle Cloud legacy metadata
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fd00:ec2::253",  # AWS DNS over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
    )
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_RFC1918 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_HOST_CHARS = re.compile(r"[a-z0-9._-]+")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
GetAddrInfo = Callable[..., Sequence[tuple[typing.Any, ...]]]


class Refused(Exception):
    """A hop cannot go on; the message becomes ``error_message``."""


# --- the address guard ---------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, with the name of the scheme, or None."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are judged as themselves
        return "IPv4-compatible", low32
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _NAT64:
        return "NAT64", low32
    return None


# (test, reason, lifted by allow_private), in order: the first test that matches decides.
_ADDRESS_CHECKS: tuple[tuple[Callable[[_IPAddress], bool], str, bool], ...] = (
    (lambda a: a.is_unspecified, "unspecified address", False),
    (lambda a: a.is_multicast, "multicast address", False),
    (lambda a: a.is_link_local, "link-local address", False),
    (lambda a: a.is_loopback, "loopback address", True),
    (lambda a: a in _CGNAT, "shared address space (CGNAT)", True),
    (lambda a: any(a in net for net in _RFC1918), "private address", True),
    (lambda a: a in _UNIQUE_LOCAL, "unique-local address", True),
    (lambda a: a in _SITE_LOCAL, "site-local address", False),
    (lambda a: a.is_reserved, "reserved address", False),
    (lambda a: not a.is_global, "non-public special-purpose address", False),
)


def _tunnel_problem(
    ip: ipaddress.IPv6Address, allow_private: bool, allowed: Sequence[Network]
) -> tuple[bool, str | None]:
    """(whether ``ip`` is a tunnel or translation address, and then its problem or None)."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        kind, v4 = embedded
        if kind == "IPv4-compatible":
            return True, f"deprecated IPv4-compatible IPv6 address (embeds {v4})"
        inner = _address_problem(v4, allow_private, allowed)
        return True, None if inner is None else f"{kind} address embedding {v4}: {inner}"
    if ip.teredo is not None:
        return True, "Teredo tunnel address"
    if ip in _NAT64_LOCAL:
        return True, "local-use NAT64 address"
    return False, None


def _address_problem(
    ip: _IPAddress, allow_private: bool, allowed: Sequence[Network]
) -> str | None:
    """Why ``ip`` must not be contacted, or None when it may."""
    if ip in _METADATA_ADDRESSES:  # first: they sit in ranges a policy may allow
        return "cloud metadata endpoint"
    if isinstance(ip, ipaddress.IPv6Address):  # an embedded IPv4 address is what counts
        tunnel, problem = _tunnel_problem(ip, allow_private, allowed)
        if tunnel:
            return problem
    if any(ip in net for net in allowed):  # `in` is False across IP versions
        return None
    for test, reason, liftable in _ADDRESS_CHECKS:
        if test(ip):
            return None if liftable and allow_private else reason
    return None


def _parse_inet_aton(name: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numeric host means (``inet_aton`` and WHATWG rules), or None.

    None when the last label is not a number, so the host is a name. Raises ``Refused`` when
    it is a number but the host is no valid IPv4 address (``1.2.3.4.5``, ``example.99``).
    """
    labels = name.split(".")
    if not re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]*", labels[-1]):
        return None
    invalid = Refused(f"malformed URL: host {name!r} is not a valid IPv4 address")
    if len(labels) > 4:
        raise invalid
    parts: list[int] = []
    for label in labels:
        if re.fullmatch(r"0[xX][0-9a-fA-F]*", label):
            parts.append(int(label[2:] or "0", 16))
        elif re.fullmatch(r"0[0-7]+", label):
            parts.append(int(label, 8))
        elif re.fullmatch(r"[0-9]+", label):
            parts.append(int(label))
        else:
            raise invalid
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (5 - len(parts)):
        raise invalid
    value = last
    for i, part in enumerate(head):
        value |= part << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    host: str  # as httpx sends it: ASCII, lower case, IPv6 without brackets
    port: int
    literal: _IPAddress | None


def _parse_url(raw: str, limit: int) -> httpx.URL:
    if not raw:
        raise Refused("malformed URL: empty")
    if len(raw) > limit:
        raise Refused(f"URL too long ({len(raw)} characters, limit {limit})")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:  # IDNA errors are ValueErrors
        raise Refused(f"malformed URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        if not url.scheme:
            raise Refused("malformed URL: no http(s) scheme")
        raise Refused(f"unsupported scheme {url.scheme[:20]!r}: only http and https are followed")
    if url.userinfo:
        raise Refused("URL with user info (user:password@) refused")
    return url


def _check_name(name: str) -> None:
    """Refuse, without DNS, the names that can only mean this machine or its networks."""
    if name in _BLOCKED_NAMES or name.endswith(_BLOCKED_SUFFIXES):
        raise Refused(f"blocked host {name!r}: local or metadata name")
    if "." not in name:
        raise Refused(f"blocked host {name!r}: single-label names are not resolved")


def parse_target(raw: str, limit: int) -> Target:
    """Parse one URL of the chain and refuse what must never be requested."""
    url = _parse_url(raw, limit)
    host = url.raw_host.decode("ascii", errors="replace").lower()
    port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
    if not host:
        raise Refused("malformed URL: no host")
    if not 0 < port < 65536:
        raise Refused(f"malformed URL: port {port} out of range")
    if ":" in host:
        if "%" in host:
            raise Refused("IPv6 zone identifiers are refused")
        try:
            return Target(url, host, port, ipaddress.IPv6Address(host))
        except ValueError:
            raise Refused(f"malformed URL: bad IPv6 address {host!r}") from None
    name = host.removesuffix(".")
    if not _HOST_CHARS.fullmatch(name) or name.startswith(".") or ".." in name:
        raise Refused(f"malformed URL: bad host name {host[:100]!r}")
    literal = _parse_inet_aton(name)
    if literal is None:
        _check_name(name)
    return Target(url, host, port, literal)


# --- DNS: every address checked -------------------------------------------------------------


def vet(
    target: Target,
    deadline: float,
    *,
    allow_private: bool,
    allowed: Sequence[Network],
    getaddrinfo: GetAddrInfo,
) -> tuple[str, ...]:
    """Check the target's addresses; return the ones to connect to (one DNS lookup)."""
    if target.literal is not None:
        problem = _address_problem(target.literal, allow_private, allowed)
        if problem:
            raise Refused(f"blocked address {target.literal}: {problem}")
        # Connect to the address as we read it, not as the C library would read the host.
        return (str(target.literal),)
    infos = _lookup(getaddrinfo, target.host, target.port, deadline)
    addresses: list[str] = []
    for info in infos:
        try:
            ip = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        except (ValueError, IndexError, TypeError):
            raise Refused(f"blocked host {target.host!r}: unusable DNS answer") from None
        problem = _address_problem(ip, allow_private, allowed)
        if problem:
            # Where an internal name points is itself internal: say only that it is
            # refused, never the address.
            raise Refused(f"blocked host {target.host!r}: the target is not allowed")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise Refused(f"DNS lookup failed for {target.host}: no addresses")
    return tuple(addresses)


def _lookup(
    getaddrinfo: GetAddrInfo, host: str, port: int, deadline: float
) -> Sequence[tuple[typing.Any, ...]]:
    # getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline.
    answer: list[Sequence[tuple[typing.Any, ...]]] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            answer.append(getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as exc:  # an injected resolver may raise anything
            failure.append(exc)

    worker = threading.Thread(target=work, name="qr-resolver-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise Refused(f"timeout: DNS lookup for {host} did not finish in time")
    if failure:
        raise Refused(f"DNS lookup failed for {host}: {failure[0]}")
    return answer[0] if answer else ()


# --- the pinned network backend ------------------------------------------------------------


@dataclass(frozen=True)
class _Pin:
    host: str
    addresses: tuple[str, ...]
    deadline: float


# The addresses checked for the request in flight on this thread (contextvars are per thread
# for synchronous code); the backend connects to nothing else.
_PIN: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("qr_resolver_pin", default=None)


@contextlib.contextmanager
def pinned(host: str, addresses: tuple[str, ...], deadline: float) -> Iterator[None]:
    """While in the block, this thread's connections go to ``addresses`` of ``host`` only,
    and every socket operation ends by ``deadline``."""
    token = _PIN.set(_Pin(host, addresses, deadline))
    try:
        yield
    finally:
        _PIN.reset(token)


def _time_left(deadline: float, timeout: float | None, exc: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("overall deadline reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Clamps every socket operation to the chain's overall deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(
            max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout)
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the pinned, already checked addresses of the host; never resolves names."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        pin = _PIN.get()
        if pin is None or pin.host != host.lower():
            raise httpcore.ConnectError(f"refusing a connection to {host!r} that was not checked")
        last_error: Exception = httpcore.ConnectError(f"no address to connect to for {host!r}")
        for address in pin.addresses:
            left = _time_left(pin.deadline, timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, left, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream, pin.deadline)
        raise last_error


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes a while; one verifying context serves every resolver.
    return httpx.create_ssl_context(trust_env=False)


class PinnedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool uses :class:`_PinnedBackend`."""

    def __init__(self) -> None:
        ssl_context = _ssl_context()
        super().__init__(
            verify=ssl_context, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        # HTTPTransport takes no network backend; swap in a pool like the one it builds.
        # Fail closed should a future httpx keep its pool elsewhere.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise TypeError("unsupported httpx: HTTPTransport has no connection pool to pin")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_keepalive_connections=0,  # every hop opens a connection to its own pin
            http1=True,
            http2=False,
            network_backend=_PinnedBackend(),
        )
