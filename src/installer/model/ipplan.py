"""The IP plan helper: propose the named addresses from a subnet.

Used by `onsite init`, `onsite lab up` and the wizard's IP page. Node
addresses come first and consecutive, then the VIPs, skipping the network and
broadcast addresses, the gateway and anything already taken.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence


class IpPlanError(ValueError):
    """The subnet cannot hold the requested addresses; the message says why."""


def default_gateway(subnet: str) -> str:
    net = ipaddress.IPv4Network(subnet, strict=False)
    return str(next(net.hosts()))


def propose(
    subnet: str,
    slots: Sequence[str],
    *,
    gateway: str | None = None,
    first: str | None = None,
    taken: Iterable[str] = (),
) -> dict[str, str]:
    """Addresses for `slots`, in order, from `first` on (default: gateway + 10).

    Raises IpPlanError with a sentence for the deployer when it cannot.
    """
    try:
        net = ipaddress.IPv4Network(subnet, strict=False)
    except ValueError:
        raise IpPlanError(f"{subnet!r} is not a subnet such as 10.20.30.0/24") from None
    gw = ipaddress.IPv4Address(gateway) if gateway else ipaddress.IPv4Address(default_gateway(subnet))
    if gw not in net:
        raise IpPlanError(f"gateway {gw} is outside {net}")
    if first:
        start = ipaddress.IPv4Address(first)
        if start not in net:
            raise IpPlanError(f"first address {start} is outside {net}")
    else:
        start = gw + 10 if (gw + 10) in net else next(net.hosts())
    blocked = {gw, net.network_address, net.broadcast_address}
    blocked.update(ipaddress.IPv4Address(t) for t in taken if _is_ipv4(t))
    out: dict[str, str] = {}
    candidate = start
    for slot in slots:
        while candidate in blocked:
            candidate += 1
            if candidate not in net:
                break
        if candidate not in net or candidate in blocked:
            raise IpPlanError(
                f"{net} has no free address left for {slot} after {start}; pick an earlier first address or a larger subnet"
            )
        out[slot] = str(candidate)
        blocked.add(candidate)
        if candidate == net.broadcast_address:
            candidate = candidate  # loop above will fail for the next slot
        else:
            candidate += 1
    return out


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False
