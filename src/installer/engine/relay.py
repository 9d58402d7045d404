"""Relay push: the installer's link carries a bundle once; the nodes pass it on.

The files stream from the installer into the first node's receiver
(installer/receiver.py), which writes each byte to its `.part`, hashes it as
it arrives and at the same time passes it on to the next node over the LAN
(OpenSSH on the nodes), and so on down a chain: with a slow installer link
the whole chain finishes about when the first node does. Every node renames
only a verified copy, and reports each file and its progress; the reports of
the nodes down the chain travel up it to the installer, so progress shows
each hop.

Node-to-node access uses a key pair made for this push only:
- the private key goes (through stdin, mode 0600) only to the nodes that
  forward (every node of the chain but the last);
- the public key goes into the authorized_keys of each node that receives
  from another node (every node but the first) as
  `restrict,from="<the plan's node addresses>",command="<receiver>"`: it can
  do nothing but hand files to the receiver, which accepts only paths under
  the bundle folder and checks every name and address it is given;
- nodes verify each other's host keys against the keys the installer read
  through its own verified connections;
- a node's verdict that the files arrived, relayed through the nodes before
  it, is not trusted: after the stream the installer reads every relayed
  node's files over that node's own verified connection (the check a repeat
  push makes) and accepts only the hashes of the bundles' manifests; a node
  whose files differ fails, named, and no step runs;
- everything is removed afterwards, also after a failure or Ctrl-C; a key
  left on a node that was unreachable then is removed by the next push
  (relayed or direct).

A node that is not reached (dead, cut off, or a hop before it failed) falls
back to a direct push, and the report says why. Relay needs root logins and
python3 on the nodes; a node without them is pushed directly.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, ProblemError, clean
from ..model.profile import Profile
from ..remote import hostkeys
from ..remote.connections import Connections, transport_problem
from ..remote.transport import Segment, TransportError
from . import push as push_mod
from .bundle import Bundle
from .events import Event, Listener, TransferDone, TransferPlanned, ignore

RELAY_ROOT = "/var/lib/onsite/relay"
MARK = "onsite-relay-"
SMALL = 256 << 20  # below this the probe costs about what relaying could save


@dataclasses.dataclass(frozen=True)
class RelayHop(Event):
    """`node` receives from `source` (the installer is source "installer")."""

    source: str


@dataclasses.dataclass(frozen=True)
class RelayFallback(Event):
    reason: str


@dataclasses.dataclass
class RelayReport:
    report: push_mod.PushReport
    relayed: list[str]
    fallback: dict[str, str]  # node -> why it was pushed directly
    cleanup_warnings: list[str]


def _keypair() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


def _fingerprint(public: str) -> str | None:
    try:
        return hostkeys.fingerprint_of_public_line(public)
    except ValueError:
        return None


def relay_possible(plan: Plan, nodes: Sequence[str]) -> str | None:
    """Why relay cannot be used here, or None."""
    if len(nodes) < 2:
        return m("one node only")
    users = {plan.node(n).ssh.user for n in nodes}
    if users != {"root"}:
        return m("relay needs root logins on every node")
    return None


class Relay:
    def __init__(self, plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *,
                 listener: Listener = ignore, nodes: Sequence[str] | None = None, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self.plan = plan
        self.profile = profile
        self.bundles = list(bundles)
        self.conns = conns
        self.listener = listener
        wanted = push_mod.bundles_for_nodes(plan, profile, bundles)
        self.wanted = {n: bs for n, bs in wanted.items() if nodes is None or n in nodes}
        self.id = secrets.token_hex(6)
        self.dir = f"{RELAY_ROOT}/{self.id}"
        self.prepared: list[str] = []
        self.distrusted: list[str] = []  # relayed nodes whose files did not match over their own connection

    def _address(self, node: str) -> str:
        return self.plan.address_of(self.plan.node(node))

    # -- setup and teardown ------------------------------------------------------------
    def _setup(self, chain: list[str]) -> None:
        private, public = _keypair()
        host_keys: dict[str, str] = {}
        for n in chain:
            t = self.conns.get(n)  # its host key was verified on connect
            res = t.run(["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"], timeout=30)
            # the key the installer verified (ed25519, ECDSA or RSA), else none
            pinned = self.plan.node(n).ssh.host_key or getattr(t, "seen_host_key", None)
            keys = [" ".join(line.split()[:2]) for line in res.stdout.splitlines() if len(line.split()) >= 2]
            mine = [k for k in keys if pinned is None or _fingerprint(k) == pinned]
            if not res.ok or not mine:
                raise TransportError("protocol", n, m("cannot read the node's verified host key for the relay"), m("use --direct"))
            host_keys[n] = mine[0]
        known = "".join(f"{self._address(n)} {host_keys[n]}\n" for n in chain)
        addresses = ",".join(self._address(n) for n in chain)
        entry = f'restrict,from="{addresses}",command="python3 {self.dir}/receive.py" {public} {MARK}{self.id}'
        # $1 folder, $2 known_hosts (base64), $3 the receiver (base64), $4 the
        # authorized_keys line; the private key (base64) is the first line of
        # stdin: never in argv.
        script = r'''
set -eu
umask 077
dir=$1
# what an interrupted push left on a node unreachable at its cleanup: its
# receivers, its folder (with that push's key), its authorized_keys line
for old in "$(dirname "$dir")"/*/; do
    [ -d "$old" ] || continue
    pkill -9 -f -- "$old" 2>/dev/null || true
    rm -rf -- "$old"
done
mkdir -p "$dir"
IFS= read -r key || true
if [ -n "$key" ]; then printf '%s' "$key" | base64 -d > "$dir/key"; fi  # forwarders only
printf '%s' "$2" | base64 -d > "$dir/known_hosts"
printf '%s' "$3" | base64 -d > "$dir/receive.py"
mkdir -p /root/.ssh
chmod 700 /root/.ssh
touch /root/.ssh/authorized_keys
sed -i "/ onsite-relay-[0-9a-f]*\$/d" /root/.ssh/authorized_keys  # stale keys of an interrupted push
if [ -n "$4" ]; then printf '%s\n' "$4" >> /root/.ssh/authorized_keys; fi  # receivers from a node only
'''
        key_line = base64.b64encode(private) + b"\n"
        known_b64 = base64.b64encode(known.encode()).decode()
        receiver_b64 = base64.b64encode(push_mod.receiver_source().encode()).decode()
        for i, n in enumerate(chain):
            self.prepared.append(n)
            forwards, receives = i < len(chain) - 1, i > 0
            res = self.conns.get(n).run(["bash", "-c", script, "onsite", self.dir, known_b64, receiver_b64,
                                         entry if receives else ""],
                                        stdin=key_line if forwards else b"\n", timeout=60)
            if not res.ok:
                raise TransportError("protocol", n, m("relay setup failed: {error}", error=res.stderr.strip()[-200:]), m("use --direct"))

    def cleanup(self) -> list[str]:
        """Remove the temporary key and receiver everywhere they were put."""
        warnings = []
        # Stop what is left of the chain first (a broken relay leaves receivers
        # running, which would race a direct push for the same .part): every
        # process of this relay has its folder in its command line.
        script = ('pkill -f -- "$1/" 2>/dev/null; for _ in 1 2 3 4 5 6 7 8 9 10; do pgrep -f -- "$1/" >/dev/null || break; '
                  'sleep 0.2; done; pkill -9 -f -- "$1/" 2>/dev/null; rm -rf -- "$1"; '
                  'if [ -f /root/.ssh/authorized_keys ]; then sed -i "/ $2\\$/d" /root/.ssh/authorized_keys; fi; true')
        for n in self.prepared:
            try:
                t = self.conns.get(n)
                res = t.run(["sh", "-c", script, "onsite", self.dir, f"{MARK}{self.id}"], timeout=30)
                if not res.ok:
                    raise TransportError("protocol", n, res.stderr.strip(), "")
            except TransportError:
                warnings.append(m("{node}: could not remove the temporary relay key (the node is unreachable); it only accepts bundle "
                                  "files from the plan's nodes, and the next push removes it (or delete the line ending in {mark} from "
                                  "/root/.ssh/authorized_keys)", node=n, mark=f"{MARK}{self.id}"))
        self.prepared = []
        return warnings

    # -- the push ---------------------------------------------------------------------------
    def run(self) -> RelayReport:
        chain = [n.name for n in self.plan.nodes if self.wanted.get(n.name)]
        fallback: dict[str, str] = {}
        relayed: list[str] = []
        results = {n: push_mod.NodeResult(n) for n in self.wanted}
        warnings: list[str] = []
        try:
            states = self._states(chain, fallback)
            live = [n for n in chain if n in states]
            if len(live) >= 2:
                self._check_stop()
                self._setup(live)
                relayed = self._stream(live, states, results, fallback)
                relayed = self._confirm(relayed, results)
        except push_mod.Interrupted:
            pass  # see below, after the cleanup
        except TransportError as exc:
            for n in chain:
                fallback.setdefault(n, m("relay setup failed on {node}: {error}", node=exc.node, error=exc.message))
            relayed = []
        except ProblemError as exc:
            for n in chain:
                fallback.setdefault(n, m("the relay could not start: {error}", error=exc.problems.errors[0].message))
            relayed = []
        finally:
            warnings = self.cleanup()
        if self.stop.is_set():
            # no direct push after a stop: every node keeps what arrived for the next push
            for n in chain:
                if n not in relayed:
                    results[n].problem = push_mod.interrupted_problem(n)
            return RelayReport(push_mod.PushReport(results), relayed, {}, warnings)
        direct = [n for n in chain if n not in relayed and n not in self.distrusted]
        for n in direct:
            fallback.setdefault(n, m("not relayed"))
            self.listener(RelayFallback(n, m("pushing directly: {reason}", reason=fallback[n])))
        if direct:
            rep = push_mod.push(self.plan, self.profile, self.bundles, self.conns, listener=self.listener, nodes=direct,
                                stop=self.stop)
            results.update(rep.results)
        return RelayReport(push_mod.PushReport(results), relayed, {n: fallback[n] for n in direct}, warnings)

    def _confirm(self, relayed: list[str], results: dict[str, push_mod.NodeResult]) -> list[str]:
        """Each relayed node's files, read over its own verified connection:
        only the manifests' hashes count, not what the chain reported. A node
        that differs fails here, named; it is not pushed directly either,
        since something on the way lied about it."""
        if not relayed:
            return relayed
        paths = [push_mod.remote_path(b, f) for b in self.bundles for f in b.files]
        items = [(b, f) for b in self.bundles for f in b.files]
        confirmed = []
        self.distrusted = []
        for n in relayed:
            try:
                _, state = push_mod.node_state(self.conns.get(n), n, paths)
            except (TransportError, ProblemError) as exc:
                message = exc.message if isinstance(exc, TransportError) else exc.problems.errors[0].message
                results[n].problem = Problem(message=m("{node}: the relayed files could not be checked: {message}", node=n, message=message),
                                             hint=m("push again (onsite push --direct) before installing"), node=n,
                                             code="relay-unconfirmed")
                self.distrusted.append(n)
                continue
            wrong = [f.path for i, (b, f) in enumerate(items) if b in self.wanted[n] and state[i] != ("H", f.sha256)]
            if wrong:
                results[n].problem = Problem(
                    message=m("{node}: after the relay its files do not match the bundles' manifests ({count} files, e.g. {example}), although the chain reported them received", node=n, count=len(wrong), example=wrong[0]),
                    hint=m("a node of the chain may be compromised or broken: check the nodes before it, then push again with --direct; no step runs until every node's files match"), node=n,
                    code="relay-mismatch")
                self.distrusted.append(n)
                continue
            confirmed.append(n)
        return confirmed

    def _check_stop(self, *_: object) -> None:
        """Between chunks and report lines: raise Interrupted once asked to stop."""
        if self.stop.is_set():
            raise push_mod.Interrupted()

    def _states(self, chain: list[str], fallback: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
        """Each reachable node's files (H/P/E/N per file of every bundle), in
        parallel; nodes that cannot take part go into `fallback` with why."""
        paths = [push_mod.remote_path(b, f) for b in self.bundles for f in b.files]

        def ask(n: str) -> tuple[str, list[tuple[str, str]]]:
            return push_mod.node_state(self.conns.get(n), n, paths)

        out = {}
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(chain)))) as pool:
            futures = {n: pool.submit(ask, n) for n in chain}
            for n, fut in futures.items():
                try:
                    receiver, state = fut.result()
                except TransportError as exc:  # cannot even be reached: goes direct (and fails there, clearly)
                    fallback[n] = m("not reachable ({error})", error=exc.message)
                    continue
                except ProblemError as exc:
                    fallback[n] = exc.problems.errors[0].message
                    continue
                if receiver != "python3":
                    fallback[n] = m("the node has no python3 (3.6 or newer) for the relay's receiver")
                    continue
                out[n] = state
        return out

    def _stream(self, chain: list[str], states: dict[str, list[tuple[str, str]]], results: dict[str, push_mod.NodeResult],
                fallback: dict[str, str]) -> list[str]:
        """Send every needed file down the chain; returns the nodes that hold
        every file they need, verified."""
        items = [(b, f) for b in self.bundles for f in b.files]
        todo = []  # (index in items, bundle, file, nodes that skip it)
        for i, (b, f) in enumerate(items):
            skip = [n for n in chain if b not in self.wanted[n] or states[n][i] == ("H", f.sha256)]
            if len(skip) < len(chain):
                todo.append((i, b, f, skip))
        total = sum(f.size for _, _, f, _ in todo)
        for n in chain:
            mine = [f for _, _, f, skip in todo if n not in skip]
            results[n].files_skipped = sum(1 for b, _ in items if b in self.wanted[n]) - len(mine)
            self.listener(TransferPlanned(n, tuple(b.id for b in self.wanted[n]), total, results[n].files_skipped))
        if not todo:  # every node has every file it needs
            for n in chain:
                self.listener(TransferDone(n, 0, 0, results[n].files_skipped, 0, 0.0))
            return chain
        self.listener(RelayHop(chain[0], "installer"))
        for a, b in zip(chain, chain[1:]):
            self.listener(RelayHop(b, a))
        names = [(f.path, f.size) for _, _, f, _ in todo]
        progress = {n: push_mod.NodeProgress(n, names, self.listener) for n in chain}

        def on_line(line: str) -> None:
            self._check_stop()
            words = line.split()
            if len(words) == 3 and words[0] == "progress" and words[1] in progress and words[2].isdigit():
                progress[words[1]](int(words[2]))

        files = [{"path": f"{b.id}/{f.path}", "size": f.size, "offset": 0, "sha256": f.sha256, "skip": skip}
                 for _, b, f, skip in todo]
        hops = [{"node": n, "address": self._address(n)} for n in chain[1:]]
        segments = [push_mod.receiver_header(chain[0], files, hops)] + [Segment(path=b.root / f.path, length=f.size)
                                                                        for _, b, f, _ in todo]
        t0 = time.monotonic()
        try:
            res = self.conns.get(chain[0]).put_stream(["python3", f"{self.dir}/receive.py"], segments,
                                                      progress=self._check_stop, on_stdout=on_line)
        except TransportError as exc:
            for n in chain:
                fallback.setdefault(n, m("the relay broke at {node}: {error}", node=chain[0], error=exc.message))
            results[chain[0]].problem = transport_problem(exc, step="push")
            self.conns.drop(chain[0])
            return []
        verdicts = push_mod.parse_verdicts(res.stdout)
        ok_nodes = []
        for n in chain:
            mine = [(k, f) for k, (_, _, f, skip) in enumerate(todo) if n not in skip]
            bad = next(((k, f) for k, f in mine if verdicts.get((n, k)) != ["ok"]), None)
            if bad is not None:
                k, f = bad
                why = verdicts.get((n, k)) or verdicts.get((n, "-"))
                fallback[n] = (m("the relay did not bring it {path} ({why})", path=f.path, why=clean(" ".join(why).strip())) if why
                               else m("the relay did not bring it {path}", path=f.path))
                continue
            ok_nodes.append(n)
            results[n].files_sent = len(mine)
            results[n].sent_bytes = sum(f.size for _, f in mine)
            results[n].seconds = time.monotonic() - t0
            self.listener(TransferDone(n, results[n].sent_bytes, results[n].files_sent, results[n].files_skipped, 0,
                                       results[n].seconds))
        return ok_nodes


def relay_push(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *,
               listener: Listener = ignore, nodes: Sequence[str] | None = None,
               stop: threading.Event | None = None) -> RelayReport:
    """Relay the bundles (see the module's docstring). Setting `stop` ends the
    stream at its next chunk or report line; the key is removed, nothing is
    pushed directly, and every node keeps what arrived for the next push."""
    return Relay(plan, profile, bundles, conns, listener=listener, nodes=nodes, stop=stop).run()


__all__ = ["deliver", "Delivery", "relay_push", "relay_possible", "RelayHop", "RelayFallback", "RelayReport", "SMALL"]


@dataclasses.dataclass
class Delivery:
    report: push_mod.PushReport
    why: str  # relay or direct, and why (measured, forced, or not possible)
    notes: list[str]  # nodes pushed directly after a relay, and why; keys left on unreachable nodes


def deliver(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *, mode: str = "auto",
            parallel: int = 4, listener: Listener = ignore, nodes: Sequence[str] | None = None,
            stop: threading.Event | None = None) -> Delivery:
    """Send every node its bundles, relayed or direct (`mode`: auto, relay,
    direct; see choose). The one way bundles reach nodes, for `onsite push`,
    `onsite install` and the wizard."""
    use_relay, why = choose(plan, profile, bundles, conns, mode=mode, nodes=nodes)
    if use_relay:
        r = relay_push(plan, profile, bundles, conns, listener=listener, nodes=nodes, stop=stop)
        return Delivery(r.report, why, [m("{node}: {reason}", node=n, reason=reason) for n, reason in r.fallback.items()] + r.cleanup_warnings)
    report = push_mod.push(plan, profile, bundles, conns, parallel=parallel, listener=listener, nodes=nodes, stop=stop)
    return Delivery(report, why, purge_leftovers(conns, [n for n in report.results if report.results[n].problem is None]))


_PURGE = (f'for d in {RELAY_ROOT}/*/; do [ -d "$d" ] || continue; pkill -9 -f -- "$d" 2>/dev/null; rm -rf -- "$d"; done; '
          'if [ -f /root/.ssh/authorized_keys ]; then sed -i "/ onsite-relay-[0-9a-f]*\\$/d" /root/.ssh/authorized_keys; fi; true')


def purge_leftovers(conns: Connections, nodes: Sequence[str]) -> list[str]:
    """After a direct push: a relay key or receiver that an interrupted
    relay left on a node (unreachable at its cleanup) goes now. Safe: one
    delivery runs per site at a time (the site lock)."""
    notes = []
    for n in nodes:
        try:
            conns.get(n).run(["sh", "-c", _PURGE], timeout=30)
        except TransportError:
            notes.append(m("{node}: could not check for a relay key left by an interrupted push; the next push does", node=n))
    return notes


PROBE_BYTES = 32 << 20  # 8 MiB measured connection ramp-up more than the link


def choose(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *, mode: str = "auto",
           nodes: Sequence[str] | None = None) -> tuple[bool, str]:
    """Relay or direct, and why. `mode`: auto, relay or direct.

    auto measures whether the installer's side is the bottleneck: 32 MiB to
    one node, then 32 MiB to every node at once. If N nodes together get well
    under N times one node's rate (under 60 %), the installer's link (or its
    CPU) is what limits, and relaying sends the payload through it once
    instead of once per node.
    """
    wanted = [n for n, bs in push_mod.bundles_for_nodes(plan, profile, bundles).items() if bs and (nodes is None or n in nodes)]
    if mode == "direct":
        return False, m("direct push (--direct)")
    why_not = relay_possible(plan, wanted)
    if why_not:
        return False, m("direct push: {reason}", reason=why_not)
    if mode == "relay":
        return True, m("relay (--relay)")
    total = sum(f.size for b in bundles for f in b.files)
    if total < SMALL:
        return False, m("direct push: the bundles are small ({size} MiB)", size=total >> 20)
    import os
    import tempfile
    from pathlib import Path

    with tempfile.NamedTemporaryFile(prefix="onsite-probe-") as tmp:
        tmp.write(os.urandom(PROBE_BYTES))
        tmp.flush()
        probe = [Segment(path=Path(tmp.name), length=PROBE_BYTES)]
        sink = ["sh", "-c", "cat > /dev/null"]

        def send(n: str) -> None:
            conns.get(n).put_stream(sink, probe)

        try:
            t0 = time.monotonic()
            send(wanted[0])
            one = PROBE_BYTES / (time.monotonic() - t0)
            t0 = time.monotonic()
            with ThreadPoolExecutor(len(wanted)) as pool:
                list(pool.map(send, wanted))
            together = PROBE_BYTES * len(wanted) / (time.monotonic() - t0)
        except TransportError as exc:
            return False, m("direct push: the probe failed on {node} ({error})", node=exc.node, error=exc.message)
    measured = m("{one} MB/s to one node, {together} MB/s to all {count} together", one=f"{one / 1e6:.0f}", together=f"{together / 1e6:.0f}",
                 count=len(wanted))
    if together < 0.6 * len(wanted) * one:
        return True, m("relay: the installer's link is the bottleneck ({measured})", measured=measured)
    return False, m("direct push: the installer's link is not the bottleneck ({measured})", measured=measured)
