"""One install of one plan: which steps run where, the journal rules, and the
phases (preflight -> push -> steps). The CLI and the wizard both drive this;
neither has install logic of its own.

Journal rules (see also cli_install's docstring):
- no journal: a fresh install;
- complete, same plan: every step is re-checked, nothing in place runs again;
- incomplete: refused unless resume (continue) or restart (the old journal is
  kept as journal-<time>/ beside the new one);
- written for another plan: refused, naming what changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path

from ..model.plan import Plan
from ..model.problems import Problem, ProblemError
from ..model.profile import Profile
from ..remote.connections import Connections
from . import journal as journal_mod
from . import preflight as preflight_mod
from . import push as push_mod
from .bundle import Bundle
from .events import Listener, ignore
from .journal import DONE, FAILED, PENDING, RUNNING, UNKNOWN, Journal
from .runner import Runner
from .steps import Instance, Step, instances, load_steps, missing_payloads

EXIT_INVALID = 2


@dataclasses.dataclass
class InstallOptions:
    only: Sequence[str] | None = None
    from_step: str | None = None
    resume: bool = False
    restart: bool = False
    parallel: int = 4
    skip_preflight: bool = False
    transfer: str = "auto"  # auto | relay | direct (see installer.relay.choose)


def _usage(message: str, hint: str = "") -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, code="usage"), exit_code=EXIT_INVALID)


class Install:
    def __init__(self, plan: Plan, profile: Profile, bundles: Sequence[Bundle], journal_dir: Path,
                 options: InstallOptions | None = None) -> None:
        self.plan = plan
        self.profile = profile
        self.bundles = list(bundles)
        self.folder = Path(journal_dir)
        self.options = options or InstallOptions()
        self.steps: list[Step] = load_steps(self.bundles, set(profile.roles))
        insts = instances(plan, self.steps)
        only = self.options.only
        if only:
            unknown = [n for n in only if n not in {x.name for x in plan.nodes}]
            if unknown:
                raise _usage(f"--only {unknown[0]}: no such node in the plan", f"nodes: {', '.join(n.name for n in plan.nodes)}")
            insts = [i for i in insts if i.node in only]
        self.instances: list[Instance] = insts
        # Checked before anything connects: `onsite plan` lists these,
        # preflight reports them as blockers and install refuses to start.
        self.missing_payloads: list[Problem] = missing_payloads(self.bundles, insts)
        self.assume_done: list[str] = []
        if self.options.from_step:
            order = [s.id for s in self.steps]
            if self.options.from_step not in order:
                raise _usage(f"--from {self.options.from_step}: no such step", f"steps: {', '.join(order)}")
            before = set(order[: order.index(self.options.from_step)])
            self.assume_done = [i.key for i in insts if i.step.id in before]
        self.existing = Journal.load(self.folder) if Journal.exists(self.folder) else None
        self.journal: Journal | None = None
        self.resuming = False
        self.transfer_note = ""
        self.relay_notes: list[str] = []

    @property
    def nodes(self) -> list[str]:
        only = self.options.only
        return [n.name for n in self.plan.nodes if not only or n.name in only]

    def dry_run(self) -> list[tuple[str, str, str, str]]:
        """(node, step, what would happen, title) in order; connects to nothing."""
        out = []
        for i in self.instances:
            rec = self.existing.status(i.key) if self.existing else PENDING
            how = "skip (--from)" if i.key in self.assume_done else (
                "re-check" if rec == DONE and i.step.check else ("done" if rec == DONE else "run"))
            out.append((i.node, i.step.id, how, i.step.title))
        return out

    def open_journal(self) -> Journal:
        """Apply the journal rules; raises ProblemError (exit 2) when refused,
        or when a vendor payload a step needs is missing."""
        if self.missing_payloads:
            raise ProblemError(self.missing_payloads, exit_code=EXIT_INVALID)
        existing = self.existing
        if existing is not None:
            if existing.data.get("plan_hash") != self.plan.fingerprint() and not self.options.restart:
                changes = journal_mod.plan_changes(existing.data.get("plan"), self.plan.to_data())
                raise ProblemError(Problem(
                    message=f"the plan changed since this install began ({self.folder}): " + ", ".join(changes[:8])
                    + (" ..." if len(changes) > 8 else ""),
                    hint="put the answer file back as it was to continue, or start again with --restart", code="plan-changed"),
                    exit_code=EXIT_INVALID)
            if not existing.complete and not (self.options.resume or self.options.restart):
                c = existing.counts()
                raise ProblemError(Problem(
                    message=f"an earlier install of {self.plan.site_name} stopped before the end "
                            f"({c.get(DONE, 0)} done, {c.get(FAILED, 0)} failed, {c.get(UNKNOWN, 0)} unknown, "
                            f"{c.get(PENDING, 0) + c.get(RUNNING, 0)} pending)",
                    hint="continue it with --resume, or start again with --restart", code="journal-incomplete"),
                    exit_code=EXIT_INVALID)
            if self.options.restart:
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                self.folder.rename(self.folder.with_name(f"{self.folder.name}-{stamp}"))
                existing = None
        keys = [i.key for i in self.instances]
        if existing is None:
            self.journal = Journal.create(self.folder, self.plan, {b.name: b.version for b in self.bundles}, keys)
            self.resuming = False
        else:
            existing.mark_running_unknown()
            existing.ensure_steps(keys)
            self.journal = existing
            self.resuming = True
        return self.journal

    def preflight(self, conns: Connections, listener: Listener = ignore) -> preflight_mod.PreflightReport | None:
        """Before a fresh install only: on a resumed one the nodes already run
        parts of the system (its ports are taken, by design)."""
        if self.resuming or self.options.skip_preflight:
            return None
        report = preflight_mod.run(self.plan, self.profile, conns, listener=listener, nodes=self.options.only,
                                   missing_payloads=self.missing_payloads)
        journal_mod.write_json_atomic(self.folder / "preflight.json", [dataclasses.asdict(r) for r in report.results])
        return report

    def push(self, conns: Connections, listener: Listener = ignore, stop: threading.Event | None = None) -> push_mod.PushReport:
        """Send the bundles (relayed or direct); setting `stop` ends it soon,
        keeping what arrived for the next run."""
        from . import relay

        done = relay.deliver(self.plan, self.profile, self.bundles, conns, mode=self.options.transfer,
                             parallel=self.options.parallel, listener=listener, nodes=self.options.only, stop=stop)
        self.transfer_note, self.relay_notes = done.why, done.notes
        return done.report

    def runner(self, conns: Connections, secrets: dict[str, str], listener: Listener = ignore) -> Runner:
        assert self.journal is not None, "open_journal() first"
        return Runner(self.plan, self.profile, self.instances, conns, self.journal, secrets=secrets,
                      listener=listener, parallel=self.options.parallel * 2, resume=self.resuming,
                      assume_done=self.assume_done)
