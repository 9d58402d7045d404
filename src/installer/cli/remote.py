"""`onsite push`, `onsite bundle ...`: front ends over the engine's push and
bundle modules, wired to the SSH transport.

Host keys: a node whose key is not pinned is refused unless
--accept-new-host-keys; then the fingerprints seen are shown and pinned into
the answer file (rewritten in canonical form; the previous file is kept as
FILE.bak).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from pathlib import Path

from ..engine import bundle, events, relay
from ..engine import journal as journal_mod
from ..engine.events import human_bytes
from ..engine.lock import Holder, SiteLock, command_line
from ..model.i18n import localized, t
from ..model.problems import Problems, clean
from ..remote.connections import Connections
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Pinning,
    UsageError,
    add_bundle_options,
    add_output_options,
    add_remote_options,
    add_transfer_options,
    ctrl_c,
    find_bundles,
    load_valid,
    machine_output,
    pin,
    print_problems,
    prompt,
    say,
)
from .install import JsonLines, PlainPrinter


def cmd_push(args) -> int:
    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    bundles = find_bundles(args)
    if not bundles:
        raise UsageError(t("no bundles to push: name them with --bundle PATH, or put them in bundles/ next to the answer file"))
    machine = machine_output(args)
    out = sys.stderr if machine else sys.stdout
    # one operation per site: no push beside an install or another push (two
    # relays would stop each other's receivers)
    journal = journal_mod.default_dir(Path(args.file), loaded.plan)
    site_lock = SiteLock(journal.with_name(journal.name + ".lock"), Holder.me(command_line(), loaded.plan.site_name))
    site_lock.acquire(break_lock=args.break_lock)
    try:
        return _push(args, loaded, bundles, machine, out)
    finally:
        site_lock.release()


def _push(args, loaded, bundles, machine: bool, out) -> int:
    factory = Pinning(args.accept_new_host_keys)
    conns = Connections(loaded.plan, factory, prompt=prompt, known_hosts=args.known_hosts)
    stop = threading.Event()
    listener = JsonLines() if args.events else (events.ignore if machine else PlainPrinter())
    with conns, ctrl_c(stop.set, None, "the push"):
        done = relay.deliver(loaded.plan, loaded.profile, bundles, conns, mode=args.transfer, parallel=args.parallel,
                             listener=listener, nodes=args.only, stop=stop)
    if not machine:
        say(done.why)
        for note in done.notes:
            say(t("note: {note}", note=localized(note)))
    pin(args, loaded, factory)
    report = done.report
    rc = EXIT_INTERRUPTED if stop.is_set() else EXIT_FAILED if report.problems else EXIT_OK
    if args.format == "json":
        json.dump({"command": "push", "site": loaded.plan.site_name, "ok": rc == EXIT_OK, "exit_code": rc,
                   "transfer": done.why, "notes": list(done.notes), "sent_bytes": report.sent_bytes,
                   "nodes": [dataclasses.asdict(r) | {"problem": r.problem.to_json() if r.problem else None}
                             for r in report.results.values()],
                   "problems": [p.to_json() for p in report.problems]}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    print(t("push: {nodes} nodes, {sent} sent, {failed} failed", nodes=len(report.results), sent=human_bytes(report.sent_bytes),
            failed=len(report.problems)),
          file=out)
    if stop.is_set():
        print(t("interrupted: what arrived stays on the nodes; push again to resume"), file=sys.stderr)
    elif report.problems and not machine:
        print_problems(Problems(report.problems), out=sys.stderr, summary=False)
    return rc


def _must_exist(path: str, what: str) -> None:
    if not Path(path).exists():
        raise UsageError(t("{what} {path} does not exist", what=what, path=clean(path)))


def cmd_bundle_build(args) -> int:
    _must_exist(args.src, t("bundle source folder"))
    b = bundle.build(Path(args.src), Path(args.output), Path(args.sign) if args.sign else None)
    print(f"built {args.output}: {b.id}, {len(b.files)} files, {human_bytes(b.total_bytes)}{', signed' if args.sign else ''}")
    return EXIT_OK


def cmd_bundle_verify(args) -> int:
    _must_exist(args.bundle, t("bundle"))
    b = bundle.verify(Path(args.bundle), Path(args.pubkey) if args.pubkey else None)
    sig = "signature verified" if args.pubkey else ("signed, not checked (give --pubkey)" if b.signed else "unsigned")
    print(f"{args.bundle}: {b.id}, {len(b.files)} files intact, {sig}")
    return EXIT_OK


def cmd_bundle_add_debs(args) -> int:
    names = bundle.add_debs(Path(args.bundle), args.packages, Path(args.sign) if args.sign else None)
    print(f"added {len(names)} packages to {args.bundle}: {' '.join(names)}")
    return EXIT_OK


def add_commands(sub) -> None:
    remote = add_remote_options

    p = sub.add_parser("push", help="send each node the bundles its roles need")
    remote(p)
    add_bundle_options(p)
    p.add_argument("--parallel", type=int, default=4, help="nodes at once (default: %(default)s)")
    add_transfer_options(p)
    add_output_options(p)
    p.add_argument("--break-lock", action="store_true", help="take over a stale site lock (its process is gone)")
    p.set_defaults(func=cmd_push)

    b = sub.add_parser("bundle", help="build, verify and fill offline bundles")
    bsub = b.add_subparsers(dest="bundle_command", metavar="ACTION", required=True, help="what to do with a bundle")
    p = bsub.add_parser("build", help="make a bundle from a folder with bundle.yaml")
    p.add_argument("src", help="the source folder (with bundle.yaml)")
    p.add_argument("-o", "--output", required=True, help="output folder, or a .tar file")
    p.add_argument("--sign", metavar="KEY", help="ed25519 private key to sign the manifest with")
    p.set_defaults(func=cmd_bundle_build)
    p = bsub.add_parser("verify", help="check sizes, hashes and (with --pubkey) the signature")
    p.add_argument("bundle", help="a bundle folder or .tar")
    p.add_argument("--pubkey", help="trusted ed25519 public key: the bundle must be signed with it")
    p.set_defaults(func=cmd_bundle_verify)
    p = bsub.add_parser("add-debs", help="add Debian packages and their dependencies (apt)")
    p.add_argument("bundle", help="a bundle folder (built with onsite bundle build)")
    p.add_argument("packages", nargs="+", help="Debian package names")
    p.add_argument("--sign", metavar="KEY", help="ed25519 private key to sign the updated manifest with")
    p.set_defaults(func=cmd_bundle_add_debs)


__all__ = ["add_commands"]
