"""`onsite lab up|down|status`: the front end of installer.lab."""

from __future__ import annotations

import json
import sys
import time

from ..lab.netns import DEFAULT_NAME, DEFAULT_SUBNET, Lab, LabError
from ..model.problems import Problem, ProblemError


def _lab(args) -> Lab:
    return Lab(args.state_dir, name=args.name)


def _fail(exc: LabError) -> ProblemError:
    return ProblemError(Problem(message=exc.message, hint=exc.hint, code="lab"), exit_code=exc.exit_code)


def cmd_up(args) -> int:
    lab = _lab(args)
    t0 = time.monotonic()
    try:
        made = lab.up(nodes=args.nodes, subnet=args.subnet, password_user=args.password_user)
    except LabError as exc:
        raise _fail(exc) from None
    took = time.monotonic() - t0
    print(("lab up" if made else "lab already up") + f": {len(lab.nodes)} nodes on {lab.subnet} (gateway {lab.gateway})"
          + (f" in {took:.1f} s" if made else ""))
    for n in lab.nodes:
        print(f"  {n.name:<8} {n.address:<15} {n.host_key}")
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
    common(p)
    p.set_defaults(func=cmd_up)

    p = lab_sub.add_parser("down", help="remove everything the lab made")
    common(p)
    p.set_defaults(func=cmd_down)

    p = lab_sub.add_parser("status", help="what is up (exit 1 if a node is down)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout")
    common(p)
    p.set_defaults(func=cmd_status)
