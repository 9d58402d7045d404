"""Push: send each node the bundles its roles need.

Per node (nodes in parallel, capped):
1. one command asks for every file's state on the node: final file present
   (its sha256), a `.part` left by an interrupted push (its size), or nothing;
   and whether the node has python3 for the receiver;
2. a file whose final copy already has the right hash is not sent again, so
   a repeat push sends no payload;
3. free space is checked before anything is sent;
4. every file still needed goes in ONE stream into the node's receiver
   (installer/receiver.py, run by the node's python3): it appends each file
   to `<dst>.part` from where an earlier push stopped, hashes it as it
   arrives, and renames only a verified copy to `<dst>` (atomic within the
   folder), reporting each file. A node never holds a final-named file that
   is partial or wrong; a disk that fills up gets its `.part` removed.
   One stream instead of two commands per file matters: a bundle of Debian
   packages has hundreds of files.
   A node without python3 gets each file through `cat`, then a second pass
   that hashes it (openssl, else sha256sum) before the rename.

Bundles land in /var/lib/onsite/bundles/<name>-<version>/ on the nodes.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, ProblemError
from ..model.profile import Profile
from ..remote import receiver
from ..remote.connections import Connections, transport_problem
from ..remote.transport import LocalFileError, Segment, Transport, TransportError, sh_script
from .bundle import Bundle, BundleFile
from .events import Listener, NodeFailed, RateMeter, TransferDone, TransferPlanned, TransferProgress, ignore

REMOTE_ROOT = "/var/lib/onsite/bundles"
SPACE_MARGIN = 16 << 20
PROGRESS_EVERY = 0.1  # seconds between progress events per node

# sha256 of "$1" with the fastest tool the node has: Debian's sha256sum has no
# SHA-NI (5.9 s/GiB measured here), openssl and Python's hashlib do (1.1 s).
HASH_FN = r'''
onsite_sha256() {
    if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r | cut -d' ' -f1
    elif command -v python3 >/dev/null 2>&1; then python3 -c 'import hashlib,sys
h = hashlib.sha256()
for b in iter(lambda: sys.stdin.buffer.read(1 << 22), b""): h.update(b)
print(h.hexdigest())'
    else sha256sum | cut -d' ' -f1; fi
}
'''

# First line: which receiver the node can run; then per file: H sha256 (the
# final file), P size (a .part), E (unreadable), N (nothing) or L PATH (a
# symbolic link on its way under the bundle root: the root, a folder, the
# file or its .part; nothing is read or written through it).
STATE_SCRIPT = HASH_FN + r'''
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 6))' 2>/dev/null; then echo "receiver python3"
else echo "receiver sh"; fi
onsite_link() {  # sets link to the first link on the way to "$1", or ""
    link="" p=$ROOT rest=${1#"$ROOT"/}
    [ -L "$p" ] && { link=$p; return; }
    while [ -n "$rest" ]; do
        p="$p/${rest%%/*}"
        case $rest in */*) rest=${rest#*/} ;; *) rest="" ;; esac
        [ -L "$p" ] && { link=$p; return; }
    done
    if [ -L "$1.part" ]; then link=$1.part; fi
}
for f do
    onsite_link "$f"
    if [ -n "$link" ]; then echo "L $link"
    elif [ -f "$f" ]; then h=$(onsite_sha256 < "$f") && echo "H $h" || echo "E"
    elif [ -f "$f.part" ]; then echo "P $(stat -c %s -- "$f.part")"
    else echo "N"; fi
done
'''.replace("$ROOT", REMOTE_ROOT)

# Nodes without python3: one file per stream; $1 part, $2 offset. The state
# script found no link on the way (L), the python3 receiver's O_NOFOLLOW
# checks are not available in sh: the part is checked again just before.
_CAT = ('[ -L "$1" ] && { echo "$1 is a symbolic link" >&2; exit 3; }; '
        'if [ "$2" = 0 ]; then exec cat > "$1"; else exec cat >> "$1"; fi')

# $1 part, $2 final name, $3 expected sha256: rename only a verified copy.
_FINISH = HASH_FN + r'''
if [ -L "$2" ]; then rm -f -- "$1"; echo unsafe
elif [ "$(onsite_sha256 < "$1")" = "$3" ]; then mv -f -- "$1" "$2" && echo ok
else rm -f -- "$1"; echo damaged; fi
'''


@cache
def receiver_source() -> str:
    """The text of installer/receiver.py, which runs on the nodes."""
    return resources.files("installer.remote").joinpath("receiver.py").read_text(encoding="utf-8")


def receiver_header(node: str, files: Sequence[dict], hops: Sequence[dict] = ()) -> Segment:
    """The start of a receiver's stream (see installer/receiver.py)."""
    return Segment(data=receiver.encode_header(node, files, hops))


@dataclasses.dataclass
class NodeResult:
    node: str
    sent_bytes: int = 0
    files_sent: int = 0
    files_skipped: int = 0
    resumed_files: int = 0
    seconds: float = 0.0
    problem: Problem | None = None


@dataclasses.dataclass
class PushReport:
    results: dict[str, NodeResult]

    @property
    def ok(self) -> bool:
        return all(r.problem is None for r in self.results.values())

    @property
    def sent_bytes(self) -> int:
        return sum(r.sent_bytes for r in self.results.values())

    @property
    def problems(self) -> list[Problem]:
        return [r.problem for r in self.results.values() if r.problem is not None]


def bundles_for_nodes(plan: Plan, profile: Profile, bundles: Sequence[Bundle]) -> dict[str, list[Bundle]]:
    out: dict[str, list[Bundle]] = {}
    for node in plan.nodes:
        comps = {c.name for c in profile.components_for_roles(set(node.roles)) if not plan.is_external(c.name)}
        out[node.name] = [b for b in bundles if b.serves(comps)]
    return out


def remote_path(bundle: Bundle, f: BundleFile) -> str:
    return f"{REMOTE_ROOT}/{bundle.id}/{f.path}"


class Interrupted(Exception):
    """The push was asked to stop (Ctrl-C, the wizard's abort)."""


def push(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *, parallel: int = 4,
         listener: Listener = ignore, nodes: Sequence[str] | None = None, stop: threading.Event | None = None) -> PushReport:
    """Push to every node (nodes in parallel). Setting `stop` ends every
    node's stream at its next chunk; so does an exception in the caller's
    thread (Ctrl-C) while it waits. What arrived stays in the .part files and
    the next push resumes it."""
    wanted = bundles_for_nodes(plan, profile, bundles)
    names = [n for n in wanted if nodes is None or n in nodes]
    results = {n: NodeResult(n) for n in names}
    stop = stop or threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names) or 1)), thread_name_prefix="push") as pool:
        futures = [pool.submit(_push_node, conns, n, wanted[n], results[n], listener, stop) for n in names]
        try:
            for f in futures:
                f.result()
        except BaseException:
            stop.set()  # the pool's exit waits for the workers: make that quick
            raise
    return PushReport(results)


def interrupted_problem(node: str) -> Problem:
    return Problem(message=m("the push was interrupted; what arrived is kept"),
                   hint=m("push again (or run the install again): it resumes"), node=node, code="push-interrupted")


def _fail(node: str, message: str, hint: str, code: str) -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, node=node, code=code))


def _push_node(conns: Connections, node: str, bundles: list[Bundle], result: NodeResult, listener: Listener,
               stop: threading.Event) -> None:
    t0 = time.monotonic()
    try:
        _push_node_inner(conns, node, bundles, result, listener, stop)
    except Interrupted:
        result.problem = interrupted_problem(node)
    except TransportError as exc:
        result.problem = transport_problem(exc, step="push")
        conns.drop(node)
    except ProblemError as exc:
        result.problem = exc.problems.errors[0]
    result.seconds = time.monotonic() - t0
    if result.problem is not None:
        listener(NodeFailed(node, result.problem))
    else:
        listener(TransferDone(node, result.sent_bytes, result.files_sent, result.files_skipped, result.resumed_files, result.seconds))


def _check(t: Transport, argv: list[str], node: str, what: str, timeout: float = 600) -> str:
    res = t.run(argv, timeout=timeout)
    if not res.ok:
        raise _fail(node, m("{what} failed: {error}", what=what, error=res.stderr.strip()[-300:] or f'exit {res.exit_status}'),
                    m("check the node's disk and permissions under {root}", root=REMOTE_ROOT), "push-remote")
    return res.stdout


def _push_node_inner(conns: Connections, node: str, bundles: list[Bundle], result: NodeResult, listener: Listener,
                     stop: threading.Event) -> None:
    if stop.is_set():
        raise Interrupted()
    t = conns.get(node)
    items = [(b, f, remote_path(b, f)) for b in bundles for f in b.files]
    if not items:
        listener(TransferPlanned(node, tuple(b.id for b in bundles), 0, 0))
        return
    runs, states = node_state(t, node, [r for _, _, r in items])
    links = sorted({value for kind, value in states if kind == "L"})
    if links:
        raise _link_problem(node, links)
    if runs != "python3":  # the python3 receiver makes its folders itself, never through a link
        dirs = sorted({r.rsplit("/", 1)[0] for _, _, r in items})
        _check(t, ["mkdir", "-p", "--", *dirs], node, m("creating the bundle folders"))
    todo: list[tuple[Bundle, BundleFile, str, int]] = []
    for (b, f, r), (kind, value) in zip(items, states, strict=True):
        if kind == "H" and value == f.sha256:
            result.files_skipped += 1
            continue
        offset = int(value) if kind == "P" and value.isdigit() and int(value) <= f.size else 0
        todo.append((b, f, r, offset))
    need = sum(f.size - off for _, f, _, off in todo)
    listener(TransferPlanned(node, tuple(b.id for b in bundles), need, result.files_skipped))
    if not todo:
        return
    # the root may not exist yet (the receiver makes it): ask for the nearest folder that does
    avail = int(_check(t, ["sh", "-c", 'd=$1; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -P -B1 -- "$d" | tail -1',
                           "onsite", REMOTE_ROOT], node, m("checking free space")).split()[3])
    if need + SPACE_MARGIN > avail:
        raise _fail(node, m("not enough free space in {root}: needs {needed}, has {available}", root=REMOTE_ROOT, needed=_mb(need + SPACE_MARGIN), available=_mb(avail)),
                    m("free space on the node, or mount a larger disk there, then push again"), "push-disk-space")
    progress = NodeProgress(node, [(f.path, f.size - off) for _, f, _, off in todo], listener, stop)
    try:
        if runs == "python3":
            _send_stream(t, node, todo, result, progress)
        else:
            _send_each(t, node, todo, result, progress)
    except LocalFileError as exc:
        raise _fail(node, str(exc), m("rebuild or copy the bundle again (onsite bundle verify checks it)"), "push-local") from None


def node_state(t: Transport, node: str, paths: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """(receiver the node can run: python3 | sh, [(H|P|E|N, value)] per path)."""
    lines = _check(t, sh_script(STATE_SCRIPT, *paths), node, m("reading the files' state"), timeout=3600).splitlines()
    if len(lines) != len(paths) + 1 or not lines[0].startswith("receiver "):
        raise _fail(node, m("reading the files' state gave {lines} lines for {files} files", lines=len(lines), files=len(paths)),
                    m("check the node's shell and disk under {root}", root=REMOTE_ROOT), "push-remote")
    return lines[0].split()[1], [(k, v) for k, _, v in (line.partition(" ") for line in lines[1:])]


class NodeProgress:
    """TransferProgress events for one node from 'bytes so far' (sent, or
    reported by its receiver), at most every PROGRESS_EVERY seconds and
    always for the last byte."""

    def __init__(self, node: str, files: list[tuple[str, int]], listener: Listener, stop: threading.Event | None = None) -> None:
        self.node, self.listener, self.stop = node, listener, stop
        self.names = [name for name, _ in files]
        self.ends: list[int] = []
        for _, size in files:
            self.ends.append((self.ends[-1] if self.ends else 0) + size)
        self.total = self.ends[-1] if self.ends else 0
        self.meter = RateMeter()
        self.last = 0.0

    def __call__(self, done: int, force: bool = False) -> None:
        """Called after every chunk sent: raises Interrupted once `stop` is set."""
        if self.stop is not None and self.stop.is_set():
            raise Interrupted()
        now = time.monotonic()
        rate = self.meter.add(done, now)
        if force or done >= self.total or now - self.last >= PROGRESS_EVERY:
            self.last = now
            name = self.names[min(bisect.bisect_right(self.ends, done - 1), len(self.names) - 1)] if self.names else ""
            eta = (self.total - done) / rate if rate > 0 else None
            self.listener(TransferProgress(self.node, name, done, self.total, rate, eta))


def _send_stream(t: Transport, node: str, todo: list[tuple[Bundle, BundleFile, str, int]], result: NodeResult,
                 progress: NodeProgress) -> None:
    """Every file in one stream into the node's python3 receiver."""
    files = [{"path": f"{b.id}/{f.path}", "size": f.size, "offset": off, "sha256": f.sha256} for b, f, _, off in todo]
    segments = [receiver_header(node, files)] + [Segment(path=b.root / f.path, offset=off, length=f.size - off)
                                                 for b, f, _, off in todo]
    res = t.put_stream(["python3", "-c", receiver_source()], segments, progress=progress)
    verdicts = parse_verdicts(res.stdout)
    done = 0
    for i, (_, f, r, off) in enumerate(todo):
        verdict = verdicts.get((node, i))
        if verdict is None:
            break
        if verdict[0] != "ok":
            raise _verdict_problem(node, r, verdict)
        result.files_sent += 1
        result.sent_bytes += f.size - off
        result.resumed_files += off > 0
        done += f.size - off
    else:
        progress(done, force=True)
        if res.ok:
            return
    stream_fail = verdicts.get((node, "-"))
    if stream_fail is not None:
        raise _verdict_problem(node, "", stream_fail)
    raise _fail(node, m("the receiver stopped after {sent} of {total} files: {error}", sent=result.files_sent, total=len(todo), error=res.stderr.strip()[-300:] or f'exit {res.exit_status}'),
                m("check python3 and the disk under {root} on the node, then push again", root=REMOTE_ROOT), "push-remote")


def parse_verdicts(stdout: str) -> dict[tuple[str, int | str], list[str]]:
    """The receivers' `ok NODE IDX` / `fail NODE IDX KIND TEXT` lines, by
    (node, file index or "-"): [ok] or [KIND, TEXT]."""
    out: dict[tuple[str, int | str], list[str]] = {}
    for line in stdout.splitlines():
        words = line.split(" ", 4)
        if len(words) >= 3 and words[0] in ("ok", "fail"):
            key = (words[1], int(words[2]) if words[2].isdigit() else words[2])
            out.setdefault(key, ["ok"] if words[0] == "ok" else [words[3] if len(words) > 3 else "?", " ".join(words[4:])])
    return out


def _link_problem(node: str, paths: Sequence[str]) -> ProblemError:
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return _fail(node, m("{paths} on the node {what}: onsite writes nothing through a link under {root}", paths=shown,
                                  what=m("is a symbolic link") if len(paths) == 1 else m("are symbolic links"), root=REMOTE_ROOT),
                 m("find out who put it there, remove it (rm on the node), then push again"), "push-symlink")


def _verdict_problem(node: str, remote: str, verdict: list[str]) -> ProblemError:
    kind, text = verdict[0], verdict[1] if len(verdict) > 1 else ""
    if kind == "unsafe":
        return _fail(node, m("{text}: onsite writes nothing through a link under {root}", text=text, root=REMOTE_ROOT),
                     m("find out who put it there, remove it (rm on the node), then push again"), "push-symlink")
    if kind == "nospace":
        return _fail(node, m("the disk filled up while writing {path}; the partial copy was removed", path=remote),
                     m("free space on the node, then push again"), "push-disk-full")
    if kind == "damaged":
        return _fail(node, m("{path} arrived damaged (sha256 differs); the partial copy was removed", path=remote),
                     m("push again; if it repeats, check the node's disk and memory"), "push-hash")
    return _fail(node, m("writing {path} failed: {error}", path=remote or m("the bundle files"), error=f"{kind} {text}".rstrip()),
                 m("check the node's disk and permissions under {root}", root=REMOTE_ROOT), "push-write")


def _send_each(t: Transport, node: str, todo: list[tuple[Bundle, BundleFile, str, int]], result: NodeResult,
               progress: NodeProgress) -> None:
    """One stream per file into `cat`, then a second pass that hashes it."""
    done_before = 0
    for b, f, r, offset in todo:
        part = r + ".part"
        res = t.put_stream(["sh", "-c", _CAT, "onsite", part, str(offset)],
                           [Segment(path=b.root / f.path, offset=offset, length=f.size - offset)],
                           progress=lambda sent, _base=done_before: progress(_base + sent))
        if not res.ok:
            if "is a symbolic link" in res.stderr:
                raise _link_problem(node, [part])
            if "No space left" in res.stderr:
                t.run(["rm", "-f", "--", part])
                raise _verdict_problem(node, r, ["nospace"])
            raise _fail(node, m("writing {path} failed: {error}", path=r, error=res.stderr.strip()[-300:]), m("check the node's disk"), "push-write")
        verdict = _check(t, sh_script(_FINISH, part, r, f.sha256), node, m("verifying {path}", path=f.path), timeout=3600)
        if verdict.strip() == "unsafe":
            raise _link_problem(node, [r])
        if verdict.strip() != "ok":
            raise _verdict_problem(node, r, ["damaged"])
        result.files_sent += 1
        result.sent_bytes += f.size - offset
        result.resumed_files += offset > 0
        done_before += f.size - offset
        progress(done_before, force=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n < 10e9 else f"{n / 1e9:.1f} GB"


__all__ = ["push", "Interrupted", "NodeProgress", "PushReport", "bundles_for_nodes", "node_state", "parse_verdicts", "receiver_header", "receiver_source", "REMOTE_ROOT"]
