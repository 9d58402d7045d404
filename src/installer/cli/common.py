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
import codecs
import contextlib
import getpass
import json
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..engine import bundle
from ..model import answerfile, crashlog, validate
from ..model.i18n import localized, m, t
from ..model.problems import Problem, ProblemError, Problems, clean
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


# Terminals that cannot write a character (LANG=C, cp437) get a plain
# stand-in instead of an exception: `…` -> `...`, `·` -> `-`, others `?`.
_ASCII_STANDINS = {"…": "...", "·": "-", "→": "->", "←": "<-", "–": "-", "—": "-", "✓": "ok", "✗": "x", "×": "x",
                   "‘": "'", "’": "'", "“": '"', "”": '"', "•": "*", "≥": ">=", "≤": "<="}


def _standin(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return "".join(_ASCII_STANDINS.get(ch, "?") for ch in text), exc.end


codecs.register_error("onsite-standin", _standin)


def safe_output() -> None:
    """stdout and stderr never raise on a character their encoding lacks."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8") and hasattr(stream, "reconfigure"):
            with contextlib.suppress(Exception):
                stream.reconfigure(errors="onsite-standin")


def say(text: str = "", *, file: TextIO | None = None) -> None:
    """Print a line that may hold text from an answer file: sanitised, and
    in the deployer's language when it is a message made below (m())."""
    print(clean(localized(text), keep_lines=True), file=file or sys.stdout, flush=True)


def print_problems(problems: Problems | list, fmt: str = "text", out: TextIO | None = None, *, summary: bool = True) -> None:
    out = out or sys.stdout
    if isinstance(problems, list):
        problems = Problems(problems)
    items = problems.sorted()
    if fmt == "json":
        json.dump({"ok": problems.ok, "problems": [p.to_json() for p in items]}, out, indent=2)
        out.write("\n")
        return
    for p in items:
        out.write(p.render(localize=True) + "\n")  # in the deployer's language; --format json stays English
    if summary:
        e, w = len(problems.errors), len(problems.warnings)
        if e or w:
            out.write(counted(e, "{n} error", "{n} errors") + ", " + counted(w, "{n} warning", "{n} warnings") + "\n")


def counted(n: int, one: str, many: str) -> str:
    """`one` or `many` (each with {n}), translated: "1 error", "3 errors"."""
    return t(one, n=n) if n == 1 else t(many, n=n)


def load_valid(path: str, fmt: str = "text") -> validate.Validation | int:
    result = validate.validate_file(path)
    if not result.ok:
        print_problems(result.problems, fmt, sys.stderr if fmt == "text" else sys.stdout)
        return EXIT_INVALID
    return result


CRASH_FOLDER: list[Path] = []  # the journal folder's crash/ once a command knows its site


def crash_log(exc: BaseException) -> str:
    """A crash log without values (model.crashlog): the exception's type and
    the installer's frames, never a message or a variable; in the site's
    journal folder when the command got that far (the support bundle takes
    it along), else in the user's state folder."""
    return crashlog.write(exc, __version__, CRASH_FOLDER[-1] if CRASH_FOLDER else None)


def prompt(label: str) -> str:
    if not sys.stdin.isatty():
        raise ProblemError(Problem(message=m("{label} is needed but there is no terminal to ask on", label=label),
                                   hint=m("use an env:NAME or file:PATH reference for unattended runs"), code="secret"))
    return getpass.getpass(f"{localized(label)}: ")


class Pinning:
    """SSH factory that remembers keys accepted on first use, and logs the
    host key each node presented (the run log)."""

    def __init__(self, accept_new: bool) -> None:
        self.accept_new = accept_new
        self.new_keys: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, ep: Endpoint):
        from ..remote.ssh_paramiko import connect

        log.info("connecting to %s: %s@%s:%s", ep.node, ep.user, ep.host, ep.port)
        try:
            t = connect(ep, accept_new_host_key=self.accept_new)
        except Exception as exc:
            log.info("%s: connection failed: %s", ep.node, getattr(exc, "message", type(exc).__name__))
            raise
        log.info("%s: host key %s (%s)", ep.node, t.seen_host_key or ep.host_key,
                 "new, accepted" if t.host_key_was_new else "verified")
        if t.host_key_was_new and t.seen_host_key:
            with self.lock:
                self.new_keys[ep.node] = t.seen_host_key
        return t


# -- machine output, verbosity and the run log ----------------------------------------

log = logging.getLogger("onsite")


def add_output_options(p, events: bool = True) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: one JSON document on stdout at the end (schema: onsite schema --output COMMAND); "
                        "human text goes to stderr")
    if events:
        p.add_argument("--events", choices=("jsonl",),
                       help="jsonl: every event of the run as one JSON line on stdout, as it happens (for CI and "
                            "automation); human text goes to stderr")


def machine_output(args) -> bool:
    return getattr(args, "format", "text") == "json" or bool(getattr(args, "events", None))


class _Console(logging.StreamHandler):
    """-v's handler: writes to whatever sys.stderr is when a record comes, not
    the stream of the first call (main() runs more than once in one process:
    the tests, and a stale stream made every later record a logging error)."""

    onsite_console = True

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(verbose: int) -> None:
    """-v: what onsite decides and sees, on stderr; -vv: also the SSH
    library's own debug log. Each call sets the level anew (no -v: no console
    handler), so repeated calls in one process do not pile handlers up."""
    root = logging.getLogger("onsite")
    root.setLevel(logging.DEBUG)
    for h in [h for h in root.handlers if getattr(h, "onsite_console", False)]:
        root.removeHandler(h)
        logging.getLogger("paramiko").removeHandler(h)
    if verbose:
        h = _Console()
        h.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        h.setFormatter(logging.Formatter("onsite: %(message)s"))
        root.addHandler(h)
    if verbose > 1:
        pl = logging.getLogger("paramiko")
        pl.setLevel(logging.DEBUG)
        for h in root.handlers:
            if h not in pl.handlers:
                pl.addHandler(h)


class RunLog(logging.Handler):
    """Every run writes a log into the journal folder (runs/<time>-<verb>.log,
    mode 0600): the events, host keys seen, decisions, timings and the
    problems it ended with. Values of secrets never reach it: events carry
    masked step output only. `start()` opens the file; records before it are
    kept in memory, so a run refused by the site lock writes nothing at all
    (it calls `discard()`)."""

    def __init__(self, folder: Path, verb: str) -> None:
        super().__init__(logging.DEBUG)
        self.folder, self.verb = Path(folder), verb
        self.path: Path | None = None
        self.stream = None
        self.pending: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def start(self) -> None:
        if self.stream is not None or self.pending is None:
            return
        import datetime as dt

        try:
            runs = self.folder / "runs"
            runs.mkdir(parents=True, exist_ok=True)
            self.path = runs / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{self.verb.replace(' ', '-')}.log"
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.stream = os.fdopen(fd, "a", encoding="utf-8")
        except OSError:
            self.path, self.pending = None, None
            return
        CRASH_FOLDER.append(self.folder / "crash")
        for line in self.pending:
            self.stream.write(line + "\n")
        self.pending = []
        self.stream.flush()

    def discard(self) -> None:
        self.pending = None

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        elif self.pending is not None:
            self.pending.append(line)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        super().close()


@contextlib.contextmanager
def run_log(folder: Path | None, verb: str, *, deferred: bool = False):
    """The run log (RunLog) around a command; `deferred`: opened only when
    the caller calls start() (after the site lock is taken)."""
    if folder is None:
        yield None
        return
    handler = RunLog(folder, verb)
    root = logging.getLogger("onsite")
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    pl = logging.getLogger("paramiko")
    if pl.level == logging.DEBUG:
        pl.addHandler(handler)
    log.info("onsite %s: %s", __version__, verb)
    if not deferred:
        handler.start()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        pl.removeHandler(handler)
        handler.close()


def pin(args, loaded, factory: Pinning) -> None:
    if not factory.new_keys:
        return
    plan, profile = loaded.plan, loaded.profile
    for node, fp in sorted(factory.new_keys.items()):
        plan.node(node).ssh.host_key = fp
        say(t("pinned host key of {node}: {fingerprint}", node=node, fingerprint=fp))
    path = Path(args.file)
    shutil.copy2(path, path.with_suffix(path.suffix + ".bak"))
    answerfile.write(plan, path, profile)
    say(t("host keys pinned in {path} (previous version: {backup})", path=path, backup=f"{path.name}.bak"))


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
            print("\n" + t("stopping {what}: running work finishes at a safe point, nothing new starts "
                           "(Ctrl-C again to abort)", what=t(what)), file=sys.stderr, flush=True)
            stop()
        elif presses[0] == 2 and abort is not None:
            print("\n" + t("aborting: running steps are stopped on their nodes and marked unknown "
                           "(Ctrl-C again to quit at once)"), file=sys.stderr, flush=True)
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


def add_lifecycle_options(p, *, resume: str, restart: str, dry_run: str, journal_dir: str, no_verify: str,
                          yes: str, resumable: bool = True, extra=None) -> None:
    """The options every lifecycle verb shares (install and the day-2 verbs), in one order;
    `extra(p)` adds a verb's own options after --dry-run. Only the help texts differ."""
    add_remote_options(p)
    add_bundle_options(p)
    p.add_argument("--parallel", type=int, default=4, help="nodes at once (default: %(default)s)")
    add_transfer_options(p)
    if resumable:
        p.add_argument("--resume", action="store_true", help=resume)
        p.add_argument("--restart", action="store_true", help=restart)
    p.add_argument("--dry-run", action="store_true", help=dry_run)
    if extra is not None:
        extra(p)
    p.add_argument("--break-lock", action="store_true",
                   help="take over a stale lock (its process is gone, or a node lock has no heartbeat)")
    p.add_argument("--journal-dir", help=journal_dir)
    p.add_argument("--plain", action="store_true", help="timestamped lines instead of the live view (automatic when not a terminal)")
    p.add_argument("--no-verify", action="store_true", help=no_verify)
    p.add_argument("-y", "--yes", action="store_true", help=yes)
    add_output_options(p)
