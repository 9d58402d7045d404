"""`onsite push`, `onsite preflight`, `onsite bundle ...`: front ends over the
core's push, preflight and bundle modules, wired to the SSH transport.

Host keys: a node whose key is not pinned is refused unless
--accept-new-host-keys; then the fingerprints seen are shown and pinned into
the answer file (edited in place: the host_key values are added and the
deployer's comments and layout stay; the previous file is kept as FILE.bak).
"""

from __future__ import annotations

import getpass
import shutil
import sys
import threading
import time
from pathlib import Path

from ..engine import bundle, events, preflight, relay
from ..engine.events import human_bytes
from ..model import answerfile
from ..model.problems import Problem, ProblemError, Problems, clean
from ..remote.connections import Connections
from ..remote.transport import Endpoint
from .main import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, UsageError, _load_valid, ctrl_c_stops, print_problems


def _prompt(label: str) -> str:
    if not sys.stdin.isatty():
        raise ProblemError(Problem(message=f"{label} is needed but there is no terminal to ask on",
                                   hint="use an env:NAME or file:PATH reference for unattended runs", code="secret"))
    return getpass.getpass(f"{label}: ")


class _Pinning:
    """SSH factory that remembers keys accepted on first use."""

    def __init__(self, accept_new: bool) -> None:
        self.accept_new = accept_new
        self.new_keys: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, ep: Endpoint):
        from ..remote.ssh_paramiko import connect

        t = connect(ep, accept_new_host_key=self.accept_new)
        if t.host_key_was_new and t.seen_host_key:
            with self.lock:
                self.new_keys[ep.node] = t.seen_host_key
        return t


def _connections(args, plan) -> tuple[Connections, _Pinning]:
    factory = _Pinning(args.accept_new_host_keys)
    return Connections(plan, factory, prompt=_prompt, known_hosts=args.known_hosts), factory


def _pin(args, loaded, factory: _Pinning) -> None:
    if not factory.new_keys:
        return
    plan, profile = loaded.plan, loaded.profile
    for node, fp in sorted(factory.new_keys.items()):
        plan.node(node).ssh.host_key = fp
        print(f"pinned host key of {node}: {fp}")
    path = Path(args.file)
    shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
    answerfile.write(plan, path, profile)
    print(clean(f"host keys pinned in {path} (previous version: {path.name}.bak)"))


def _find_bundles(args) -> list[bundle.Bundle]:
    return bundle.find([Path(p) for p in (args.bundle or [])], Path(args.file), Path(args.pubkey) if args.pubkey else None)


class _PlainPushPrinter:
    """Timestamped lines (for logs and pipes): a line per node every 2 s."""

    def __init__(self, out=None, t0: float | None = None) -> None:
        self.out = out or sys.stdout
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()
        self.t0 = time.monotonic() if t0 is None else t0

    def __call__(self, ev: events.Event) -> None:
        with self.lock:
            stamp = f"[{time.monotonic() - self.t0:7.1f}s]"
            if isinstance(ev, events.TransferPlanned):
                print(f"{stamp} {ev.node}: {', '.join(ev.bundles) or 'no bundles'}; to send {human_bytes(ev.total_bytes)}"
                      f"{f', {ev.skipped_files} files already there' if ev.skipped_files else ''}", file=self.out, flush=True)
            elif isinstance(ev, events.TransferProgress):
                now = time.monotonic()
                if now - self.last.get(ev.node, 0) >= 2:
                    self.last[ev.node] = now
                    eta = f", {ev.eta:.0f} s left" if ev.eta else ""
                    print(f"{stamp} {ev.node}: {human_bytes(ev.done_bytes)} of {human_bytes(ev.total_bytes)} at {human_bytes(ev.rate)}/s{eta}",
                          file=self.out, flush=True)
            elif isinstance(ev, events.TransferDone):
                print(f"{stamp} {ev.node}: done, sent {human_bytes(ev.sent_bytes)} in {ev.files_sent} files"
                      f" ({ev.files_skipped} unchanged, {ev.resumed_files} resumed) in {ev.seconds:.1f} s", file=self.out, flush=True)
            elif isinstance(ev, events.NodeFailed):
                print(f"{stamp} {ev.node}: FAILED: {ev.problem.message}", file=self.out, flush=True)
            elif isinstance(ev, relay.RelayHop):
                print(f"{stamp} {ev.node}: receives from {ev.source}", file=self.out, flush=True)
            elif isinstance(ev, relay.RelayFallback):
                print(f"{stamp} {ev.node}: {ev.reason}", file=self.out, flush=True)


def cmd_push(args) -> int:
    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    bundles = _find_bundles(args)
    if not bundles:
        raise UsageError("no bundles to push: name them with --bundle PATH, or put them in bundles/ next to the answer file")
    conns, factory = _connections(args, loaded.plan)
    stop = threading.Event()
    with conns, ctrl_c_stops(stop, "the push"):
        done = relay.deliver(loaded.plan, loaded.profile, bundles, conns, mode=args.transfer, parallel=args.parallel,
                             listener=_PlainPushPrinter(), nodes=args.only, stop=stop)
    print(done.why)
    for note in done.notes:
        print(f"note: {note}")
    _pin(args, loaded, factory)
    report = done.report
    print(f"push: {len(report.results)} nodes, {human_bytes(report.sent_bytes)} sent, {len(report.problems)} failed")
    if stop.is_set():
        print("interrupted: what arrived stays on the nodes; push again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    if report.problems:
        print_problems(Problems(report.problems), out=sys.stderr, summary=False)
        return EXIT_FAILED
    return EXIT_OK


def cmd_preflight(args) -> int:
    loaded = _load_valid(args.file)
    if isinstance(loaded, int):
        return loaded
    missing = _missing_payloads(args, loaded)
    conns, factory = _connections(args, loaded.plan)
    with conns:
        report = preflight.run(loaded.plan, loaded.profile, conns, nodes=args.only, missing_payloads=missing)
    _pin(args, loaded, factory)
    _print_preflight(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _missing_payloads(args, loaded) -> list[Problem]:
    """Vendor payloads the plan's steps (on --only nodes) need and the bundles
    lack (no network)."""
    from ..engine.steps import instances, load_steps, missing_payloads

    bundles = _find_bundles(args)
    insts = instances(loaded.plan, load_steps(bundles, set(loaded.profile.roles)))
    return missing_payloads(bundles, [i for i in insts if not args.only or i.node in args.only])


def _print_preflight(report: preflight.PreflightReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="preflight", show_lines=False)
    for col in ("node", "check", "result", "detail"):
        table.add_column(col, overflow="fold")
    style = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    for r in sorted(report.results, key=lambda r: (r.node, r.check)):
        detail = r.detail + (f"\n→ {r.hint}" if r.hint and r.status != "ok" else "")
        table.add_row(r.node, r.check, f"[{style[r.status]}]{r.status}[/]", detail)
    console.print(table)
    b = len(report.blockers)
    if not b:
        console.print("ready to install")
        return
    # The blockers once more, unfolded: what to fix, where, and how.
    console.print(f"{b} blocker{'s' * (b != 1)}:")
    for r in report.blockers:
        console.print(f"  {r.node}: {r.check}: {r.detail}", soft_wrap=True, markup=False)
        if r.hint:
            console.print(f"    → {r.hint}", soft_wrap=True, markup=False)


def _must_exist(path: str, what: str) -> None:
    if not Path(path).exists():
        raise UsageError(f"{what} {clean(path)} does not exist")


def cmd_bundle_build(args) -> int:
    _must_exist(args.src, "bundle source folder")
    b = bundle.build(Path(args.src), Path(args.output), Path(args.sign) if args.sign else None)
    print(f"built {args.output}: {b.id}, {len(b.files)} files, {human_bytes(b.total_bytes)}{', signed' if args.sign else ''}")
    return EXIT_OK


def cmd_bundle_verify(args) -> int:
    _must_exist(args.bundle, "bundle")
    b = bundle.verify(Path(args.bundle), Path(args.pubkey) if args.pubkey else None)
    sig = "signature verified" if args.pubkey else ("signed, not checked (give --pubkey)" if b.signed else "unsigned")
    print(f"{args.bundle}: {b.id}, {len(b.files)} files intact, {sig}")
    return EXIT_OK


def cmd_bundle_add_debs(args) -> int:
    names = bundle.add_debs(Path(args.bundle), args.packages, Path(args.sign) if args.sign else None)
    print(f"added {len(names)} packages to {args.bundle}: {' '.join(names)}")
    return EXIT_OK


def add_remote_options(p) -> None:
    p.add_argument("file", help="the answer file")
    p.add_argument("--accept-new-host-keys", action="store_true",
                   help="accept host keys not pinned yet, show them and pin them into the answer file")
    p.add_argument("--known-hosts", help="a known_hosts file to trust for nodes without a pinned key")
    p.add_argument("--only", action="append", metavar="NODE", help="only this node (repeatable)")


def add_bundle_options(p, what: str = "a bundle folder (default: bundles/* next to the answer file)") -> None:
    p.add_argument("--bundle", action="append", metavar="PATH", help=what + " (repeatable)")
    p.add_argument("--pubkey", help="trusted ed25519 public key: every bundle must be signed with it")


def add_transfer_options(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--relay", dest="transfer", action="store_const", const="relay",
                   help="send bundles once; the nodes pass them on over their LAN")
    g.add_argument("--direct", dest="transfer", action="store_const", const="direct", help="send bundles to every node")
    p.set_defaults(transfer="auto")


def add_commands(sub) -> None:
    remote = add_remote_options

    p = sub.add_parser("push", help="send each node the bundles its roles need")
    remote(p)
    add_bundle_options(p)
    p.add_argument("--parallel", type=int, default=4, help="nodes at once (default: %(default)s)")
    add_transfer_options(p)
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("preflight", help="check every node before installing; exit 1 on a blocker")
    remote(p)
    add_bundle_options(p, "bundles whose vendor payloads to check (default: bundles/* next to the answer file)")
    p.set_defaults(func=cmd_preflight)

    b = sub.add_parser("bundle", help="build, verify and fill offline bundles")
    bsub = b.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    p = bsub.add_parser("build", help="make a bundle from a folder with bundle.yaml")
    p.add_argument("src")
    p.add_argument("-o", "--output", required=True, help="output folder, or a .tar file")
    p.add_argument("--sign", metavar="KEY", help="ed25519 private key to sign the manifest with")
    p.set_defaults(func=cmd_bundle_build)
    p = bsub.add_parser("verify", help="check sizes, hashes and (with --pubkey) the signature")
    p.add_argument("bundle")
    p.add_argument("--pubkey")
    p.set_defaults(func=cmd_bundle_verify)
    p = bsub.add_parser("add-debs", help="add Debian packages and their dependencies (apt)")
    p.add_argument("bundle")
    p.add_argument("packages", nargs="+")
    p.add_argument("--sign", metavar="KEY")
    p.set_defaults(func=cmd_bundle_add_debs)


__all__ = ["add_commands", "add_bundle_options", "EXIT_INVALID"]
