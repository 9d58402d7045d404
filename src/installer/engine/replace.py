"""Replacing a node: a day-2 operation whose node was reinstalled or swapped
(empty disk, new host key) and is installed again, into the running site.

The bundle declares how, under `operations: {replace: [...]}`: steps that
work through a survivor (`nodes: one-other`: check quorum and good data,
remove the dead member, add it back as a new one), steps on the new node
(`nodes: target`) and steps after its install (a reset sweep). The engine
names no component; it only adds the install's own steps for that node:

- the install's steps run again on the node (it is empty now), in the
  install's order, each with its check first (a step already in place is
  skipped, as on a resume);
- the operation's steps that depend, directly or not, on an install step
  run after those; every other operation step runs before the node's
  install (checks and member removal through the survivors);
- the site's install journal then reflects the replaced node: its entries
  are marked done by this operation (`replaced_by`, the time), the
  install's plan is the current one (the node's new host key pinned), and
  the operation's own journal keeps the logs of the steps that ran.

Validation: the answer file may differ from the plan the site was
installed with in one field only, the node's `ssh.host_key` (the new key,
pinned after the deployer confirmed it); anything else is a plan change,
refused as for every day-2 operation.
"""

from __future__ import annotations

import copy
import dataclasses

from ..model.i18n import m
from ..model.problems import Problem, ProblemError
from .day2 import Day2Operation, ResolveOperation, ValidateDay2, day2_lifecycle
from .journal import DONE, Journal, now
from .lifecycle import EXIT_INVALID, Lifecycle, Phase
from .steps import Step, instances, load_steps, topological

OPERATION = "replace"


def plan_as_installed(op: Day2Operation):
    """The plan with the node's host key as the install recorded it."""
    target = op.day2.target
    plan = copy.deepcopy(op.plan)
    installed = op.installed.data.get("plan") or {} if op.installed else {}
    for raw in installed.get("nodes", []) if isinstance(installed, dict) else []:
        if isinstance(raw, dict) and raw.get("name") == target:
            ssh = raw.get("ssh") or {}
            plan.node(target).ssh.host_key = ssh.get("host_key") if isinstance(ssh, dict) else None
    return plan


class ValidateReplace(ValidateDay2):
    """As every day-2 operation, but the node's pinned host key may have
    changed since the install (the deployer confirmed the new one)."""

    @staticmethod
    def _journal_rules(op: Day2Operation) -> None:  # type: ignore[override]
        o = op.day2
        if o.target is None:
            raise ProblemError(Problem(message=m("node replace needs the node's name"),
                                       hint=m("onsite node replace FILE NODE"), code="usage"), exit_code=EXIT_INVALID)
        need, o.needs_install = o.needs_install, False
        try:
            ValidateDay2._journal_rules(op)  # the node exists; the operation's own journal
        finally:
            o.needs_install = need
        site = op.site_journal_dir
        op.installed = Journal.load(site) if site is not None and Journal.exists(site) else None
        if op.installed is None or not _finished_but_for(op.installed, o.target):
            raise ProblemError(Problem(
                message=m("{site} has no finished install on record ({journal})", site=op.plan.site_name,
                          journal=str(site)),
                hint=m("node replace puts a node back into an installed site: finish the install first "
                       "(onsite install FILE), and run this from the folder of the answer file it was installed with"),
                code="not-installed"), exit_code=EXIT_INVALID)
        if op.installed.data.get("plan_hash") not in (op.plan.fingerprint(), plan_as_installed(op).fingerprint()):
            from .journal import plan_changes

            changes = plan_changes(op.installed.data.get("plan"), op.plan.to_data())
            raise ProblemError(Problem(
                message=m("the answer file differs from the plan the site was installed with, beyond the node's "
                          "host key: {changes}", changes=", ".join(changes[:8]) + (" ..." if len(changes) > 8 else "")),
                hint=m("put the file back as it was installed (only the replaced node's ssh.host_key may change); "
                       "apply other changes afterwards with onsite install FILE"),
                code="plan-changed"), exit_code=EXIT_INVALID)


def merge_with_install(install: list[Step], operation: list[Step]) -> list[Step]:
    """One graph: the operation's steps that need none of the install's
    first, then the install's steps (on the operation's node only), then
    the operation's steps that depend on install steps."""
    install_ids = {s.id for s in install}
    clash = sorted(install_ids & {s.id for s in operation})
    if clash:
        raise ProblemError(Problem(
            message=m("operation {operation}: step id(s) {ids} are install step ids too", operation=OPERATION,
                      ids=", ".join(clash)),
            hint=m("give the operation's steps ids of their own in bundle.yaml"), code="step"))
    by_id = {s.id: s for s in operation}
    after: dict[str, bool] = {}

    def is_after(s: Step) -> bool:
        if s.id not in after:
            after[s.id] = False  # no cycles (load_steps checked)
            after[s.id] = any(d in install_ids or (d in by_id and is_after(by_id[d])) for d in s.depends_on)
        return after[s.id]

    before = [s for s in operation if not is_after(s)]
    later = [s for s in operation if is_after(s)]
    first = tuple(s.id for s in before)
    node_steps = [dataclasses.replace(s, nodes="target", depends_on=tuple(dict.fromkeys(s.depends_on + first)))
                  for s in install]
    return topological(before + node_steps + later)


def _finished_but_for(installed: Journal, target: str) -> bool:
    """The install finished, and every step is done except perhaps the
    target's: `uninstall --only NODE` leaves the node's steps pending, and
    node replace is what puts such a node back."""
    if installed.complete:
        return True
    return bool(installed.data.get("finished")) and all(
        r.get("status") == DONE for k, r in installed.data["steps"].items() if k.split("/", 1)[0] != target)


class ResolveReplace(ResolveOperation):
    """The operation's steps and the install's steps for the node, in one graph."""

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        roles = set(op.profile.roles)
        install = load_steps(op.bundles, roles)
        ops = load_steps(op.bundles, roles, operation=OPERATION, also_known={s.id for s in install})
        if not ops:
            super().run(op)  # names the missing operation
            return
        op.steps = merge_with_install(install, ops)
        op.instances = instances(op.plan, op.steps, op.day2.target)
        op.missing_payloads = _missing(op)


def _missing(op: Day2Operation) -> list[Problem]:
    from .steps import missing_payloads

    return missing_payloads(op.bundles, op.instances)


class RecordReplaced(Phase):
    """The site's install journal reflects the replaced node."""

    name, title = "record", m("Record the replaced node in the install's journal")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        site = op.installed
        if site is None:
            return
        target = op.day2.target
        stamp = now()
        for key, rec in site.data["steps"].items():
            if key.startswith(f"{target}/"):
                rec.update(status=DONE, finished=stamp, replaced_by=op.op_id)
                rec.pop("data_removed", None)
        site.data["plan"] = op.plan.to_data()
        site.data["plan_hash"] = op.plan.fingerprint()
        site.data.setdefault("replaced", []).append({"node": target, "time": stamp, "operation": op.op_id,
                                                      "host_key": op.plan.node(target).ssh.host_key})
        site.save()
        op.notice(m("install journal: {node}'s steps re-run by {operation} ({journal})", node=target,
                    operation=op.op_id, journal=str(site.folder)), self.name)

    def dry_run(self, op: Day2Operation) -> None:  # type: ignore[override]
        op.notice(m("would mark the node's install steps as re-run in the install's journal"), self.name)


def replace_lifecycle(*, verify: bool = True) -> Lifecycle:
    """day2_lifecycle with the replace phases: the host-key tolerant
    validation, the merged steps, the install journal's record."""
    lc = day2_lifecycle(verify=verify, extra=[RecordReplaced()])
    swap = {"validate": ValidateReplace(), "operation": ResolveReplace()}
    lc.phases = [swap.get(p.name, p) if type(p) in (ValidateDay2, ResolveOperation) else p for p in lc.phases]
    return lc


__all__ = ["OPERATION", "merge_with_install", "replace_lifecycle", "plan_as_installed"]
