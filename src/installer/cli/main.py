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
from ..model import answerfile, ipsheet, validate, yamlio
from ..model.i18n import LANGUAGES, m, set_language, t
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
    counted,
    crash_log,
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
        raise UsageError(t("unknown profile {profile}; available: {profiles}", profile=repr(args.profile),
                           profiles=", ".join(available_profiles()))) from None
    from ..model.ipplan import IpPlanError

    out = _init_target(args)
    sheet = None
    subnet, gateway = args.subnet, args.gateway
    if args.from_sheet:
        sheet = ipsheet.read(args.from_sheet, args.sheet)  # a file that is no sheet: ProblemError, exit 2
        if not sheet.ok:
            print_problems(sheet.problems, out=sys.stderr)
            say(t("{sheet}: not imported; fix the cells named above and run again", sheet=args.from_sheet), file=sys.stderr)
            return EXIT_INVALID
        print_problems(sheet.problems, out=sys.stderr, summary=False)  # warnings (rows without a slot)
        if subnet is None and sheet.subnet is None:
            raise UsageError(t("{sheet} gives no subnet mask: add a column such as Netmask or 子网掩码 (e.g. 255.255.255.0), "
                               "or name the subnet with --subnet", sheet=clean(args.from_sheet)))
        for option, given, says in (("--subnet", subnet, sheet.subnet), ("--gateway", gateway, sheet.gateway)):
            if given and says and _normal(given) != says:
                raise UsageError(t("{option} {given} differs from the sheet's {says} ({cell}); leave out {option} or correct the sheet",
                                   option=option, given=clean(given), says=says, cell=sheet.sources.get(option[2:])))
        subnet = subnet or sheet.subnet
        gateway = gateway or sheet.gateway
    try:
        plan = answerfile.starting_plan(profile, site=args.site, subnet=subnet or "198.18.0.0/24", gateway=gateway,
                                        first=args.first, key=args.key)
    except (IpPlanError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if sheet is None:
        text = answerfile.render(plan, profile, name=out.name if out else "FILE")
        return _init_write(out, text, args)
    data = plan.to_data()
    data["ips"] = {}  # only what the sheet says: a slot it lacks stays missing, never invented
    items = ipsheet.changes(data, sheet)
    ipsheet.apply(data, items)
    for c in items:
        say(t("from the sheet: {change}", change=c.render()), file=sys.stderr)
    result = validate.validate_data(data, str(out) if out else None)
    missing = ipsheet.missing_slots(sheet, profile.slots)
    if result.ok:
        text = answerfile.render(result.plan, result.profile or profile, name=out.name if out else "FILE")
        return _init_write(out, text, args)
    lines = [f"#   {p.render()}".replace("\n", "\n#   ") for p in result.problems.errors]
    text = ("# onsite answer file: a DRAFT from the IP sheet, not valid yet. Fill in what is missing"
            + (f" ({', '.join(missing)})" if missing else "") + ",\n# then run onsite validate. What is missing or wrong:\n"
            + "\n".join(lines) + "\n" + yamlio.dump(data))
    code = _init_write(out, text, args)
    if code != EXIT_OK:
        return code
    print_problems(result.problems, out=sys.stderr)
    say(t("{file} is a draft: the sheet lacks {missing}", file=out or t("the answer file"),
          missing=", ".join(missing) if missing else t("what is named above")), file=sys.stderr)
    return EXIT_INVALID


def _read_answer_file(path: str):
    """The answer file as data; one that cannot be read is invalid input (exit 2)."""
    try:
        return yamlio.read_file(path)
    except ProblemError as exc:
        exc.exit_code = EXIT_INVALID
        raise


def _normal(text: str) -> str:
    """An address or subnet as the sheet reader writes it (10.20.30.5/24 -> 10.20.30.0/24)."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(text, strict=False)) if "/" in text else str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _init_target(args) -> Path | None:
    if args.output in (None, "-"):
        return None
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(t("{path} is a folder; name the file to write, e.g. {example}", path=clean(str(out)),
                           example=clean(str(out / 'site.yaml'))))
    if not out.parent.is_dir():
        raise UsageError(t("folder {folder} does not exist; create it first, or name a file in an existing folder",
                           folder=clean(str(out.parent))))
    if (out.exists() or out.is_symlink()) and not args.force:
        raise UsageError(t("{path} exists; use --force to overwrite it", path=clean(str(out))))
    return out


def _init_write(out: Path | None, text: str, args) -> int:
    if out is None:
        sys.stdout.write(text)
        return EXIT_OK
    answerfile.write_text(out, text)
    say(t("wrote {path}; edit it for the site, then run: onsite validate {path}", path=out), file=sys.stderr)
    return EXIT_OK


def cmd_sheet(args) -> int:
    """Show what an IP sheet says, or (with an answer file) what it changes
    there; --apply writes the change into the file in place (comments kept,
    the previous version kept as FILE.bak)."""
    sheet = ipsheet.read(args.sheet_file, args.sheet)
    doc_data = None
    items: list[ipsheet.Change] = []
    if args.file:
        doc = _read_answer_file(args.file)
        if not isinstance(doc.data, dict):
            raise ProblemError(Problem(message=m("not an answer file (expected `key: value` sections)"), file=args.file,
                                       hint=m("name a file written by onsite init or the wizard")), exit_code=EXIT_INVALID)
        doc_data = doc.data
        if sheet.ok:
            items = ipsheet.changes(doc_data, sheet)
    applied = False
    if args.apply and sheet.ok and items and doc_data is not None:
        import copy
        import shutil

        new = copy.deepcopy(doc_data)
        ipsheet.apply(new, items)
        path = Path(args.file)
        shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
        answerfile.rewrite(path, doc_data, new)
        applied = True
    after = validate.validate_file(args.file) if applied else None
    if args.format == "json":
        json.dump({"ok": sheet.ok, "sheet": sheet.to_json(), "changes": [c.to_json() for c in items], "applied": applied,
                   "valid": after.ok if after is not None else None,
                   "problems": [p.to_json() for p in sheet.problems.sorted()]
                   + ([p.to_json() for p in after.problems.sorted()] if after is not None else [])},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK if sheet.ok and (after is None or after.ok) else EXIT_INVALID
    print_problems(sheet.problems, out=sys.stderr, summary=not sheet.ok)
    if not sheet.ok:
        say(t("{sheet}: not imported; fix the cells named above", sheet=args.sheet_file), file=sys.stderr)
        return EXIT_INVALID
    say(f"{args.sheet_file} · sheet {sheet.sheet} · subnet {sheet.subnet or '(no mask)'} via {sheet.gateway or '(no gateway)'}")
    if doc_data is None:
        for r in sorted(sheet.rows, key=lambda r: int(r.slot[2:])):
            extra = " ".join(x for x in (r.hostname or "", r.nic or "") if x)
            say(f"  {r.slot:<5} {r.address:<15} {extra}".rstrip() + f"  ({r.cells['address'].ref})")
        if sheet.dns or sheet.ntp:
            say(f"  dns {', '.join(sheet.dns) or '-'} · ntp {', '.join(sheet.ntp) or '-'}")
        return EXIT_OK
    for line in ipsheet.render_preview(items):
        say(f"  {line}")
    if applied:
        say(t("applied to {file} (previous version: {backup})", file=args.file, backup=f"{Path(args.file).name}.bak"))
        if after is not None and not after.ok:
            print_problems(after.problems, out=sys.stderr)
            say(t("{file} is not valid yet: fix what is named above", file=args.file), file=sys.stderr)
            return EXIT_INVALID
    elif items:
        say(f"to apply: onsite sheet {args.sheet_file} {args.file} --apply")
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
        say(t("{file}: valid", file=args.file) + (f" ({counted(w, '{n} warning', '{n} warnings')})" if w else ""))
    return EXIT_OK if result.ok else EXIT_INVALID


def cmd_plan(args) -> int:
    """Per node: roles, ports, VIPs held, the bundles it gets with their sizes
    and its steps; then the steps in order, the time estimate with what it
    rests on, and what an install would stop on (engine.review, the data the
    wizard's Review page draws)."""
    from ..engine import review as review_mod
    from ..engine.events import human_bytes

    loaded = load_valid(args.file, args.format)
    if isinstance(loaded, int):
        return loaded
    plan, profile = loaded.plan, loaded.profile
    assert plan is not None and profile is not None
    rv = review_mod.build(plan, profile, answer_file=Path(args.file), bundle_paths=[Path(p) for p in (args.bundle or [])],
                          pubkey=Path(args.pubkey) if args.pubkey else None,
                          journal_dir=Path(args.journal_dir) if args.journal_dir else None)
    if args.format == "json":
        nodes = [{**n.view.to_json(), "steps": list(n.steps), "bundles": list(n.bundles), "bytes": n.bytes} for n in rv.nodes]
        json.dump({"site": plan.site_name, "profile": profile.name, "plan_hash": plan.fingerprint(),
                   "bundles": [b.id for b in rv.bundles], "nodes": nodes, **rv.to_json()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print_problems(loaded.problems, summary=False)
    say(f"site {plan.site_name} · profile {profile.name} {profile.version} · subnet {plan.subnet} via {plan.gateway}")
    for n in rv.nodes:
        v = n.view
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
        if rv.bundles:
            say(f"  bundles:    {', '.join(n.bundles) or 'none'} ({human_bytes(n.bytes)})")
            say(f"  steps:      {', '.join(n.steps) or 'none'}")
    say("")
    if rv.bundles:
        say(f"bundles: {', '.join(b.id for b in rv.bundles)}")
    else:
        say(t("steps: none (no bundles: name them with --bundle, or put them in bundles/ next to the answer file)"))
    for line in review_mod.text_lines(rv):
        say(line)
    if rv.bundles and rv.problems:  # without bundles the line above said it all
        say("an install would stop on:")
        for p in rv.problems:
            say(p.render())
    return EXIT_OK


OUTPUT_SCHEMAS = ("install", "preflight", "verify", "push", "status", "sheet", "netcheck", "node-replace", "events",
                  "switchover", "uninstall")


def cmd_netcheck(args) -> int:
    """Probe the plan's addresses on the LAN (engine.netcheck): exit 0 when
    nothing clashes, 1 when a VIP is taken or a plan address is this
    machine's, 3 when this machine has no address in the plan's subnet."""
    from ..engine import netcheck

    doc = _read_answer_file(args.file)
    data = doc.data if isinstance(doc.data, dict) else {}
    site = data.get("site") if isinstance(data.get("site"), dict) else {}
    try:
        profile = load_profile(site.get("profile", "reference") if isinstance(site.get("profile"), str) else "reference")
    except ProfileNotFound:
        profile = load_profile("reference")
    report = netcheck.check(data, profile.node_slots, profile.vip_slots, timeout=args.timeout)
    code = EXIT_ENVIRONMENT if report.skipped else (EXIT_OK if report.problems.ok else EXIT_FAILED)
    if args.format == "json":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return code
    if report.skipped:
        say(f"onsite netcheck: {report.skipped}", file=sys.stderr)
        return code
    for r in report.results:
        state = "answers" if r.answers else "silent"
        how = f"port {r.answered_port}" if r.answered_port else (f"ARP {r.neighbour_state}" if r.neighbour_state else "")
        say(f"  {r.target.label:<8} {r.target.address:<15} {state:<8} {how:<14} {r.mac or ''}".rstrip())
    print_problems(report.problems, summary=False)
    say(netcheck.summary(report))
    return code


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
        print(t("onsite wizard: needs a terminal (it is driven by the keyboard); for an unattended run use "
                "`onsite install FILE`"), file=sys.stderr)
        return EXIT_ENVIRONMENT
    from ..tui.app import run

    return run(Path(args.file) if args.file else None, [Path(b) for b in args.bundle] if args.bundle else None,
               lang=getattr(args, "lang", None))


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
    add_lang_option(parser)
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND", help="what to do (onsite COMMAND --help)")

    p = sub.add_parser("init", help="write a starting answer file that validates")
    p.add_argument("-o", "--output", help="file to write (default: print to stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--profile", default="reference", help="the product profile (default: %(default)s; onsite --version lists them)")
    p.add_argument("--site", default="my-site", help="the site's name")
    p.add_argument("--subnet", help="the nodes' subnet (default: the sheet's, else 198.18.0.0/24)")
    p.add_argument("--gateway", help="the gateway (default: the sheet's, else the subnet's first address)")
    p.add_argument("--first", help="the first address to hand out (default: gateway + 10)")
    p.add_argument("--key", default="~/.ssh/id_ed25519", help="SSH private key for all nodes")
    p.add_argument("--from-sheet", metavar="SHEET", help="take addresses, host names, NICs, gateway, mask, DNS and NTP from "
                   "the IP sheet (.xlsx or .csv); a sheet lacking a slot gives a draft that says what is missing (exit 2)")
    p.add_argument("--sheet", metavar="NAME", help="which sheet of the workbook (default: the first with a known header)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("sheet", help="read an IP sheet (.xlsx or .csv): what it says, or what it changes in an answer file")
    p.add_argument("sheet_file", metavar="SHEET", help="the IP sheet (.xlsx or .csv)")
    p.add_argument("file", nargs="?", help="an answer file: show old -> new per field")
    p.add_argument("--sheet", metavar="NAME", help="which sheet of the workbook (default: the first with a known header)")
    p.add_argument("--apply", action="store_true", help="write the changes into the answer file (comments kept; "
                   "the previous version is kept as FILE.bak)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout "
                   "(schema: onsite schema --output sheet)")
    p.set_defaults(func=cmd_sheet)

    p = sub.add_parser("validate", help="check an answer file; exit 0 valid, 2 invalid")
    p.add_argument("file", help="the answer file, or - to read it from stdin")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: every problem as JSON on stdout")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="show per node the roles, ports, VIPs and steps, and a change against the "
                                    "installed site (no network)")
    p.add_argument("file", help="the answer file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout")
    p.add_argument("--bundle", action="append", metavar="PATH", help="a bundle folder (default: bundles/* next to the answer file)")
    p.add_argument("--pubkey", help="trusted ed25519 public key: every bundle must be signed with it")
    p.add_argument("--journal-dir", help="the install's journal folder, to show a change against the installed plan "
                                         "(default: onsite-journal/<site> next to FILE)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("netcheck", help="probe the plan's addresses on the LAN: nodes answer, VIPs are free, the gateway answers")
    p.add_argument("file", help="the answer file")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds each probe waits (default: %(default)s)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: one document on stdout "
                   "(schema: onsite schema --output netcheck)")
    p.set_defaults(func=cmd_netcheck)

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
    add_lang_option(p, default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_wizard)

    _add_optional_commands(sub)
    document(sub)
    return parser


def add_lang_option(p, default=None) -> None:
    """--lang: the language of the wizard and of human output (README,
    "Language"); before or after the command. --help stays English."""
    p.add_argument("--lang", choices=LANGUAGES, default=default,
                   help="en or zh_CN: the language of the wizard and of messages for people (default: from LC_ALL, "
                        "LC_MESSAGES, LANG; zh_CN.UTF-8 and the like choose Chinese). --format json, --events jsonl, "
                        "logs and journals stay English")


EPILOG = """exit codes: 0 ok, 1 failed (or the site is locked), 2 invalid input, 3 this machine cannot,
70 internal error (a crash log is named), 130 interrupted.

example:
  onsite init -o site.yaml && onsite validate site.yaml && onsite install site.yaml"""

# The example that ends `onsite COMMAND --help`, by command path.
EXAMPLES = {
    "init": "onsite init -o site.yaml --site campus-north --from-sheet ip-sheet.xlsx",
    "sheet": "onsite sheet ip-sheet.xlsx site.yaml --apply",
    "netcheck": "onsite netcheck site.yaml --format json",
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
    "lab reset": "onsite lab reset node2    (then: onsite node replace /var/lib/onsite/lab/lab.yaml node2)",
    "node": "onsite node replace site.yaml node2 --accept-new-host-key node2",
    "node replace": "onsite node replace site.yaml node2 --host-key SHA256:... --yes",
    "switchover": "onsite switchover site.yaml vip:service --to node2",
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
    from . import node as cli_node
    from . import remote as cli_remote
    from . import switchover as cli_switchover
    from . import uninstall as cli_uninstall

    cli_remote.add_commands(sub)
    cli_install.add_commands(sub)
    cli_lab.add_commands(sub)
    cli_node.add_commands(sub)
    cli_switchover.add_commands(sub)
    cli_uninstall.add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    safe_output()
    CRASH_FOLDER.clear()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        configure_logging(args.verbose)
        set_language(getattr(args, "lang", None))
        if args.version:
            return cmd_version(args)
        if not args.command:
            if sys.stdin.isatty() and sys.stdout.isatty():
                from ..tui.app import run

                return run(lang=getattr(args, "lang", None))
            parser.print_help()
            return EXIT_OK
        return args.func(args)
    except UsageError as exc:
        say(f"{exc}\n" + t("(run `onsite --help` or `onsite COMMAND --help`)"), file=sys.stderr)
        return EXIT_INVALID
    except ProblemError as exc:
        print_problems(exc.problems, out=sys.stderr, summary=False)
        return getattr(exc, "exit_code", EXIT_FAILED)
    except KeyboardInterrupt:
        print("\n" + t("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        path = crash_log(exc)
        print(t("onsite: internal error: {kind}. This is a bug; the details are in {path}", kind=type(exc).__name__, path=path),
              file=sys.stderr)
        return EXIT_INTERNAL


__all__ = ["main", "print_problems", "Problem"]
