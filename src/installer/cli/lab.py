"""`onsite lab up|down|reset|status`: the front end of installer.lab."""

from __future__ import annotations

import json
import sys
import time

from ..lab.netns import DEFAULT_NAME, DEFAULT_SUBNET, HOST_KEY_TYPES, SSHD_KINDS, SUDO_MODES, Lab, LabError, ServerKind
from ..model.i18n import m
from ..model.problems import Problem, ProblemError


def _lab(args) -> Lab:
    return Lab(args.state_dir, name=args.name)


def _fail(exc: LabError) -> ProblemError:
    return ProblemError(Problem(message=exc.message, hint=exc.hint, code="lab"), exit_code=exc.exit_code)


def cmd_up(args) -> int:
    lab = _lab(args)
    t0 = time.monotonic()
    try:
        kind = ServerKind(sshd=args.sshd, host_keys=tuple(args.host_keys.split(",")), pin=args.pin or "",
                          ciphers=args.ciphers or "", noisy=args.noisy_shell, sudo_user=args.sudo_user or "",
                          sudo=args.sudo, shell=args.login_shell or "")
        made = lab.up(nodes=args.nodes, subnet=args.subnet, password_user=args.password_user, servers=kind)
    except LabError as exc:
        raise _fail(exc) from None
    took = time.monotonic() - t0
    print(("lab up" if made else "lab already up") + f": {len(lab.nodes)} nodes on {lab.subnet} (gateway {lab.gateway})"
          + (f" in {took:.1f} s" if made else ""))
    for n in lab.nodes:
        print(f"  {n.name:<8} {n.address:<15} {n.host_key}" + (f"  ({lab.kind(n).describe()})" if n.server else ""))
    print(f"answer file: {lab.answer_file}")
    print(f"ssh key:     {lab.key_file}  (ssh -i {lab.key_file} -o UserKnownHostsFile={lab.known_hosts} root@{lab.nodes[0].address})")
    if lab.password_user:
        print(f"password user {lab.password_user}: password in {lab.secret_file('ssh-' + lab.password_user)}")
    print(f"next:        onsite plan {lab.answer_file}")
    return 0


def cmd_down(args) -> int:
    lab = _lab(args)
    try:
        removed = lab.down()
    except LabError as exc:
        raise _fail(exc) from None
    print("lab down: " + (", ".join(removed) if removed else "nothing was up"))
    return 0


def cmd_reset(args) -> int:
    lab = _lab(args)
    if not lab.nodes:
        raise _fail(LabError(m("no lab {name} is up", name=lab.name), m("run `onsite lab up` first")))
    t0 = time.monotonic()
    try:
        old = lab.node(args.node).host_key
        n = lab.reset(args.node)
    except LabError as exc:
        raise _fail(exc) from None
    print(f"lab reset: {n.name} ({n.address}) is a fresh server in {time.monotonic() - t0:.1f} s: processes stopped, "
          "disk wiped, new host key")
    print(f"  host key was {old}")
    print(f"  host key now {n.host_key}")
    print(f"next:        onsite node replace {lab.answer_file} {n.name}")
    return 0


def cmd_status(args) -> int:
    lab = _lab(args)
    rows = lab.status()
    if args.format == "json":
        json.dump({"name": lab.name, "subnet": lab.subnet, "nodes": rows}, sys.stdout, indent=2)
        print()
    elif not rows:
        print("no lab is up (onsite lab up)")
    else:
        print(f"lab {lab.name} on {lab.subnet}, answer file {lab.answer_file}")
        for r in rows:
            state = "up, ssh ok" if r["ssh"] else ("up, ssh DOWN" if r["up"] else "DOWN")
            print(f"  {r['name']:<8} {r['address']:<15} {state}")
    return 0 if rows and all(r["ssh"] for r in rows) else 1


def add_commands(sub) -> None:
    lab = sub.add_parser("lab", help="a lab of real nodes on this machine (needs root)")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True, help="what to do with the lab")

    def common(p):
        p.add_argument("--state-dir", help="where the lab keeps its state (default: $ONSITE_LAB_DIR or /var/lib/onsite/lab)")
        p.add_argument("--name", default=DEFAULT_NAME, help="lab name, for several labs side by side (default: %(default)s)")

    p = lab_sub.add_parser("up", help="create the nodes and write a ready answer file")
    p.add_argument("--nodes", type=int, default=4, help="how many nodes (default: %(default)s)")
    p.add_argument("--subnet", default=DEFAULT_SUBNET, help="the lab's subnet (default: %(default)s, an RFC 2544 test range)")
    p.add_argument("--password-user", metavar="USER", help="also create USER with a password on every node")
    g = p.add_argument_group("servers as customers have them (every node; the default is the lab's own friendly sshd)")
    g.add_argument("--sshd", choices=SSHD_KINDS, default="lab",
                   help="stock: Debian's default sshd_config (MaxSessions 10); hardened: MaxSessions 1, AES-256, "
                        "HMAC-SHA2-512, DH group16/18 or ECDH, RSA host key only")
    g.add_argument("--host-keys", default="ed25519", metavar="TYPES",
                   help=f"host key types, comma-separated, from {','.join(HOST_KEY_TYPES)} (hardened: rsa)")
    g.add_argument("--pin", choices=HOST_KEY_TYPES, help="the host key type the answer file pins (default: the first)")
    g.add_argument("--ciphers", metavar="LIST", help="a hardened sshd's Ciphers line (default: aes256-gcm@openssh.com,aes256-ctr)")
    g.add_argument("--noisy-shell", action="store_true", help="the login shell prints a notice on every command")
    g.add_argument("--sudo-user", metavar="USER", help="log in as USER (the lab's key) and become root with sudo")
    g.add_argument("--sudo", choices=SUDO_MODES, default="nopasswd",
                   help="the sudo user's rule: nopasswd, password (asked every time), requiretty (password and a terminal)")
    g.add_argument("--login-shell", metavar="PATH", help="the login shell of root and the sudo user, e.g. /bin/dash")
    common(p)
    p.set_defaults(func=cmd_up)

    p = lab_sub.add_parser("down", help="remove everything the lab made")
    common(p)
    p.set_defaults(func=cmd_down)

    p = lab_sub.add_parser("reset", help="reinstall one node as a fresh server (empty disk, new host key)")
    p.add_argument("node", help="the node's name, e.g. node2")
    common(p)
    p.set_defaults(func=cmd_reset)

    p = lab_sub.add_parser("status", help="what is up (exit 1 if a node is down)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout")
    common(p)
    p.set_defaults(func=cmd_status)
