"""Push: send each node the bundles its roles need.

Per node (nodes in parallel, capped):
1. one command asks for every file's state on the node: final file present
   (its sha256), a `.part` left by an interrupted push (its size), or nothing;
2. a file whose final copy already has the right hash is not sent again, so
   a repeat push sends no payload;
3. free space is checked before anything is sent;
4. each file is appended to `<dst>.part` from where an earlier push stopped,
   its sha256 is checked on the node, and only then is it renamed to `<dst>`
   (atomic within the folder). A node never holds a final-named file that is
   partial or wrong. A disk that fills up mid-file gets its `.part` removed.

Bundles land in /var/lib/onsite/bundles/<name>-<version>/ on the nodes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from .bundle import Bundle, BundleFile
from .connections import Connections, transport_problem
from .events import Listener, NodeFailed, RateMeter, TransferDone, TransferPlanned, TransferProgress, ignore
from .plan import Plan
from .problems import Problem, ProblemError
from .profile import Profile
from .transport import Transport, TransportError, sh_script

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
while b := sys.stdin.buffer.read(1 << 22): h.update(b)
print(h.hexdigest())'
    else sha256sum | cut -d' ' -f1; fi
}
'''

# Where the node has python3, one process writes and hashes what arrives
# (1 MiB reads, hashlib with SHA-NI): no second pass over the file. A resumed
# file's prefix is hashed first. Prints the sha256 of the whole file.
_RECEIVE_PY = r'''
import hashlib, sys
path, offset = sys.argv[1], int(sys.argv[2])
h = hashlib.sha256()
if offset:
    with open(path, "rb") as f:
        while b := f.read(1 << 22):
            h.update(b)
inp = sys.stdin.buffer
with open(path, "ab" if offset else "wb") as out:
    while b := inp.read1(1 << 20):
        out.write(b)
        h.update(b)
print(h.hexdigest())
'''
_RECEIVE = 'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$1" "$2" "$3"; fi; ' \
    'if [ "$3" = 0 ]; then exec cat > "$2"; else exec cat >> "$2"; fi'

# $1 part, $2 final name, $3 expected sha256, $4 the receiver's hash (if
# any; else hashed now): rename only a verified copy.
_FINISH = r'''
h=${4:-$(onsite_sha256 < "$1")}
if [ "$h" = "$3" ]; then mv -f -- "$1" "$2" && echo ok
else rm -f -- "$1"; echo damaged; fi
'''

_STATE_SCRIPT = HASH_FN + r'''
for f do
    if [ -f "$f" ]; then h=$(onsite_sha256 < "$f") && echo "H $h" || echo "E"
    elif [ -f "$f.part" ]; then echo "P $(stat -c %s -- "$f.part")"
    else echo "N"; fi
done
'''


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


def push(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *, parallel: int = 4,
         listener: Listener = ignore, nodes: Sequence[str] | None = None) -> PushReport:
    wanted = bundles_for_nodes(plan, profile, bundles)
    names = [n for n in wanted if nodes is None or n in nodes]
    results = {n: NodeResult(n) for n in names}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names) or 1)), thread_name_prefix="push") as pool:
        futures = [pool.submit(_push_node, conns, n, wanted[n], results[n], listener) for n in names]
        for f in futures:
            f.result()
    return PushReport(results)


def _fail(node: str, message: str, hint: str, code: str) -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, node=node, code=code))


def _push_node(conns: Connections, node: str, bundles: list[Bundle], result: NodeResult, listener: Listener) -> None:
    t0 = time.monotonic()
    try:
        _push_node_inner(conns, node, bundles, result, listener)
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
        raise _fail(node, f"{what} failed: {res.stderr.strip()[-300:] or f'exit {res.exit_status}'}",
                    "check the node's disk and permissions under " + REMOTE_ROOT, "push-remote")
    return res.stdout


def _push_node_inner(conns: Connections, node: str, bundles: list[Bundle], result: NodeResult, listener: Listener) -> None:
    t = conns.get(node)
    items = [(b, f, remote_path(b, f)) for b in bundles for f in b.files]
    if not items:
        listener(TransferPlanned(node, tuple(b.id for b in bundles), 0, 0))
        return
    dirs = sorted({r.rsplit("/", 1)[0] for _, _, r in items})
    _check(t, ["mkdir", "-p", "--", *dirs], node, "creating the bundle folders")
    states = _check(t, sh_script(_STATE_SCRIPT, *(r for _, _, r in items)), node, "reading the files' state", timeout=3600).split("\n")
    todo: list[tuple[Bundle, BundleFile, str, int]] = []
    for (b, f, r), state in zip(items, states, strict=False):
        kind, _, value = state.partition(" ")
        if kind == "H" and value == f.sha256:
            result.files_skipped += 1
            continue
        offset = int(value) if kind == "P" and value.isdigit() and int(value) <= f.size else 0
        todo.append((b, f, r, offset))
    need = sum(f.size - off for _, f, _, off in todo)
    listener(TransferPlanned(node, tuple(b.id for b in bundles), need, result.files_skipped))
    if not todo:
        return
    avail = int(_check(t, ["sh", "-c", 'df -P -B1 -- "$1" | tail -1', "onsite", REMOTE_ROOT], node, "checking free space").split()[3])
    if need + SPACE_MARGIN > avail:
        raise _fail(node, f"not enough free space in {REMOTE_ROOT}: needs {_mb(need + SPACE_MARGIN)}, has {_mb(avail)}",
                    "free space on the node, or mount a larger disk there, then push again", "push-disk-space")
    meter = RateMeter()
    done_before = 0
    for b, f, r, offset in todo:
        part = r + ".part"
        if offset:
            result.resumed_files += 1
        last = [0.0]

        def progress(pos: int, _base=done_before - offset, _file=f.path) -> None:
            now = time.monotonic()
            done = _base + pos
            rate = meter.add(done, now)
            if now - last[0] >= PROGRESS_EVERY:
                last[0] = now
                eta = (need - done) / rate if rate > 0 else None
                listener(TransferProgress(node, _file, done, need, rate, eta))

        res = t.put_stream(b.root / f.path, ["sh", "-c", _RECEIVE, "onsite", _RECEIVE_PY, part, str(offset)],
                           offset=offset, progress=progress)
        if not res.ok:
            if "No space left" in res.stderr:
                t.run(["rm", "-f", "--", part])
                raise _fail(node, f"the disk filled up while writing {r}", "free space on the node, then push again", "push-disk-full")
            raise _fail(node, f"writing {r} failed: {res.stderr.strip()[-300:]}", "check the node's disk", "push-write")
        got = res.stdout.strip()  # the receiver's hash, or nothing when it was plain cat
        verdict = _check(t, sh_script(HASH_FN + _FINISH, part, r, f.sha256, got), node, f"verifying {f.path}", timeout=3600)
        if verdict.strip() != "ok":
            raise _fail(node, f"{f.path} arrived damaged (sha256 differs); the partial copy was removed",
                        "push again; if it repeats, check the node's disk and memory", "push-hash")
        result.files_sent += 1
        result.sent_bytes += f.size - offset
        done_before += f.size - offset
        rate = meter.add(done_before)
        listener(TransferProgress(node, f.path, done_before, need, rate, (need - done_before) / rate if rate > 0 else None))


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n < 10e9 else f"{n / 1e9:.1f} GB"


__all__ = ["push", "PushReport", "bundles_for_nodes", "REMOTE_ROOT"]
