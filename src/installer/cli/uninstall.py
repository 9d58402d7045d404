"""`onsite uninstall FILE [--only NODE] [--keep-data]`: take the install
off the nodes (installer.engine.uninstall), after a confirmation.

Exit codes: 0 uninstalled and nothing left; 1 a step failed, something was
left (named per node), a node could not be reached, or the site is locked;
2 invalid input (answer file, NODE, no bundle declaring `uninstall`, an
unfinished uninstall without --resume/--restart, no terminal and no --yes);
130 interrupted (continue with --resume).
"""

from __future__ import annotations

from ..engine.day2 import Day2Options
from ..engine.uninstall import OPERATION, uninstall_lifecycle
from ..model.i18n import t
from .common import UsageError
from .day2 import add_day2_options, run_operation


def cmd_uninstall(args) -> int:
    only = args.only or []
    if len(only) > 1:
        raise UsageError(t("uninstall --only takes one node ({count} given): uninstall them one at a time, or the whole site "
                           "without --only", count=len(only)))
    options = Day2Options(target=only[0] if only else None, keep_data=args.keep_data, needs_install=False)
    code, _, _ = run_operation(args, OPERATION, verb="uninstall", options=options, lifecycle=uninstall_lifecycle())
    return code


def add_commands(sub) -> None:
    p = sub.add_parser("uninstall", help="remove what the install put on the nodes, and prove nothing is left")
    p.add_argument("--keep-data", action="store_true",
                   help="keep the data folders the profile names (the databases' and stores') and the users owning "
                        "them: an install afterwards comes back with the data")
    add_day2_options(p)  # its --only NODE: this node only (refused when a cluster would lose its quorum)
    p.set_defaults(func=cmd_uninstall)


__all__ = ["add_commands", "cmd_uninstall"]
