"""A changed plan on an installed site: what changed, whether it can be
applied in place, and what applying it would run, in which order.

`onsite install FILE` on a site whose install journal is complete, with an
answer file that differs from the plan recorded there, shows this and
applies it after a confirmation; `onsite plan FILE` shows it and touches
nothing (through installer.engine.review: `Review.change`, the data the
wizard's Review page draws); `site_change` / `plan_change` give the same
to any other caller.

What cannot be applied in place (refused, naming what to do instead):
  - the site's name or its profile: uninstall, then install the new plan;
  - the node list (a node added, removed, renamed or moved in the list) and
    a node's address or roles (cluster membership changes with them): a
    server that was reinstalled or swapped keeps its name and address and
    comes back with `onsite node replace FILE NODE`; anything else is an
    uninstall and a new install;
  - the subnet or the gateway (every address depends on them).
Everything else (ports, settings, VIP addresses, priorities and checks, a
NIC, secrets' references, SSH access, components marked external) applies
in place.

What runs: the install's own steps, each re-checked against the new plan
(a step whose check passes is left alone: its node's configuration is
current). Steps render configuration and reload or restart their service
only when a file they wrote changed, so only the services concerned
restart. While a change is applied every node-scope step with several nodes
runs one node at a time (rolling), the node that leads the service (the
step's `leader:` script) last, and nothing new starts after the first node
whose step or check fails; the journal records it and --resume continues.

Which steps a change concerns is predicted before anything connects, from
the plan's variables that differ per node (installer.engine.envfile) and the
variables each step's scripts read (their text, and the bundle files they
name, searched for ONSITE_* names; `ONSITE_VIP_$(...)` style names built at
run time count as every name with that prefix and suffix). The prediction is
what the deployer confirms; the steps' checks decide on the nodes. A step
without a check cannot tell whether its result is current and is not run
again by a change (as on any rerun): bundles give every step that writes
configuration a check.

The journal of a change (installer.engine.install.OpenJournal): the site's
journal.json is kept as journal-<time>.json beside it, then rewritten for the
new plan, its `change` entry naming the old plan's hash, the fields and the
time, `history` listing every kept journal; steps with a check start
pending (re-checked), steps without one keep their record.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, show
from ..model.profile import Profile
from . import envfile
from .bundle import Bundle
from .journal import Journal
from .steps import Instance, Step, instances

_NAME = re.compile(r"ONSITE_[A-Z0-9_]+")
# ONSITE_VIP_$(upper "$vip") or ONSITE_NODE_${n}_ADDRESS: a name built at run time
_ACCESS = re.compile(r"^nodes\[\d+\]\.ssh(\.|$)")
_COMMENT = re.compile(r"(?m)(?:^|(?<=\s))#.*$")  # a shell comment (not $# or ${#x})
_BUILT = re.compile(r"(ONSITE_[A-Z0-9_]*_)\$(?:\([^()]*\)|\{[^{}]*\})([A-Z0-9_]*)")


@dataclasses.dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any = None  # None: added
    new: Any = None  # None: removed

    def line(self) -> str:
        if self.old is None:
            return m("{path}: (not set) -> {new}", path=self.path, new=_short(self.new))
        if self.new is None:
            return m("{path}: {old} -> (not set)", path=self.path, old=_short(self.old))
        return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclasses.dataclass(frozen=True)
class StepChange:
    """An install step the change concerns, on these nodes, in this order."""

    step: str
    title: str
    component: str | None
    nodes: tuple[str, ...]
    rolling: bool  # one node at a time
    leader_last: bool  # the node leading the service goes last (asked when the step starts)

    def line(self) -> str:
        nodes = ", ".join(self.nodes)
        if self.rolling and self.leader_last:
            return m("{step} on {nodes} (one node at a time, the leading node last)", step=self.step, nodes=nodes)
        if self.rolling:
            return m("{step} on {nodes} (one node at a time)", step=self.step, nodes=nodes)
        return m("{step} on {nodes}", step=self.step, nodes=nodes)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "title": self.title, "component": self.component, "nodes": list(self.nodes),
                "rolling": self.rolling, "leader_last": self.leader_last}


@dataclasses.dataclass
class Change:
    """What differs between the installed plan and the new one."""

    old_hash: str | None
    new_hash: str
    fields: list[FieldChange]
    refused: list[Problem]  # what cannot be applied in place
    nodes: list[str]  # nodes whose configuration inputs change
    steps: list[StepChange] | None  # None: no bundles to predict with

    @property
    def empty(self) -> bool:
        return not self.fields

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def access_only(self) -> bool:
        """Only how onsite reaches the nodes changed (nodes[].ssh: a pinned
        host key, a user, a key): nothing on the nodes changes, so it is
        recorded without asking."""
        return bool(self.fields) and all(_ACCESS.match(f.path) for f in self.fields)

    def lines(self) -> list[str]:
        """The change as the deployer reads it before confirming."""
        out: list[str] = [m("the answer file changes the installed plan ({n} field(s)):", n=len(self.fields))]
        out += [f"  {f.line()}" for f in self.fields[:40]]
        if len(self.fields) > 40:
            out.append(m("  ... and {n} more", n=len(self.fields) - 40))
        for p in self.refused:
            out.append(f"  {p.message}")
        if not self.ok:
            return out
        out.append(m("nodes whose configuration changes: {nodes}", nodes=", ".join(self.nodes) or "-"))
        if self.steps is None:
            out.append(m("steps: not known without the bundles"))
        elif not self.steps:
            out.append(m("steps concerned: none (every step is re-checked; nothing should restart)"))
        else:
            out.append(m("in this order (each step re-checked first; a service restarts only where its "
                         "configuration changed):"))
            out += [f"  {i}. {s.line()}" for i, s in enumerate(self.steps, 1)]
            out.append(m("it stops at the first node whose step or check fails (continue with --resume)"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"old_plan_hash": self.old_hash, "new_plan_hash": self.new_hash, "in_place": self.ok,
                "fields": [f.to_json() for f in self.fields],
                "refused": [p.to_json() for p in self.refused], "nodes": self.nodes,
                "steps": None if self.steps is None else [s.to_json() for s in self.steps]}


def _short(value: Any) -> str:
    text = show(value) if isinstance(value, str) else repr(value) if not isinstance(value, (int, float)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Leaf fields that differ between two plans' data (lists of another
    length, or of mappings with names, compared by name; otherwise whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.extend(field_changes({}, new[k], sub) if isinstance(new[k], dict) and new[k] else
                           [FieldChange(sub, None, new[k])])
            elif k not in new:
                out.extend(field_changes(old[k], {}, sub) if isinstance(old[k], dict) and old[k] else
                           [FieldChange(sub, old[k], None)])
            else:
                out.extend(field_changes(old[k], new[k], sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new):
            return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in field_changes(a, b, f"{path}[{i}]")]
        return [FieldChange(path or "(top level)", old, new)]
    return [] if old == new else [FieldChange(path or "(top level)", old, new)]


def _refusals(old: Plan, new: Plan, old_data: dict[str, Any], new_data: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    if old.site_name != new.site_name:
        out.append(Problem(message=m("cannot be applied in place: the site's name ({old} -> {new})",
                                     old=show(old.site_name), new=show(new.site_name)),
                           hint=m("put the name back; a site under another name is a new install: uninstall the site "
                                  "(onsite uninstall FILE), then install the new plan"),
                           path=("site", "name"), code="change-not-in-place"))
    old_profile = (old_data.get("site") or {}).get("profile")
    new_profile = (new_data.get("site") or {}).get("profile")
    if old_profile != new_profile:
        out.append(Problem(message=m("cannot be applied in place: the profile ({old} -> {new})",
                                     old=show(old_profile), new=show(new_profile)),
                           hint=m("put the profile back; another profile is another system: uninstall the site "
                                  "(onsite uninstall FILE), then install the new plan"),
                           path=("site", "profile"), code="change-not-in-place"))
    for name, a, b in (("subnet", old.subnet, new.subnet), ("gateway", old.gateway, new.gateway)):
        if a != b:
            out.append(Problem(message=m("cannot be applied in place: the network's {name} ({old} -> {new}): every "
                                         "address depends on it", name=name, old=show(a), new=show(b)),
                               hint=m("put it back; a site moved to another network is a new install: uninstall the "
                                      "site (onsite uninstall FILE), then install the new plan"),
                               path=("network", name), code="change-not-in-place"))
    old_names, new_names = [n.name for n in old.nodes], [n.name for n in new.nodes]
    if old_names != new_names:
        added = [n for n in new_names if n not in old_names]
        removed = [n for n in old_names if n not in new_names]
        what = "; ".join(x for x in (m("added {nodes}", nodes=", ".join(added)) if added else "",
                                     m("removed {nodes}", nodes=", ".join(removed)) if removed else "") if x)
        out.append(Problem(
            message=m("cannot be applied in place: the node list ({what})", what=what or m("another order")),
            hint=m("a server that was reinstalled or swapped keeps its name and address: put the list back and run "
                   "onsite node replace FILE NODE; to add or remove nodes: uninstall the site (onsite uninstall "
                   "FILE), then install the new plan"),
            path=("nodes",), code="change-not-in-place"))
        return out
    for i, (a, b) in enumerate(zip(old.nodes, new.nodes, strict=True)):
        if old.address_of(a) != new.address_of(b):
            out.append(Problem(
                message=m("cannot be applied in place: node {node}'s address ({old} -> {new})", node=a.name,
                          old=old.address_of(a), new=new.address_of(b)),
                hint=m("put the address back; a server at another address is a replaced node (onsite node replace "
                       "FILE {node} once it answers at the old address) or a new install: uninstall the site "
                       "(onsite uninstall FILE), then install the new plan", node=a.name),
                path=("nodes", i, "address"), node=a.name, code="change-not-in-place"))
        if sorted(a.roles) != sorted(b.roles):
            out.append(Problem(
                message=m("cannot be applied in place: node {node}'s roles ({old} -> {new}): the services' cluster "
                          "membership changes with them", node=a.name, old=", ".join(a.roles), new=", ".join(b.roles)),
                hint=m("put the roles back; a node's roles change with an uninstall of the site (onsite uninstall "
                       "FILE) and an install of the new plan"),
                path=("nodes", i, "roles"), node=a.name, code="change-not-in-place"))
    return out


class _Reads:
    """The ONSITE_* names a step's scripts read: their text and the bundle
    files they name, searched once per bundle file."""

    def __init__(self, bundles: Sequence[Bundle]) -> None:
        self.bundles = {b.id: b for b in bundles}
        self._file: dict[tuple[str, str], tuple[set[str], set[tuple[str, str]], set[str]]] = {}

    def _scan(self, bundle: Bundle, path: str) -> tuple[set[str], set[tuple[str, str]], set[str]]:
        key = (bundle.id, path)
        if key not in self._file:
            try:
                text = (bundle.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            text = _COMMENT.sub("", text)
            names = set(_NAME.findall(text))
            built = set(_BUILT.findall(text))
            files = {f.path for f in bundle.files if f.path != path and f.path in text}
            self._file[key] = (names, built, files)
        return self._file[key]

    def of(self, step: Step) -> tuple[set[str], set[tuple[str, str]]]:
        bundle = self.bundles.get(step.bundle)
        if bundle is None:
            return set(), set()
        names: set[str] = set()
        built: set[tuple[str, str]] = set()
        todo = [p for p in (step.script, step.check) if p]
        seen: set[str] = set()
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            n, b, files = self._scan(bundle, path)
            names |= n
            built |= b
            todo.extend(files - seen)
        return names, built


def _reads(name: str, names: set[str], built: set[tuple[str, str]]) -> bool:
    if name in names:
        return True
    return any(name.startswith(pre) and name.endswith(suf) and len(name) > len(pre) + len(suf) for pre, suf in built)


def plan_change(installed_plan_data: dict[str, Any], new_plan: Plan, profile: Profile,
                bundles: Sequence[Bundle] | None = None, steps: Sequence[Step] | None = None) -> Change:
    """The change from the plan an install recorded (its journal's `plan`)
    to `new_plan`. With the bundles (and their install steps, else loaded
    from them) it predicts the steps concerned, in the order they run."""
    new_data = new_plan.to_data()
    fields = field_changes(installed_plan_data, new_data)
    old_hash = None
    try:
        old_plan = Plan.from_data(installed_plan_data, profile)
        old_hash = old_plan.fingerprint()
    except Exception:  # noqa: BLE001 - a journal from another version: the fields still show
        return Change(None, new_plan.fingerprint(), fields, [Problem(
            message=m("the installed plan recorded in the journal cannot be read by this version of onsite"),
            hint=m("apply the change with the onsite version that installed the site"), code="change-not-in-place")],
            [], None)
    refused = _refusals(old_plan, new_plan, installed_plan_data, new_data) if fields else []
    change = Change(old_hash, new_plan.fingerprint(), fields, refused, [], None)
    if refused or not fields:
        return change
    changed: dict[str, set[str]] = {}
    for n in new_plan.nodes:
        a = envfile.variables(old_plan, profile, n.name, {})
        b = envfile.variables(new_plan, profile, n.name, {})
        diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
        if diff:
            changed[n.name] = diff
    secrets = {f.path.split(".", 1)[1].split(".")[0] for f in fields if f.path.startswith("secrets.")}
    change.nodes = [n.name for n in new_plan.nodes if n.name in changed]
    if bundles is None:
        return change
    if steps is None:
        from .steps import load_steps

        steps = load_steps(bundles, set(profile.roles))
    reads = _Reads(bundles)
    concerned: list[StepChange] = []
    by_step: dict[str, list[Instance]] = {}
    for inst in instances(new_plan, steps):
        by_step.setdefault(inst.step.id, []).append(inst)
    for step in steps:
        insts = by_step.get(step.id, [])
        if not insts:
            continue
        names, built = reads.of(step)
        if secrets & _step_secret_names(profile, step):  # a secret it gets on stdin: every node may differ
            nodes = [i.node for i in insts]
        else:
            nodes = [i.node for i in insts if any(_reads(v, names, built) for v in changed.get(i.node, ()))]
        if nodes:
            roll = step.scope == "node" and len(insts) > 1
            concerned.append(StepChange(step.id, step.title, step.component, tuple(nodes), roll,
                                        roll and step.leader is not None))
    change.nodes = sorted(set(change.nodes) | {n for s in concerned for n in s.nodes},
                          key=[n.name for n in new_plan.nodes].index)
    change.steps = concerned
    return change


def _step_secret_names(profile: Profile, step: Step) -> set[str]:
    return {s for c in (step.component, *step.provides) if c and c in profile.components
            for s in profile.components[c].secrets} | set(step.secrets)


def rolling(insts: Sequence[Instance]) -> list[Instance]:
    """The instances with every node-scope step of several nodes made serial:
    one node at a time, the leading node last where the step names a leader."""
    count: dict[str, int] = {}
    for i in insts:
        count[i.step.id] = count.get(i.step.id, 0) + 1
    out = []
    for i in insts:
        if i.step.scope == "node" and count[i.step.id] > 1 and i.step.mode != "serial":
            i = Instance(dataclasses.replace(i.step, mode="serial"), i.node)
        out.append(i)
    return out


def renamed_site(journal_dir: Path | None, plan: Plan) -> Problem | None:
    """A site installed under another name on these nodes: a finished
    install's journal beside this one whose nodes have the same addresses.
    (The journal folder is named after the site, so a renamed site would
    otherwise look like a fresh install on running nodes.)"""
    if journal_dir is None or not journal_dir.parent.is_dir():
        return None
    mine = {plan.address_of(n) for n in plan.nodes}
    for other in sorted(journal_dir.parent.glob("*/journal.json")):
        if other.parent == journal_dir:
            continue
        try:
            j = Journal.load(other.parent)
            data = j.data.get("plan") or {}
            ips = data.get("ips") or {}
            theirs = {ips.get(n.get("address")) for n in data.get("nodes") or [] if isinstance(n, dict)}
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        site = data.get("site")
        name = site.get("name", other.parent.name) if isinstance(site, dict) else other.parent.name
        # an uninstalled site, or an earlier journal of this same site (kept by --restart), is no rename
        if j.complete and mine & theirs and not j.data.get("uninstalled") and name != plan.site_name:
            return Problem(
                message=m("cannot be applied in place: the site's name ({old} -> {new}): {old} is installed on "
                          "these nodes ({journal})", old=show(name), new=show(plan.site_name), journal=str(other.parent)),
                hint=m("put the name back; a site under another name is a new install: uninstall the site "
                       "(onsite uninstall FILE), then install the new plan; if it is uninstalled already, move its "
                       "journal folder away (or install with --restart)"),
                path=("site", "name"), code="change-not-in-place")
    return None


def site_change(answer_file: Path, plan: Plan, profile: Profile, bundles: Sequence[Bundle] | None = None,
                journal_dir: Path | None = None) -> Change | None:
    """For the wizard's Review page and `onsite plan`: the change from the
    plan the site's finished install recorded (its journal next to the answer
    file, or `journal_dir`) to `plan`; None when the site has no finished
    install on record or nothing changed. Reads files only."""
    from .journal import default_dir

    old = installed_plan(Path(journal_dir) if journal_dir else default_dir(Path(answer_file), plan))
    if old is None:
        return None
    change = plan_change(old, plan, profile, bundles or None)
    return None if change.empty else change


def installed_plan(journal_dir: Path | None) -> dict[str, Any] | None:
    """The plan a finished install recorded in the journal folder, or None."""
    if journal_dir is None or not Journal.exists(journal_dir):
        return None
    try:
        j = Journal.load(journal_dir)
    except (OSError, ValueError):
        return None
    return j.data.get("plan") if j.complete else None


__all__ = ["Change", "FieldChange", "StepChange", "plan_change", "field_changes", "rolling", "installed_plan",
           "renamed_site", "site_change"]
