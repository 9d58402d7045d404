"""Answer files: write a plan as commented, stable YAML; rewrite one in
place keeping the deployer's text; make a starting plan.

Two ways of writing, on purpose:
- A new file (`write_new`, `onsite init`, the wizard's first save) is
  rendered by PyYAML in one stable layout: fixed section order, a comment per
  section, block style, defaults written out.
- An existing file (`write` when the file is there: host keys pinned by
  `--accept-new-host-keys`, the wizard's save) is edited in ruamel.yaml's
  round-trip mode: only the values that changed are touched, so the
  deployer's comments, key order, quoting, flow or block style and blank
  lines stay where they were. What changed is found by comparing the plan
  read from the file with the plan to write (both in canonical form), and
  applied at the same field paths of the file's own text. A file that cannot
  be read back (changed meanwhile, not valid) is written new.

Reading goes through `validate.validate_file` (the strict reader in
`yamlio`, not ruamel), which returns the plan with every problem located in
the file.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from . import ipplan, yamlio
from .plan import Node, Plan, SshAccess, Vip, VipCheck
from .problems import ProblemError
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
    """Write `plan` to `path`: edit the file in place when it is there and
    can be read back (only what changed is touched), else write it new."""
    path = Path(path)
    try:
        old = yamlio.read_file(path)
        old_plan = Plan.from_data(old.data, profile)
    except (ProblemError, KeyError, TypeError, ValueError, AttributeError):
        write_new(plan, path, profile)
        return
    rewrite(path, old_plan.to_data(), plan.to_data())


def write_new(plan: Plan, path: str | Path, profile: Profile | None = None) -> None:
    """Write a new answer file in onsite's own layout."""
    path = Path(path)
    write_text(path, render(plan, profile, name=path.name))


def save_data(data: dict[str, Any], path: str | Path, new_text: str) -> None:
    """Save raw answer-file data (the wizard's, valid or not): edit the file
    in place when it is there and readable, else write `new_text`."""
    path = Path(path)
    try:
        old = yamlio.read_file(path)
    except ProblemError:
        write_text(path, new_text)
        return
    if not isinstance(old.data, dict):
        write_text(path, new_text)
        return
    rewrite(path, old.data, data)


def _round_trip(text: str):
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(text)
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap the deployer's long lines
    y.indent(mapping=2, sequence=sequence or 4, offset=offset if offset is not None else 2)
    return y


def _fresh(value: Any) -> Any:
    """A value about to be written into the file. A string the strict reader
    would not read back as the same text (yes/no/on/off, null, 22, 051) is
    single-quoted: ruamel follows YAML 1.2, where `no` is text, but the
    reader follows YAML 1.1 as the deployer's other tools may."""
    from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, str):
        if "\n" in value:
            return LiteralScalarString(value)
        try:
            plain_ok = yamlio.parse_text(f"v: {value}\n").data == {"v": value} and not yamlio.number_note(value)
        except ProblemError:
            plain_ok = False
        return value if plain_ok else SingleQuotedScalarString(value)
    return value


def rewrite(path: str | Path, old: Any, new: Any) -> None:
    """Apply the difference between `old` and `new` (plain data) to the file
    at `path`, whose data `old` describes, and write it atomically."""
    path = Path(path)
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    crlf = b"\r\n" in raw  # Windows line ends stay Windows line ends
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    y = _round_trip(text)
    doc = y.load(text)
    _apply(doc, old, new)
    out = io.StringIO()
    y.dump(doc, out)
    result = out.getvalue()
    if crlf:
        result = result.replace("\n", "\r\n")
    write_text(path, ("\ufeff" if bom else "") + result, mode=path.stat().st_mode & 0o777)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _apply(target: Any, old: Any, new: Any) -> None:
    """Make the ruamel node `target` (read as `old`) say `new`, touching
    only what differs."""
    if isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            if key in target:
                del target[key]
        for key, value in new.items():
            if key in old and key in target and _same(old[key], value):
                continue
            if key in old and key in target and _nested(target[key], old[key], value):
                _apply(target[key], old[key], value)
            else:
                target[key] = _fresh(value)
        return
    common = min(len(old), len(new), len(target))
    for i in range(common):
        if _same(old[i], new[i]):
            continue
        if _nested(target[i], old[i], new[i]):
            _apply(target[i], old[i], new[i])
        else:
            target[i] = _fresh(new[i])
    while len(target) > len(new):
        del target[len(target) - 1]
    for value in new[len(target):]:
        target.append(_fresh(value))


def _nested(target: Any, old: Any, new: Any) -> bool:
    return (isinstance(new, dict) and isinstance(old, dict) and isinstance(target, dict)) or (
        isinstance(new, list) and isinstance(old, list) and isinstance(target, list))


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically: a crash never leaves half an answer file."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
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
