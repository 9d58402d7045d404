"""Product profiles: what a deployable system is made of, as data.

A profile (schemas/profiles/NAME.yaml) names the address slots of the IP
sheet, the roles a node can hold and how many of each the system needs, the
components with their default ports and settings, the secrets, the VIPs and
the minimum resources. The engine reads only this; nothing about the
reference system is written in code.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any

from . import yamlio
from .i18n import m
from .resources import data_path

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclasses.dataclass(frozen=True)
class Slot:
    name: str
    kind: str  # "node" or "vip"
    title: str


@dataclasses.dataclass(frozen=True)
class RoleCount:
    exactly: int | None = None
    min: int | None = None
    max: int | None = None

    def allows(self, n: int) -> bool:
        if self.exactly is not None:
            return n == self.exactly
        if self.min is not None and n < self.min:
            return False
        return self.max is None or n <= self.max

    def describe(self) -> str:
        if self.exactly is not None:
            return m("exactly {n}", n=self.exactly)
        if self.min is not None and self.max is not None:
            return m("between {lo} and {hi}", lo=self.min, hi=self.max)
        if self.min is not None:
            return m("at least {lo}", lo=self.min)
        if self.max is not None:
            return m("at most {hi}", hi=self.max)
        return m("any number")


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    title: str
    count: RoleCount


@dataclasses.dataclass(frozen=True)
class PortSpec:
    port: int
    protocol: str  # tcp | udp


JAVA_LONG_MAX = (1 << 63) - 1
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._+/-]{0,254}$")


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    """What one component setting takes: the profile's settings are a small
    schema of their own. In the profile a setting is either a bare default
    (its type is the default's) or `{default: ..., type: int|text|bool|path,
    min: N, max: N, pattern: REGEX, title: ...}`; `setting_choices` adds a
    list of allowed values. `path` is an absolute path of safe characters
    (it is written into configuration files); an int without `max` is at most
    a Java long, the widest any component reads."""

    name: str
    default: Any
    type: str  # int | text | bool | path
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] = ()
    title: str = ""

    @classmethod
    def from_profile(cls, name: str, raw: Any, choices: tuple[Any, ...] = ()) -> SettingSpec:
        spec = dict(raw) if isinstance(raw, dict) else {"default": raw}
        default = spec["default"]
        kind = spec.get("type") or (
            "bool" if isinstance(default, bool) else "int" if isinstance(default, int)
            else "path" if isinstance(default, str) and default.startswith("/") else "text")
        out = cls(name=name, default=default, type=kind, minimum=spec.get("min"), maximum=spec.get("max"),
                  pattern=spec.get("pattern"), choices=tuple(choices), title=str(spec.get("title", "")))
        assert out.problem(default) is None, f"setting {name}: the default {default!r} breaks its own rule"
        return out

    def problem(self, value: Any) -> tuple[str, str, str] | None:
        """(code, what is wrong, what to write) for a value that does not fit;
        None when it fits. The wording names the value through the caller."""
        want = {"int": "a whole number", "bool": "true or false", "text": "text", "path": "an absolute path"}[self.type]
        if self.type == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                return "type", f"expected {want}", f"the default is {self.default}"
            lo = self.minimum
            hi = self.maximum if self.maximum is not None else JAVA_LONG_MAX
            if (lo is not None and value < lo) or value > hi:
                rng = f"{lo} to {hi}" if lo is not None else f"at most {hi}"
                return "range", f"is out of range ({rng})", f"write a number from {rng}; the default is {self.default}"
        elif self.type == "bool":
            if not isinstance(value, bool):
                return "type", f"expected {want}", f"the default is {str(self.default).lower()}"
        else:
            if not isinstance(value, str):
                return "type", f"expected {want}", f"the default is {self.default}"
            if self.type == "path" and (not _SAFE_PATH.match(value) or "/../" in value + "/"):
                return "path", "is not an absolute path of plain characters", (
                    "write a path starting with /, of letters, digits and . _ + - /, without ..; e.g. " + str(self.default))
            if self.pattern and not re.fullmatch(self.pattern, value):
                return "pattern", "has the wrong form", f"{self.title or 'write a value like ' + str(self.default)}"
        if self.choices and value not in self.choices:
            return "enum", f"is not one of {', '.join(map(str, self.choices))}", ""
        return None


@dataclasses.dataclass(frozen=True)
class Component:
    name: str
    roles: tuple[str, ...]
    ports: dict[str, PortSpec]
    settings: dict[str, Any]
    secrets: tuple[str, ...]
    choices: dict[str, tuple[Any, ...]]
    # Where its software comes from: "debian" (packages an offline bundle
    # carries) or "vendor" (payload files the vendor supplies into a bundle).
    source: str = "debian"
    # What each setting takes (type, range, pattern, choices).
    setting_specs: dict[str, SettingSpec] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class VipSpec:
    name: str
    slot: str
    title: str
    member_roles: tuple[str, ...]
    backup_roles: tuple[str, ...]
    check: str


@dataclasses.dataclass(frozen=True)
class Requirement:
    cpus: int
    memory_mb: int
    disk_gb: int


@dataclasses.dataclass(frozen=True)
class LayoutNode:
    name: str
    slot: str
    roles: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    version: str
    title: str
    slots: dict[str, Slot]
    roles: dict[str, Role]
    components: dict[str, Component]
    secrets: dict[str, str]  # name -> title
    vips: dict[str, VipSpec]
    check_defaults: dict[str, int]
    requirements: dict[str, Requirement]
    max_disk_used_percent: int
    layout: tuple[LayoutNode, ...]
    leftovers: tuple[str, ...] = ()  # paths an install leaves
    # What else an install leaves (preflight names it; uninstall proves it gone):
    leftover_packages: tuple[str, ...] = ()  # Debian packages installed or with configuration left
    leftover_processes: tuple[str, ...] = ()  # programs running (process names)
    leftover_users: tuple[str, ...] = ()  # system users the packages create
    # What `uninstall --keep-data` keeps: the data folders and the users owning them.
    data_paths: tuple[str, ...] = ()
    data_users: tuple[str, ...] = ()
    state_paths: tuple[str, ...] = ()  # where the system keeps state; a fresh server has none of them
    supported_os: tuple[str, ...] = ("debian", "ubuntu")
    supported_arch: tuple[str, ...] = ("x86_64", "aarch64")
    # Component settings `onsite lab` writes into its answer file (short
    # windows, so that faults show in seconds on the lab).
    lab_components: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def node_slots(self) -> list[str]:
        return [s.name for s in self.slots.values() if s.kind == "node"]

    @property
    def vip_slots(self) -> list[str]:
        return [s.name for s in self.slots.values() if s.kind == "vip"]

    def components_for_roles(self, roles: set[str] | frozenset[str]) -> list[Component]:
        return [c for c in self.components.values() if roles.intersection(c.roles)]

    def requirement_for_roles(self, roles: set[str] | frozenset[str]) -> Requirement:
        """The largest minimum that applies to a node holding `roles`."""
        applying = [self.requirements[r] for r in roles if r in self.requirements]
        applying.append(self.requirements["default"])
        if roles and all(r in self.requirements for r in roles):
            applying.pop()  # every role says its own minimum: the default does not apply
        return Requirement(
            cpus=max(r.cpus for r in applying),
            memory_mb=max(r.memory_mb for r in applying),
            disk_gb=max(r.disk_gb for r in applying),
        )


class ProfileNotFound(LookupError):
    pass


def available_profiles() -> list[str]:
    folder = data_path("schemas", "profiles")
    return sorted(p.stem for p in folder.glob("*.yaml"))


@cache
def load_profile(name: str) -> Profile:
    if not PROFILE_NAME.match(name) or name not in available_profiles():
        raise ProfileNotFound(name)
    raw = yamlio.load_trusted(data_path("schemas", "profiles", f"{name}.yaml"))
    return _build(raw)


def _build(raw: dict[str, Any]) -> Profile:
    choices = raw.get("setting_choices", {}) or {}
    components = {}
    for cname, c in raw["components"].items():
        comp_choices = {k: tuple(v) for k, v in (choices.get(cname) or {}).items()}
        specs = {k: SettingSpec.from_profile(k, v, comp_choices.get(k, ())) for k, v in (c.get("settings") or {}).items()}
        components[cname] = Component(
            name=cname,
            roles=tuple(c["roles"]),
            ports={p: PortSpec(int(v["port"]), v["protocol"]) for p, v in (c.get("ports") or {}).items()},
            settings={k: spec.default for k, spec in specs.items()},
            secrets=tuple(c.get("secrets") or ()),
            choices=comp_choices,
            source=str(c.get("source", "debian")),
            setting_specs=specs,
        )
    req_raw = dict(raw["requirements"])
    max_used = int(req_raw.pop("max_disk_used_percent", 95))
    profile = Profile(
        name=raw["name"],
        version=str(raw["version"]),
        title=raw["title"],
        slots={k: Slot(k, v["kind"], v["title"]) for k, v in raw["slots"].items()},
        roles={k: Role(k, v["title"], RoleCount(**(v.get("count") or {}))) for k, v in raw["roles"].items()},
        components=components,
        secrets={k: v["title"] for k, v in (raw.get("secrets") or {}).items()},
        vips={
            k: VipSpec(
                name=k,
                slot=v["slot"],
                title=v["title"],
                member_roles=tuple(v["member_roles"]),
                backup_roles=tuple(v.get("backup_roles") or ()),
                check=v["check"],
            )
            for k, v in raw["vips"].items()
        },
        check_defaults=dict(raw["check_defaults"]),
        requirements={k: Requirement(**v) for k, v in req_raw.items()},
        max_disk_used_percent=max_used,
        layout=tuple(LayoutNode(n["name"], n["slot"], tuple(n["roles"])) for n in raw["layout"]),
        leftovers=tuple(raw.get("leftovers") or ()),
        leftover_packages=tuple(raw.get("leftover_packages") or ()),
        leftover_processes=tuple(raw.get("leftover_processes") or ()),
        leftover_users=tuple(raw.get("leftover_users") or ()),
        data_paths=tuple(raw.get("data_paths") or ()),
        data_users=tuple(raw.get("data_users") or ()),
        state_paths=tuple(raw.get("state_paths") or ()),
        supported_os=tuple(raw.get("supported_os") or ("debian",)),
        supported_arch=tuple(raw.get("supported_arch") or ("x86_64",)),
        lab_components={k: dict(v) for k, v in ((raw.get("lab") or {}).get("components") or {}).items()},
    )
    _self_check(profile)
    return profile


def _self_check(p: Profile) -> None:
    """A profile that contradicts itself is a packaging bug: fail loudly."""
    for c in p.components.values():
        for r in c.roles:
            assert r in p.roles, f"profile {p.name}: component {c.name} names unknown role {r}"
        for s in c.secrets:
            assert s in p.secrets, f"profile {p.name}: component {c.name} names unknown secret {s}"
    for v in p.vips.values():
        assert p.slots[v.slot].kind == "vip", f"profile {p.name}: vip {v.name} on non-vip slot"
        for r in v.member_roles + v.backup_roles:
            assert r in p.roles, f"profile {p.name}: vip {v.name} names unknown role {r}"
    for cname, settings in p.lab_components.items():
        for key in settings:
            assert key in p.components[cname].settings, f"profile {p.name}: lab sets unknown setting {cname}.{key}"
    for n in p.layout:
        assert p.slots[n.slot].kind == "node"
        for r in n.roles:
            assert r in p.roles, f"profile {p.name}: layout node {n.name} names unknown role {r}"
    assert "default" in p.requirements
