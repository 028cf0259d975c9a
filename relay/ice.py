"""Which local addresses WebRTC offers as ICE host candidates, and which remote ones it checks.

aioice gathers a host candidate on every address of every interface except loopback, and there is
no per-connection setting for it. A node that must only be reached on certain addresses (a
single-machine setup on 127.0.0.1, a server with a management and a video network) sets
``relay.ice_host_addresses``; this module makes aioice use exactly those. The setting is
process-wide, like the interfaces it replaces.

An offer's candidates are used only when they lie on one of those addresses' networks (the
interface's netmask): an anonymous offer must not make the server send connectivity checks to
any address it names. Dropping them all is safe — the viewer's own checks still reach the
server, which answers them (peer-reflexive candidates).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import aioice.ice
import psutil

logger = logging.getLogger(__name__)

_original = aioice.ice.get_host_addresses
_networks: list[IPv4Network | IPv6Network] = []
"""The networks remote candidates may be on (set with the host addresses)."""


def restrict_host_addresses(addresses: Sequence[IPv4Address | IPv6Address]) -> None:
    """Offer only ``addresses`` as host candidates (empty: aioice's default, all but loopback)."""
    global _networks
    _networks = local_networks(addresses)
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


def local_networks(
    addresses: Sequence[IPv4Address | IPv6Address],
) -> list[IPv4Network | IPv6Network]:
    """The networks of ``addresses`` (of every local address when empty), by their
    interfaces' netmasks."""
    wanted = {str(address) for address in addresses}
    networks: list[IPv4Network | IPv6Network] = []
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if not entry.netmask or entry.family.name not in ("AF_INET", "AF_INET6"):
                continue
            address = entry.address.split("%", 1)[0]
            if wanted and address not in wanted:
                continue
            try:
                networks.append(ip_network(f"{address}/{entry.netmask}", strict=False))
            except ValueError:
                continue
    return networks


def candidate_allowed(address: str) -> bool:
    """Whether a remote candidate's address lies on a network the relay serves."""
    try:
        remote = ip_address(address)
    except ValueError:
        return False  # a name (mDNS ``.local``) or garbage: never resolved, never checked
    return any(remote in network for network in _networks)
