"""`onsite install`, `onsite status`, `onsite support-bundle`.

install = validate -> preflight (a fresh install only: on a resumed one the
node already runs parts of the system) -> push -> steps. The journal lives
next to the answer file (onsite-journal/<site>/) unless --journal-dir.

An existing journal decides what happens:
- none: a fresh install;
- complete, same plan: every step is re-checked; nothing whose check passes
  runs again;
- incomplete: refused unless --resume (continue) or --restart (the old
  journal is kept as journal-<time>/ and a new install begins);
- written for another plan: refused, naming what changed.

Ctrl-C once: running steps finish, the rest stay pending (exit 130).
Twice: abort; running steps are marked unknown. --resume works after both.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import platform
import signal
import sys
import tarfile
import threading
import time
from pathlib import Path

from .. import __version__
from ..engine import journal as journal_mod
from ..engine.install import Install, InstallOptions
from ..engine.journal import DONE, FAILED, PENDING, RUNNING, UNKNOWN, Journal
from ..engine.runner import Runner, StepFinished, StepOutput, StepStarted
from ..model.problems import Problems
from ..model.secrets import resolve_all
from .main import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, _load_valid, ctrl_c_stops, print_problems
from .remote import _connections, _find_bundles, _pin, _PlainPushPrinter, _print_preflight, _prompt


class _PlainStepPrinter:
    """Timestamped lines: one per step start and end, output of failures."""

    def __init__(self, out=None, t0: float | None = None) -> None:
        self.out = out or sys.stdout
        self.t0 = time.monotonic() if t0 is None else t0
        self.lock = threading.Lock()

    def __call__(self, ev) -> None:
        stamp = f"[{time.monotonic() - self.t0:7.1f}s]"
        with self.lock:
            if isinstance(ev, StepStarted):
                again = f" (attempt {ev.attempt})" if ev.attempt > 1 else ""
                print(f"{stamp} {ev.node:<10} {ev.step:<24} started{again}: {ev.title}", file=self.out, flush=True)
            elif isinstance(ev, StepFinished):
                what = "in place (check passed)" if ev.skipped else ev.status
                extra = f": {ev.message}" if ev.message and not ev.skipped else ""
                print(f"{stamp} {ev.node:<10} {ev.step:<24} {what} ({ev.seconds:.1f} s){extra}", file=self.out, flush=True)
            elif isinstance(ev, StepOutput):
                pass  # in the step's log; the failure report shows its tail


def _journal_dir(args, plan) -> Path:
    return Path(args.journal_dir) if args.journal_dir else journal_mod.default_dir(Path(args.file), plan)


def cmd_install(args) -> int:
    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    plan, profile = loaded.plan, loaded.profile
    print_problems(loaded.problems, summary=False)
    options = InstallOptions(only=args.only, from_step=args.from_step, resume=args.resume, restart=args.restart,
                             parallel=args.parallel, skip_preflight=args.skip_preflight, transfer=args.transfer)
    job = Install(plan, profile, _find_bundles(args), _journal_dir(args, plan), options)
    if args.dry_run:
        print(f"would install {plan.site_name}: {len(job.instances)} step runs on {len({i.node for i in job.instances})} nodes "
              f"from {', '.join(b.id for b in job.bundles) or 'no bundles'}")
        for node, step, how, title in job.dry_run():
            print(f"  {node:<10} {step:<24} {how:<10} {title}")
        if job.missing_payloads:
            print_problems(Problems(job.missing_payloads), out=sys.stderr, summary=False)
            return EXIT_INVALID
        return EXIT_OK
    jr = job.open_journal()
    print(f"journal: {job.folder}")
    secret_values = resolve_all(plan, profile, _prompt)
    t0 = time.monotonic()
    conns, factory = _connections(args, plan)
    with conns:
        report = job.preflight(conns)
        if report is not None:
            if not report.ok:
                _print_preflight(report)
                return EXIT_FAILED
            print(f"preflight: {len(report.results)} checks passed on {len({r.node for r in report.results})} nodes")
        _pin(args, loaded, factory)
        if sys.stdout.isatty() and not args.plain:
            from .live import LiveView

            view = LiveView(job.nodes, [st.id for st in job.steps], {i.key for i in job.instances})
            push_listener = step_listener = view
        else:
            view = None
            push_listener, step_listener = _PlainPushPrinter(t0=t0), _PlainStepPrinter(t0=t0)
        runner = job.runner(conns, secret_values, step_listener)
        if view is not None:
            view.__enter__()
        try:
            if job.bundles:
                stop = threading.Event()
                with ctrl_c_stops(stop, "the push"):
                    pushed = job.push(conns, push_listener, stop)
                if view is None:
                    print(job.transfer_note)
                    for note in job.relay_notes:
                        print(f"note: {note}")
                if stop.is_set() or not pushed.ok:
                    if view is not None:
                        view.__exit__(None, None, None)
                        view = None
                    if stop.is_set():
                        print(f"interrupted during the push; no step ran. Continue with: onsite install --resume {args.file}",
                              file=sys.stderr)
                        return EXIT_INTERRUPTED
                    print_problems(Problems(pushed.problems), out=sys.stderr, summary=False)
                    return EXIT_FAILED
            rc = _run_steps(args, runner, jr)
        finally:
            if view is not None:
                view.__exit__(None, None, None)
        if rc == EXIT_OK and not args.only and not args.no_verify:
            installed = {s.component for s in job.steps if s.component}
            rc = _verify(plan, profile, conns, secret_values, job.folder, installed)
        return rc


def _verify(plan, profile, conns, secret_values, folder: Path, installed: set[str] | None) -> int:
    from ..engine import verify

    print("\nverify:")

    def show(c: verify.Check) -> None:
        print(f"  {verify.MARK[c.status]:<4} {c.name:<22} {c.summary}")
        if c.status == verify.FAILED and c.hint:
            print(f"       {'':<22} -> {c.hint}")

    report = verify.Verifier(plan, profile, conns, secret_values, installed).run(show)
    js, md = verify.write(report, plan, profile, folder)
    print(f"verify {'passed' if report.ok else 'FAILED'}: report {md}, data {js}")
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_verify(args) -> int:
    from .remote import _find_bundles

    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    plan, profile = loaded.plan, loaded.profile
    bundles = _find_bundles(args)
    installed = {st.get("component") for b in bundles for st in b.steps if isinstance(st, dict) and st.get("component")} \
        if bundles else None
    secret_values = resolve_all(plan, profile, _prompt)
    conns, factory = _connections(args, plan)
    with conns:
        rc = _verify(plan, profile, conns, secret_values, Path(args.output) if args.output else _journal_dir(args, plan),
                     installed)
    _pin(args, loaded, factory)
    return rc


def _run_steps(args, runner: Runner, jr: Journal) -> int:
    """Run the steps with Ctrl-C wired: once stops, twice aborts."""
    presses = [0]

    def on_sigint(signum, frame):
        presses[0] += 1
        if presses[0] == 1:
            print("\nstopping: running steps finish, nothing new starts (Ctrl-C again to abort)", file=sys.stderr, flush=True)
            runner.request_stop()
        else:
            print("\naborting: running steps are stopped and marked unknown", file=sys.stderr, flush=True)
            runner.abort()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        outcome = runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    return _report(args, outcome, jr)


def _report(args, outcome, jr: Journal) -> int:
    for f in outcome.failures:
        print(f"\nFAILED: step {f.step} on node {f.node}: {f.message}\nlog: {f.log}", file=sys.stderr)
        for line in f.tail:
            print(f"  | {line}", file=sys.stderr)
    if outcome.failures:
        print("\nfix the cause, then continue with: onsite install --resume " + args.file, file=sys.stderr)
        return EXIT_FAILED
    if outcome.stopped or outcome.aborted:
        c = jr.counts()
        print(f"\n{'aborted' if outcome.aborted else 'stopped'}: {c.get(DONE, 0)} done, {c.get(UNKNOWN, 0)} unknown, "
              f"{c.get(PENDING, 0)} pending; continue with: onsite install --resume {args.file}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"\ninstall complete: {outcome.ran} steps ran, {outcome.skipped} already in place")
    return EXIT_OK


def cmd_status(args) -> int:
    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    folder = _journal_dir(args, loaded.plan)
    if not Journal.exists(folder):
        print(f"no install journal for {loaded.plan.site_name} ({folder})")
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

    mark = {DONE: "[green]done[/]", FAILED: "[bold red]FAILED[/]", UNKNOWN: "[yellow]unknown[/]", RUNNING: "[cyan]running[/]",
            PENDING: "[dim]·[/]"}
    table = Table(title=f"{jr.data['site']}: {'complete' if jr.complete else 'not complete'}")
    table.add_column("step")
    for n in nodes:
        table.add_column(n)
    for sid in step_ids:
        row = [sid]
        for n in nodes:
            rec = jr.data["steps"].get(f"{n}/{sid}")
            row.append(mark.get(rec.get("status", PENDING), "?") if rec else "")
        table.add_row(*row)
    Console(highlight=False).print(table)
    stale = jr.data.get("plan_hash") != loaded.plan.fingerprint()
    if stale:
        print("note: the answer file changed since this journal was written")
    return EXIT_OK if jr.complete else EXIT_FAILED


def cmd_support_bundle(args) -> int:
    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    plan = loaded.plan
    folder = _journal_dir(args, plan)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.output or f"onsite-support-{journal_mod.site_slug(plan.site_name)}-{stamp}.tar.gz")
    versions = {
        "onsite": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "profile": f"{loaded.profile.name} {loaded.profile.version}", "created": journal_mod.now(),
    }
    from ..model import answerfile

    with tarfile.open(out, "w:gz") as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))

        # the plan as onsite writes it: secret references only, never values
        add_bytes("plan.yaml", answerfile.render(plan, loaded.profile).encode())
        add_bytes("versions.json", json.dumps(versions, indent=1).encode())
        if folder.is_dir():
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    tar.add(p, arcname=f"journal/{p.relative_to(folder).as_posix()}")
    os.chmod(out, 0o600)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB): plan, journal, step logs, preflight results, versions")
    return EXIT_OK


def add_commands(sub) -> None:
    from .remote import add_bundle_options, add_remote_options, add_transfer_options

    p = sub.add_parser("install", help="validate, preflight, push and run the install steps")
    add_remote_options(p)
    add_bundle_options(p)
    p.add_argument("--parallel", type=int, default=4, help="nodes at once (default: %(default)s)")
    add_transfer_options(p)
    p.add_argument("--resume", action="store_true", help="continue the install the journal describes")
    p.add_argument("--restart", action="store_true", help="start again (the old journal is kept beside the new one)")
    p.add_argument("--from", dest="from_step", metavar="STEP", help="start at STEP; earlier steps count as done")
    p.add_argument("--dry-run", action="store_true", help="print what would run; connect to nothing")
    p.add_argument("--skip-preflight", action="store_true", help="do not run preflight first")
    p.add_argument("--journal-dir", help="where the journal and logs are (default: onsite-journal/<site> next to FILE)")
    p.add_argument("--plain", action="store_true", help="timestamped lines instead of the live view (automatic when not a terminal)")
    p.add_argument("--no-verify", action="store_true", help="do not run `onsite verify` after a complete install")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("verify", help="prove the installed system works; print, and write a JSON and a Markdown report")
    add_remote_options(p)
    add_bundle_options(p, "bundles whose components to check (default: bundles/* next to the answer file; none: all)")
    p.add_argument("-o", "--output", metavar="DIR", help="where the reports go (default: the install's journal folder)")
    p.add_argument("--journal-dir")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("status", help="the install journal as a step x node table")
    p.add_argument("file")
    p.add_argument("--journal-dir")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("support-bundle", help="one tarball to carry out: plan, journal, logs, preflight, versions")
    p.add_argument("file")
    p.add_argument("-o", "--output")
    p.add_argument("--journal-dir")
    p.set_defaults(func=cmd_support_bundle)


__all__ = ["add_commands"]
