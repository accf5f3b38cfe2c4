"""Addresses a descriptor gives (subnets, listen addresses), checked before anything runs.

Shared by validation (located problems) and deploy (the same rules for ``--subnet``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Never a container network: "this" network, loopback, link-local, multicast, reserved.
SPECIAL_RANGES = tuple(
    ipaddress.IPv4Network(n)
    for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """The network ``text`` names; ValueError says why it is none or is a special range."""
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an IPv4 network: {exc}") from exc
    for special in SPECIAL_RANGES:
        if network.overlaps(special):
            raise ValueError(
                f"{network} overlaps the special range {special} (this host, loopback, "
                "link-local, multicast or reserved), never a container network"
            )
    return network


def subnet_problem(text: str) -> str | None:
    try:
        parse_subnet(text)
    except ValueError as exc:
        return str(exc)
    return None


def split_listen(text: str) -> tuple[str, int]:
    """(host, port) of ``host:port``; ValueError says what is wrong."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not port_text.isdigit():
        raise ValueError(f"{text!r} is not host:port")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")
    if host == "localhost":
        return "127.0.0.1", port
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(bare)
    except ValueError as exc:
        raise ValueError(f"{host!r} is not an IP address") from exc
    if host.startswith("[") != (address.version == 6):
        raise ValueError(f"{host!r}: an IPv6 address goes in brackets, an IPv4 one does not")
    return str(address), port


def listen_problem(text: str) -> str | None:
    try:
        split_listen(text)
    except ValueError as exc:
        return str(exc)
    return None


ALLOCATED_PREFIX = 24  # the size of an allocated service network


def overlapping(subnet: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that overlaps ``subnet``."""
    network = ipaddress.IPv4Network(subnet, strict=False)
    for other in others:
        if network.overlaps(ipaddress.IPv4Network(other, strict=False)):
            return other
    return None


def allocate_subnet(
    pool: str, taken: Iterable[str], refused: Iterable[str], key: str
) -> str | None:
    """A /24 of ``pool`` that overlaps none of ``taken`` and ``refused`` (None: the pool is
    full). The search starts at a place fixed by ``key`` (the environment's object names), so
    an environment whose network was removed gets the same subnet back when it is free."""
    import hashlib  # only deploy allocates: off the start-up of every descriptor check

    network = ipaddress.IPv4Network(pool, strict=False)
    prefix = max(ALLOCATED_PREFIX, network.prefixlen)
    count = 2 ** (prefix - network.prefixlen)
    blocked = [ipaddress.IPv4Network(t, strict=False) for t in (*taken, *refused)]
    blocked += SPECIAL_RANGES
    start = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % count
    size = 2 ** (32 - prefix)
    base = int(network.network_address)
    for step in range(count):
        first = base + ((start + step) % count) * size
        candidate = ipaddress.IPv4Network((first, prefix))
        if not any(candidate.overlaps(b) for b in blocked):
            return str(candidate)
    return None
