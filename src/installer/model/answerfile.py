"""Answer files: write a plan as commented, stable YAML; make a starting plan.

Reading goes through `validate.validate_file`, which returns the plan with
every problem located in the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import ipplan, yamlio
from .plan import Node, Plan, SshAccess, Vip, VipCheck
from .profile import Profile

HEADER = """\
# onsite answer file: the deployment plan of one site.
#   check it:            onsite validate {name}
#   see what it does:    onsite plan {name}
# Secrets are never written here: a secret is a reference, env:NAME (read from
# the environment), file:PATH (a file only you can read) or prompt (asked when
# needed).
"""

_SECTION_NOTES = {
    "site": "The site and the product profile to deploy.",
    "network": "The subnet of all named addresses and its gateway; optional dns and ntp servers.",
    "ips": "The IP sheet, as the deployer's printed sheet names the addresses:{slots}",
    "nodes": "The servers: name (hostname), address (a node slot of the IP sheet), NIC,\n# roles, and how to reach them over SSH. host_key pins the server's SSH host key.",
    "vips": "Floating addresses (VRRP), each held by one member. A check runs every `interval`\n# seconds; after `fall` failed checks the address moves to the next member.",
    "ports": "Port overrides per component (defaults come from the profile).",
    "components": "Component settings (defaults come from the profile); `external: true` marks a\n# component provided outside this install.",
    "secrets": "Secrets the system needs, as references only.",
}


def render(plan: Plan, profile: Profile | None = None, name: str = "FILE") -> str:
    data = plan.to_data()
    slots = ""
    if profile is not None:
        slots = "".join(f"\n#   {s.name}: {s.title}" for s in profile.slots.values())
    parts = [HEADER.format(name=name), yamlio.dump({"version": data.pop("version")})]
    for key, value in data.items():
        note = _SECTION_NOTES.get(key, "").format(slots=slots)
        parts.append("\n")
        if note:
            parts.append(f"# {note}\n")
        parts.append(yamlio.dump({key: value}))
    return "".join(parts)


def write(plan: Plan, path: str | Path, profile: Profile | None = None) -> None:
    """Write atomically: a crash never leaves half an answer file."""
    path = Path(path)
    text = render(plan, profile, name=path.name)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def starting_plan(
    profile: Profile,
    *,
    site: str = "my-site",
    subnet: str = "198.18.0.0/24",
    gateway: str | None = None,
    first: str | None = None,
    key: str = "~/.ssh/id_ed25519",
) -> Plan:
    """A plan that validates: the profile's layout on proposed addresses."""
    gateway = gateway or ipplan.default_gateway(subnet)
    node_slots = profile.node_slots
    vip_slots = profile.vip_slots
    ips = ipplan.propose(subnet, node_slots + vip_slots, gateway=gateway, first=first)
    nodes = [
        Node(name=n.name, address=n.slot, roles=list(n.roles), ssh=SshAccess(key=key))
        for n in profile.layout
    ]
    vips = []
    for rid, spec in enumerate(profile.vips.values(), start=51):
        members = [n.name for n in nodes if set(n.roles) & set(spec.member_roles)]
        backups = [n.name for n in nodes if set(n.roles) & set(spec.backup_roles)]
        ordered = [m for m in members if m not in backups] + backups
        priorities = {m: 150 - 10 * i for i, m in enumerate(ordered)}
        for b in backups:
            priorities[b] = 50
        vips.append(Vip(name=spec.name, address=spec.slot, router_id=rid, members=ordered,
                        priorities=priorities, check=VipCheck(**profile.check_defaults)))
    roles = {r for n in nodes for r in n.roles}
    secrets = {s: "prompt" for c in profile.components_for_roles(roles) for s in c.secrets}
    return Plan(
        site_name=site,
        profile_name=profile.name,
        subnet=str(ipplan.ipaddress.IPv4Network(subnet, strict=False)),
        gateway=gateway,
        ips=ips,
        nodes=nodes,
        vips=vips,
        secrets=dict(sorted(secrets.items())),
    )
