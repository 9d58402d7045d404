"""`onsite switchover FILE WHAT [--to NODE]`: a planned move of a leader.

WHAT is what the deployer moves, as the site's bundles offer it (the
reference bundle: `postgres`, `redis`, `vip:NAME`): the engine runs the
bundle's `operations: {switchover: [...]}` steps whose `what:` patterns
match it (ONSITE_OP_WHAT), with ONSITE_OP_TO the named node or empty (then
the bundle's scripts pick the healthiest other member). The target is
checked healthy first and the result verified by the scripts; `onsite
verify` runs afterwards. A WHAT no bundle offers is refused (exit 2) naming
what they offer.
"""

from __future__ import annotations

import sys

from ..engine.day2 import Day2Options
from ..engine.lifecycle import EXIT_INVALID
from ..model.i18n import t
from ..model.problems import Problem, show
from .common import load_valid, print_problems
from .day2 import add_day2_options, run_operation

VIP_PREFIX = "vip:"  # the answer file's VIPs, by name: vip:NAME


def cmd_switchover(args) -> int:
    what = args.what.strip()
    if what.startswith(VIP_PREFIX):
        loaded = load_valid(args.file, getattr(args, "format", "text"))
        if isinstance(loaded, int):
            return loaded
        names = [v.name for v in loaded.plan.vips]
        if what[len(VIP_PREFIX):] not in names:
            print_problems([Problem(
                message=t("{what}: the answer file has no such VIP", what=show(what)),
                hint=t("its VIPs: {vips}", vips=", ".join(VIP_PREFIX + n for n in names) or "-"), code="usage")],
                out=sys.stderr, summary=False)
            return EXIT_INVALID
    code, _, _ = run_operation(args, "switchover", verb="switchover", options=Day2Options(what=what, to=args.to))
    return code


def add_commands(sub) -> None:
    p = sub.add_parser("switchover", help="move a leader (a database's, a VIP's) to another node on purpose, checked and verified")
    add_day2_options(p)  # FILE first
    p.add_argument("what", metavar="WHAT",
                   help="what to move, as the site's bundles offer it (vip:NAME for a VIP of the answer file; "
                        "a WHAT they do not offer is refused, listing what they offer)")
    p.add_argument("--to", metavar="NODE",
                   help="the node to move it to (checked healthy first); default: the healthiest other member")
    p.set_defaults(func=cmd_switchover)


__all__ = ["add_commands"]
