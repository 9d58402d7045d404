"""The install lifecycle and its phases, and the smaller lifecycles that
share them (preflight alone, verify alone). The CLI and the wizard build an
InstallOperation, pick a lifecycle and render its events; neither has install
logic of its own.

  install:   lock -> validate -> bundles -> preflight -> lock nodes -> journal
             -> deliver -> steps -> verify -> unlock
  preflight: validate -> bundles (payloads as blockers) -> preflight -> disconnect
  verify:    validate -> bundles (which components are installed) -> verify -> disconnect

Decisions:
- Preflight runs before the journal is written: a blocker leaves nothing
  behind, so once its cause is fixed a plain `onsite install` starts afresh.
- On a site with a journal (a resumed install, or a rerun of a complete one)
  the nodes already run parts of the system: their ports are taken and the
  VIPs held by design. Preflight then checks what still makes sense there
  (RESUME_CHECKS: reachability and host keys, root or sudo, disk and disk use).
- Every component the plan installs must be served by a bundle's step (or a
  step's `provides`) or be marked `external: true`; otherwise the install is
  refused (exit 2) naming each missing component and where bundles were
  looked for. No bundles at all is the same refusal, never "0 steps ran".
- Journal rules: none -> fresh; complete, same plan -> every step re-checked;
  complete, another plan -> a changed plan (installer.engine.change): shown,
  applied after a confirmation, rolling; a change that cannot be applied in
  place is refused naming what to do instead; incomplete -> refused unless
  --resume (continue; a change continues rolling) or --restart (the old
  journal is kept as <site>-<time>/); incomplete and written for another
  plan -> refused, naming what changed. Checked in `validate`, before
  anything connects.

  install (a changed plan): lock -> validate -> bundles -> change (shown,
             confirmed) -> preflight -> lock nodes -> journal (the old plan's
             kept) -> deliver -> steps (one node at a time) -> verify -> unlock
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, ProblemError, Problems, show
from ..model.profile import Profile
from ..model.secrets import resolve_all
from ..remote.connections import Connections
from . import bundle as bundle_mod
from . import journal as journal_mod
from . import preflight as preflight_mod
from .events import Listener, ignore
from .journal import DONE, FAILED, PENDING, RUNNING, UNKNOWN, Journal
from .lifecycle import EXIT_INVALID, Interrupted, Lifecycle, Operation, Phase
from .lock import Holder, NodeLocks, SiteLock
from .runner import Runner, RunOutcome
from .steps import Instance, Step, instances, load_steps, missing_payloads

RESUME_CHECKS = frozenset({"ssh", "root", "disk", "disk-used"})


def _usage(message: str, hint: str = "", code: str = "usage") -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, code=code), exit_code=EXIT_INVALID)


@dataclasses.dataclass
class InstallOptions:
    only: Sequence[str] | None = None
    from_step: str | None = None
    resume: bool = False
    restart: bool = False
    parallel: int = 4
    skip_preflight: bool = False
    transfer: str = "auto"  # auto | relay | direct (see installer.engine.relay.choose)
    verify: bool = True
    break_lock: bool = False


class InstallOperation(Operation):
    """One plan on one site, and what the phases learn about it."""

    def __init__(self, plan: Plan | None, profile: Profile | None, *, answer_file: Path | None,
                 problems: Problems | None = None, bundle_paths: Sequence[Path] | None = None,
                 pubkey: Path | None = None, journal_dir: Path | None = None,
                 options: InstallOptions | None = None, connect: Callable | None = None,
                 prompt: Callable[[str], str] | None = None, known_hosts: str | None = None,
                 command: str = "onsite install", listener: Listener = ignore) -> None:
        super().__init__(listener)
        self.plan = plan
        self.profile = profile
        self.answer_file = Path(answer_file) if answer_file else None
        self.problems = problems or Problems([])
        self.bundle_paths = list(bundle_paths) if bundle_paths else None
        self.pubkey = pubkey
        self.options = options or InstallOptions()
        self.connect, self.prompt, self.known_hosts = connect, prompt, known_hosts
        self.command = command
        self.verb = "install"  # as the hints name it: onsite VERB ... --resume
        self.journal_dir = Path(journal_dir) if journal_dir else (
            journal_mod.default_dir(self.answer_file, plan) if plan is not None and self.answer_file else None)
        # found by the phases
        self.bundles: list[bundle_mod.Bundle] = []
        self.steps: list[Step] = []
        self.instances: list[Instance] = []
        self.missing_payloads: list[Problem] = []
        self.assume_done: list[str] = []
        self.existing: Journal | None = None
        self.mode = "fresh"  # fresh | resume | rerun
        self.conns: Connections | None = None
        self.site_lock: SiteLock | None = None
        self.node_locks: NodeLocks | None = None
        self.holder: Holder | None = None
        self.preflight: preflight_mod.PreflightReport | None = None
        self.journal: Journal | None = None
        self.transfer_note = ""
        self.relay_notes: list[str] = []
        self.push_report = None
        self.runner: Runner | None = None
        self.run_outcome: RunOutcome | None = None
        self.verify_report = None
        self._secrets: dict[str, str] | None = None
        # a changed plan (installer.engine.change): what changes, and how it is confirmed
        self.change = None
        self.confirm: Callable[[list[str]], bool] | None = None  # None: go on (--yes, or no change)
        self.confirm_refused = False  # no terminal to ask on and no --yes: a change is refused

    @property
    def nodes(self) -> list[str]:
        only = self.options.only
        return [n.name for n in self.plan.nodes if not only or n.name in only] if self.plan else []

    @property
    def lock_path(self) -> Path | None:
        return self.journal_dir.with_name(self.journal_dir.name + ".lock") if self.journal_dir else None

    def connections(self) -> Connections:
        if self.conns is None:
            if self.connect is None:
                raise ProblemError(Problem(message=m("no way to reach the nodes was given"), code="internal"))
            self.conns = Connections(self.plan, self.connect, prompt=self.prompt, known_hosts=self.known_hosts)
        return self.conns

    def secrets(self) -> dict[str, str]:
        if self._secrets is None:
            self._secrets = resolve_all(self.plan, self.profile, self.prompt)
        return self._secrets

    def extra_env(self) -> dict[str, str]:
        """Variables beyond the plan's for the steps' env file (a day-2
        operation's parameters); never secrets."""
        return {}

    def installed_components(self) -> set[str]:
        return {c for s in self.steps for c in (s.component, *s.provides) if c}

    def dry_run_table(self) -> list[tuple[str, str, str, str]]:
        """(node, step, what would happen, title) in order; connects to nothing."""
        out = []
        for i in self.instances:
            rec = self.existing.status(i.key) if self.existing else PENDING
            how = "skip (--from)" if i.key in self.assume_done else (
                "re-check" if rec == DONE and i.step.check else ("done" if rec == DONE else "run"))
            out.append((i.node, i.step.id, how, i.step.title))
        return out


# -- phases ---------------------------------------------------------------------------
class LockSite(Phase):
    name, title = "lock", m("Lock the site")

    def run(self, op: InstallOperation) -> None:
        op.holder = Holder.me(op.command, op.plan.site_name if op.plan else "")
        if op.lock_path is None:
            return
        op.site_lock = SiteLock(op.lock_path, op.holder)
        stale = op.site_lock.acquire(break_lock=op.options.break_lock)
        if stale is not None:
            op.notice(m("broke the stale lock of {holder}", holder=stale.describe()), self.name)

    def dry_run(self, op: InstallOperation) -> None:
        other = SiteLock.read(op.lock_path) if op.lock_path else None
        op.notice(m("would lock {path} (now named by {holder})", path=op.lock_path, holder=other.describe()) if other
                  else m("would lock {path}", path=op.lock_path), self.name)


class Validate(Phase):
    name, title = "validate", m("Validate the plan")

    def run(self, op: InstallOperation) -> None:
        if op.plan is None or op.profile is None or not op.problems.ok:
            errors = [p for p in op.problems.sorted() if p.is_error] or [
                Problem(message=m("the plan is not valid"), hint=m("run onsite validate FILE"), code="invalid")]
            raise ProblemError(errors, exit_code=EXIT_INVALID)
        names = [n.name for n in op.plan.nodes]
        unknown = [n for n in (op.options.only or []) if n not in names]
        if unknown:
            raise _usage(m("--only {node}: no such node in the plan", node=show(unknown[0])), m("nodes: {names}", names=', '.join(names)))
        if op.journal_dir is not None and Journal.exists(op.journal_dir):
            op.existing = Journal.load(op.journal_dir)
        self._journal_rules(op)

    def dry_run(self, op: InstallOperation) -> None:
        self.run(op)

    @staticmethod
    def _journal_rules(op: InstallOperation) -> None:
        existing = op.existing
        op.mode = "fresh"
        if existing is None and not op.options.restart:
            from .change import renamed_site

            renamed = renamed_site(op.journal_dir, op.plan)
            if renamed is not None:
                raise ProblemError(renamed, exit_code=EXIT_INVALID)
        if existing is None or op.options.restart:
            return
        if existing.data.get("plan_hash") != op.plan.fingerprint() and existing.complete and not op.options.resume:
            from .change import plan_change

            change = plan_change(existing.data.get("plan") or {}, op.plan, op.profile)
            if not change.ok:
                raise ProblemError(change.refused, exit_code=EXIT_INVALID)
            op.change, op.mode = change, "change"
            return
        if existing.data.get("plan_hash") != op.plan.fingerprint():
            changes = journal_mod.plan_changes(existing.data.get("plan"), op.plan.to_data())
            raise ProblemError(Problem(
                message=m("the plan changed since this install began ({journal_dir}): {changes}", journal_dir=op.journal_dir,
                          changes=", ".join(changes[:8]) + (" ..." if len(changes) > 8 else "")),
                hint=m("put the answer file back as it was to continue, or start again with --restart"), code="plan-changed"),
                exit_code=EXIT_INVALID)
        gone = sorted({k.split("/", 1)[0] for k, r in existing.data["steps"].items()
                       if r.get("data_removed") and r.get("status") != DONE})
        if gone:  # uninstall --only without --keep-data: the cluster removed the node's members
            raise ProblemError(Problem(
                message=m("{node} was uninstalled without its data (onsite uninstall --only): resuming the install "
                          "would start it as a new member of clusters that removed it", node=gone[0]),
                hint=m("put it back with onsite node replace FILE {node}", node=gone[0]), code="node-uninstalled"),
                exit_code=EXIT_INVALID)
        if not existing.complete and not op.options.resume:
            c = existing.counts()
            raise ProblemError(Problem(
                message=m("an earlier install of {site_name} stopped before the end ({done} done, {failed} failed, {unknown} unknown, {pending} pending)", site_name=op.plan.site_name, done=c.get(DONE, 0), failed=c.get(FAILED, 0), unknown=c.get(UNKNOWN, 0), pending=c.get(PENDING, 0) + c.get(RUNNING, 0)),
                hint=m("continue it with --resume, or start again with --restart"), code="journal-incomplete"),
                exit_code=EXIT_INVALID)
        op.mode = "resume" if not existing.complete else "rerun"


class ResolveBundles(Phase):
    """strict: what an install needs (exit 2 on a missing component or
    payload); otherwise missing payloads are kept for preflight to show."""

    name, title = "bundles", m("Find the bundles")

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict

    def run(self, op: InstallOperation) -> None:
        op.bundles = bundle_mod.find(op.bundle_paths, op.answer_file, op.pubkey)
        op.steps = load_steps(op.bundles, set(op.profile.roles))
        insts = instances(op.plan, op.steps)
        if op.options.only:
            insts = [i for i in insts if i.node in op.options.only]
        op.instances = insts
        if op.options.from_step:
            order = [s.id for s in op.steps]
            if op.options.from_step not in order:
                raise _usage(m("--from {step}: no such step", step=show(op.options.from_step)), m("steps: {order}", order=', '.join(order)))
            before = set(order[: order.index(op.options.from_step)])
            op.assume_done = [i.key for i in insts if i.step.id in before]
        op.missing_payloads = missing_payloads(op.bundles, insts)
        if op.bundles:
            op.notice(m("bundles: {ids}", ids=", ".join(b.id for b in op.bundles)), self.name)
        if not self.strict:
            return
        missing = self.missing_components(op)
        if missing:
            where = (", ".join(str(p) for p in op.bundle_paths) if op.bundle_paths else
                     f"{op.answer_file.resolve().parent / 'bundles'}/*" if op.answer_file else m("(no answer file)"))
            found = ", ".join(b.id for b in op.bundles) or m("none")
            raise ProblemError([Problem(
                message=m("no bundle installs {component}, which the plan puts on {nodes} (bundles looked for in {where}; found: {found})", component=c, nodes=', '.join(nodes), where=where, found=found),
                hint=m("copy the bundle that installs {component} next to the answer file (bundles/), name it with --bundle, or mark it `{component}: {{external: true}}` under components: if it is provided outside this install", component=c),
                path=("components", c), code="component-missing") for c, nodes in missing], exit_code=EXIT_INVALID)
        if op.missing_payloads:
            raise ProblemError(op.missing_payloads, exit_code=EXIT_INVALID)

    def dry_run(self, op: InstallOperation) -> None:
        self.run(op)

    @staticmethod
    def missing_components(op: InstallOperation) -> list[tuple[str, list[str]]]:
        served = op.installed_components()
        out = []
        for name, comp in op.profile.components.items():
            if op.plan.is_external(name) or name in served:
                continue
            nodes = [n.name for n in op.plan.nodes if set(n.roles) & set(comp.roles)
                     and (not op.options.only or n.name in op.options.only)]
            if nodes:
                out.append((name, nodes))
        return out


def continuing_change(op: InstallOperation) -> bool:
    """An unfinished change of plan, continued with --resume."""
    e = op.existing
    return op.change is None and e is not None and bool(e.data.get("change")) and not e.complete


class ApplyChange(Phase):
    """A changed plan: show it (fields, nodes, steps, order), have it
    confirmed, and make the run rolling (installer.engine.change)."""

    name, title = "change", m("Show the change of plan")

    def skip(self, op: InstallOperation) -> str | None:
        return None if op.change is not None or continuing_change(op) else m("the plan is the installed one")

    def run(self, op: InstallOperation, confirm: bool = True) -> None:
        from .change import plan_change, rolling

        op.instances = rolling(op.instances)
        if op.change is None:
            op.notice(m("continuing the change of plan the journal records: one node at a time"), self.name)
            return
        op.change = plan_change(op.existing.data.get("plan") or {}, op.plan, op.profile, op.bundles, op.steps)
        lines = op.change.lines()
        for line in lines:
            op.notice(line, self.name)
        if not confirm:
            return
        if op.change.access_only:
            op.notice(m("only how onsite reaches the nodes changed: recorded without asking"), self.name)
            return
        if op.confirm_refused:
            raise _usage(m("the answer file changes the installed site and there is no terminal to confirm it on"),
                         m("add --yes to apply it without asking (onsite plan FILE shows the change)"))
        if op.confirm is not None and not op.confirm(lines):
            raise Interrupted(m("the change was not confirmed: nothing was changed"),
                              m("run onsite install FILE again to apply it, or put the answer file back"))

    def dry_run(self, op: InstallOperation) -> None:
        self.run(op, confirm=False)


class Preflight(Phase):
    name, title = "preflight", m("Check the nodes (preflight)")

    def skip(self, op: InstallOperation) -> str | None:
        return "--skip-preflight" if op.options.skip_preflight else None

    def run(self, op: InstallOperation) -> None:
        checks = RESUME_CHECKS if op.mode != "fresh" else None
        if checks:
            op.notice(m("the site runs parts of the system already: checking reachability, host keys, root or sudo and disk only"), self.name)
        report = preflight_mod.run(op.plan, op.profile, op.connections(), listener=op.listener, nodes=op.options.only,
                                   missing_payloads=op.missing_payloads, checks=checks, stop=op.stopping)
        op.preflight = report
        if op.journal_dir is not None:
            op.journal_dir.mkdir(parents=True, exist_ok=True)
            journal_mod.write_json_atomic(op.journal_dir / "preflight.json",
                                          [dataclasses.asdict(r) for r in report.results])
        op.check_stop("the install")
        if not report.ok:
            raise ProblemError([Problem(message=m("{node}: {check}: {detail}", node=r.node, check=r.check, detail=r.detail), hint=r.hint, node=r.node,
                                        code=f"preflight-{r.check}") for r in report.blockers])

    def dry_run(self, op: InstallOperation) -> None:
        kind = m("reachability, host keys, root or sudo, disk") if op.mode != "fresh" else m("every check")
        op.notice(m("would check {nodes} nodes ({kind})", nodes=len(op.nodes), kind=kind), self.name)


class LockNodes(Phase):
    name, title = "lock-nodes", m("Lock the nodes")

    def run(self, op: InstallOperation) -> None:
        op.node_locks = NodeLocks(op.connections(), op.holder or Holder.me(op.command, op.plan.site_name), op.nodes)
        op.node_locks.acquire(break_lock=op.options.break_lock)
        if op.node_locks.broken:
            op.notice(m("broke stale node locks on {nodes}", nodes=', '.join(op.node_locks.broken)), self.name)

    def dry_run(self, op: InstallOperation) -> None:
        op.notice(m("would lock {nodes} nodes", nodes=len(op.nodes)), self.name)


class OpenJournal(Phase):
    name, title = "journal", m("Open the journal")

    def run(self, op: InstallOperation) -> None:
        existing = op.existing
        if existing is not None and op.options.restart:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            op.journal_dir.rename(op.journal_dir.with_name(f"{op.journal_dir.name}-{stamp}"))
            existing = None
        keys = [i.key for i in op.instances]
        if existing is None:
            op.journal = Journal.create(op.journal_dir, op.plan, {b.name: b.version for b in op.bundles}, keys)
        elif op.mode == "change":
            op.journal = self._record_change(op, existing, keys)
        else:
            existing.mark_running_unknown()
            existing.ensure_steps(keys)
            op.journal = existing
        op.notice(m("journal: {path}", path=op.journal_dir), self.name)

    @staticmethod
    def _record_change(op: InstallOperation, existing: Journal, keys: list[str]) -> Journal:
        """The old plan's journal is kept as journal-<time>.json; this one
        now describes the new plan: steps with a check start pending (each
        is re-checked), steps without one keep their record."""
        import shutil

        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = op.journal_dir / f"journal-{stamp}.json"
        shutil.copy2(existing.file, kept)
        data = existing.data
        checked = {i.key for i in op.instances if i.step.check}
        old_hash = data.get("plan_hash")
        data["history"] = [*data.get("history", []), {"plan_hash": old_hash, "journal": kept.name,
                                                      "kept": journal_mod.now()}]
        data["change"] = {"from_plan_hash": old_hash, "started": journal_mod.now(),
                          "fields": [f.to_json() for f in op.change.fields]}
        data.update(plan_hash=op.plan.fingerprint(), plan=op.plan.to_data(), finished=None,
                    bundles={b.name: b.version for b in op.bundles})
        data["steps"] = {k: ({"status": PENDING} if k in checked else r) for k, r in data["steps"].items() if k in keys}
        existing.ensure_steps(keys)  # saves
        op.notice(m("the installed plan's journal is kept as {kept}", kept=kept), "journal")
        op.mode = "resume"  # the runner re-checks done steps like a rerun
        return existing

    def dry_run(self, op: InstallOperation) -> None:
        if op.mode == "change":
            op.notice(m("would keep the installed plan's journal beside {journal} and record the new plan there", journal=op.journal_dir / 'journal.json'), self.name)
            return
        what = m("continue") if op.mode == "resume" else m("re-check") if op.mode == "rerun" else m("create")
        op.notice(m("would {what} the journal {journal_dir}", what=what, journal_dir=op.journal_dir), self.name)


class Deliver(Phase):
    name, title = "deliver", m("Send the bundles")

    def run(self, op: InstallOperation) -> None:
        import time

        from . import link, relay

        t0 = time.monotonic()
        done = relay.deliver(op.plan, op.profile, op.bundles, op.connections(), mode=op.options.transfer,
                             parallel=op.options.parallel, listener=op.listener, nodes=op.options.only, stop=op.stopping)
        if op.journal_dir is not None and done.report.ok and not op.stopping.is_set():
            # the delivered rate, for the next estimate (Review, onsite plan)
            link.record_link(op.journal_dir, done.report.sent_bytes, time.monotonic() - t0, len(done.report.results),
                             (done.why or "direct").split(":")[0])
        op.transfer_note, op.relay_notes, op.push_report = done.why, done.notes, done.report
        if done.why:
            op.notice(done.why, self.name)
        for note in done.notes:
            op.notice(m("note: {note}", note=note), self.name)
        if op.stopping.is_set():
            raise Interrupted(m("stopped during the push; no step ran (what arrived stays on the nodes)"),
                              m("continue with onsite {verb} --resume", verb=op.verb))
        if not done.report.ok:
            raise ProblemError(done.report.problems)

    def dry_run(self, op: InstallOperation) -> None:
        size = sum(b.total_bytes for b in op.bundles)
        op.notice(m("would send {bundles} ({size} MB) to the nodes that need them", bundles=', '.join(b.id for b in op.bundles), size=f"{size / 1e6:.1f}"),
                  self.name)


class RunSteps(Phase):
    name, title = "steps", m("Run the install steps")

    def run(self, op: InstallOperation) -> None:
        secrets = op.secrets()
        op.runner = Runner(op.plan, op.profile, op.instances, op.connections(), op.journal, secrets=secrets,
                           listener=op.listener, parallel=op.options.parallel * 2, resume=op.mode != "fresh",
                           assume_done=op.assume_done, extra_env=op.extra_env())
        if op.stopping.is_set():
            op.runner.request_stop()
        outcome = op.runner.run()
        op.run_outcome = outcome
        if outcome.failures:
            raise ProblemError([Problem(
                message=m("step {step} failed on {node}: {message}", step=f.step, node=f.node, message=f.message),
                hint=m("log: {log}; fix the cause, then continue with onsite {verb} --resume", log=f.log, verb=op.verb),
                node=f.node, step=f.step, code="step-failed") for f in outcome.failures])
        if outcome.stopped or outcome.aborted or outcome.pending:
            c = op.journal.counts()
            raise Interrupted(m("{what}: {done} done, {unknown} unknown, {pending} pending", what=m("aborted") if outcome.aborted else m("stopped"),
                              done=c.get(DONE, 0), unknown=c.get(UNKNOWN, 0), pending=c.get(PENDING, 0)),
                              m("continue with onsite {verb} --resume", verb=op.verb))
        counts = {"ran": outcome.ran, "skipped": outcome.skipped}
        op.notice(m("install complete: {ran} steps ran, {skipped} already in place", **counts) if op.verb == "install"
                  else m("{verb} complete: {ran} steps ran, {skipped} already in place", verb=op.verb, **counts), self.name)

    def stop(self, op: InstallOperation) -> None:
        if op.runner is not None:
            op.runner.request_stop()

    def abort(self, op: InstallOperation) -> None:
        if op.runner is not None:
            op.runner.abort()

    def dry_run(self, op: InstallOperation) -> None:
        op.notice(m("would install {site_name}: {runs} step runs on {nodes} nodes from {bundles}", site_name=op.plan.site_name, runs=len(op.instances),
                        nodes=len({i.node for i in op.instances}), bundles=', '.join(b.id for b in op.bundles)), self.name)
        for node, step, how, title in op.dry_run_table():
            op.notice(f"  {node:<10} {step:<24} {how:<10} {title}", self.name)


class Verify(Phase):
    name, title = "verify", m("Verify the system")

    def skip(self, op: InstallOperation) -> str | None:
        if not op.options.verify:
            return "--no-verify"
        if op.options.only:
            return m("--only: the system is checked as a whole after a full install")
        return None

    def run(self, op: InstallOperation) -> None:
        from . import verify

        report = verify.Verifier(op.plan, op.profile, op.connections(), op.secrets(), op.bundles,
                                 op.installed_components() if op.bundles else None).run(op.listener)
        op.verify_report = report
        if op.journal_dir is not None:
            js, md = verify.write(report, op.plan, op.profile, op.journal_dir)
            op.notice(m("verify {result}: report {report}, data {data}", result=m("passed") if report.ok else m("FAILED"), report=md, data=js), self.name)
        if not report.ok:
            raise ProblemError([Problem(message=m("verify: {name}: {summary}", name=c.name, summary=c.summary), hint=c.hint, node=c.node,
                                        code="verify-failed") for c in report.checks if c.status == verify.FAILED])

    def dry_run(self, op: InstallOperation) -> None:
        from . import verify

        names = [c.id for c in verify.declared_checks(op.bundles)]
        op.notice(m("would verify: {checks}", checks=', '.join(names) or m("nothing declared by the bundles")), self.name)


class Unlock(Phase):
    """Always runs: node locks, the connections, the site lock."""

    name, title, always = "unlock", m("Unlock"), True

    def run(self, op: InstallOperation) -> None:
        left: list[str] = []
        if op.node_locks is not None:
            left = op.node_locks.release()
            op.node_locks = None
        if op.conns is not None:
            op.conns.close_all()
        if op.site_lock is not None:
            op.site_lock.release()
            op.site_lock = None
        if left:
            op.notice(m("the node lock stays on {nodes} (unreachable); it turns stale and the next run with --break-lock removes it", nodes=', '.join(left)), self.name)

    def dry_run(self, op: InstallOperation) -> None:
        pass


class Disconnect(Unlock):
    name, title = "disconnect", m("Disconnect")


def install_lifecycle() -> Lifecycle:
    return Lifecycle([LockSite(), Validate(), ResolveBundles(strict=True), ApplyChange(), Preflight(), LockNodes(), OpenJournal(),
                      Deliver(), RunSteps(), Verify(), Unlock()])


class _PreflightOnly(Preflight):
    """`onsite preflight`: the whole check list, whatever the journal says."""

    def skip(self, op: InstallOperation) -> str | None:
        return None

    def run(self, op: InstallOperation) -> None:
        mode, op.mode = op.mode, "fresh"
        try:
            super().run(op)
        finally:
            op.mode = mode


def preflight_lifecycle() -> Lifecycle:
    return Lifecycle([Validate(), ResolveBundles(strict=False), _PreflightOnly(), Disconnect()])


class _VerifyOnly(Verify):
    def skip(self, op: InstallOperation) -> str | None:
        return None


def verify_lifecycle() -> Lifecycle:
    return Lifecycle([_ValidatePlanOnly(), ResolveBundles(strict=False), _VerifyOnly(), Disconnect()])


class _ValidatePlanOnly(Validate):
    """verify asks the system, not the journal: no journal rules."""

    @staticmethod
    def _journal_rules(op: InstallOperation) -> None:
        op.mode = "rerun"


__all__ = ["InstallOperation", "InstallOptions", "install_lifecycle", "preflight_lifecycle", "verify_lifecycle",
           "RESUME_CHECKS"]
