"""`onsite node replace FILE NODE`: put a reinstalled or swapped node back
into the installed site (installer.engine.replace has the how).

The node's new host key: onsite connects to the node, and when it presents
another key than the one pinned, shows both and pins the new one into the
answer file (FILE.bak keeps the previous version) only once it is
confirmed; a changed key is never accepted silently, and `--yes` (which
confirms the operation's steps) does not confirm a key. Confirmed by:
  - a y/N question on a terminal, after the fingerprints are shown;
  - `--host-key SHA256:...`: the fingerprint read on the node's console;
    a node presenting another key is refused (exit 1);
  - `--accept-new-host-key NODE`: whatever key NODE presents now (the
    node's name again, so that a flag copied into a script for one node
    cannot accept the key of another).
Without a terminal and without either flag a changed key ends the command
with exit 2 and names both flags.

Exit codes: 0 the node is back and verify passed; 1 a step, a check
(quorum, good data) or verify failed, or the node presents another key
than --host-key; 2 wrong input (no such node, a changed key not
confirmed headless, the plan changed beyond the node's host key); 3, 70,
130 as every command.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..engine.day2 import Day2Options
from ..engine.lifecycle import EXIT_FAILED, EXIT_INVALID
from ..engine.replace import OPERATION, replace_lifecycle
from ..model import answerfile
from ..model.i18n import t
from ..model.problems import Problem, Problems, show
from ..remote.connections import Connections
from ..remote.transport import TransportError
from .common import Pinning, load_valid, print_problems, prompt, say
from .day2 import add_day2_options, run_operation


def _refuse(args, message: str, hint: str, code: int = EXIT_INVALID, kind: str = "usage") -> int:
    """A refusal before the operation: text on stderr, or with --format json
    the problems document (as `onsite validate --format json`) on stdout."""
    problems = Problems([Problem(message=message, hint=hint, code=kind)])
    if getattr(args, "format", "text") == "json":
        print_problems(problems, "json", sys.stdout)
    else:
        print_problems(problems, out=sys.stderr, summary=False)
    return code


def presented_key(args, loaded, node: str) -> tuple[str | None, str | None]:
    """(the key the node presents when it differs from the pin, else None;
    a message when the node cannot be reached). A node that presents the
    pinned key is left for the operation's own connections."""
    conns = Connections(loaded.plan, Pinning(False), prompt=prompt, known_hosts=args.known_hosts)
    try:
        t = conns.get(node)
    except TransportError as exc:
        if exc.kind == "host-key-changed":
            return exc.details.get("seen"), None
        return None, exc.message
    try:
        t.close()
    except Exception:  # noqa: BLE001 - closing a probe connection
        pass
    return None, None


def confirm_key(args, loaded, node: str) -> int | None:
    """Pin the node's new host key once confirmed; None: go on; else the exit code."""
    pinned = loaded.plan.node(node).ssh.host_key
    if getattr(args, "dry_run", False):
        say(t("would compare the host key {node} presents with the pinned one ({key}) and ask before pinning a new one",
              node=node, key=pinned or "-"), file=sys.stderr)
        return None
    seen, unreachable = presented_key(args, loaded, node)
    if unreachable:
        return None  # the operation's reachability check says it with its remedy
    if seen is None:
        return None
    say(t("{node} presents a NEW host key (it was reinstalled or swapped):", node=node), file=sys.stderr)
    say(t("  pinned:   {key}", key=pinned), file=sys.stderr)
    say(t("  presents: {key}", key=seen), file=sys.stderr)
    if args.host_key:
        if args.host_key != seen:
            return _refuse(args, t("{node} presents {seen}, not the key given with --host-key ({given})", node=node,
                             seen=seen, given=show(args.host_key)),
                           t("stop: another machine may answer in the node's place; read the fingerprint on the "
                             "node's console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and compare"),
                           EXIT_FAILED, "host-key-mismatch")
        ok = True
    elif args.accept_new_host_key:
        if args.accept_new_host_key != node:
            return _refuse(args, t("--accept-new-host-key {given} names another node than {node}",
                             given=show(args.accept_new_host_key), node=node),
                           t("name the node being replaced: --accept-new-host-key {node}", node=node))
        ok = True
    elif sys.stdin.isatty():
        say(t("compare it with the node's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"), file=sys.stderr)
        try:
            answer = input(t("pin {key} as {node}'s host key? [y/N] ", key=seen, node=node))
        except EOFError:
            answer = ""
        ok = answer.strip().lower() in ("y", "yes")
        if not ok:
            return _refuse(args, t("the new host key of {node} was not confirmed: nothing was changed", node=node),
                           t("run again once the fingerprint is checked on the node's console"), EXIT_FAILED,
                           "host-key")
    else:
        return _refuse(args, t("{node} presents a new host key {seen} (pinned: {pinned}) and there is no terminal to "
                         "confirm it on", node=node, seen=seen, pinned=pinned),
                       t("check the fingerprint on the node's console, then add --host-key {seen} (or "
                         "--accept-new-host-key {node}); --yes alone never accepts a changed host key",
                         seen=seen, node=node), EXIT_INVALID, "host-key")
    if ok:
        path = Path(args.file)
        loaded.plan.node(node).ssh.host_key = seen
        shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
        answerfile.write(loaded.plan, path, loaded.profile)
        say(t("pinned host key of {node}: {key} in {file} (previous version: {backup})", node=node, key=seen,
              file=str(path), backup=path.name + ".bak"), file=sys.stderr)
    return None


def cmd_replace(args) -> int:
    loaded = load_valid(args.file, getattr(args, "format", "text"))
    if isinstance(loaded, int):
        return loaded
    names = [n.name for n in loaded.plan.nodes]
    if args.node not in names:
        return _refuse(args, t("NODE {node}: no such node in the plan", node=show(args.node)),
                       t("nodes: {names}", names=", ".join(names)))
    if args.only:
        return _refuse(args, t("--only does not apply to node replace: NODE names the node, and the survivors "
                               "the bundle's steps work through are chosen by the steps"),
                       t("leave --only out: onsite node replace FILE NODE"))
    if args.accept_new_host_key and args.host_key:
        return _refuse(args, t("--accept-new-host-key and --host-key both given"), t("give one: --host-key is the safer"))
    code = confirm_key(args, loaded, args.node)
    if code is not None:
        return code
    code, _op, _outcome = run_operation(args, OPERATION, verb="node replace",
                                        options=Day2Options(target=args.node), lifecycle=replace_lifecycle(
                                            verify=not args.no_verify))
    return code


def add_commands(sub) -> None:
    node = sub.add_parser("node", help="work on one node of an installed site")
    node_sub = node.add_subparsers(dest="node_command", metavar="ACTION", required=True, help="what to do")
    p = node_sub.add_parser("replace", help="put a reinstalled or swapped node (empty disk, new host key) back "
                                            "into the installed site")
    add_day2_options(p)
    p.add_argument("node", help="the node's name in the answer file")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--host-key", metavar="SHA256:...",
                   help="the node's new host key fingerprint, as read on its console (pinned when it matches)")
    g.add_argument("--accept-new-host-key", metavar="NODE",
                   help="pin whatever host key NODE presents now (name the replaced node again); --yes never does")
    p.set_defaults(func=cmd_replace)


__all__ = ["add_commands", "cmd_replace"]
