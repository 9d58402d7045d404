"""The day-2 verbs' common driver: build a Day2Operation from the command
line, ask before changing anything (unless --yes), drive its lifecycle with
the install's renderer, log and exit codes, and say how to continue.

A verb module adds its parser with `add_day2_options(p)` and calls
`run_operation(args, operation, verb=..., options=Day2Options(...))`.

Confirmation: on a terminal the deployer answers y/N to the list of step
runs; without a terminal the verb refuses (exit 2) unless --yes was given:
automation says so explicitly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..engine.day2 import Day2Operation, Day2Options, day2_lifecycle
from ..engine.lifecycle import EXIT_INVALID, Lifecycle, Outcome
from ..engine.lock import command_line
from ..model.i18n import m, t
from ..model.problems import Problem, Problems
from .common import Pinning, load_valid, machine_output, print_problems, prompt, say
from .install import drive, journal_dir, operation_document


def add_day2_options(p, *, resumable: bool = True) -> None:
    from .common import add_lifecycle_options

    add_lifecycle_options(
        p, resumable=resumable,
        resume="continue the operation its journal describes",
        restart="start it again (the old journal is kept beside)",
        dry_run="print what it would do; connect to nothing",
        journal_dir="the install's journal folder (default: onsite-journal/<site> next to FILE)",
        no_verify="do not verify the site afterwards",
        yes="do not ask before changing the site (needed without a terminal)")


def _confirm(args, verb: str):
    if getattr(args, "yes", False) or getattr(args, "dry_run", False):
        return None
    if not sys.stdin.isatty():
        return False

    def ask(lines: list[str]) -> bool:
        for line in lines:
            say(line, file=sys.stderr)
        try:
            answer = input(t("{verb}: go on? [y/N] ", verb=verb))
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


def run_operation(args, operation: str, *, verb: str, options: Day2Options,
                  lifecycle: Lifecycle | None = None) -> tuple[int, Day2Operation | None, Outcome | None]:
    """Returns (exit code, the operation, its outcome)."""
    loaded = load_valid(args.file, getattr(args, "format", "text"))
    if isinstance(loaded, int):
        return loaded, None, None
    confirm = _confirm(args, verb)
    if confirm is False:
        print_problems(Problems([Problem(message=m("{verb} changes the site and there is no terminal to ask on", verb=verb),
                                         hint=m("add --yes to go on without asking"), code="usage")]),
                       out=sys.stderr, summary=False)
        return EXIT_INVALID, None, None
    options.parallel = args.parallel
    options.transfer = args.transfer
    options.resume = getattr(args, "resume", False)
    options.restart = getattr(args, "restart", False)
    options.break_lock = args.break_lock
    options.verify = not args.no_verify
    factory = Pinning(args.accept_new_host_keys)
    op = Day2Operation(
        operation, loaded.plan, loaded.profile, answer_file=Path(args.file), problems=loaded.problems,
        bundle_paths=[Path(p) for p in (args.bundle or [])] or None, pubkey=Path(args.pubkey) if args.pubkey else None,
        journal_dir=journal_dir(args, loaded.plan), options=options, connect=factory, prompt=prompt,
        known_hosts=args.known_hosts, command=command_line(), confirm=confirm, verb=verb)
    live = (sys.stdout.isatty() and not args.plain and not args.dry_run and not machine_output(args)
            and confirm is None)  # the question is asked on a plain terminal, not under the live view
    outcome = drive(args, loaded, lifecycle or day2_lifecycle(), op, factory, live=live, verb=verb, dry_run=args.dry_run)
    if getattr(args, "format", "text") == "json":
        import json

        json.dump(operation_document(verb, op, outcome), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if machine_output(args) or outcome.ok:
        if outcome.ok and not machine_output(args) and not args.dry_run and op.run_outcome is not None:
            print("\n" + t("{verb} complete: {ran} steps ran, {skipped} already in place", verb=verb, ran=op.run_outcome.ran,
                            skipped=op.run_outcome.skipped))
        return outcome.exit_code, op, outcome
    if op.run_outcome is not None:
        for f in op.run_outcome.failures:
            print("\n" + t("FAILED: step {step} on node {node}: {message}", step=f.step, node=f.node, message=f.message)
                  + "\n" + t("log: {log}", log=f.log), file=sys.stderr)
            for line in f.tail:
                print(f"  | {line}", file=sys.stderr)
    print_problems(outcome.problems, out=sys.stderr, summary=False)
    if outcome.status == "interrupted" or outcome.phase == "steps":
        print(t("continue with: onsite {verb} {file} --resume (same arguments)", verb=verb, file=args.file), file=sys.stderr)
    return outcome.exit_code, op, outcome


__all__ = ["add_day2_options", "run_operation"]
