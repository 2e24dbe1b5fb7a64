"""Follow the redirects of a scanned QR code's URL, safely, and classify where it leads.

:class:`RedirectResolver` turns an http(s) URL into a :class:`QrResolution`, the contract's
``qr_analysis`` object (see :meth:`QrResolution.as_dict`). It never raises for bad input or a
bad network: every failure is a sentence in ``error_message``.

Behaviour
---------
- Only ``http`` and ``https``, for the first URL and for every ``Location``.
- Each URL is fetched with ``GET`` (many shorteners answer ``HEAD`` badly). Response bodies
  are never needed: reading stops once ``max_body_bytes`` have arrived (the socket is read in
  blocks of at most 64 KiB) and the response is closed. There is no meta-refresh or
  JavaScript following: bodies are not parsed.
- 301, 302, 303, 307 and 308 are followed (http→https included); a relative ``Location`` is
  resolved against the URL that sent it. At most ``max_hops`` redirects are followed; a
  further redirect is the error "too many redirects".
- A redirect status without a ``Location`` header is an error (the chain is broken, so the
  answer is not a final page). Any other status, 4xx and 5xx included, ends the chain with
  success: the resolver reports where the code leads, not whether the page is healthy.
- One deadline, ``timeout`` seconds, covers the whole chain: DNS, connects, TLS handshakes,
  reads and writes of every hop are each given only the time that is left.
- ``hops`` holds one entry per response received (the URL requested, its status and a few
  response headers: location, content-type, content-length, server, link). ``hop_count`` is
  the number of redirects followed, that is, redirect targets that passed the checks and
  were requested, whether or not they answered. Header values are cut at 2048 characters;
  a failure while reading a body is ignored (status and headers are the answer).
- ``final_url`` is the last URL requested: the initial URL when no redirect was followed. A
  redirect target refused before any request (blocked address, bad scheme, one too many)
  never becomes ``final_url``; the error names it. Too many redirects is an error, not a
  partial result: ``final_url`` is then the initial URL.

Classification, first match wins
--------------------------------
``resolver_domain`` is the host of the initial URL, lower case, without port or trailing dot
("" when the URL has no usable host).

1. ``CLOSIENT``: the initial host is one of ``own_resolver_hosts`` (exact match); only then
   is ``is_closient_resolver`` true.
2. ``URL_SHORTENER``: the initial host, or a parent domain of it, is in the shortener list
   (``plugins/data/url_shorteners.txt``).
3. ``GS1_DL``: the initial or the final URL is shaped like a GS1 Digital Link
   (:func:`scanserve.gs1.is_digital_link`): a URI biip reads as one, as a captured
   ``raw_value`` is read, or a path with ``/01/`` and a value of a GTIN's length (8, 12, 13
   or 14 digits). ``/2024/01/17`` is no Digital Link.
4. ``DIRECT``: success with no redirect.
5. ``UNKNOWN``: everything else (errors, redirects to ordinary pages).

``extracted_gtin`` is a GTIN-14 with a valid check digit, read by
:func:`scanserve.gs1.gtin_from_url` from the final URL (Digital Link ``/01/`` path first,
then a ``/gtin/`` path, then a ``gtin``, ``ean``, ``upc``, ``barcode``... query parameter),
else from the initial URL the same way, else "".

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

import contextvars
import functools
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import httpcore
import httpx

from ... import gs1
from ..providers import Hop, QrResolution

__all__ = ["RESOLVER_TYPES", "RedirectResolver", "ResolverPolicy"]

logger = logging.getLogger(__name__)

RESOLVER_TYPES = ("CLOSIENT", "GS1_DL", "URL_SHORTENER", "DIRECT", "UNKNOWN")

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_URL_CHARS = 2048  # the contract's limit on a URL given to resolve
_MAX_LOCATION_CHARS = 8192  # tracking URLs behind shorteners can be long
_HOP_HEADERS = ("location", "content-type", "content-length", "server", "link")
_MAX_HEADER_CHARS = 2048

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
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_GetAddrInfo = Callable[..., Sequence[tuple[typing.Any, ...]]]


@dataclass(frozen=True)
class ResolverPolicy:
    """Limits and permissions of a :class:`RedirectResolver` (see the module docstring).

    ``timeout`` is for the whole chain, in seconds. ``max_body_bytes`` caps the bytes read
    from each response. ``allow_private`` allows loopback, RFC 1918, unique-local and CGNAT
    targets; ``allowed_networks`` (CIDRs) allows any address inside them but cloud metadata
    endpoints.
    ``own_resolver_hosts`` are the hosts of this service's own resolver (``CLOSIENT``).
    """

    max_hops: int = 10
    timeout: float = 5.0
    max_body_bytes: int = 64 * 1024
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()
    own_resolver_hosts: tuple[str, ...] = ()
    user_agent: str = "scanserve-qr-resolver/1"


_DEFAULT_POLICY = ResolverPolicy()


class _Refused(Exception):
    """A hop cannot go on; the message becomes ``error_message``."""


class _TooManyRedirects(_Refused):
    """More redirects than the policy allows: no answer at all, not the last one reached."""


@dataclass
class _Chain:
    """What one ``resolve`` has gathered so far."""

    final: str
    hops: list[Hop] = field(default_factory=list)
    redirects: int = 0
    error: str = ""


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
    ip: ipaddress.IPv6Address, allow_private: bool, allowed: Sequence[_Network]
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
    ip: _IPAddress, allow_private: bool, allowed: Sequence[_Network]
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

    None when the last label is not a number, so the host is a name. Raises ``_Refused`` when
    it is a number but the host is no valid IPv4 address (``1.2.3.4.5``, ``example.99``).
    """
    labels = name.split(".")
    if not re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]*", labels[-1]):
        return None
    invalid = _Refused(f"malformed URL: host {name!r} is not a valid IPv4 address")
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
class _Target:
    url: httpx.URL
    host: str  # as httpx sends it: ASCII, lower case, IPv6 without brackets
    port: int
    literal: _IPAddress | None


def _parse_url(raw: str, limit: int) -> httpx.URL:
    if not raw:
        raise _Refused("malformed URL: empty")
    if len(raw) > limit:
        raise _Refused(f"URL too long ({len(raw)} characters, limit {limit})")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:  # IDNA errors are ValueErrors
        raise _Refused(f"malformed URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        if not url.scheme:
            raise _Refused("malformed URL: no http(s) scheme")
        raise _Refused(f"unsupported scheme {url.scheme[:20]!r}: only http and https are followed")
    if url.userinfo:
        raise _Refused("URL with user info (user:password@) refused")
    return url


def _check_name(name: str) -> None:
    """Refuse, without DNS, the names that can only mean this machine or its networks."""
    if name in _BLOCKED_NAMES or name.endswith(_BLOCKED_SUFFIXES):
        raise _Refused(f"blocked host {name!r}: local or metadata name")
    if "." not in name:
        raise _Refused(f"blocked host {name!r}: single-label names are not resolved")


def _parse_target(raw: str, limit: int) -> _Target:
    """Parse one URL of the chain and refuse what must never be requested."""
    url = _parse_url(raw, limit)
    host = url.raw_host.decode("ascii", errors="replace").lower()
    port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
    if not host:
        raise _Refused("malformed URL: no host")
    if not 0 < port < 65536:
        raise _Refused(f"malformed URL: port {port} out of range")
    if ":" in host:
        if "%" in host:
            raise _Refused("IPv6 zone identifiers are refused")
        try:
            return _Target(url, host, port, ipaddress.IPv6Address(host))
        except ValueError:
            raise _Refused(f"malformed URL: bad IPv6 address {host!r}") from None
    name = host.removesuffix(".")
    if not _HOST_CHARS.fullmatch(name) or name.startswith(".") or ".." in name:
        raise _Refused(f"malformed URL: bad host name {host[:100]!r}")
    literal = _parse_inet_aton(name)
    if literal is None:
        _check_name(name)
    return _Target(url, host, port, literal)


# --- the pinned network backend ------------------------------------------------------------


@dataclass(frozen=True)
class _Pin:
    host: str
    addresses: tuple[str, ...]
    deadline: float


# The addresses checked for the request in flight on this thread (contextvars are per thread
# for synchronous code); the backend connects to nothing else.
_PIN: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("qr_resolver_pin", default=None)


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


class _PinnedTransport(httpx.HTTPTransport):
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


# --- classification ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _default_shorteners() -> frozenset[str]:
    data = resources.files("scanserve.plugins") / "data" / "url_shorteners.txt"
    return _parse_domain_list(data.read_text(encoding="utf-8"))


def _parse_domain_list(text: str) -> frozenset[str]:
    domains = set()
    for line in text.splitlines():
        entry = line.partition("#")[0].strip().lower().rstrip(".")
        if entry:
            domains.add(entry)
    return frozenset(domains)


def _host_of(url: str) -> str:
    """Lower-case host without port or trailing dot; "" when there is none."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return ""
    if parsed.scheme not in ("http", "https"):
        return ""
    return parsed.host.lower().rstrip(".")


def _in_domains(host: str, domains: frozenset[str]) -> bool:
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


# --- the resolver --------------------------------------------------------------------------


class RedirectResolver:
    """Follows a QR code URL's redirects under a :class:`ResolverPolicy`.

    ``shorteners`` replaces the packaged shortener list; ``getaddrinfo`` replaces DNS (same
    signature as :func:`socket.getaddrinfo`); ``transport`` replaces the pinned network
    transport (the resolver then does not close it). Thread-safe: ``resolve`` may run in
    several threads at once.
    """

    name = "redirect-follower"

    def __init__(
        self,
        policy: ResolverPolicy = _DEFAULT_POLICY,
        *,
        shorteners: frozenset[str] | None = None,
        getaddrinfo: _GetAddrInfo = socket.getaddrinfo,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._policy = policy
        self._allowed: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in policy.allowed_networks
        )
        self._own_hosts = frozenset(h.lower().rstrip(".") for h in policy.own_resolver_hosts)
        self._shorteners = (
            _default_shorteners()
            if shorteners is None
            else frozenset(d.lower().rstrip(".") for d in shorteners)
        )
        self._getaddrinfo = getaddrinfo
        self._owns_transport = transport is None
        self._transport: httpx.BaseTransport = (
            _PinnedTransport() if transport is None else transport
        )

    def __enter__(self) -> typing.Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()

    def resolve(self, url: str) -> QrResolution:
        initial = url if isinstance(url, str) else ""
        chain = _Chain(final=initial)
        try:
            self._follow(initial.strip(), chain)  # QR payloads often end in a newline
        except _Refused as exc:
            chain.error = str(exc)
            if isinstance(exc, _TooManyRedirects):
                chain.final = initial
            # INFO: the scanned input was refused, the server is fine. No query string or
            # fragment in the line: a scanned URL may carry a token.
            logger.info("QR URL %r refused: %s", _loggable(initial), chain.error)
        return self._classify(initial, chain)

    def _follow(self, current: str, chain: _Chain) -> None:
        deadline = time.monotonic() + self._policy.timeout
        limit = _MAX_URL_CHARS
        while True:
            target = _parse_target(current, limit)
            addresses = self._vet(target, deadline)
            if chain.hops:  # a redirect target that passed the checks: it is followed
                chain.redirects += 1
                chain.final = current
            hop, location = self._fetch(target, addresses, deadline)
            chain.hops.append(hop)
            if hop.status_code not in _REDIRECT_STATUSES:
                return
            if location is None:
                raise _Refused(f"redirect ({hop.status_code}) without a Location header")
            if chain.redirects >= self._policy.max_hops:
                raise _TooManyRedirects(f"too many redirects (more than {self._policy.max_hops})")
            try:
                current = str(target.url.join(location))
            except (httpx.InvalidURL, ValueError, TypeError) as exc:
                raise _Refused(f"malformed Location {location[:200]!r}: {exc}") from None
            limit = _MAX_LOCATION_CHARS

    def _vet(self, target: _Target, deadline: float) -> tuple[str, ...]:
        """Check the target's addresses; return the ones to connect to (one DNS lookup)."""
        policy = self._policy
        if target.literal is not None:
            problem = _address_problem(target.literal, policy.allow_private, self._allowed)
            if problem:
                raise _Refused(f"blocked address {target.literal}: {problem}")
            # Connect to the address as we read it, not as the C library would read the host.
            return (str(target.literal),)
        infos = self._lookup(target.host, target.port, deadline)
        addresses: list[str] = []
        for info in infos:
            try:
                ip = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
            except (ValueError, IndexError, TypeError):
                raise _Refused(f"blocked host {target.host!r}: unusable DNS answer") from None
            problem = _address_problem(ip, policy.allow_private, self._allowed)
            if problem:
                # Where an internal name points is itself internal: say only that it is
                # refused, never the address.
                raise _Refused(f"blocked host {target.host!r}: the target is not allowed")
            if str(ip) not in addresses:
                addresses.append(str(ip))
        if not addresses:
            raise _Refused(f"DNS lookup failed for {target.host}: no addresses")
        return tuple(addresses)

    def _lookup(self, host: str, port: int, deadline: float) -> Sequence[tuple[typing.Any, ...]]:
        # getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline.
        answer: list[Sequence[tuple[typing.Any, ...]]] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                answer.append(self._getaddrinfo(host, port, 0, socket.SOCK_STREAM))
            except Exception as exc:  # an injected resolver may raise anything
                failure.append(exc)

        worker = threading.Thread(target=work, name="qr-resolver-dns", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            raise _Refused(f"timeout: DNS lookup for {host} did not finish in time")
        if failure:
            raise _Refused(f"DNS lookup failed for {host}: {failure[0]}")
        return answer[0] if answer else ()

    def _fetch(
        self, target: _Target, addresses: tuple[str, ...], deadline: float
    ) -> tuple[Hop, str | None]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Refused(f"timeout after {self._policy.timeout:g} s")
        request = httpx.Request(
            "GET",
            target.url,
            headers={
                "User-Agent": self._policy.user_agent,
                "Accept": "*/*",
                "Accept-Encoding": "identity",
            },
            extensions={"timeout": httpx.Timeout(left).as_dict()},
        )
        token = _PIN.set(_Pin(target.host, addresses, deadline))
        try:
            try:
                response = self._transport.handle_request(request)
            except httpx.TimeoutException:
                raise _Refused(
                    f"timeout after {self._policy.timeout:g} s (requesting {target.url})"
                ) from None
            except httpx.ConnectError as exc:
                detail = str(exc) or "refused"
                raise _Refused(f"connection to {target.url} failed: {detail}") from None
            except Exception as exc:  # a transport failure is a result, not a raise
                detail = str(exc) or type(exc).__name__
                raise _Refused(f"request to {target.url} failed: {detail}") from None
            try:
                self._drain(response, target.url, deadline)
                headers = {
                    name: response.headers[name][:_MAX_HEADER_CHARS]
                    for name in _HOP_HEADERS
                    if name in response.headers
                }
                locations = response.headers.get_list("location")
                return Hop(str(target.url), response.status_code, headers), (
                    locations[0] if locations else None
                )
            finally:
                response.close()
        finally:
            _PIN.reset(token)

    def _drain(self, response: httpx.Response, url: httpx.URL, deadline: float) -> None:
        """Read at most ``max_body_bytes`` of a body nobody needs; its failures do not count."""
        remaining = self._policy.max_body_bytes
        if remaining <= 0:
            return
        try:
            for chunk in response.iter_raw(min(remaining, 16 * 1024)):
                remaining -= len(chunk)
                if remaining <= 0 or time.monotonic() >= deadline:
                    break
        except Exception:  # the status and headers are what count
            logger.debug("QR resolver: body of %s not read", url, exc_info=True)

    def _classify(self, initial: str, chain: _Chain) -> QrResolution:
        start, final = initial.strip(), chain.final.strip()
        domain = _host_of(start)
        if domain and domain in self._own_hosts:
            kind = "CLOSIENT"
        elif domain and _in_domains(domain, self._shorteners):
            kind = "URL_SHORTENER"
        elif gs1.is_digital_link(final) or gs1.is_digital_link(start):
            kind = "GS1_DL"
        elif not chain.error and chain.redirects == 0:
            kind = "DIRECT"
        else:
            kind = "UNKNOWN"
        gtin = gs1.gtin_from_url(final) or gs1.gtin_from_url(start)
        return QrResolution(
            initial_url=initial,
            final_url=chain.final,
            hops=chain.hops,
            hop_count=chain.redirects,
            resolver_domain=domain,
            resolver_type=kind,
            is_closient_resolver=kind == "CLOSIENT",
            extracted_gtin=gtin,
            error_message=chain.error,
        )


def _loggable(url: str) -> str:
    """``url`` without its query string and fragment, at most 200 characters."""
    return url.split("?", 1)[0].split("#", 1)[0][:200]
