"""The client's IP address: the socket peer, unless that peer is a trusted proxy.

Only when the direct peer is in `TRUSTED_PROXIES` is `X-Forwarded-For` read, from the right:
the first address that is not itself a trusted proxy is the client. Anything a client writes
into the header beyond that is ignored, so a forged header cannot change the identity used
for rate limits or logs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientIP:
    def __init__(self, trusted: Iterable[str]) -> None:
        self._networks: list[IPNetwork] = [
            ipaddress.ip_network(item.strip(), strict=False) for item in trusted if item.strip()
        ]

    def _trusted(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        if not forwarded_for or not self._trusted(peer):
            return peer
        client = peer
        for candidate in reversed([part.strip() for part in forwarded_for.split(",")]):
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                break  # garbage: stop at the last address we could vouch for
            client = candidate
            if not self._trusted(candidate):
                break
        return client
