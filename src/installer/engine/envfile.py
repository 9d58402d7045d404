"""The plan as shell variables for step scripts.

Each node gets /var/lib/onsite/run/<site>.env (mode 0600, written through
stdin, removed when the install run ends). A step runs as

    bash -c 'set -a; . "$1"; set +a; export ONSITE_STEP="$4"; cd "$2" && exec bash "$3"' \
        onsite ENV DIR SCRIPT STEP-ID

so no value of the plan ever appears in argv (ONSITE_STEP, the step's id,
comes from the bundle). Names (all upper case, other characters
as `_`):

    ONSITE_SITE ONSITE_PROFILE ONSITE_SUBNET ONSITE_PREFIX ONSITE_GATEWAY
    ONSITE_DNS ONSITE_NTP                     space-separated
    ONSITE_POD_SUBNET ONSITE_SERVICE_SUBNET   Kubernetes' pod and service networks
    ONSITE_IP1 ... ONSITE_IP6                 the IP sheet
    ONSITE_NODE ONSITE_NODE_ADDRESS ONSITE_NODE_NIC ONSITE_NODE_ROLES
    ONSITE_NODES                              all node names, plan order
    ONSITE_NODE_<NAME>_ADDRESS                every node's address
    ONSITE_ROLE_<ROLE>_NODES / _ADDRESSES     holders of a role, plan order
    ONSITE_VIPS                               VIP names, plan order
    ONSITE_VIP_<NAME>_ADDRESS _ROUTER_ID _MEMBERS _PRIORITY (this node's, 0 if
        not a member) _INTERVAL _FALL _RISE _CHECK (the profile's check name)
    ONSITE_PORT_<COMPONENT>_<PORT>            effective ports
    ONSITE_SETTING_<COMPONENT>_<SETTING>      effective settings
    ONSITE_EXTERNAL                           components provided externally
    ONSITE_SECRET_<NAME>                      resolved secrets: never in the file; a step
                                              gets those of its component on stdin
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from ..model.plan import Plan
from ..model.profile import Profile


def var(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def variables(plan: Plan, profile: Profile, node: str, secrets: dict[str, str]) -> dict[str, str]:
    n = plan.node(node)
    net = ipaddress.IPv4Network(plan.subnet, strict=False)
    env: dict[str, str] = {
        "ONSITE_SITE": plan.site_name,
        "ONSITE_PROFILE": profile.name,
        "ONSITE_SUBNET": plan.subnet,
        "ONSITE_PREFIX": str(net.prefixlen),
        "ONSITE_GATEWAY": plan.gateway,
        "ONSITE_DNS": " ".join(plan.dns),
        "ONSITE_NTP": " ".join(plan.ntp),
        "ONSITE_POD_SUBNET": plan.pod_subnet,
        "ONSITE_SERVICE_SUBNET": plan.service_subnet,
        "ONSITE_NODE": n.name,
        "ONSITE_NODE_ADDRESS": plan.address_of(n),
        "ONSITE_NODE_NIC": n.nic,
        "ONSITE_NODE_ROLES": " ".join(n.roles),
        "ONSITE_NODES": " ".join(x.name for x in plan.nodes),
    }
    for slot, addr in plan.ips.items():
        env[var("ONSITE", slot)] = addr
    for x in plan.nodes:
        env[var("ONSITE_NODE", x.name, "ADDRESS")] = plan.address_of(x)
    for role in profile.roles:
        holders = plan.nodes_with_role(role)
        env[var("ONSITE_ROLE", role, "NODES")] = " ".join(h.name for h in holders)
        env[var("ONSITE_ROLE", role, "ADDRESSES")] = " ".join(plan.address_of(h) for h in holders)
    env["ONSITE_VIPS"] = " ".join(v.name for v in plan.vips)
    for v in plan.vips:
        p = var("ONSITE_VIP", v.name)
        spec = profile.vips.get(v.name)
        env[f"{p}_CHECK"] = spec.check if spec else ""
        env[f"{p}_ADDRESS"] = plan.ips.get(v.address, "")
        env[f"{p}_ROUTER_ID"] = str(v.router_id)
        env[f"{p}_MEMBERS"] = " ".join(v.members)
        env[f"{p}_PRIORITY"] = str(v.priority(n.name)) if n.name in v.members else "0"
        env[f"{p}_INTERVAL"] = str(v.check.interval)
        env[f"{p}_FALL"] = str(v.check.fall)
        env[f"{p}_RISE"] = str(v.check.rise)
    for comp in profile.components.values():
        for pname in comp.ports:
            env[var("ONSITE_PORT", comp.name, pname)] = str(plan.port(profile, comp.name, pname))
        for key in comp.settings:
            value = plan.setting(profile, comp.name, key)
            env[var("ONSITE_SETTING", comp.name, key)] = str(value).lower() if isinstance(value, bool) else str(value)
    env["ONSITE_EXTERNAL"] = " ".join(sorted(c for c in profile.components if plan.is_external(c)))
    env.update(secret_variables(secrets))
    return env


def secret_variables(secrets: dict[str, str]) -> dict[str, str]:
    return {var("ONSITE_SECRET", name): value for name, value in secrets.items()}


def render(env: dict[str, str]) -> str:
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items())
