"""Validation of answer files: JSON Schema first, then the rules a schema
cannot express (addresses inside the subnet, role counts, port clashes, ...).

Every problem is collected (not just the first), located at file:line:column
and a field path, worded for the deployer, and carries a hint. Secret values
are never echoed back; every other value is shown through `problems.show`.

Policies beyond the schema (README, "The answer file"): whole numbers are
ints (never 22.0; text that looks like a number gets the reader's note on
what to write); the site LAN is a /8../29 unicast network outside 0/8,
loopback, link-local, multicast and 240/4; Kubernetes' pod and service
networks overlap neither each other nor the site; DNS/NTP entries are hosts;
sshd's port takes part in the port clash check; node names are not
localhost & co; component settings follow the profile's typed rules. The
cost is bounded: uniqueness in one pass, at most `MAX_SUGGESTIONS`
did-you-means, at most `MAX_PROBLEMS` problems reported.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import ipaddress
import json
import os
import re
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from . import yamlio
from .i18n import Msg, joined, m
from .plan import POD_SUBNET, SERVICE_SUBNET, Plan
from .problems import PathPart, Problem, ProblemError, Problems, Severity, format_path, show
from .profile import Profile, ProfileNotFound, available_profiles, load_profile
from .resources import data_path

SCHEMA_FILE = "answer-file.v1.schema.json"


@cache
def answer_file_schema() -> dict[str, Any]:
    with open(data_path("schemas", SCHEMA_FILE), encoding="utf-8") as fh:
        return json.load(fh)


def _strict_pattern(validator, pattern, instance, schema):
    """`pattern`, but `$` does not accept a trailing newline (Python's `re`
    would let "node1\\n" match `^...$`)."""
    if not validator.is_type(instance, "string"):
        return
    if re.search(pattern, instance) is None or (pattern.endswith("$") and instance.endswith("\n")):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _linear_unique(validator, unique, instance, schema):
    """`uniqueItems` in one pass (jsonschema falls back to comparing every
    pair when items cannot be sorted: quadratic in a hostile list)."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen = set()
    for item in instance:
        key = json.dumps(item, sort_keys=True, default=str)
        if key in seen:
            yield jsonschema.ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(key)


def _is_integer(checker, instance) -> bool:
    """A whole number is an int, never a float such as 22.0 (JSON Schema
    would take 22.0 as an integer; a config file would then say 22.0)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_TypeChecker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_Validator = jsonschema.validators.extend(Draft202012Validator, {"pattern": _strict_pattern, "uniqueItems": _linear_unique},
                                          type_checker=_TypeChecker)

# At most this many problems are reported: a hostile file cannot flood the
# terminal; the last line says how many more there were.
MAX_PROBLEMS = 100


@dataclasses.dataclass
class Validation:
    """The outcome: a plan (when the data could be read as one) and problems."""

    problems: Problems
    plan: Plan | None = None
    profile: Profile | None = None
    document: yamlio.Document | None = None

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.problems.ok


def validate_file(path: str | Path, *, display: str | None = None) -> Validation:
    try:
        doc = yamlio.read_file(path, display)
    except ProblemError as exc:
        return Validation(problems=exc.problems)
    return validate_document(doc)


def validate_text(text: str, file: str = "<text>") -> Validation:
    try:
        doc = yamlio.parse_text(text, file)
    except ProblemError as exc:
        return Validation(problems=exc.problems)
    return validate_document(doc)


def validate_data(data: Any, file: str | None = None) -> Validation:
    """Validate in-memory data (the wizard's plan); no positions."""
    return validate_document(yamlio.Document(data=data, positions={}, file=file or ""))


def validate_document(doc: yamlio.Document) -> Validation:
    ctx = _Context(doc)
    token = _SUGGESTIONS_LEFT.set([MAX_SUGGESTIONS])
    try:
        return _capped(_validate_document(doc, ctx), ctx.dropped)
    finally:
        _SUGGESTIONS_LEFT.reset(token)


def _validate_document(doc: yamlio.Document, ctx: _Context) -> Validation:
    if not isinstance(doc.data, dict):
        ctx.error((), m("an answer file is a set of `key: value` sections (version, site, network, ips, nodes, vips)"),
                  m("run `onsite init -o FILE` to see the expected layout"), code="not-a-mapping")
        return Validation(problems=ctx.problems, document=doc)
    _schema_problems(ctx)
    if not ctx.problems.ok:
        return Validation(problems=ctx.problems, document=doc)
    profile_name = doc.data["site"].get("profile", "reference")
    try:
        profile = load_profile(profile_name)
    except ProfileNotFound:
        ctx.error(("site", "profile"), m("unknown product profile {name}", name=show(profile_name)),
                  _did_you_mean(profile_name, available_profiles()) or m("available: {names}", names=", ".join(available_profiles())),
                  code="unknown-profile")
        return Validation(problems=ctx.problems, document=doc)
    plan = Plan.from_data(doc.data, profile)
    _Semantics(ctx, plan, profile).run()
    return Validation(problems=ctx.problems, plan=plan, profile=profile, document=doc)


def _capped(validation: Validation, dropped: int = 0) -> Validation:
    problems = validation.problems
    if len(problems) <= MAX_PROBLEMS and not dropped:
        return validation
    items = problems.sorted()
    kept = Problems(items[:MAX_PROBLEMS])
    rest = len(items) - len(kept) + dropped
    kept.add(Problem(message=m("{n} more problems not shown", n=rest) if rest != 1 else m("1 more problem not shown"),
                     hint=m("fix these first, then validate again"),
                     file=items[0].file, code="more", severity=items[-1].severity))
    return dataclasses.replace(validation, problems=kept)


# --------------------------------------------------------------------------
# helpers


class _Context:
    def __init__(self, doc: yamlio.Document) -> None:
        self.doc = doc
        self.problems = Problems()
        self.dropped = 0  # problems past twice the reporting cap: counted, not kept

    def add(self, severity: Severity, path: tuple[PathPart, ...], message: str, hint: str = "", code: str = "invalid",
            at_key: bool = False) -> None:
        if len(self.problems) >= 2 * MAX_PROBLEMS:
            self.dropped += 1
            return
        pos = self.doc.position(path, key=at_key)
        self.problems.add(
            Problem(
                message=message,
                hint=hint,
                path=tuple(path),
                severity=severity,
                code=code,
                file=self.doc.file or None,
                line=pos[0] if pos else None,
                column=pos[1] if pos else None,
            )
        )

    def error(self, path, message, hint="", code="invalid", at_key=False) -> None:
        self.add(Severity.ERROR, tuple(path), message, hint, code, at_key)

    def warning(self, path, message, hint="", code="warning") -> None:
        self.add(Severity.WARNING, tuple(path), message, hint, code)


# difflib is slow (quadratic in a word's length): at most this many
# suggestions per validation, and none for words no real name is as long as.
MAX_SUGGESTIONS = 200
_SUGGESTIONS_LEFT: contextvars.ContextVar[list[int]] = contextvars.ContextVar("suggestions_left", default=[MAX_SUGGESTIONS])


def _did_you_mean(word: str, candidates) -> str:
    left = _SUGGESTIONS_LEFT.get()
    if len(word) > 64 or left[0] <= 0:
        return ""
    left[0] -= 1
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return m("did you mean {value}?", value=show(matches[0])) if matches else ""


def _choices_hint(word: str, candidates) -> str:
    candidates = list(candidates)
    hint = _did_you_mean(word, candidates)
    listed = ", ".join(candidates) if len(candidates) <= 16 else ", ".join(candidates[:16]) + ", …"
    return m("{suggestion} allowed here: {choices}", suggestion=hint, choices=listed) if hint else m("allowed here: {choices}", choices=listed)


_TYPE_WORDS = {
    "object": m("a section of `key: value` lines"),
    "array": m("a list"),
    "string": m("text"),
    "integer": m("a whole number"),
    "number": m("a number"),
    "boolean": m("true or false"),
    "null": m("nothing"),
}


def _found(value: Any) -> str:
    if value is None:
        return m("nothing")
    if isinstance(value, bool):
        return m("true/false")
    if isinstance(value, int):
        return m("a whole number")
    if isinstance(value, float):
        return m("a decimal number")
    if isinstance(value, str):
        return m("text")
    if isinstance(value, list):
        return m("a list")
    if isinstance(value, dict):
        return m("a section")
    return type(value).__name__


_PATTERN_WORDS: dict[str, tuple[str, str]] = {
    "ipv4": (m("{value} is not an IPv4 address"), m("write four numbers 0-255 separated by dots, e.g. 10.20.30.11")),
    "cidr": (m("{value} is not a subnet in CIDR form"), m("write the network address and prefix length, e.g. 10.20.30.0/24")),
    "hostname": (
        m("{value} is not a valid node name"),
        m("a node name is a hostname: lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit"),
    ),
    "slot-ref": (m("{value} is not a named address"), m("write the name from the IP sheet, e.g. IP1")),
    "slot-name": (m("{value} is not a named address"), m("the IP sheet names addresses IP1, IP2, ...")),
    "nic": (m("{value} is not a network interface name"),
            m("write the interface name as `ip link` shows it, e.g. eth0 or ens192 (at most 15 characters)")),
    "ident": (m("{value} is not a valid name"), m("use letters, digits, '_' and '-', starting with a letter")),
    "text": (m("{value} contains control characters or line breaks"), m("use one line of plain text")),
    "fingerprint": (
        m("{value} is not an SSH host-key fingerprint"),
        m("write it as `ssh-keygen -lf KEY.pub` prints it: SHA256: followed by 43 characters; or leave it out and pin it with "
          "--accept-new-host-keys"),
    ),
    "user": (m("{value} is not a valid user name"), m("a Linux user name: lower-case letters, digits, '_' and '-'")),
    "path": (m("{value} is not a valid file path"), m("write the path on one line")),
    "host": (m("{value} is not a host name or address"), m("write an IP address or a host name")),
    "profile": (m("{value} is not a profile name"), m("write the name of a product profile, e.g. reference (`onsite --version` lists them)")),
}

_SECRET_HINT = m(
    "answer files never hold secrets; write env:NAME (read from the environment), "
    "file:PATH (a file only you can read) or prompt (asked when needed)"
)


def _schema_problems(ctx: _Context) -> None:
    validator = _Validator(answer_file_schema())
    for err in validator.iter_errors(ctx.doc.data):
        _translate(ctx, err)


def _translate(ctx: _Context, err: jsonschema.ValidationError) -> None:
    path = tuple(err.absolute_path)
    kind = err.schema.get("x-kind") if isinstance(err.schema, dict) else None
    v = err.validator
    inst = err.instance
    on_key = "propertyNames" in err.relative_schema_path
    if on_key:
        # The failing thing is a key of this section: point at the key.
        path = path + (inst,)
    if v == "required":
        for name in err.validator_value:
            if isinstance(inst, dict) and name not in inst:
                prop = err.schema.get("properties", {}).get(name, {})
                desc = prop.get("description", "")
                hint = m(desc) if desc else (m("add `{name}:` to {where}", name=name, where=format_path(path)) if path
                                else m("add `{name}:` to the file", name=name))
                ctx.error(path, m("`{name}` is missing", name=name), hint, code="missing")
        return
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(err.schema.get("properties", {}))
        for key in inst:
            if key not in allowed:
                ctx.error(path + (key,), m("unknown key {key}", key=show(key)), _choices_hint(str(key), allowed), code="unknown-key",
                          at_key=True)
        return
    if v == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        words = joined(" or ", [_TYPE_WORDS.get(t, t) for t in expected])
        hint = m("write {expected} here", expected=words)
        if path in ctx.doc.bool_words:
            hint = m("YAML reads `{word}` as true/false; put it in quotes: \"{word}\"", word=ctx.doc.bool_words[path])
        if kind == "secret-ref":
            ctx.error(path, m("expected a secret reference, found {found}", found=_found(inst)), _SECRET_HINT, code="secret")
            return
        note = ctx.doc.number_notes.get(path) or (yamlio.number_note(inst) if isinstance(inst, str) else "")
        if note and "integer" in expected:
            ctx.error(path, m("expected a whole number, found {value}", value=show(inst)), note, code="number")
            return
        ctx.error(path, m("expected {expected}, found {found}", expected=words, found=_found(inst)), hint, code="type")
        return
    if v == "const":
        ctx.error(path, m("must be {expected}, found {value}", expected=json.dumps(err.validator_value), value=show(inst)),
                  m("this installer reads answer files of version 1"), code="version")
        return
    if v == "enum":
        allowed = [str(x) for x in err.validator_value]
        ctx.error(path, m("{value} is not one of the allowed values", value=show(inst)), _choices_hint(str(inst), allowed), code="enum")
        return
    if v == "pattern":
        if kind == "secret-ref":
            # Never echo the value: it is probably a password.
            ctx.error(path, m("a secret is written here in clear"), _SECRET_HINT, code="literal-secret")
            return
        what, hint = _PATTERN_WORDS.get(kind or "", (m("{value} has the wrong form"), m("`onsite schema` prints the form this field takes")))
        if on_key:
            ctx.error(path, m("key {what}", what=m(what, value=show(inst))), hint, code="key-pattern", at_key=True)
        else:
            ctx.error(path, m(what, value=show(inst)), hint, code="pattern")
        return
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        lo = err.schema.get("minimum")
        hi = err.schema.get("maximum")
        rng = (m("{lo} to {hi}", lo=lo, hi=hi) if lo is not None and hi is not None
               else (m("at least {lo}", lo=lo) if lo is not None else m("at most {hi}", hi=hi)))
        what = {"port": m("a port"), "router-id": m("a VRRP router id")}.get(kind or "", m("the value"))
        ctx.error(path, m("{value} is out of range: {what} is {range}", value=show(inst), what=what, range=rng),
                  m("write a number from {range}", range=rng), code="range")
        return
    if v in ("minItems", "maxItems"):
        n = err.validator_value
        has = len(inst)
        if v == "maxItems":
            need = m("the list needs at most 1 entry, it has {has}", has=has) if n == 1 else \
                m("the list needs at most {n} entries, it has {has}", n=n, has=has)
        else:
            need = m("the list needs at least 1 entry, it has {has}", has=has) if n == 1 else \
                m("the list needs at least {n} entries, it has {has}", n=n, has=has)
        ctx.error(path, need,
                  m("remove entries") if v == "maxItems" else m("add entries"), code="count")
        return
    if v in ("minLength", "maxLength"):
        n = err.validator_value
        if v == "minLength":
            ctx.error(path, m("must not be empty"), m("write a value, or remove the line"), code="empty-value")
        else:
            ctx.error(path, m("is longer than {n} characters", n=n), m("shorten it"), code="too-long")
        return
    if v == "uniqueItems":
        dups = [x for x, c in Counter(map(json.dumps, inst)).items() if c > 1]
        ctx.error(path, m("lists {values} more than once", values=", ".join(show(json.loads(d)) for d in dups)), m("keep each entry once"),
                  code="duplicate")
        return
    if v in ("anyOf", "oneOf"):
        ctx.error(path, m("expected text, a whole number or true/false, found {found}", found=_found(inst)), m("write a single value here"),
                  code="type")
        return
    ctx.error(path, m("has a value this installer cannot read"), m("`onsite schema` prints what each field takes"), code="schema")


# --------------------------------------------------------------------------
# the rules a schema cannot express

SECRET_WORDS = re.compile(r"(passw|passwd|secret|token|credential|private_?key)", re.I)


# Node names that name the machine itself or a special address in /etc/hosts.
RESERVED_NAMES = frozenset({"localhost", "localhost4", "localhost6", "localdomain", "ip6-localhost", "ip6-loopback",
                            "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "broadcasthost"})

# The site-LAN policy: what a subnet of named addresses may be. Public unicast
# ranges are allowed (some campuses number their LANs so); what is refused can
# never be a LAN of servers, or admits far more than one site.
_SPECIAL_NETS: tuple[tuple[ipaddress.IPv4Network, Msg], ...] = tuple(
    (ipaddress.IPv4Network(n), why) for n, why in (
        ("0.0.0.0/8", m("\"this network\" (0.0.0.0/8), which no host can use")),
        ("127.0.0.0/8", m("loopback (127.0.0.0/8): it never leaves a machine")),
        ("169.254.0.0/16", m("link-local (169.254.0.0/16): addresses a host picks for itself")),
        ("224.0.0.0/4", m("multicast (224.0.0.0/4)")),
        ("240.0.0.0/4", m("reserved (240.0.0.0/4) or the broadcast address")),
    ))
MIN_LAN_PREFIX = 8
MAX_LAN_PREFIX = 29  # six addresses and a gateway


def site_lan_problem(net: ipaddress.IPv4Network, *, cluster: bool = False) -> tuple[str, str] | None:
    """(what is wrong, what to do) when `net` cannot be a site LAN (or, with
    cluster=True, a Kubernetes pod or service network)."""
    for special, why in _SPECIAL_NETS:
        if net.overlaps(special):
            return (m("is {why}", why=why) if net.subnet_of(special) else m("includes {why}", why=why),
                    m("use the site's private LAN, e.g. 10.20.30.0/24"))
    if net.prefixlen < MIN_LAN_PREFIX:
        return (m("spans {count} addresses (/{prefix}); a site LAN is /{max_prefix} or smaller",
                  count=f"{net.num_addresses:,}", prefix=net.prefixlen, max_prefix=MIN_LAN_PREFIX),
                m("write the subnet the nodes are really in, e.g. 10.20.30.0/24"))
    if not cluster and net.prefixlen > MAX_LAN_PREFIX:
        return (m("holds {count} addresses; the plan needs at least six and a gateway", count=net.num_addresses),
                m("use a /{prefix} or larger subnet", prefix=MAX_LAN_PREFIX))
    if cluster and net.prefixlen > 24:
        return m("is too small for Kubernetes (a /24 or larger)"), m("use a /16 (pods) or /12 (services), as kubeadm does")
    return None


def _server_address_problem(addr: ipaddress.IPv4Address, net: ipaddress.IPv4Network | None) -> str:
    if net is not None and net.prefixlen < 31 and addr == net.network_address:
        return m("the network address of {subnet}, not a host", subnet=net)
    if net is not None and net.prefixlen < 31 and addr == net.broadcast_address:
        return m("the broadcast address of {subnet}, not a host", subnet=net)
    for special, why in _SPECIAL_NETS:
        if addr in special:
            return m("in {why}", why=why)
    return ""


class _Semantics:
    def __init__(self, ctx: _Context, plan: Plan, profile: Profile) -> None:
        self.ctx = ctx
        self.plan = plan
        self.p = profile
        self.data = ctx.doc.data
        self.addr: dict[str, ipaddress.IPv4Address] = {}
        self.net: ipaddress.IPv4Network | None = None

    def run(self) -> None:
        self.check_network()
        self.check_slots()
        self.check_nodes()
        self.check_roles()
        self.check_vips()
        self.check_components()
        self.check_ports()
        self.check_secrets()

    # network and the IP sheet
    def _network(self, field: str, text: str) -> ipaddress.IPv4Network:
        try:
            return ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            fixed = ipaddress.IPv4Network(text, strict=False)
            self.ctx.error(("network", field), m("{value} has host bits set", value=show(text)),
                           m("did you mean {value}?", value=fixed), code="subnet-host-bits")
            return fixed

    def check_network(self) -> None:
        self.net = self._network("subnet", self.plan.subnet)
        lan_problem = site_lan_problem(self.net)
        if lan_problem:
            self.ctx.error(("network", "subnet"), m("{subnet} {problem}", subnet=self.net, problem=lan_problem[0]), lan_problem[1], code="subnet-policy")
        self.check_cluster_ranges(site_ok=not lan_problem)
        for slot, value in self.plan.ips.items():
            self.addr[slot] = ipaddress.IPv4Address(value)
        net = self.net
        gw = ipaddress.IPv4Address(self.plan.gateway)
        if gw not in net:
            self.ctx.error(("network", "gateway"), m("gateway {gateway} is outside the subnet {subnet}", gateway=gw, subnet=net),
                           m("the gateway must be an address of the subnet the nodes are in"), code="gateway-outside")
        elif self._reserved(gw):
            self.ctx.error(("network", "gateway"), m("gateway {gateway} is the {what} of {subnet}", gateway=gw, what=self._reserved(gw),
                                                     subnet=net),
                           m("write the router's address"), code="gateway-reserved")
        for slot, a in self.addr.items():
            if a == gw:
                self.ctx.error(("ips", slot), m("{slot} is the gateway's address ({gateway})", slot=slot, gateway=gw),
                               m("nodes and VIPs need addresses of their own"), code="gateway-clash")
        for kind in ("dns", "ntp"):
            for j, server in enumerate(getattr(self.plan, kind)):
                try:
                    addr = ipaddress.IPv4Address(server)
                except ValueError:
                    if server.rstrip(".").rsplit(".", 1)[-1].isdigit():
                        self.ctx.error(("network", kind, j), m("{value} is neither an IPv4 address nor a host name", value=show(server)),
                                       m("an address is four numbers 0-255 (e.g. 10.20.30.2); a host name does not end in a number"),
                                       code="pattern")
                    continue  # a host name
                bad = _server_address_problem(addr, net)
                if bad:
                    self.ctx.error(("network", kind, j), m("{kind} server {address} is {problem}", kind=kind.upper(), address=addr, problem=bad),
                                   m("write the address of the site's {kind} server", kind=kind.upper()), code="server-address")
                    continue
                for slot, a in self.addr.items():
                    if a == addr:
                        self.ctx.error(("ips", slot), m("{slot} ({address}) is the address of a {server_kind} server (network.{kind}[{index}])", slot=slot, address=a, server_kind=kind.upper(), kind=kind, index=j),
                                       m("give {slot} another address: that one belongs to another machine", slot=slot), code="server-clash")

    def check_cluster_ranges(self, site_ok: bool = True) -> None:
        """Kubernetes' pod and service networks: real networks, apart from
        each other and from the site LAN (kubeadm breaks on an overlap)."""
        pod = self._network("pod_subnet", self.plan.pod_subnet)
        svc = self._network("service_subnet", self.plan.service_subnet)
        for field, net, title in (("pod_subnet", pod, "pod"), ("service_subnet", svc, "service")):
            bad = site_lan_problem(net, cluster=True)
            if bad:
                self.ctx.error(("network", field), m("the Kubernetes {title} network {net} {problem}", title=title, net=net, problem=bad[0]), bad[1], code="subnet-policy")
            elif site_ok and self.net is not None and net.overlaps(self.net):
                self.ctx.error(("network", field), m("the Kubernetes {title} network {net} overlaps the site subnet {subnet}", title=title, net=net, subnet=self.net),
                               m("set network.{field} to a private range the site does not use (kubeadm's default is {default})", field=field, default=POD_SUBNET if title == 'pod' else SERVICE_SUBNET), code="subnet-overlap")
        if pod.overlaps(svc):
            self.ctx.error(("network", "service_subnet"), m("the Kubernetes service network {svc} overlaps the pod network {pod}", svc=svc, pod=pod),
                           m("give them ranges apart, e.g. 10.244.0.0/16 and 10.96.0.0/12"), code="subnet-overlap")

    def _reserved(self, a: ipaddress.IPv4Address) -> str:
        net = self.net
        if net is None or net.prefixlen >= 31:
            return ""
        if a == net.network_address:
            return m("network address")
        if a == net.broadcast_address:
            return m("broadcast address")
        return ""

    def check_slots(self) -> None:
        seen: dict[ipaddress.IPv4Address, str] = {}
        for slot, a in self.addr.items():
            if slot not in self.p.slots:
                self.ctx.error(("ips", slot), m("{slot} is not on the IP sheet of profile {profile}", slot=slot, profile=self.p.name),
                               m("the sheet names {slots}", slots=", ".join(self.p.slots)), code="unknown-slot")
            if self.net is not None and a not in self.net:
                self.ctx.error(("ips", slot), m("{slot} ({address}) is outside the subnet {subnet}", slot=slot, address=a, subnet=self.net),
                               m("all six addresses are in the nodes' subnet"), code="outside-subnet")
            elif self._reserved(a):
                self.ctx.error(("ips", slot), m("{slot} ({address}) is the {what} of {subnet}", slot=slot, address=a,
                                                what=self._reserved(a), subnet=self.net),
                               m("pick a host address"), code="reserved-address")
            if a in seen:
                self.ctx.error(("ips", slot), m("{slot} has the same address as {other} ({address})", slot=slot, other=seen[a], address=a),
                               m("every named address must be different"), code="duplicate-address")
            else:
                seen[a] = slot
        for slot, spec in self.p.slots.items():
            if slot not in self.addr:
                self.ctx.error(("ips",), m("{slot} ({title}) has no address", slot=slot, title=spec.title),
                               m("add `{slot}: <address>` under ips:", slot=slot), code="missing-slot")

    # nodes
    def check_nodes(self) -> None:
        names: dict[str, int] = {}
        slots: dict[str, int] = {}
        for i, n in enumerate(self.plan.nodes):
            key = n.name.lower()
            if key in RESERVED_NAMES or key.isdigit():
                self.ctx.error(("nodes", i, "name"),
                               m("{name} cannot be a node's name: it is all digits, which tools read as an address", name=show(n.name))
                               if key.isdigit() else m("{name} cannot be a node's name: it names this machine itself", name=show(n.name)),
                               m("give the node its real hostname, e.g. node1"), code="reserved-name")
            if key in names:
                self.ctx.error(("nodes", i, "name"), m("node name {name} is used twice (also nodes[{other}])", name=show(n.name),
                                                       other=names[key]),
                               m("every node needs its own hostname"), code="duplicate-node")
            else:
                names[key] = i
            slot = self.p.slots.get(n.address)
            if slot is None:
                self.ctx.error(("nodes", i, "address"), m("{slot} is not on the IP sheet", slot=n.address),
                               m("a node address is one of {slots}", slots=", ".join(self.p.node_slots)), code="unknown-slot")
            elif slot.kind != "node":
                self.ctx.error(("nodes", i, "address"), m("{address} is a VIP ({title}), not a node address", address=n.address, title=slot.title),
                               m("a node address is one of {node_slots}; VIPs float between nodes", node_slots=', '.join(self.p.node_slots)),
                               code="vip-as-node")
            elif n.address not in self.plan.ips:
                pass  # reported under ips
            if n.address in slots:
                self.ctx.error(("nodes", i, "address"), m("{slot} is already the address of nodes[{other}]", slot=n.address,
                                                          other=slots[n.address]),
                               m("each node has its own address"), code="duplicate-node-address")
            else:
                slots[n.address] = i
            for j, role in enumerate(n.roles):
                if role not in self.p.roles:
                    self.ctx.error(("nodes", i, "roles", j), m("unknown role {role}", role=show(role)),
                                   _choices_hint(role, self.p.roles), code="unknown-role")
            ssh = n.ssh
            if ssh.auth == "password" and not ssh.password:
                self.ctx.error(("nodes", i, "ssh"), m("auth is password but no password reference is given"),
                               m("add `password: prompt` (or env:NAME / file:PATH)"), code="missing-password")
            if ssh.auth == "key":
                if not ssh.key:
                    self.ctx.error(("nodes", i, "ssh"), m("auth is key but no key file is named"),
                                   m("add `key: /path/to/private_key`, or use `auth: agent`"), code="missing-key")
                elif not Path(os.path.expanduser(ssh.key)).is_file():
                    self.ctx.warning(("nodes", i, "ssh", "key"), m("key file {path} does not exist on this machine", path=show(ssh.key, 60)),
                                     m("the install will stop here; check the path"), code="key-not-found")
        for slot in self.p.node_slots:
            if slot not in slots:
                self.ctx.error(("nodes",), m("{slot} ({title}) has no node", slot=slot, title=self.p.slots[slot].title),
                               m("add a node with `address: {slot}`", slot=slot), code="slot-unused")

    def check_roles(self) -> None:
        holders: dict[str, list[str]] = defaultdict(list)
        for n in self.plan.nodes:
            for r in n.roles:
                holders[r].append(n.name)
        for role in self.p.roles.values():
            have = holders.get(role.name, [])
            if not role.count.allows(len(have)):
                on = f" ({', '.join(have)})" if have else ""
                facts = dict(role=role.name, title=role.title, count=len(have), on=on, needed=role.count.describe())
                self.ctx.error(("nodes",), m("role {role} ({title}) is on 1 node{on}; the profile needs {needed}", **facts) if len(have) == 1
                               else m("role {role} ({title}) is on {count} nodes{on}; the profile needs {needed}", **facts),
                               m("add or remove `{role}` in the nodes' roles lists", role=role.name), code="role-count")

    # VIPs
    def check_vips(self) -> None:
        node_roles = {n.name: set(n.roles) for n in self.plan.nodes}
        seen_names: dict[str, int] = {}
        router_ids: dict[int, int] = {}
        for i, v in enumerate(self.plan.vips):
            spec = self.p.vips.get(v.name)
            if v.name in seen_names:
                self.ctx.error(("vips", i, "name"), m("VIP {name} is configured twice", name=show(v.name)), m("keep one entry per VIP"),
                               code="duplicate-vip")
                continue
            seen_names[v.name] = i
            if spec is None:
                self.ctx.error(("vips", i, "name"), m("unknown VIP {name}", name=show(v.name)), _choices_hint(v.name, self.p.vips), code="unknown-vip")
                continue
            slot = self.p.slots.get(v.address)
            if slot is None:
                self.ctx.error(("vips", i, "address"), m("{slot} is not on the IP sheet", slot=v.address),
                               m("VIP addresses are {vip_slots}", vip_slots=', '.join(self.p.vip_slots)), code="unknown-slot")
            elif slot.kind != "vip":
                self.ctx.error(("vips", i, "address"), m("{address} is a node's address ({title}); a VIP is never a node's own address", address=v.address, title=slot.title),
                               m("{vip} is {slot} on the IP sheet", vip=v.name, slot=spec.slot), code="node-as-vip")
            elif v.address != spec.slot:
                self.ctx.error(("vips", i, "address"), m("{vip} is {slot} ({title}) in profile {profile}, not {address}", vip=v.name, slot=spec.slot, title=self.p.slots[spec.slot].title, profile=self.p.name, address=v.address),
                               m("write `address: {slot}`", slot=spec.slot), code="vip-slot")
            if v.router_id in router_ids:
                self.ctx.error(("vips", i, "router_id"), m("VRRP router id {id} is already used by vips[{other}]", id=v.router_id,
                                                           other=router_ids[v.router_id]),
                               m("every VIP needs its own router id (1-255), also unique among other VRRP users on this LAN"),
                               code="duplicate-router-id")
            else:
                router_ids[v.router_id] = i
            allowed = set(spec.member_roles)
            for j, member in enumerate(v.members):
                if member not in node_roles:
                    self.ctx.error(("vips", i, "members", j), m("no node is named {name}", name=show(member)),
                                   _choices_hint(member, node_roles), code="unknown-member")
                elif not allowed & node_roles[member]:
                    self.ctx.error(("vips", i, "members", j), m("node {member} holds none of the roles {vip} serves ({roles})", member=member, vip=v.name, roles=', '.join(spec.member_roles)),
                                   m("remove it from members, or give it one of those roles"), code="member-role")
            for name in v.priorities:
                if name not in v.members:
                    self.ctx.error(("vips", i, "priorities", name), m("{node} has a priority but is not a member of {vip}", node=show(name), vip=v.name),
                                   m("list it under members, or remove its priority"), code="priority-not-member")
            if spec.backup_roles:
                backups = [m for m in v.members if m in node_roles and node_roles[m] & set(spec.backup_roles)
                           and not node_roles[m] & (set(spec.member_roles) - set(spec.backup_roles))]
                primaries = [m for m in v.members if m in node_roles and m not in backups]
                if primaries:
                    lowest = min(v.priority(m) for m in primaries)
                    for b in backups:
                        if v.priority(b) >= lowest:
                            self.ctx.error(("vips", i, "priorities"),
                                           m("backup node {node} has priority {priority}, not below the cluster nodes' lowest ({lowest}); it would take {address} while the cluster is healthy", node=b, priority=v.priority(b), lowest=lowest, address=v.address),
                                           m("give {node} a priority below {lowest}", node=b, lowest=lowest), code="backup-priority")
        for name, spec in self.p.vips.items():
            if name not in seen_names:
                self.ctx.error(("vips",), m("VIP {name} ({title}, {slot}) is not configured", name=name, title=spec.title, slot=spec.slot),
                               m("add a vips entry with `name: {name}` and `address: {slot}`", name=name, slot=spec.slot), code="missing-vip")

    # components and their settings
    def check_components(self) -> None:
        for cname, settings in self.plan.components.items():
            comp = self.p.components.get(cname)
            if comp is None:
                self.ctx.error(("components", cname), m("unknown component {component}", component=show(cname)), _choices_hint(cname, self.p.components),
                               code="unknown-component", at_key=True)
                continue
            for key, value in settings.items():
                path = ("components", cname, key)
                if SECRET_WORDS.search(key):
                    self.ctx.error(path, m("{key} looks like a secret; answer files never hold secrets", key=show(key)),
                                   m("remove it; the profile's secrets are referenced under `secrets:` ({secrets})", secrets=', '.join(self.p.secrets)),
                                   code="literal-secret", at_key=True)
                    continue
                if key == "external":
                    if not isinstance(value, bool):
                        self.ctx.error(path, m("expected true or false, found {value}", value=_found(value)), m("write true or false"), code="type")
                    continue
                if key not in comp.settings:
                    known = list(comp.settings) + ["external"]
                    hint = (m("it is a plan field now: write it as network.{key}", key=key) if key in ("pod_subnet", "service_subnet")
                            else _choices_hint(key, known))
                    self.ctx.error(path, m("unknown setting {key} for {component}", key=show(key), component=cname), hint, code="unknown-setting", at_key=True)
                    continue
                spec = comp.setting_specs[key]
                wrong = spec.problem(value)
                if wrong is None:
                    continue
                code, what, hint = wrong
                note = self.ctx.doc.number_notes.get(path) or (yamlio.number_note(value) if isinstance(value, str) else "")
                if code == "type" and spec.type == "int" and note:
                    self.ctx.error(path, m("expected a whole number, found {value}", value=show(value)), note, code="number")
                elif code == "type":
                    self.ctx.error(path, m("{what}, found {value}", what=what, value=_found(value)), hint, code="type")
                elif code == "enum":
                    self.ctx.error(path, m("{value} {what}", value=show(value), what=what), _choices_hint(str(value), spec.choices), code="enum")
                else:
                    self.ctx.error(path, m("{value} {what}", value=show(value), what=what), hint, code=code)

    # ports
    def check_ports(self) -> None:
        for cname, ports in self.plan.ports.items():
            comp = self.p.components.get(cname)
            if comp is None:
                self.ctx.error(("ports", cname), m("unknown component {component}", component=show(cname)), _choices_hint(cname, self.p.components),
                               code="unknown-component", at_key=True)
                continue
            for pname in ports:
                if pname not in comp.ports:
                    self.ctx.error(("ports", cname, pname), m("{component} has no port named {port}", component=cname, port=show(pname)),
                                   _choices_hint(pname, comp.ports) if comp.ports else m("{component} listens on no port", component=cname),
                                   code="unknown-port", at_key=True)
        for i, node in enumerate(self.plan.nodes):
            # sshd listens on every node: its port takes part like any other.
            used: dict[tuple[int, str], str] = {(node.ssh.port, "tcp"): "ssh"}
            for comp in self.p.components_for_roles(set(node.roles)):
                if self.plan.is_external(comp.name):
                    continue
                for pname, spec in comp.ports.items():
                    port = self.plan.port(self.p, comp.name, pname)
                    key = (port, spec.protocol)
                    label = f"{comp.name}.{pname}"
                    if key in used:
                        overridden = pname in self.plan.ports.get(comp.name, {})
                        path = (("ports", comp.name, pname) if overridden
                                else ("nodes", i, "ssh", "port") if used[key] == "ssh" else ("nodes", i, "roles"))
                        self.ctx.error(path, m("on node {node}, {first} and {second} both use {port}/{protocol}", node=node.name, first=label,
                                               second=used[key], port=port, protocol=spec.protocol),
                                       m("give one of them another port under `ports:` (e.g. ports: {{{component}: {{{port}: N}}}})",
                                         component=comp.name, port=pname),
                                       code="port-conflict")
                    else:
                        used[key] = label

    # secrets
    def check_secrets(self) -> None:
        for name in self.plan.secrets:
            if name not in self.p.secrets:
                self.ctx.error(("secrets", name), m("unknown secret {name}", name=show(name)), _choices_hint(name, self.p.secrets), code="unknown-secret", at_key=True)
        roles_in_plan = {r for n in self.plan.nodes for r in n.roles}
        needed: dict[str, str] = {}
        for comp in self.p.components_for_roles(roles_in_plan):
            if self.plan.is_external(comp.name):
                continue
            for s in comp.secrets:
                needed.setdefault(s, comp.name)
        for s, comp in needed.items():
            if s not in self.plan.secrets:
                self.ctx.error(("secrets",), m("secret {secret} ({title}, for {component}) has no reference", secret=s,
                                               title=self.p.secrets[s], component=comp),
                               m("add `{secret}: prompt` (or env:NAME / file:PATH) under secrets:", secret=s), code="missing-secret")
