"""What every CLI command shares: exit codes, loading a valid answer file,
printing problems, Ctrl-C, prompts, the SSH connection factory that pins new
host keys, and crash logs.

Exit codes (also in the README):
  0    success
  1    the operation ran and failed (a check, a step, a node; a site locked by another run)
  2    invalid input: the answer file or the command line is wrong
  3    this machine cannot do it (not root, a tool missing, not Linux, no terminal)
  70   internal error (a bug): details in the crash log named on screen
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..engine import bundle
from ..model import answerfile, validate
from ..model.problems import Problem, ProblemError, Problems
from ..remote.transport import Endpoint

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


# -- output ------------------------------------------------------------------


def print_problems(problems: Problems, fmt: str = "text", out: TextIO | None = None, *, summary: bool = True) -> None:
    out = out or sys.stdout
    items = problems.sorted()
    if fmt == "json":
        json.dump({"ok": problems.ok, "problems": [p.to_json() for p in items]}, out, indent=2)
        out.write("\n")
        return
    for p in items:
        out.write(p.render() + "\n")
    if summary:
        e, w = len(problems.errors), len(problems.warnings)
        if e or w:
            out.write(f"{e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}\n")


def load_valid(path: str, fmt: str = "text") -> validate.Validation | int:
    result = validate.validate_file(path)
    if not result.ok:
        print_problems(result.problems, fmt, sys.stderr if fmt == "text" else sys.stdout)
        return EXIT_INVALID
    return result


def crash_log(exc: BaseException) -> str:
    fd, path = tempfile.mkstemp(prefix="onsite-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write(f"onsite {__version__}\n")
        traceback.print_exception(exc, file=fh)
    return path


def prompt(label: str) -> str:
    if not sys.stdin.isatty():
        raise ProblemError(Problem(message=f"{label} is needed but there is no terminal to ask on",
                                   hint="use an env:NAME or file:PATH reference for unattended runs", code="secret"))
    return getpass.getpass(f"{label}: ")


class Pinning:
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


def pin(args, loaded, factory: Pinning) -> None:
    if not factory.new_keys:
        return
    plan, profile = loaded.plan, loaded.profile
    for node, fp in sorted(factory.new_keys.items()):
        plan.node(node).ssh.host_key = fp
        print(f"pinned host key of {node}: {fp}")
    path = Path(args.file)
    shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
    answerfile.write(plan, path, profile)
    print(f"host keys pinned in {path} (previous version: {path.name}.bak)")


def find_bundles(args) -> list[bundle.Bundle]:
    return bundle.find([Path(p) for p in (args.bundle or [])], Path(args.file), Path(args.pubkey) if args.pubkey else None)


@contextlib.contextmanager
def ctrl_c(stop, abort=None, what: str = "the operation"):
    """While the block runs: the first Ctrl-C calls `stop` (work ends at a
    safe point), the second `abort` (running steps are stopped on their
    nodes), the next raises KeyboardInterrupt (quit at once, no cleanup)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = [0]

    def on_sigint(signum, frame):
        presses[0] += 1
        if presses[0] == 1:
            print(f"\nstopping {what}: running work finishes at a safe point, nothing new starts "
                  "(Ctrl-C again to abort)", file=sys.stderr, flush=True)
            stop()
        elif presses[0] == 2 and abort is not None:
            print("\naborting: running steps are stopped on their nodes and marked unknown "
                  "(Ctrl-C again to quit at once)", file=sys.stderr, flush=True)
            abort()
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
