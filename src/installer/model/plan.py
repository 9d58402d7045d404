"""The plan: one site's deployment, as typed values.

A `Plan` is built from answer-file data that already passed the JSON Schema
(see `validate.py`), and turns back into data in one canonical key order
(`to_data`), so load -> save -> load gives the same plan and saved files diff
well. Defaults are filled in on load and written out on save: a saved answer
file says everything the install will use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from .profile import Profile

# Kubernetes' internal networks: kubeadm's defaults. Plan fields (network.pod_subnet,
# network.service_subnet) because they must fit the site: they overlap neither each
# other nor the site LAN. Written out only when they differ from these defaults, so
# a file that never mentions them keeps its text and its fingerprint.
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:[^\x00-\x1f]{1,4096}|prompt)$")


@dataclasses.dataclass
class SshAccess:
    user: str = "root"
    port: int = 22
    auth: str = "key"  # key | password | agent
    key: str | None = None
    password: str | None = None  # a secret reference, never a value
    sudo_password: str | None = None  # a secret reference, never a value
    host_key: str | None = None  # SHA256:... pinned fingerprint

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.user, "port": self.port, "auth": self.auth}
        for name in ("key", "password", "sudo_password", "host_key"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclasses.dataclass
class Node:
    name: str
    address: str  # a slot name, e.g. "IP1"
    roles: list[str]
    nic: str = "eth0"
    ssh: SshAccess = dataclasses.field(default_factory=SshAccess)

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "nic": self.nic,
            "roles": list(self.roles),
            "ssh": self.ssh.to_data(),
        }


@dataclasses.dataclass
class VipCheck:
    interval: int = 10
    fall: int = 6
    rise: int = 2


@dataclasses.dataclass
class Vip:
    name: str
    address: str  # a slot name, e.g. "IP5"
    router_id: int
    members: list[str]
    priorities: dict[str, int] = dataclasses.field(default_factory=dict)
    check: VipCheck = dataclasses.field(default_factory=VipCheck)

    def priority(self, node: str) -> int:
        """Explicit priority, else descending by member order (150, 140, ...)."""
        if node in self.priorities:
            return self.priorities[node]
        return max(1, 150 - 10 * self.members.index(node))

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "address": self.address,
            "router_id": self.router_id,
            "members": list(self.members),
        }
        if self.priorities:
            out["priorities"] = dict(self.priorities)
        out["check"] = dataclasses.asdict(self.check)
        return out


@dataclasses.dataclass
class Plan:
    site_name: str
    profile_name: str
    subnet: str
    gateway: str
    ips: dict[str, str]
    nodes: list[Node]
    vips: list[Vip]
    site_description: str = ""
    dns: list[str] = dataclasses.field(default_factory=list)
    ntp: list[str] = dataclasses.field(default_factory=list)
    pod_subnet: str = POD_SUBNET
    service_subnet: str = SERVICE_SUBNET
    ports: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    components: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)

    # -- reading and writing -------------------------------------------------

    @classmethod
    def from_data(cls, data: dict[str, Any], profile: Profile | None = None) -> Plan:
        """Build from schema-valid data; fill defaults from the profile."""
        site = data["site"]
        net = data["network"]
        check_defaults = profile.check_defaults if profile else {}
        nodes = []
        for n in data["nodes"]:
            ssh = dict(n.get("ssh") or {})
            nodes.append(
                Node(
                    name=n["name"],
                    address=n["address"],
                    roles=list(n["roles"]),
                    nic=n.get("nic", "eth0"),
                    ssh=SshAccess(**ssh),
                )
            )
        vips = []
        for v in data.get("vips") or []:
            check = {**check_defaults, **(v.get("check") or {})}
            vips.append(
                Vip(
                    name=v["name"],
                    address=v["address"],
                    router_id=v["router_id"],
                    members=list(v["members"]),
                    priorities=dict(v.get("priorities") or {}),
                    check=VipCheck(**check),
                )
            )
        return cls(
            site_name=site["name"],
            profile_name=site.get("profile", "reference"),
            site_description=site.get("description", ""),
            subnet=net["subnet"],
            gateway=net["gateway"],
            dns=list(net.get("dns") or []),
            ntp=list(net.get("ntp") or []),
            pod_subnet=net.get("pod_subnet", POD_SUBNET),
            service_subnet=net.get("service_subnet", SERVICE_SUBNET),
            ips=dict(data["ips"]),
            nodes=nodes,
            vips=vips,
            ports={k: dict(v) for k, v in (data.get("ports") or {}).items()},
            components={k: dict(v) for k, v in (data.get("components") or {}).items()},
            secrets=dict(data.get("secrets") or {}),
        )

    def to_data(self) -> dict[str, Any]:
        """Canonical data: fixed section order; IPs by slot number."""
        site: dict[str, Any] = {"name": self.site_name, "profile": self.profile_name}
        if self.site_description:
            site["description"] = self.site_description
        network: dict[str, Any] = {"subnet": self.subnet, "gateway": self.gateway}
        if self.dns:
            network["dns"] = list(self.dns)
        if self.ntp:
            network["ntp"] = list(self.ntp)
        if self.pod_subnet != POD_SUBNET:
            network["pod_subnet"] = self.pod_subnet
        if self.service_subnet != SERVICE_SUBNET:
            network["service_subnet"] = self.service_subnet
        out: dict[str, Any] = {
            "version": 1,
            "site": site,
            "network": network,
            "ips": {k: self.ips[k] for k in sorted(self.ips, key=_slot_order)},
            "nodes": [n.to_data() for n in self.nodes],
            "vips": [v.to_data() for v in self.vips],
        }
        if self.ports:
            out["ports"] = {c: dict(sorted(p.items())) for c, p in sorted(self.ports.items())}
        if self.components:
            out["components"] = {c: dict(sorted(s.items())) for c, s in sorted(self.components.items())}
        if self.secrets:
            out["secrets"] = dict(sorted(self.secrets.items()))
        return out

    def fingerprint(self) -> str:
        """A hash of everything that shapes the install (for the journal)."""
        blob = json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    # -- questions the rest of the installer asks ----------------------------

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def address_of(self, node: Node) -> str:
        return self.ips[node.address]

    def nodes_with_role(self, role: str) -> list[Node]:
        return [n for n in self.nodes if role in n.roles]

    def port(self, profile: Profile, component: str, name: str) -> int:
        override = self.ports.get(component, {}).get(name)
        return override if override is not None else profile.components[component].ports[name].port

    def setting(self, profile: Profile, component: str, name: str) -> Any:
        given = self.components.get(component, {})
        if name in given:
            return given[name]
        return profile.components[component].settings.get(name)

    def is_external(self, component: str) -> bool:
        return bool(self.components.get(component, {}).get("external", False))

    def vips_held_by(self, node: str) -> list[Vip]:
        return [v for v in self.vips if node in v.members]


def _slot_order(slot: str) -> tuple[int, str]:
    digits = slot[2:]
    return (int(digits), slot) if digits.isdigit() else (1 << 30, slot)
