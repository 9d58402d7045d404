"""The headless front end: `onsite COMMAND ...` (exit codes: cli/common.py, README).

No traceback reaches the user: problems are printed with their place and a
hint; unexpected exceptions go to a crash log.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..model import answerfile, validate, yamlio
from ..model.problems import Problem, ProblemError, clean
from ..model.profile import ProfileNotFound, available_profiles, load_profile
from ..model.resources import data_path, data_root
from .common import (
    CRASH_FOLDER,
    EXIT_ENVIRONMENT,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    Parser,
    UsageError,
    configure_logging,
    crash_log,
    find_bundles,
    load_valid,
    print_problems,
    safe_output,
    say,
)

# -- commands ----------------------------------------------------------------


def cmd_init(args) -> int:
    try:
        profile = load_profile(args.profile)
    except ProfileNotFound:
        raise UsageError(f"unknown profile {args.profile!r}; available: {', '.join(available_profiles())}") from None
    from ..model.ipplan import IpPlanError

    try:
        plan = answerfile.starting_plan(profile, site=args.site, subnet=args.subnet, gateway=args.gateway,
                                        first=args.first, key=args.key)
    except (IpPlanError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.output in (None, "-"):
        sys.stdout.write(answerfile.render(plan, profile))
        return EXIT_OK
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"{clean(str(out))} is a folder; name the file to write, e.g. {clean(str(out / 'site.yaml'))}")
    if not out.parent.is_dir():
        raise UsageError(f"folder {clean(str(out.parent))} does not exist; create it first, or name a file in an existing folder")
    if (out.exists() or out.is_symlink()) and not args.force:
        raise UsageError(f"{clean(str(out))} exists; use --force to overwrite it")
    answerfile.write_new(plan, out, profile)
    say(f"wrote {out}; edit it for the site, then run: onsite validate {out}", file=sys.stderr)
    return EXIT_OK


def cmd_validate(args) -> int:
    if args.file == "-":  # the answer file on stdin, at most the size limit (+1 to tell there is more)
        try:
            doc = yamlio.read_bytes(sys.stdin.buffer.read(yamlio.MAX_ANSWER_FILE_BYTES + 1), "<stdin>")
        except ProblemError as exc:
            result = validate.Validation(problems=exc.problems)
        else:
            result = validate.validate_document(doc)
    else:
        result = validate.validate_file(args.file)
    print_problems(result.problems, args.format)
    if args.format == "text" and result.ok:
        w = len(result.problems.warnings)
        say(f"{args.file}: valid" + (f" ({w} warning{'s' * (w != 1)})" if w else ""))
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_plan(args) -> int:
    from ..model.planner import node_views

    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    plan, profile = loaded.plan, loaded.profile
    assert plan is not None and profile is not None
    views = node_views(plan, profile)
    if args.format == "json":
        from ..engine.steps import instances, load_steps

        bundles = find_bundles(args)
        insts = instances(plan, load_steps(bundles, set(profile.roles)))
        nodes = [{**v.to_json(), "steps": [i.step.id for i in insts if i.node == v.name]} for v in views]
        json.dump({"site": plan.site_name, "profile": profile.name, "plan_hash": plan.fingerprint(),
                   "bundles": [b.id for b in bundles], "nodes": nodes}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print_problems(loaded.problems, summary=False)
    from ..engine.steps import instances, load_steps

    bundles = find_bundles(args)
    steps_of: dict[str, list[str]] = {}
    for inst in instances(plan, load_steps(bundles, set(profile.roles))):
        steps_of.setdefault(inst.node, []).append(inst.step.id)
    say(f"site {plan.site_name} · profile {profile.name} {profile.version} · subnet {plan.subnet} via {plan.gateway}")
    for v in views:
        say(f"\n{v.name}  {v.slot} {v.address} on {v.nic}")
        say(f"  roles:      {', '.join(v.roles)}")
        if v.vips:
            held = ", ".join(f"{h.slot} {h.address} ({h.vip}, priority {h.priority}{', backup' if h.backup else ''})" for h in v.vips)
            say(f"  VIPs:       {held}")
        if v.ports:
            ports = ", ".join(f"{p.port}/{p.protocol} {p.component}.{p.name}" for p in v.ports)
            say(f"  ports:      {ports}")
        if v.external:
            say(f"  external:   {', '.join(v.external)}")
        if bundles:
            say(f"  steps:      {', '.join(steps_of.get(v.name, [])) or 'none'}")
    if bundles:
        say(f"\nbundles: {', '.join(b.id for b in bundles)}")
    else:
        say("\nsteps: none (no bundles: name them with --bundle, or put them in bundles/ next to the answer file)")
    return EXIT_OK


OUTPUT_SCHEMAS = ("install", "preflight", "verify", "push", "status", "events", "uninstall")


def cmd_schema(args) -> int:
    if args.output:
        sys.stdout.write(data_path("schemas", "cli", f"{args.output}.schema.json").read_text(encoding="utf-8"))
        return EXIT_OK
    json.dump(validate.answer_file_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_completion(args) -> int:
    from .completion import script

    sys.stdout.write(script(build_parser(), args.shell))
    return EXIT_OK


def cmd_wizard(args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("onsite wizard: needs a terminal (it is driven by the keyboard); for an unattended run use "
              "`onsite install FILE`", file=sys.stderr)
        return EXIT_ENVIRONMENT
    from ..tui.app import run

    return run(Path(args.file) if args.file else None, [Path(b) for b in args.bundle] if args.bundle else None)


def cmd_version(args) -> int:
    print(f"onsite {__version__}")
    for name in available_profiles():
        p = load_profile(name)
        print(f"profile {p.name} {p.version}: {p.title}")
    print(f"data: {data_root()}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="onsite", description="Plan, push and install a multi-node highly available system.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print versions and where data is read from")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v: what onsite decides and sees (host keys, choices, timings) on stderr; "
                             "-vv: also the SSH library's debug log")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND", help="what to do (onsite COMMAND --help)")

    p = sub.add_parser("init", help="write a starting answer file that validates")
    p.add_argument("-o", "--output", help="file to write (default: print to stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--profile", default="reference", help="the product profile (default: %(default)s; onsite --version lists them)")
    p.add_argument("--site", default="my-site", help="the site's name")
    p.add_argument("--subnet", default="198.18.0.0/24", help="the nodes' subnet (default: %(default)s)")
    p.add_argument("--gateway", help="the gateway (default: the subnet's first address)")
    p.add_argument("--first", help="the first address to hand out (default: gateway + 10)")
    p.add_argument("--key", default="~/.ssh/id_ed25519", help="SSH private key for all nodes")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("validate", help="check an answer file; exit 0 valid, 2 invalid")
    p.add_argument("file", help="the answer file, or - to read it from stdin")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: every problem as JSON on stdout")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="show per node the roles, ports, VIPs and steps (no network)")
    p.add_argument("file", help="the answer file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout")
    p.add_argument("--bundle", action="append", metavar="PATH", help="a bundle folder (default: bundles/* next to the answer file)")
    p.add_argument("--pubkey", help="trusted ed25519 public key: every bundle must be signed with it")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("schema", help="print the answer file's JSON Schema, or (--output) a command's JSON output schema")
    p.add_argument("--output", metavar="COMMAND", choices=OUTPUT_SCHEMAS,
                   help=f"the schema of COMMAND --format json ({', '.join(OUTPUT_SCHEMAS)}; events: --events jsonl)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    p.set_defaults(func=cmd_completion)

    p = sub.add_parser("wizard", help="the interactive wizard (also: onsite with no arguments, in a terminal)")
    p.add_argument("file", nargs="?", help="an answer file to open (or to create)")
    p.add_argument("--bundle", action="append", metavar="PATH", help="a bundle folder (default: bundles/* next to the answer file)")
    p.set_defaults(func=cmd_wizard)

    _add_optional_commands(sub)
    document(sub)
    return parser


EPILOG = """exit codes: 0 ok, 1 failed (or the site is locked), 2 invalid input, 3 this machine cannot,
70 internal error (a crash log is named), 130 interrupted.

example:
  onsite init -o site.yaml && onsite validate site.yaml && onsite install site.yaml"""

# The example that ends `onsite COMMAND --help`, by command path.
EXAMPLES = {
    "init": "onsite init -o site.yaml --site campus-north --subnet 10.20.30.0/24",
    "validate": "onsite validate site.yaml --format json",
    "plan": "onsite plan site.yaml --bundle bundles/reference",
    "schema": "onsite schema --output install > install.schema.json",
    "completion": "onsite completion bash > /etc/bash_completion.d/onsite",
    "wizard": "onsite wizard site.yaml",
    "install": "onsite install site.yaml --accept-new-host-keys    (again after a stop: --resume)",
    "preflight": "onsite preflight site.yaml --format json",
    "verify": "onsite verify site.yaml -o reports/",
    "status": "onsite status site.yaml",
    "support-bundle": "onsite support-bundle site.yaml -o support.tar.gz",
    "push": "onsite push site.yaml --bundle bundles/reference --relay",
    "bundle": "onsite bundle build bundles/reference -o out/reference",
    "bundle build": "onsite bundle build bundles/reference -o out/reference --sign signing.key",
    "bundle verify": "onsite bundle verify out/reference --pubkey signing.key.pub",
    "bundle add-debs": "onsite bundle add-debs out/mybundle nginx curl",
    "lab": "onsite lab up && onsite install /var/lib/onsite/lab/lab.yaml",
    "lab up": "onsite lab up --nodes 4 --subnet 198.18.0.0/24",
    "lab down": "onsite lab down",
    "lab status": "onsite lab status --format json",
    "uninstall": "onsite uninstall site.yaml --keep-data --yes    (one node: --only node2; after a stop: --resume)",
}


def document(sub, prefix: str = "") -> None:
    """Every subcommand: its summary as the description, an example at the
    end of its --help; recursively for bundle and lab."""
    for name, p in sub.choices.items():
        path = f"{prefix}{name}"
        help_text = next((a.help for a in sub._choices_actions if a.dest == name), "") or ""
        p.description = p.description or (help_text[:1].upper() + help_text[1:] + "." if help_text else None)
        p.epilog = f"example:\n  {EXAMPLES.get(path, 'onsite ' + path + ' --help')}"
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        if not any("-v" in a.option_strings for a in p._actions):  # -v after the command works too
            p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                           help="-v: decisions, host keys and timings on stderr; -vv: also the SSH library's log")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                document(action, path + " ")


def _add_optional_commands(sub) -> None:
    """Commands that live in their own modules (kept out of start-up)."""
    from . import install as cli_install
    from . import lab as cli_lab
    from . import remote as cli_remote
    from . import uninstall as cli_uninstall

    cli_remote.add_commands(sub)
    cli_install.add_commands(sub)
    cli_lab.add_commands(sub)
    cli_uninstall.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    safe_output()
    CRASH_FOLDER.clear()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        configure_logging(args.verbose)
        if args.version:
            return cmd_version(args)
        if not args.command:
            if sys.stdin.isatty() and sys.stdout.isatty():
                from ..tui.app import run

                return run()
            parser.print_help()
            return EXIT_OK
        return args.func(args)
    except UsageError as exc:
        say(f"{exc}\n(run `onsite --help` or `onsite COMMAND --help`)", file=sys.stderr)
        return EXIT_INVALID
    except ProblemError as exc:
        print_problems(exc.problems, out=sys.stderr, summary=False)
        return getattr(exc, "exit_code", EXIT_FAILED)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        path = crash_log(exc)
        print(f"onsite: internal error: {type(exc).__name__}. This is a bug; the details are in {path}", file=sys.stderr)
        return EXIT_INTERNAL


__all__ = ["main", "print_problems", "Problem"]
