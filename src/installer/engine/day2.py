"""Day-2 operations: what the implementer does on a later visit, as
lifecycles of the same phases as the install (site lock, node locks,
journal, resume, events, front ends).

The engine knows no component: a bundle declares each operation's steps
under `operations: {NAME: [...]}` in its bundle.yaml (the step format of
installer.engine.steps, with `nodes:` and `leader:`). The engine resolves
them for the plan, asks for a confirmation, runs them with the install's
runner and verifies the site afterwards.

  lock -> validate -> bundles -> operation -> preflight (reachability)
       -> confirm -> lock nodes -> journal -> deliver -> steps -> verify -> unlock

A step may serve only some values of the operation's WHAT (`what:
[postgres, "vip:*"]`, shell patterns): the others' steps are left out, and
a WHAT no step serves is refused naming what the bundles offer.

An operation's parameters reach its scripts in the env file (never secrets):
  ONSITE_OP            the operation's name (uninstall, switchover, ...)
  ONSITE_OP_NODE       the node it is about (uninstall --only, node replace)
  ONSITE_OP_TO         the node to move to (switchover --to), or empty
  ONSITE_OP_WHAT       what it moves (switchover postgres|redis|vip:NAME)
  ONSITE_OP_KEEP_DATA  true or false (uninstall --keep-data)

Journals: each operation has its own, beside the install's, in
  <site journal>/operations/<operation>[-<what>][-<node>]/
An unfinished one is continued with --resume (or started afresh with
--restart, the old one kept with a time stamp); a finished one is kept
with its time stamp when the operation runs again. The site lock is the
install's: no install and no other operation runs on the site meanwhile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from ..model.i18n import m
from ..model.problems import Problem, ProblemError, show
from .install import (
    Deliver,
    InstallOperation,
    InstallOptions,
    LockNodes,
    LockSite,
    Preflight,
    ResolveBundles,
    RunSteps,
    Unlock,
    Validate,
    Verify,
)
from .journal import DONE, FAILED, PENDING, RUNNING, UNKNOWN, Journal, site_slug
from .lifecycle import EXIT_INVALID, Interrupted, Lifecycle, Phase
from .steps import instances, load_steps, offered, serves


@dataclasses.dataclass
class Day2Options(InstallOptions):
    target: str | None = None  # ONSITE_OP_NODE
    to: str | None = None  # ONSITE_OP_TO
    what: str | None = None  # ONSITE_OP_WHAT
    keep_data: bool = False  # ONSITE_OP_KEEP_DATA
    needs_install: bool = True  # refuse unless the site's install finished, for this plan


class Day2Operation(InstallOperation):
    """One day-2 operation on one site. `confirm(summary_lines)` returns
    whether to go on (None: go on; the CLI asks unless --yes)."""

    def __init__(self, operation: str, *args, options: Day2Options | None = None,
                 confirm: Callable[[list[str]], bool] | None = None, verb: str | None = None, **kw) -> None:
        super().__init__(*args, options=options or Day2Options(), **kw)
        self.operation = operation
        self.verb = verb or operation
        self.confirm = confirm
        self.site_journal_dir = self.journal_dir
        if self.journal_dir is not None:
            self.journal_dir = self.journal_dir / "operations" / self.op_id
        self.installed: Journal | None = None

    @property
    def day2(self) -> Day2Options:
        return self.options  # type: ignore[return-value]

    @property
    def op_id(self) -> str:
        o = self.day2
        parts = [self.operation, o.what or "", o.target or ""]
        return site_slug("-".join(p for p in parts if p))

    @property
    def lock_path(self) -> Path | None:
        d = self.site_journal_dir
        return d.with_name(d.name + ".lock") if d else None

    def extra_env(self) -> dict[str, str]:
        o = self.day2
        return {"ONSITE_OP": self.operation, "ONSITE_OP_NODE": o.target or "", "ONSITE_OP_TO": o.to or "",
                "ONSITE_OP_WHAT": o.what or "", "ONSITE_OP_KEEP_DATA": "true" if o.keep_data else "false"}

    def installed_components(self) -> set[str]:
        """What the site's install put there (for verify), not what the
        operation's own steps touch."""
        steps = load_steps(self.bundles, set(self.profile.roles)) if self.bundles else []
        return {c for s in steps for c in (s.component, *s.provides) if c}

    def summary(self) -> list[str]:
        """What will run, in order: one line per (node, step)."""
        out = [m("{operation} on {site_name}: {runs} step runs", operation=self.operation, site_name=self.plan.site_name, runs=len(self.instances))]
        out += [f"  {i.node:<10} {i.step.id:<28} {i.step.title}" for i in self.instances]
        return out


class ValidateDay2(Validate):
    """The plan is valid, the nodes named exist, the site was installed with
    this plan (where the operation needs it), and the operation's own
    journal is continued or started as asked."""

    @staticmethod
    def _journal_rules(op: Day2Operation) -> None:  # type: ignore[override]
        o = op.day2
        names = [n.name for n in op.plan.nodes]
        for flag, value in (("NODE", o.target), ("--to", o.to)):
            if value is not None and value not in names:
                raise ProblemError(Problem(message=m("{flag} {node}: no such node in the plan", flag=flag, node=show(value)),
                                           hint=m("nodes: {names}", names=', '.join(names)), code="usage"), exit_code=EXIT_INVALID)
        site = op.site_journal_dir
        op.installed = Journal.load(site) if site is not None and Journal.exists(site) else None
        if o.needs_install:
            if op.installed is None or not op.installed.complete:
                raise ProblemError(Problem(
                    message=m("{site_name} has no finished install on record ({site})", site_name=op.plan.site_name, site=site) if site
                    else m("{site_name} has no finished install on record", site_name=op.plan.site_name),
                    hint=m("{operation} works on an installed site: finish the install first (onsite install FILE), and run this from the folder of the answer file it was installed with", operation=op.operation),
                    code="not-installed"), exit_code=EXIT_INVALID)
            if op.installed.data.get("plan_hash") != op.plan.fingerprint():
                from .journal import plan_changes

                changes = plan_changes(op.installed.data.get("plan"), op.plan.to_data())
                raise ProblemError(Problem(
                    message=m("the answer file differs from the plan the site was installed with: {changes}",
                              changes=", ".join(changes[:8]) + (" ..." if len(changes) > 8 else "")),
                    hint=m("apply the change first (onsite install FILE shows and applies it), or put the file back"),
                    code="plan-changed"), exit_code=EXIT_INVALID)
        op.existing = Journal.load(op.journal_dir) if op.journal_dir and Journal.exists(op.journal_dir) else None
        op.mode = "fresh"
        if op.existing is None:
            return
        if op.existing.complete or op.options.restart:
            return  # kept with a time stamp when the journal opens
        if not op.options.resume:
            c = op.existing.counts()
            raise ProblemError(Problem(
                message=m("an earlier {operation} stopped before the end ({done} done, {failed} failed, {unknown} unknown, {pending} pending; {journal_dir})", operation=op.operation, done=c.get(DONE, 0), failed=c.get(FAILED, 0), unknown=c.get(UNKNOWN, 0), pending=c.get(PENDING, 0) + c.get(RUNNING, 0), journal_dir=op.journal_dir),
                hint=m("continue it with onsite {verb} --resume, or start it again with --restart", verb=op.verb),
                code="journal-incomplete"), exit_code=EXIT_INVALID)
        if op.existing.data.get("plan_hash") != op.plan.fingerprint():
            raise ProblemError(Problem(
                message=m("the plan changed since this {operation} began ({journal_dir})", operation=op.operation, journal_dir=op.journal_dir),
                hint=m("put the answer file back as it was to continue, or start again with --restart"),
                code="plan-changed"), exit_code=EXIT_INVALID)
        began = op.existing.data.get("parameters")
        now = {k: v for k, v in op.extra_env().items() if v}
        if began is not None and began != now:  # (a journal of an older onsite has none to compare)
            # Resuming `uninstall --keep-data` without it would purge the data the first run set aside.
            raise ProblemError(Problem(
                message=m("this {operation} began with other options: {began}; now: {now} ({journal_dir})", operation=op.operation,
                          began=_options(began), now=_options(now), journal_dir=op.journal_dir),
                hint=m("resume it with the options it began with, or start again with --restart"),
                code="options-changed"), exit_code=EXIT_INVALID)
        op.mode = "resume"


def _options(parameters: dict[str, str]) -> str:
    """ONSITE_OP_KEEP_DATA=true -> keep data=true (the operation's own name is left out)."""
    return ", ".join(f"{k.removeprefix('ONSITE_OP_').lower().replace('_', ' ')}={v}"
                     for k, v in sorted(parameters.items()) if k != "ONSITE_OP") or "-"


class ResolveOperation(Phase):
    name, title = "operation", m("Find the operation's steps")

    def run(self, op: Day2Operation) -> None:
        steps = load_steps(op.bundles, set(op.profile.roles), operation=op.operation)
        if not steps:
            found = ", ".join(b.id for b in op.bundles) or m("none")
            raise ProblemError(Problem(
                message=m("no bundle declares how to {operation} (bundles found: {found})", operation=op.operation, found=found),
                hint=m("use the bundles the site was installed with (their bundle.yaml lists `operations: {{{operation}: [...]}}`), next to the answer file or named with --bundle", operation=op.operation),
                code="operation-missing"), exit_code=EXIT_INVALID)
        what = op.day2.what
        choices = offered(steps)
        if choices and (what is None or not any(serves(s, what) for s in steps if s.what)):
            listed = ", ".join(choices)
            raise ProblemError(Problem(
                message=(m("{operation} needs to know what: the bundles offer {offered}", operation=op.operation,
                           offered=listed) if what is None else
                         m("{operation} {what}: no bundle declares it (the bundles offer {offered})",
                           operation=op.operation, what=show(what), offered=listed)),
                hint=m("name one of them: onsite {verb} FILE WHAT (a * in a pattern stands for a name of the plan)",
                       verb=op.verb),
                code="usage"), exit_code=EXIT_INVALID)
        steps = [s for s in steps if serves(s, what)]
        op.steps = steps
        insts = instances(op.plan, steps, op.day2.target)
        if op.options.only:
            insts = [i for i in insts if i.node in op.options.only]
        op.instances = insts

    def dry_run(self, op: Day2Operation) -> None:
        self.run(op)
        for line in op.summary():
            op.notice(line, self.name)


class Reachable(Preflight):
    """Reachability, host keys, root or sudo and disk on the nodes it
    touches (the site runs: ports and VIPs are taken by design)."""

    def skip(self, op: Day2Operation) -> str | None:  # type: ignore[override]
        return super().skip(op)

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        mode, op.mode = op.mode, "resume"
        only = op.options.only
        op.options.only = sorted({i.node for i in op.instances}) or only
        try:
            super().run(op)
        finally:
            op.mode, op.options.only = mode, only


class Confirm(Phase):
    name, title = "confirm", m("Confirm")

    def skip(self, op: Day2Operation) -> str | None:  # type: ignore[override]
        return None if op.confirm is not None else m("confirmed beforehand")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        if not op.confirm(op.summary()):
            raise Interrupted(m("{operation} not confirmed: nothing was changed", operation=op.operation), m("run onsite {verb} again to do it", verb=op.verb))


class OpenOpJournal(Phase):
    name, title = "journal", m("Open the operation's journal")

    def run(self, op: Day2Operation) -> None:  # type: ignore[override]
        existing = op.existing
        if existing is not None and (existing.complete or op.options.restart):
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            op.journal_dir.rename(op.journal_dir.with_name(f"{op.journal_dir.name}-{stamp}"))
            existing = None
        keys = [i.key for i in op.instances]
        if existing is None:
            op.journal_dir.parent.mkdir(parents=True, exist_ok=True)
            op.journal = Journal.create(op.journal_dir, op.plan, {b.name: b.version for b in op.bundles}, keys)
            op.journal.data["operation"] = op.operation
            op.journal.data["parameters"] = {k: v for k, v in op.extra_env().items() if v}
            op.journal.save()
        else:
            existing.mark_running_unknown()
            existing.ensure_steps(keys)
            op.journal = existing
        op.notice(m("journal: {journal_dir}", journal_dir=op.journal_dir), self.name)

    def dry_run(self, op: Day2Operation) -> None:  # type: ignore[override]
        op.notice(m("would {what} the journal {journal_dir}", what=m("continue") if op.mode == 'resume' else m("create"), journal_dir=op.journal_dir), self.name)


class RunOperation(RunSteps):
    name, title = "steps", m("Run the operation's steps")


class VerifyAfter(Verify):
    def skip(self, op: Day2Operation) -> str | None:  # type: ignore[override]
        return "--no-verify" if not op.options.verify else None


def day2_lifecycle(*, reachable: bool = True, verify: bool = True, extra: list[Phase] | None = None) -> Lifecycle:
    """The lifecycle of a day-2 operation. `extra` phases run after the
    steps (before verify): an operation's own proof, e.g. no leftovers."""
    phases: list[Phase] = [LockSite(), ValidateDay2(), ResolveBundles(strict=False), ResolveOperation()]
    if reachable:
        phases.append(Reachable())
    phases += [Confirm(), LockNodes(), OpenOpJournal(), Deliver(), RunOperation(), *(extra or [])]
    if verify:
        phases.append(VerifyAfter())
    phases.append(Unlock())
    return Lifecycle(phases)


__all__ = ["Day2Operation", "Day2Options", "day2_lifecycle", "ValidateDay2", "ResolveOperation", "OpenOpJournal"]
