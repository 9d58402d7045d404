"""The whole plan at a glance, before anything connects: per node its roles,
ports and VIPs (model.planner), the bundles it gets and their sizes, the
steps in order (per node and cluster-wide), an estimate of the time with what
it rests on, and the problems an install would stop on. `onsite plan` prints
it, the wizard's Review page draws it; neither computes any of it itself.

Decisions:
- Bundles are resolved as the install resolves them (`ResolveBundles`, not
  strict): verified by size and hash, so on the reference bundles this reads
  some hundred MB. Front ends call `build` off their UI thread.
- A missing bundle, component or payload is not an exception here: it is a
  problem in the review (the install would refuse with the same words).
- The estimate is honest or absent. Sending: the bytes each node gets
  (files already on a node are skipped by the push, so this is an upper
  bound) over the delivered rate of an earlier push of this site
  (`link.json` in its journal folder, written by an install's push of 8 MB
  or more) or a rate a front end measured (the wizard's Test connection),
  the newer of the two; without either it is "unknown until measured".
  Steps: in order, a parallel step takes its slowest node and a serial one
  the sum of its nodes, with the durations this site's journal recorded on
  an earlier run; a step without one makes the steps' time unknown.
  Preflight and verify (seconds, on a LAN) are not counted. No figure is
  invented.
- Reuse: the bundle and step resolution is the install's own phase; which
  node gets which bundle is the push's own rule (push.bundles_for_nodes);
  roles, ports and VIPs are model.planner's node views.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from ..model.i18n import m
from ..model.plan import Plan
from ..model.planner import NodeView, node_views
from ..model.problems import Problem, ProblemError
from ..model.profile import Profile
from . import journal as journal_mod
from .events import human_bytes
from .install import InstallOperation, ResolveBundles
from .link import LinkRate, newest, recorded_link
from .push import bundles_for_nodes


@dataclasses.dataclass(frozen=True)
class BundleInfo:
    id: str
    bytes: int
    files: int
    nodes: tuple[str, ...]  # the nodes that get it


@dataclasses.dataclass(frozen=True)
class NodeReview:
    view: NodeView
    bundles: tuple[str, ...]
    bytes: int
    steps: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.view.name


@dataclasses.dataclass(frozen=True)
class StepInfo:
    id: str
    title: str
    bundle: str
    scope: str  # node | cluster
    mode: str  # parallel | serial
    nodes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Estimate:
    send_bytes: int
    send_seconds: float | None
    steps_seconds: float | None
    basis: tuple[str, ...]  # what each figure rests on (or why it is unknown), one sentence each

    @property
    def seconds(self) -> float | None:
        if self.send_seconds is None or self.steps_seconds is None:
            return None
        return self.send_seconds + self.steps_seconds

    def to_json(self) -> dict:
        return {"send_bytes": self.send_bytes, "send_seconds": _r(self.send_seconds),
                "steps_seconds": _r(self.steps_seconds), "seconds": _r(self.seconds), "basis": list(self.basis)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


@dataclasses.dataclass
class Review:
    site: str
    nodes: list[NodeReview]
    bundles: list[BundleInfo]
    steps: list[StepInfo]
    estimate: Estimate
    problems: list[Problem]  # what an install would stop on before it connects (bundles, components, payloads)
    bundles_from: str  # where the bundles were looked for
    installed_changes: list[str] | None = None  # see changes_against_installed

    @property
    def cluster_steps(self) -> list[StepInfo]:
        return [s for s in self.steps if s.scope == "cluster"]

    def to_json(self) -> dict:
        return {
            "bundle_details": [dataclasses.asdict(b) | {"nodes": list(b.nodes)} for b in self.bundles],
            "order": [dataclasses.asdict(s) | {"nodes": list(s.nodes)} for s in self.steps],
            "estimate": self.estimate.to_json(),
            "problems": [p.to_json() for p in self.problems],
            "installed_changes": self.installed_changes,
        }


def duration(seconds: float | None) -> str:
    """90 -> '1 min 30 s'; None -> 'unknown'."""
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# -- step durations from an earlier run --------------------------------------------------
def _seconds(rec: dict) -> float | None:
    try:
        a, b = dt.datetime.fromisoformat(rec["started"]), dt.datetime.fromisoformat(rec["ended"])
    except (KeyError, TypeError, ValueError):
        return None
    s = (b - a).total_seconds()
    return s if s >= 0 else None


def recorded_durations(journal_dir: Path | None) -> dict[str, float]:
    """node/step -> seconds, from the site's journal (steps that ran to done)."""
    if journal_dir is None or not journal_mod.Journal.exists(journal_dir):
        return {}
    try:
        j = journal_mod.Journal.load(journal_dir)
    except (OSError, ValueError):
        return {}
    out = {}
    for key, rec in (j.data.get("steps") or {}).items():
        if isinstance(rec, dict) and rec.get("status") == journal_mod.DONE:
            s = _seconds(rec)
            if s is not None:
                out[key] = s
    return out


def _steps_time(steps: Sequence[StepInfo], durations: dict[str, float]) -> float | None:
    """In order: a parallel step takes its slowest node, a serial one the sum.
    None when a step has no recorded duration on one of its nodes."""
    total = 0.0
    for s in steps:
        took = [durations.get(f"{n}/{s.id}") for n in s.nodes]
        if any(x is None for x in took):
            return None
        total += (sum(took) if s.mode == "serial" else max(took, default=0.0))  # type: ignore[arg-type]
    return total


def estimate(nodes: Sequence[NodeReview], steps: Sequence[StepInfo], link: LinkRate | None,
             durations: dict[str, float]) -> Estimate:
    send = sum(n.bytes for n in nodes)
    basis = []
    if send == 0:
        send_s: float | None = 0.0
        basis.append(m("sending: nothing to send"))
    elif link is None:
        send_s = None
        basis.append(m("sending {size}: unknown until measured (Test connection on the SSH page, or an earlier push "
                       "of this site)", size=human_bytes(send)))
    else:
        send_s = send / link.rate
        basis.append(m("sending {size} at most (files already on a node are skipped): about {time} at {rate}/s "
                       "measured by {source}", size=human_bytes(send), time=duration(send_s), rate=human_bytes(link.rate),
                       source=link.source))
    if not steps:
        steps_s: float | None = 0.0
    else:
        steps_s = _steps_time(steps, durations)
        runs = sum(len(s.nodes) for s in steps)
        if steps_s is None:
            basis.append(m("steps ({runs} runs): unknown before a first install of this site records how long each takes",
                           runs=runs))
        else:
            basis.append(m("steps ({runs} runs): about {time}, as they took in this site's last install (journal)",
                           runs=runs, time=duration(steps_s)))
    return Estimate(send, send_s, steps_s, tuple(basis))


# -- the review ------------------------------------------------------------------------------
def changes_against_installed(plan: Plan, journal_dir: Path | None) -> list[str] | None:
    """THE PLACE for the change against the installed plan (the day-2 work
    lands here): None for a site never installed from this answer file;
    else what differs between the plan its journal recorded and this plan
    (empty: the same plan). Today it lists the changed fields as the
    install's own refusal does (journal.plan_changes)."""
    if journal_dir is None or not journal_mod.Journal.exists(journal_dir):
        return None
    try:
        j = journal_mod.Journal.load(journal_dir)
    except (OSError, ValueError):
        return None
    if j.data.get("plan_hash") == plan.fingerprint():
        return []
    return journal_mod.plan_changes(j.data.get("plan"), plan.to_data())


def build(plan: Plan, profile: Profile, *, answer_file: Path | None, bundle_paths: Sequence[Path] | None = None,
          pubkey: Path | None = None, journal_dir: Path | None = None, link: LinkRate | None = None,
          problems=None) -> Review:
    """Everything the Review page and `onsite plan` show. Reads and hashes
    the bundles: call it off a UI thread. `link`: a rate the caller measured
    (the newer of it and the recorded one is used)."""
    op = InstallOperation(plan, profile, answer_file=answer_file, bundle_paths=bundle_paths, pubkey=pubkey,
                          journal_dir=journal_dir, problems=problems)
    found: list[Problem] = []
    try:
        ResolveBundles(strict=False).run(op)
    except ProblemError as exc:  # a bundle that does not verify, a broken step graph
        found.extend(exc.problems)
    except OSError as exc:  # a bundle folder that cannot be read
        found.append(Problem(message=m("cannot read the bundles: {error}", error=exc.strerror or type(exc).__name__),
                             hint=m("check the bundle folders and their permissions"), file=exc.filename and str(exc.filename),
                             code="bundle"))
    if op.bundle_paths:
        where = ", ".join(str(p) for p in op.bundle_paths)
    else:
        where = f"{Path(answer_file).resolve().parent / 'bundles'}/" if answer_file else "(no answer file: name them)"
    if not found:
        if not op.bundles:
            found.append(Problem(message=m("no bundles found in {where}", where=where),
                                 hint=m("copy the bundles next to the answer file (bundles/), or name them with --bundle"),
                                 code="no-bundles"))
        else:
            for c, nodes in ResolveBundles.missing_components(op):
                found.append(Problem(message=m("no bundle installs {component}, which the plan puts on {nodes}",
                                               component=c, nodes=", ".join(nodes)),
                                     hint=m("add the bundle that installs it, or mark it `{component}: {{external: true}}` "
                                            "under components:", component=c),
                                     path=("components", c), code="component-missing"))
            found.extend(op.missing_payloads)
    per_node = bundles_for_nodes(plan, profile, op.bundles)
    steps_of: dict[str, list[str]] = {}
    for i in op.instances:
        steps_of.setdefault(i.node, []).append(i.step.id)
    nodes = [NodeReview(v, tuple(b.id for b in per_node.get(v.name, [])), sum(b.total_bytes for b in per_node.get(v.name, [])),
                        tuple(steps_of.get(v.name, []))) for v in node_views(plan, profile)]
    bundles = [BundleInfo(b.id, b.total_bytes, len(b.files), tuple(n for n, bs in per_node.items() if b in bs))
               for b in op.bundles]
    on: dict[str, list[str]] = {}
    for i in op.instances:
        on.setdefault(i.step.id, []).append(i.node)
    steps = [StepInfo(s.id, s.title, s.bundle, s.scope, s.mode, tuple(on[s.id])) for s in op.steps if s.id in on]
    jdir = op.journal_dir
    used = newest(link, recorded_link(jdir))
    guess = estimate(nodes, steps, used, recorded_durations(jdir)) if op.bundles else Estimate(
        0, None, None, (m("no bundles yet: nothing to estimate"),))
    return Review(plan.site_name, nodes, bundles, steps, guess, found, where,
                  changes_against_installed(plan, jdir))


def text_lines(review: Review) -> list[str]:
    """The review's bundles, steps and estimate as lines for a terminal (the
    per-node roles, ports and VIPs are printed by the caller)."""
    out = []
    if review.bundles:
        out.append("bundle sizes:")
        for b in review.bundles:
            out.append(f"  {b.id:<24} {human_bytes(b.bytes):>9}  {b.files:>4} files  to {', '.join(b.nodes) or 'no node'}")
    if review.steps:
        out.append("steps in order:")
        for k, s in enumerate(review.steps, 1):
            where = f"once, on {s.nodes[0]}" if s.scope == "cluster" else (
                ("one node at a time: " if s.mode == "serial" else "") + ", ".join(s.nodes))
            out.append(f"  {k:>2}. {s.id:<22} {where}")
    e = review.estimate
    if not review.bundles:
        return out  # no bundles: the caller said so; nothing to time
    out.append(f"time: {duration(e.seconds)}" if e.seconds is not None else
               "time: unknown (" + ("sending" if e.send_seconds is None else "") +
               (" and " if e.send_seconds is None and e.steps_seconds is None else "") +
               ("steps" if e.steps_seconds is None else "") + " not measured yet)")
    out.extend(f"  {b}" for b in e.basis)
    if review.installed_changes:
        out.append("changed since the install: " + ", ".join(review.installed_changes[:12]))
    return out


__all__ = ["Review", "NodeReview", "BundleInfo", "StepInfo", "Estimate", "LinkRate", "build", "estimate",
           "changes_against_installed", "duration", "text_lines"]
