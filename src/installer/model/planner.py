"""What a plan means on each node: components, ports, VIPs held.

Pure data in, pure data out; the CLI prints it and the wizard draws it.
"""

from __future__ import annotations

import dataclasses

from .plan import Plan
from .profile import Profile


@dataclasses.dataclass(frozen=True)
class PortUse:
    component: str
    name: str
    port: int
    protocol: str


@dataclasses.dataclass(frozen=True)
class VipHold:
    vip: str
    slot: str
    address: str
    priority: int
    backup: bool


@dataclasses.dataclass(frozen=True)
class NodeView:
    name: str
    slot: str
    address: str
    nic: str
    roles: tuple[str, ...]
    components: tuple[str, ...]
    external: tuple[str, ...]
    ports: tuple[PortUse, ...]
    vips: tuple[VipHold, ...]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def node_views(plan: Plan, profile: Profile) -> list[NodeView]:
    views = []
    for node in plan.nodes:
        comps = profile.components_for_roles(set(node.roles))
        local = [c for c in comps if not plan.is_external(c.name)]
        ports = tuple(
            PortUse(c.name, pname, plan.port(profile, c.name, pname), spec.protocol)
            for c in local
            for pname, spec in c.ports.items()
        )
        holds = []
        for vip in plan.vips_held_by(node.name):
            spec = profile.vips.get(vip.name)
            backup = bool(spec and set(node.roles) & set(spec.backup_roles)
                          and not set(node.roles) & (set(spec.member_roles) - set(spec.backup_roles)))
            holds.append(VipHold(vip.name, vip.address, plan.ips.get(vip.address, "?"), vip.priority(node.name), backup))
        views.append(
            NodeView(
                name=node.name,
                slot=node.address,
                address=plan.ips.get(node.address, "?"),
                nic=node.nic,
                roles=tuple(node.roles),
                components=tuple(c.name for c in local),
                external=tuple(c.name for c in comps if plan.is_external(c.name)),
                ports=tuple(sorted(ports, key=lambda p: (p.port, p.protocol))),
                vips=tuple(holds),
            )
        )
    return views
