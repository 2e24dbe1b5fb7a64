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

Where a URL may lead is :mod:`.egress`'s to decide (the threat model is there), how the
answer is classified :mod:`.classify`'s.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import typing
from dataclasses import dataclass, field

import httpx

from scanserve.plugins.builtin.qr.classify import (
    default_shorteners,
    extracted_gtin,
    host_of,
    resolver_type,
)
from scanserve.plugins.builtin.qr.egress import (
    MAX_LOCATION_CHARS,
    MAX_URL_CHARS,
    GetAddrInfo,
    Network,
    PinnedTransport,
    Refused,
    Target,
    parse_target,
    pinned,
    vet,
)
from scanserve.plugins.providers import Hop, QrResolution

# The package's name: operators find the "QR URL refused" lines under it.
logger = logging.getLogger("scanserve.plugins.builtin.qr")

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HOP_HEADERS = ("location", "content-type", "content-length", "server", "link")
_MAX_HEADER_CHARS = 2048


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


class _TooManyRedirects(Refused):
    """More redirects than the policy allows: no answer at all, not the last one reached."""


@dataclass
class _Chain:
    """What one ``resolve`` has gathered so far."""

    final: str
    hops: list[Hop] = field(default_factory=list)
    redirects: int = 0
    error: str = ""


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
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._policy = policy
        self._allowed: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in policy.allowed_networks
        )
        self._own_hosts = frozenset(h.lower().rstrip(".") for h in policy.own_resolver_hosts)
        self._shorteners = (
            default_shorteners()
            if shorteners is None
            else frozenset(d.lower().rstrip(".") for d in shorteners)
        )
        self._getaddrinfo = getaddrinfo
        self._owns_transport = transport is None
        self._transport: httpx.BaseTransport = (
            PinnedTransport() if transport is None else transport
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
        except Refused as exc:
            chain.error = str(exc)
            if isinstance(exc, _TooManyRedirects):
                chain.final = initial
            # INFO: the scanned input was refused, the server is fine. No query string or
            # fragment in the line: a scanned URL may carry a token.
            logger.info("QR URL %r refused: %s", _loggable(initial), chain.error)
        return self._classify(initial, chain)

    def _follow(self, current: str, chain: _Chain) -> None:
        deadline = time.monotonic() + self._policy.timeout
        limit = MAX_URL_CHARS
        while True:
            target = parse_target(current, limit)
            addresses = vet(
                target,
                deadline,
                allow_private=self._policy.allow_private,
                allowed=self._allowed,
                getaddrinfo=self._getaddrinfo,
            )
            if chain.hops:  # a redirect target that passed the checks: it is followed
                chain.redirects += 1
                chain.final = current
            hop, location = self._fetch(target, addresses, deadline)
            chain.hops.append(hop)
            if hop.status_code not in _REDIRECT_STATUSES:
                return
            if location is None:
                raise Refused(f"redirect ({hop.status_code}) without a Location header")
            if chain.redirects >= self._policy.max_hops:
                raise _TooManyRedirects(f"too many redirects (more than {self._policy.max_hops})")
            try:
                current = str(target.url.join(location))
            except (httpx.InvalidURL, ValueError, TypeError) as exc:
                raise Refused(f"malformed Location {location[:200]!r}: {exc}") from None
            limit = MAX_LOCATION_CHARS

    def _fetch(
        self, target: Target, addresses: tuple[str, ...], deadline: float
    ) -> tuple[Hop, str | None]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Refused(f"timeout after {self._policy.timeout:g} s")
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
        with pinned(target.host, addresses, deadline):
            try:
                response = self._transport.handle_request(request)
            except httpx.TimeoutException:
                raise Refused(
                    f"timeout after {self._policy.timeout:g} s (requesting {target.url})"
                ) from None
            except httpx.ConnectError as exc:
                detail = str(exc) or "refused"
                raise Refused(f"connection to {target.url} failed: {detail}") from None
            except Exception as exc:  # a transport failure is a result, not a raise
                detail = str(exc) or type(exc).__name__
                raise Refused(f"request to {target.url} failed: {detail}") from None
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
        kind = resolver_type(
            start,
            final,
            own_hosts=self._own_hosts,
            shorteners=self._shorteners,
            error=chain.error,
            redirects=chain.redirects,
        )
        return QrResolution(
            initial_url=initial,
            final_url=chain.final,
            hops=chain.hops,
            hop_count=chain.redirects,
            resolver_domain=host_of(start),
            resolver_type=kind,
            is_closient_resolver=kind == "CLOSIENT",
            extracted_gtin=extracted_gtin(start, final),
            error_message=chain.error,
        )


def _loggable(url: str) -> str:
    """``url`` without its query string and fragment, at most 200 characters."""
    return url.split("?", 1)[0].split("#", 1)[0][:200]
