"""Which network addresses an audio URL may reach (SSRF protection).

Event producers choose the URL, so without a check an event could make the service read
its cloud metadata endpoint (169.254.169.254), a database on localhost or any service
inside the cluster. Only globally routable addresses are allowed, unless an operator
allow-lists a network. The check runs on the addresses a name resolves to, at connect
time, for the first URL and for every redirect (see ``http.py``), so DNS tricks and
redirects to internal hosts fail the same way.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForbiddenAddress(Exception):
    """The URL's host is (or resolves to) an address the service must not connect to."""


def parse_networks(spec: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.1/32, 10.0.0.0/8"`` → networks; raises ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip())


def check_address(address: IPAddress | str, allowed: tuple[IPNetwork, ...] = ()) -> None:
    """Raise ``ForbiddenAddress`` unless the address is public or inside an allowed network.

    ``is_global`` is False for loopback, private (RFC 1918, ULA), link-local (incl. the
    169.254.169.254 metadata service), CGNAT, multicast, reserved and unspecified ranges.
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in net for net in allowed):
        return
    if not ip.is_global or ip.is_multicast:
        raise ForbiddenAddress(f"{ip} is not a public address (loopback, private, link-local or metadata)")


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells literally, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class CheckedResolver(AbstractResolver):
    """aiohttp resolver that refuses a host if any address it resolves to is forbidden.

    aiohttp connects to exactly the addresses returned here, so the connection cannot go
    to an address that was not checked (no DNS-rebinding window).
    """

    def __init__(self, allowed: tuple[IPNetwork, ...]) -> None:
        self._allowed = allowed
        self._resolver = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            try:
                check_address(result["host"], self._allowed)
            except ForbiddenAddress as exc:
                raise ForbiddenAddress(f"{host} resolves to {exc}") from None
        return results

    async def close(self) -> None:
        await self._resolver.close()
