"""Who the client is: its address, read from ``X-Forwarded-For`` only as far as the proxies the
operator trusts (``trusted_proxies``), walking from the right; otherwise the peer's."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence


def networks(values: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def client_address(
    peer: str,
    raw_headers: Sequence[tuple[bytes, bytes]],
    trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy; then
    the rightmost ``X-Forwarded-For`` entry that is not a trusted proxy (entries left of it
    were written by the client and prove nothing)."""

    def is_trusted(value: str) -> bool:
        ip = _address(value)
        return ip is not None and any(ip in net for net in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [
        hop.strip()
        for k, v in raw_headers
        if k.lower() == b"x-forwarded-for"
        for hop in v.decode("latin-1").split(",")
    ]
    client = peer
    for hop in reversed(hops):
        if _address(hop) is None:
            break  # garbage from the client side: the last trusted hop is all we know
        client = str(_address(hop))
        if not is_trusted(hop):
            break
    return client
