"""`onsite install`, `onsite preflight`, `onsite verify`, `onsite status`,
`onsite support-bundle`: the CLI's face of the engine's lifecycles
(installer.engine.install). The commands build an InstallOperation, run a
lifecycle and render its events; the rules live in the engine.

Output: in a terminal the push and the steps show as a live node x step
matrix (--plain or no terminal: timestamped lines); phases, notices,
preflight and verify results as lines. Problems go to stderr.

Ctrl-C once: work ends at a safe point, nothing new starts (exit 130).
Twice: running steps are stopped on their nodes and marked unknown. Three
times: quit at once. `--resume` continues after each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import threading
import time
from pathlib import Path

from ..engine import events, relay, support
from ..engine import journal as journal_mod
from ..engine.events import (
    CheckResult,
    Notice,
    PhaseFinished,
    PhaseStarted,
    StepFinished,
    StepStarted,
    VerifyResult,
    human_bytes,
)
from ..engine.install import InstallOperation, InstallOptions, install_lifecycle, preflight_lifecycle, verify_lifecycle
from ..engine.journal import PENDING, Journal
from ..engine.lifecycle import Lifecycle, Outcome
from ..engine.lock import command_line
from ..engine.verify import MARK
from ..model import validate
from ..model.i18n import localized, t
from ..model.problems import clean
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Pinning,
    counted,
    ctrl_c,
    load_valid,
    log,
    machine_output,
    pin,
    print_problems,
    prompt,
    run_log,
    say,
)


class PlainPrinter:
    """Timestamped lines for every event (logs and pipes); push progress a
    line per node every 2 s; step output stays in the step's log."""

    def __init__(self, out=None, t0: float | None = None) -> None:
        self.out = out or sys.stdout
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()
        self.t0 = time.monotonic() if t0 is None else t0

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {clean(text, keep_lines=True)}", file=self.out, flush=True)

    def __call__(self, ev) -> None:
        with self.lock:
            if isinstance(ev, events.TransferPlanned):
                there = t(", {count} files already there", count=ev.skipped_files) if ev.skipped_files else ""
                self.line(t("{node}: {bundles}; to send {size}{there}", node=ev.node, bundles=", ".join(ev.bundles) or t("no bundles"),
                            size=human_bytes(ev.total_bytes), there=there))
            elif isinstance(ev, events.TransferProgress):
                now = time.monotonic()
                if now - self.last.get(ev.node, 0) >= 2:
                    self.last[ev.node] = now
                    eta = t(", {seconds} s left", seconds=f"{ev.eta:.0f}") if ev.eta else ""
                    self.line(t("{node}: {done} of {total} at {rate}/s{eta}", node=ev.node, done=human_bytes(ev.done_bytes),
                                total=human_bytes(ev.total_bytes), rate=human_bytes(ev.rate), eta=eta))
            elif isinstance(ev, events.TransferDone):
                self.line(t("{node}: done, sent {size} in {files} files ({unchanged} unchanged, {resumed} resumed) in {seconds} s",
                            node=ev.node, size=human_bytes(ev.sent_bytes), files=ev.files_sent, unchanged=ev.files_skipped,
                            resumed=ev.resumed_files, seconds=f"{ev.seconds:.1f}"))
            elif isinstance(ev, events.NodeFailed):
                self.line(t("{node}: FAILED: {message}", node=ev.node, message=ev.problem.message))
            elif isinstance(ev, relay.RelayHop):
                self.line(t("{node}: receives from {source}", node=ev.node, source=ev.source))
            elif isinstance(ev, relay.RelayFallback):
                self.line(f"{ev.node}: {localized(ev.reason)}")
            elif isinstance(ev, StepStarted):
                again = t(" (attempt {attempt})", attempt=ev.attempt) if ev.attempt > 1 else ""
                self.line(f"{ev.node:<10} {ev.step:<24} " + t("started{again}: {title}", again=again, title=ev.title))
            elif isinstance(ev, StepFinished):
                what = t("in place (check passed)") if ev.skipped else t(ev.status)
                extra = f": {localized(ev.message)}" if ev.message and not ev.skipped else ""
                self.line(f"{ev.node:<10} {ev.step:<24} {what} ({ev.seconds:.1f} s){extra}")


class Renderer:
    """Every lifecycle event, for a terminal or a pipe."""

    def __init__(self, op: InstallOperation, live: bool) -> None:
        self.op = op
        self.live_wanted = live
        self.view = None
        self.t0 = time.monotonic()
        self.plain = PlainPrinter(t0=self.t0)
        self.checks: list[CheckResult] = []

    def __call__(self, ev) -> None:
        if isinstance(ev, PhaseStarted):
            if ev.phase == "deliver" and self.live_wanted:
                from .live import LiveView

                op = self.op
                self.view = LiveView(op.nodes, [s.id for s in op.steps], {i.key for i in op.instances})
                self.view.__enter__()
            elif self.view is None:
                self.plain.line(f"{localized(ev.title)} ({ev.index}/{ev.count})")
        elif isinstance(ev, PhaseFinished):
            if ev.phase == "steps" and self.view is not None or (self.view is not None and ev.status != "done"):
                self.close()
            if ev.phase in ("preflight",) and self.checks:
                show_preflight(self.checks)
            if self.view is None and ev.status != "done":
                self.plain.line(f"{localized(ev.title)}: {t(ev.status)}"
                                f"{f' ({localized(ev.note)})' if ev.note and ev.status == 'skipped' else ''}")
        elif isinstance(ev, Notice):
            if self.view is None:
                say(ev.text)
        elif isinstance(ev, CheckResult):
            self.checks.append(ev)
        elif isinstance(ev, VerifyResult):
            print(f"  {MARK.get(ev.status, ev.status):<4} {ev.name:<22} {localized(ev.summary)}", flush=True)
            if ev.status == "failed" and ev.hint:
                print(f"       {'':<22} -> {localized(ev.hint)}", flush=True)
        elif self.view is not None:
            self.view(ev)
        else:
            self.plain(ev)

    def close(self) -> None:
        if self.view is not None:
            self.view.__exit__(None, None, None)
            self.view = None


def preflight_matrix(results: list[CheckResult], width: int) -> list:
    """Summary first, as on the wizard's Preflight page: a node x check matrix of
    marks (nodes in the order their results came, checks likewise), cut into
    several matrices when the checks do not fit `width` at 3 characters each,
    and a legend for the shortened check names."""
    from rich.text import Text

    nodes = list(dict.fromkeys(r.node for r in results))
    checks = list(dict.fromkeys(r.check for r in results))
    cells = {(r.node, r.check): r.status for r in results}
    name_w = min(10, max([len(n) for n in nodes] + [len(t("node"))]))
    per_row = max(1, (width - name_w - 1) // 4)
    lines: list[Text] = []
    for start in range(0, len(checks), per_row):
        part = checks[start:start + per_row]
        col = max(3, min(5, (width - name_w - 1) // len(part) - 1))
        shorts = events.short_names(part, col)
        head = Text(t("node")[:name_w].ljust(name_w) + " ", style="bold")
        for c in part:
            head.append(shorts[c].center(col) + " ", style="bold")
        lines.append(head)
        for n in nodes:
            row = Text(clean(n)[:name_w].ljust(name_w) + " ")
            for c in part:
                st = cells.get((n, c))
                row.append((events.mark(st) if st else "").center(col) + " ", style=events.colour(st) if st else "")
            lines.append(row)
        legend = [f"{shorts[c]} = {c}" for c in part if shorts[c] != c]
        if legend:
            lines.append(Text("  ".join(legend), style="dim"))
    return lines


def show_preflight(results: list[CheckResult]) -> None:
    """The matrix, then every warning and every blocker unfolded: where, what, the remedy."""
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    nodes = {r.node for r in results}
    console.print(t("preflight: {checks} checks on {nodes} nodes", checks=len(results), nodes=len(nodes)), markup=False)
    for line in preflight_matrix(results, console.width):
        console.print(line)
    for status in ("warn", "fail"):
        found = [r for r in results if r.status == status]
        if not found:
            continue
        title = counted(len(found), "{n} warning:", "{n} warnings:") if status == "warn" else \
            counted(len(found), "{n} blocker:", "{n} blockers:")
        console.print(Text(title, style=events.colour(status)))
        for r in found:
            console.print(clean(f"  {r.node}: {r.check}: {localized(r.detail)}", keep_lines=True), soft_wrap=True, markup=False)
            if r.hint:
                console.print(clean(f"    → {localized(r.hint)}", keep_lines=True), soft_wrap=True, markup=False)
    if not any(r.status == "fail" for r in results):
        console.print(t("preflight: {checks} checks passed on {nodes} nodes", checks=len(results), nodes=len(nodes)), markup=False)


def journal_dir(args, plan) -> Path:
    return Path(args.journal_dir) if getattr(args, "journal_dir", None) else journal_mod.default_dir(Path(args.file), plan)


def _operation(args, loaded: validate.Validation, options: InstallOptions, factory: Pinning) -> InstallOperation:
    return InstallOperation(
        loaded.plan, loaded.profile, answer_file=Path(args.file), problems=loaded.problems,
        bundle_paths=[Path(p) for p in (args.bundle or [])] or None, pubkey=Path(args.pubkey) if args.pubkey else None,
        journal_dir=journal_dir(args, loaded.plan), options=options, connect=factory, prompt=prompt,
        known_hosts=args.known_hosts, command=command_line())


class JsonLines:
    """--events jsonl: every event as one JSON line on stdout, as it happens."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, ev) -> None:
        line = json.dumps(events.to_json(ev), ensure_ascii=False)
        with self.lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


def _event_logger(ev) -> None:
    """Every event into the run log (step output stays in the step logs)."""
    if isinstance(ev, (events.StepOutput, events.TransferProgress)):
        return
    log.debug("%s", json.dumps(events.to_json(ev), ensure_ascii=False))


def drive(args, loaded, lifecycle: Lifecycle, op: InstallOperation, factory: Pinning, *, live: bool,
           verb: str, dry_run: bool = False) -> Outcome:
    if getattr(args, "events", None):
        shown, renderer = JsonLines(), None
    elif machine_output(args):
        shown, renderer = events.ignore, None
    else:
        renderer = Renderer(op, live)
        shown = renderer

    log_box: list = []  # the run log, once open

    def listener(ev) -> None:
        if isinstance(ev, PhaseFinished) and ev.phase == "lock" and log_box and log_box[0] is not None:
            log_box[0].start() if ev.status == "done" else log_box[0].discard()  # a refused run writes nothing
        _event_logger(ev)
        shown(ev)

    op.listener = listener
    locked = any(p.name == "lock" for p in lifecycle.phases)
    with run_log(None if dry_run else op.journal_dir, verb, deferred=locked) as logged:
        log_box.append(logged)
        try:
            with ctrl_c(lifecycle.request_stop, lifecycle.abort, f"the {verb}"):
                outcome = lifecycle.run(op, dry_run=dry_run)
        finally:
            if renderer is not None:
                renderer.close()
        for phase, seconds in outcome.timings.items():
            log.info("phase %s took %.2f s", phase, seconds)
        log.info("%s ended %s%s", verb, outcome.status, f" at {outcome.phase}" if outcome.phase else "")
        for problem in outcome.problems.sorted():
            log.info("problem: %s", problem.render())
    if getattr(args, "events", None):  # the last line: how it ended
        sys.stdout.write(json.dumps({"event": "Outcome", "time": round(time.time(), 3), **outcome.to_json()},
                                    ensure_ascii=False) + "\n")
    if logged is not None and logged.path is not None and not machine_output(args):
        print(t("run log: {path}", path=logged.path), file=sys.stderr)
    pin(args, loaded, factory)
    return outcome


def operation_document(verb: str, op: InstallOperation, outcome: Outcome) -> dict:
    """The --format json document of install, preflight and verify
    (schemas/cli/COMMAND.schema.json)."""
    doc: dict = {"command": verb, "site": op.plan.site_name if op.plan else None,
                 "journal": str(op.journal_dir) if op.journal_dir else None, "outcome": outcome.to_json()}
    if verb == "install":
        doc["change"] = op.change.to_json() if op.change is not None else None
    if verb in ("install", "preflight"):
        doc["preflight"] = [dataclasses.asdict(r) for r in op.preflight.results] if op.preflight else None
    if verb not in ("preflight", "verify"):  # install and the day-2 operations
        run = op.run_outcome
        doc["steps"] = None if run is None else {
            "ran": run.ran, "skipped": run.skipped, "pending": run.pending,
            "failures": [{"node": f.node, "step": f.step, "message": f.message, "log": str(f.log), "tail": f.tail}
                         for f in run.failures]}
        doc["transfer"] = op.transfer_note or None
    if verb == "uninstall":
        left = getattr(op, "leftovers", None)
        doc["leftovers"] = [dataclasses.asdict(r) for r in left.results] if left is not None else None
    if verb in ("install", "verify"):
        doc["verify"] = op.verify_report.to_json() if op.verify_report is not None else None
    return doc


def _emit_document(args, verb: str, op: InstallOperation, outcome: Outcome) -> None:
    if getattr(args, "format", "text") == "json":
        json.dump(operation_document(verb, op, outcome), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")


def _report(args, outcome: Outcome, verb: str) -> int:
    if outcome.ok or machine_output(args):
        return outcome.exit_code
    problems = outcome.problems
    if outcome.phase == "preflight" and all(p.code.startswith("preflight-") for p in problems):
        print(t("{verb}: stopped at preflight; nothing was installed", verb=verb), file=sys.stderr)
    else:
        print_problems(problems, out=sys.stderr, summary=False)
    op_tail = {"steps": t("fix the cause, then continue with: onsite install --resume {file}", file=args.file)}
    if outcome.status == "interrupted":
        print(t("{verb} interrupted; continue with: onsite install --resume {file}", verb=verb, file=args.file), file=sys.stderr)
    elif outcome.phase in op_tail:
        print(op_tail[outcome.phase], file=sys.stderr)
    return outcome.exit_code


def cmd_install(args) -> int:
    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    print_problems(loaded.problems, summary=False, out=sys.stderr if machine_output(args) else None)
    options = InstallOptions(only=args.only, from_step=args.from_step, resume=args.resume, restart=args.restart,
                             parallel=args.parallel, skip_preflight=args.skip_preflight, transfer=args.transfer,
                             verify=not args.no_verify, break_lock=args.break_lock)
    factory = Pinning(args.accept_new_host_keys)
    op = _operation(args, loaded, options, factory)
    asking = _confirm_change(args, op)
    live = sys.stdout.isatty() and not args.plain and not args.dry_run and not machine_output(args) and not asking
    outcome = drive(args, loaded, install_lifecycle(), op, factory, live=live, verb="install", dry_run=args.dry_run)
    _emit_document(args, "install", op, outcome)
    if machine_output(args):
        return outcome.exit_code
    if outcome.ok and op.run_outcome is not None and not args.dry_run:
        print("\n" + t("install complete: {ran} steps ran, {skipped} already in place", ran=op.run_outcome.ran,
                       skipped=op.run_outcome.skipped))
    if op.run_outcome is not None:
        for f in op.run_outcome.failures:
            print("\n" + t("FAILED: step {step} on node {node}: {message}", step=f.step, node=f.node, message=f.message)
                  + "\n" + t("log: {log}", log=f.log), file=sys.stderr)
            for line in f.tail:
                print(f"  | {line}", file=sys.stderr)
    return _report(args, outcome, "install")


def pending_change(op: InstallOperation) -> bool:
    """Does this run apply a changed plan (a finished install of another plan on record)?"""
    jd = op.journal_dir
    if jd is None or op.plan is None or op.options.restart or op.options.resume or not Journal.exists(jd):
        return False
    try:
        j = Journal.load(jd)
    except (OSError, ValueError):
        return False
    return j.complete and j.data.get("plan_hash") != op.plan.fingerprint()


def _access_only(op: InstallOperation) -> bool:
    from ..engine.change import plan_change

    try:
        return plan_change(Journal.load(op.journal_dir).data.get("plan") or {}, op.plan, op.profile).access_only
    except (OSError, ValueError):
        return False


def _confirm_change(args, op: InstallOperation) -> bool:
    """How a changed plan is confirmed: --yes (or --dry-run) goes on; on a
    terminal the deployer answers y/N after the change is shown; without a
    terminal it is refused (exit 2). True when it will ask."""
    if args.yes or args.dry_run or not pending_change(op) or _access_only(op):
        return False
    if not sys.stdin.isatty():
        op.confirm_refused = True
        return False

    def ask(lines: list[str]) -> bool:
        if machine_output(args):  # the change went to the JSON events, not to the terminal
            for line in lines:
                say(line, file=sys.stderr)
        try:
            answer = input(t("apply this change to the site? [y/N] "))
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    op.confirm = ask
    return True


def cmd_preflight(args) -> int:
    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    factory = Pinning(args.accept_new_host_keys)
    op = _operation(args, loaded, InstallOptions(only=args.only), factory)
    outcome = drive(args, loaded, preflight_lifecycle(), op, factory, live=False, verb="preflight")
    _emit_document(args, "preflight", op, outcome)
    if outcome.ok and not machine_output(args):
        print(t("ready to install"))
    return _report(args, outcome, "preflight")


def cmd_verify(args) -> int:
    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    factory = Pinning(args.accept_new_host_keys)
    if args.output:
        args.journal_dir = args.output
    op = _operation(args, loaded, InstallOptions(only=args.only), factory)
    if not machine_output(args):
        print("verify:")
    outcome = drive(args, loaded, verify_lifecycle(), op, factory, live=False, verb="verify")
    _emit_document(args, "verify", op, outcome)
    if outcome.phase == "verify" and outcome.status == "failed":
        return EXIT_FAILED  # each failed check is printed above, with its hint
    return _report(args, outcome, "verify")


def cmd_status(args) -> int:
    loaded = load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    folder = journal_dir(args, loaded.plan)
    if not Journal.exists(folder):
        print(t("no install journal for {site_name} ({folder})", site_name=loaded.plan.site_name, folder=folder))
        return EXIT_FAILED
    jr = Journal.load(folder)
    nodes = [n.name for n in loaded.plan.nodes]
    step_ids: list[str] = []
    for key in jr.data["steps"]:
        sid = key.split("/", 1)[1]
        if sid not in step_ids:
            step_ids.append(sid)
    if args.format == "json":
        json.dump(jr.data, sys.stdout, indent=1)
        print()
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text cells, never markup: a site or step name is shown as it is; the words in the language chosen
    state = t("complete") if jr.complete else t("not complete")
    table = Table(title=Text(f"{jr.data['site']}: {state}"))
    table.add_column(t("step"))
    for n in nodes:
        table.add_column(Text(n))
    for sid in step_ids:
        row = [Text(sid)]
        for n in nodes:
            rec = jr.data["steps"].get(f"{n}/{sid}")
            status = rec.get("status", PENDING) if rec else ""
            row.append(Text(f"{events.mark(status)} {t(status)}", style=events.colour(status)) if rec else Text(""))
        table.add_row(*row)
    Console(highlight=False).print(table)
    if jr.data.get("plan_hash") != loaded.plan.fingerprint():
        print(t("note: the answer file changed since this journal was written"))
    return EXIT_OK if jr.complete else EXIT_FAILED


def cmd_support_bundle(args) -> int:
    loaded = load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.output or f"onsite-support-{journal_mod.site_slug(loaded.plan.site_name)}-{stamp}.tar.gz")
    support.write(loaded.plan, loaded.profile, journal_dir(args, loaded.plan), out)
    print(t("wrote {path} ({size} KiB): plan, journal, step logs, preflight results, versions", path=out, size=out.stat().st_size // 1024))
    return EXIT_OK


def add_commands(sub) -> None:
    from .common import add_bundle_options, add_lifecycle_options, add_output_options, add_remote_options

    p = sub.add_parser("install", help="lock, validate, preflight, push, run the install steps and verify")

    def install_only(p) -> None:
        p.add_argument("--from", dest="from_step", metavar="STEP", help="start at STEP; earlier steps count as done")
        p.add_argument("--skip-preflight", action="store_true", help="do not check the nodes first")

    add_lifecycle_options(
        p, extra=install_only,
        resume="continue the install the journal describes",
        restart="start again (the old journal is kept beside the new one)",
        dry_run="walk the phases and print what they would do; connect to nothing",
        journal_dir="where the journal and logs are (default: onsite-journal/<site> next to FILE)",
        no_verify="do not run `onsite verify` after a complete install",
        yes="apply a changed plan without asking (needed without a terminal; onsite plan FILE shows it)")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("preflight", help="check every node before installing; exit 1 on a blocker")
    add_remote_options(p)
    add_bundle_options(p, "bundles whose vendor payloads to check (default: bundles/* next to the answer file)")
    p.add_argument("--journal-dir", help="where preflight.json goes (default: onsite-journal/<site> next to FILE)")
    add_output_options(p)
    p.set_defaults(func=cmd_preflight)

    p = sub.add_parser("verify", help="prove the installed system works; print, and write a JSON and a Markdown report")
    add_remote_options(p)
    add_bundle_options(p, "bundles whose checks to run (default: bundles/* next to the answer file)")
    p.add_argument("-o", "--output", metavar="DIR", help="where the reports go (default: the install's journal folder)")
    p.add_argument("--journal-dir", help="the install's journal folder (default: onsite-journal/<site> next to FILE)")
    add_output_options(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("status", help="the install journal as a step x node table")
    p.add_argument("file", help="the answer file")
    p.add_argument("--journal-dir", help="the install's journal folder (default: onsite-journal/<site> next to FILE)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: the journal itself (schema: onsite schema --output status)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("support-bundle", help="one tarball to carry out: plan, journal, logs, preflight, versions")
    p.add_argument("file", help="the answer file")
    p.add_argument("-o", "--output", help="the tarball to write (default: onsite-support-<site>-<time>.tar.gz here)")
    p.add_argument("--journal-dir", help="the install's journal folder (default: onsite-journal/<site> next to FILE)")
    p.set_defaults(func=cmd_support_bundle)


__all__ = ["add_commands", "Renderer", "PlainPrinter", "show_preflight"]
