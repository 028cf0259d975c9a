"""Which local addresses WebRTC offers as ICE host candidates.

aioice gathers a host candidate on every address of every interface except loopback, and there is
no per-connection setting for it. A node that must only be reached on certain addresses (a
single-machine setup on 127.0.0.1, a server with a management and a video network) sets
``relay.ice_host_addresses``; this module makes aioice use exactly those. The setting is
process-wide, like the interfaces it replaces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address

import aioice.ice

logger = logging.getLogger(__name__)

_original = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[IPv4Address | IPv6Address]) -> None:
    """Offer only ``addresses`` as host candidates (empty: aioice's default, all but loopback)."""
    if not addresses:
        aioice.ice.get_host_addresses = _original
        return
    chosen = [str(address) for address in addresses]

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            address
            for address in chosen
            if (use_ipv4 and ":" not in address) or (use_ipv6 and ":" in address)
        ]

    aioice.ice.get_host_addresses = host_addresses
    logger.info("WebRTC host candidates limited to %s", ", ".join(chosen))
