"""`onsite uninstall`: the day-2 operation that takes an install off the
nodes, and proves it.

The bundles declare how (`operations: {uninstall: [...]}`: dependents
first, each component's step stops its services, removes its files, its data
unless ONSITE_OP_KEEP_DATA=true, and the packages and users the install
recorded on the node). The engine orders and runs those steps like any
day-2 operation, then adds three phases of its own:

  forget     removes what the engine itself put on the nodes: the bundles,
             env files and node lock under /var/lib/onsite, relay keys in
             root's authorized_keys (after the node locks are released)
  leftovers  preflight's leftover, port and VIP checks on the uninstalled
             nodes: anything an install leaves (the profile's paths,
             packages, processes, users; the plan's ports; the VIPs) fails
             the uninstall, named per node; with --keep-data the data
             folders and their owners are named as kept
  journal    a whole-site uninstall archives the install's journal as
             <site>-uninstalled-<time> next to it (with the uninstall's own
             journal inside), so the next `onsite install` starts afresh;
             `--only NODE` marks that node's install steps pending instead
             (`onsite install FILE --resume` or `onsite node replace` puts
             it back)

The site's install need not have finished: a half-failed install is
uninstalled the same way (every step copes with "never installed here").
An uninstall that stops (a failing step, Ctrl-C) continues with --resume.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex

from ..model.i18n import m
from ..model.problems import Problem, ProblemError
from ..remote.transport import TransportError
from . import journal as journal_mod
from . import preflight as preflight_mod
from .day2 import Day2Operation, ResolveOperation, day2_lifecycle
from .journal import PENDING, Journal
from .lifecycle import Lifecycle, Phase
from .lock import NODE_LOCK
from .push import REMOTE_ROOT
from .relay import MARK, RELAY_ROOT
from .runner import RUN_DIR
from .steps import instances, load_steps, topological

OPERATION = "uninstall"
LEFTOVER_CHECKS = frozenset({"ssh", "leftovers", "kept", "ports", "vips"})
# Everything the engine puts on a node lives below this folder.
ENGINE_ROOT = "/var/lib/onsite"
assert all(p.startswith(ENGINE_ROOT + "/") for p in (REMOTE_ROOT, RELAY_ROOT, RUN_DIR, NODE_LOCK))

_FORGET = (f'for d in {RELAY_ROOT}/*/; do [ -d "$d" ] || continue; pkill -9 -f -- "$d" 2>/dev/null; done; '
           f'if [ -f /root/.ssh/authorized_keys ]; then sed -i "/ {MARK}[0-9a-f]*\\$/d" /root/.ssh/authorized_keys; fi; '
           f'rm -rf -- {shlex.quote(ENGINE_ROOT)} && echo forgotten')


def uninstalled_nodes(op: Day2Operation) -> list[str]:
    """The nodes this uninstall takes the install off: --only's, or all."""
    target = op.day2.target
    return [target] if target else [n.name for n in op.plan.nodes]


def install_order(op: Day2Operation) -> list[str]:
    """The bundles' ids in the order their install steps build on each
    other (a bundle whose steps depend on another's comes after it); the
    order found otherwise."""
    ids = [b.id for b in op.bundles]
    try:
        steps = load_steps(op.bundles, set(op.profile.roles))
    except ProblemError:
        return ids
    owner = {s.id: s.bundle for s in steps}
    after: dict[str, set[str]] = {i: set() for i in ids}
    for s in steps:
        after[s.bundle] |= {owner[d] for d in s.depends_on if d in owner and owner[d] != s.bundle}
    order: list[str] = []
    while len(order) < len(ids):
        ready = [i for i in ids if i not in order and after[i] <= set(order)] or [i for i in ids if i not in order]
        order.append(ready[0])
    return order


class ResolveUninstall(ResolveOperation):
    """The operation's steps, a later bundle's before an earlier one's (the
    reverse of the install: the components go before the base they stand on)."""

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        super().run(op)
        rank = {b: i for i, b in enumerate(install_order(op))}
        later = {r: [s.id for s in op.steps if rank.get(s.bundle, 0) > r] for r in set(rank.values())}
        steps = [dataclasses.replace(s, depends_on=tuple(dict.fromkeys((*s.depends_on, *later.get(rank.get(s.bundle, 0), ())))))
                 for s in op.steps]
        op.steps = topological(steps)
        insts = instances(op.plan, op.steps, op.day2.target)
        op.instances = [i for i in insts if not op.options.only or i.node in op.options.only]


class Forget(Phase):
    name, title = "forget", m("Remove onsite's own files from the nodes")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        if op.node_locks is not None:  # the lock file goes with the folder: release it first
            op.node_locks.release()
            op.node_locks = None
        problems = []
        for node in uninstalled_nodes(op):
            try:
                res = op.connections().get(node).run(["sh", "-c", _FORGET], timeout=120)
            except TransportError as exc:
                problems.append(Problem(message=m("{node}: could not remove {path}: {why}", node=node, path=ENGINE_ROOT,
                                                  why=exc.message),
                                        hint=m("{hint}; then run onsite {verb} again", hint=exc.hint, verb=op.verb),
                                        node=node, code="forget"))
                continue
            if not res.ok:
                problems.append(Problem(message=m("{node}: could not remove {path}: {why}", node=node, path=ENGINE_ROOT,
                                                  why=res.stderr.strip()[-300:]),
                                        hint=m("see what holds it on the node, then run onsite {verb} again", verb=op.verb),
                                        node=node, code="forget"))
        if problems:
            raise ProblemError(problems)
        op.notice(m("removed {path} and relay keys from {nodes}", path=ENGINE_ROOT,
                    nodes=", ".join(uninstalled_nodes(op))), self.name)

    def dry_run(self, op: Day2Operation) -> None:  # type: ignore[override]
        op.notice(m("would remove {folder} and relay keys from {nodes}", folder=ENGINE_ROOT, nodes=", ".join(uninstalled_nodes(op))),
                  self.name)


def kept(op: Day2Operation) -> list[str]:
    """What --keep-data keeps, as the leftover check names it."""
    if not op.day2.keep_data:
        return []
    return [*op.profile.data_paths, *(f"user {u}" for u in op.profile.data_users)]


class Leftovers(Phase):
    """Preflight's leftover, port and VIP checks on the uninstalled nodes."""

    name, title = "leftovers", m("Check that nothing is left")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        nodes = uninstalled_nodes(op)
        checks = set(LEFTOVER_CHECKS)
        if op.day2.target:
            checks.discard("vips")  # the other nodes hold the VIPs by design
        report = preflight_mod.run(op.plan, op.profile, op.connections(), listener=op.listener, nodes=nodes,
                                   checks=checks, stop=op.stopping, keep=kept(op))
        op.leftovers = report  # type: ignore[attr-defined]
        if op.journal_dir is not None:
            journal_mod.write_json_atomic(op.journal_dir / "leftovers.json",
                                          [dataclasses.asdict(r) for r in report.results])
        left = [r for r in report.results if r.status != "ok"]
        if left:
            raise ProblemError([Problem(
                message=m("{node}: {check}: {detail}", node=r.node, check=r.check, detail=r.detail),
                hint=m("the bundle's uninstall steps did not remove it: remove it by hand (or fix the step), "
                       "then run onsite {verb} again to check", verb=op.verb), node=r.node, code=f"leftover-{r.check}")
                for r in left])
        if op.day2.keep_data:
            op.notice(m("nothing left on {nodes} (data kept)", nodes=", ".join(nodes)), self.name)
        else:
            op.notice(m("nothing left on {nodes}", nodes=", ".join(nodes)), self.name)

    def dry_run(self, op: Day2Operation) -> None:  # type: ignore[override]
        op.notice(m("would check {nodes} for leftovers, ports and VIPs", nodes=", ".join(uninstalled_nodes(op))), self.name)


class ArchiveInstallJournal(Phase):
    name, title = "archive", m("Archive the install's journal")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        site = op.site_journal_dir
        if site is None or not Journal.exists(site):
            return  # never installed from here: nothing to archive (this uninstall's journal stays in place)
        target = op.day2.target
        if target:
            installed = Journal.load(site)
            for key in list(installed.data["steps"]):
                if key.split("/", 1)[0] == target:
                    installed.update(key, status=PENDING, message=f"uninstalled from {target} by onsite {op.verb}",
                                     data_removed=not op.day2.keep_data)
            # Without its data the node cannot rejoin as it was (etcd forgot the member): node replace
            # adds it back through the survivors. With --keep-data, resuming the install restarts it.
            op.notice(m("{node}'s install steps are pending in {journal}: onsite install --resume puts it back",
                        node=target, journal=str(site)) if op.day2.keep_data else
                      m("{node}'s install steps are pending in {journal}: onsite node replace FILE {node} puts it back",
                        node=target, journal=str(site)), self.name)
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        installed = Journal.load(site)
        installed.data["uninstalled"] = stamp  # nothing of it is on the nodes now (engine.change.renamed_site)
        installed.save()
        archived = site.with_name(f"{site.name}-uninstalled-{stamp}")
        site.rename(archived)
        if op.journal_dir is not None:
            op.journal_dir = archived / op.journal_dir.relative_to(site)
        op.notice(m("the install's journal is archived as {journal}: the next onsite install starts afresh",
                    journal=str(archived)), self.name)

    def dry_run(self, op: Day2Operation) -> None:  # type: ignore[override]
        op.notice(m("would archive the install's journal") if not op.day2.target else
                  m("would mark {node}'s install steps pending", node=op.day2.target), self.name)


def uninstall_lifecycle() -> Lifecycle:
    life = day2_lifecycle(reachable=True, verify=False, extra=[Forget(), Leftovers(), ArchiveInstallJournal()])
    life.phases = [ResolveUninstall() if isinstance(p, ResolveOperation) else p for p in life.phases]
    return life


__all__ = ["OPERATION", "uninstall_lifecycle", "uninstalled_nodes", "Forget", "Leftovers", "ArchiveInstallJournal"]
