"""Relay push: the installer's link carries a bundle once; the nodes pass it on.

The bundle's files stream from the installer into the first node, which
writes each byte to its `.part` and at the same time forwards it to the next
node over the LAN, and so on down a chain (OpenSSH on the nodes, `tee -p`):
with a slow installer link the whole chain finishes about when the first
node does. Every node then checks the sha256 of its copy and only a verified
copy is renamed to its final name; each node reports its verdict up the
chain.

Node-to-node access uses a key pair made for this push only:
- the private key goes (through stdin, mode 0600) to the nodes that forward;
- the public key goes into each receiving node's authorized_keys as
  `restrict,from="<the plan's node addresses>",command="<receiver>"`: it can
  do nothing but hand a file to the receiver, which accepts only paths under
  the bundle folder;
- nodes verify each other's host keys against the keys the installer read
  through its own verified connections;
- everything is removed afterwards, also after a failure or Ctrl-C; a key
  left on a node that was unreachable then is removed by the next push.

A node that is not reached (dead, cut off, or a hop before it failed) falls
back to a direct push, and the report says so. Relay needs root logins on
all nodes; otherwise the push is direct.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
import time
from collections.abc import Sequence

from . import push as push_mod
from .bundle import Bundle
from .connections import Connections, transport_problem
from .events import Event, Listener, RateMeter, TransferDone, TransferPlanned, TransferProgress, ignore
from .plan import Plan
from .profile import Profile
from .transport import TransportError, sh_script

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


# The receiver on every node. Arguments (from the installer) or the words of
# SSH_ORIGINAL_COMMAND (from the previous node, through the forced command):
#   B64(RELPATH) SHA256 SELF-NAME [NEXT-NAME=NEXT-ADDRESS ...]
# Names are the plan's node names (RFC 1123), addresses IPv4: plain words.
_RECEIVE = r'''#!/bin/bash
set -uo pipefail
''' + push_mod.HASH_FN + r'''
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
    # shellcheck disable=SC2086  # words of the forced command, split on purpose
    set -- ${SSH_ORIGINAL_COMMAND:-}
fi
[ $# -ge 3 ] || { echo "fail ? usage"; exit 2; }
me=$3
[[ $me =~ ^[a-z0-9-]+$ ]] || { echo "fail ? bad-name"; exit 2; }
rel=$(printf '%s' "$1" | base64 -d 2>/dev/null) || { echo "fail $me bad-path"; exit 2; }
sha=$2
shift 3
case "/$rel/" in */../*|*//*) echo "fail $me bad-path"; exit 2 ;; esac
[[ $sha =~ ^[0-9a-f]{64}$ ]] || { echo "fail $me bad-hash"; exit 2; }
dest=/var/lib/onsite/bundles/$rel
part=$dest.part
mkdir -p -- "$(dirname -- "$dest")"
if [ $# -gt 0 ]; then
    next=$1
    shift
    name=${next%%=*}
    addr=${next#*=}
    [[ $name =~ ^[a-z0-9-]+$ && $addr =~ ^[0-9.]+$ ]] || { echo "fail $me bad-next"; exit 2; }
    enc=$(printf '%s' "$rel" | base64 -w0)
    # shellcheck disable=SC2029  # the words are for the next node's receiver
    tee -p -- "$part" | ssh -i "$here/key" -o UserKnownHostsFile="$here/known_hosts" -o StrictHostKeyChecking=yes \
        -c aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr \
        -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=2 -o ServerAliveCountMax=2 \
        "root@$addr" "$enc $sha $name $*" || echo "fail $name relay-broken"
else
    cat > "$part" || { rm -f -- "$part"; echo "fail $me write"; exit 1; }
fi
got=$(onsite_sha256 < "$part")
if [ "$got" = "$sha" ]; then mv -f -- "$part" "$dest" && echo "ok $me"
else rm -f -- "$part"; echo "fail $me damaged"; fi
'''


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


def relay_possible(plan: Plan, nodes: Sequence[str]) -> str | None:
    """Why relay cannot be used here, or None."""
    if len(nodes) < 2:
        return "one node only"
    users = {plan.node(n).ssh.user for n in nodes}
    if users != {"root"}:
        return "relay needs root logins on every node"
    return None


class Relay:
    def __init__(self, plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *,
                 listener: Listener = ignore, nodes: Sequence[str] | None = None) -> None:
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

    # -- setup and teardown ------------------------------------------------------------
    def _setup(self, chain: list[str]) -> None:
        private, public = _keypair()
        addresses = [self.plan.address_of(self.plan.node(n)) for n in chain]
        host_keys: dict[str, str] = {}
        for n in chain:
            t = self.conns.get(n)  # its host key was verified on connect
            res = t.run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], timeout=30)
            if not res.ok:
                raise TransportError("protocol", n, "cannot read the node's host key for the relay", "use --direct")
            host_keys[n] = " ".join(res.stdout.split()[:2])
        known = "".join(f"{self.plan.address_of(self.plan.node(n))} {host_keys[n]}\n" for n in chain)
        entry = f'restrict,from="{",".join(addresses)}",command="{self.dir}/receive" {public} {MARK}{self.id}'
        # $1 folder, $2 known_hosts (base64), $3 the authorized_keys line; the
        # private key (base64) is the first line of stdin: never in argv.
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
IFS= read -r key
printf '%s' "$key" | base64 -d > "$dir/key"
printf '%s' "$2" | base64 -d > "$dir/known_hosts"
cat > "$dir/receive" <<'ONSITE_RECEIVE_EOF'
''' + _RECEIVE + r'''ONSITE_RECEIVE_EOF
chmod 700 "$dir/receive"
mkdir -p /root/.ssh
chmod 700 /root/.ssh
touch /root/.ssh/authorized_keys
sed -i "/ onsite-relay-[0-9a-f]*\$/d" /root/.ssh/authorized_keys  # stale keys of an interrupted push
printf '%s\n' "$3" >> /root/.ssh/authorized_keys
'''
        key_line = base64.b64encode(private) + b"\n"
        known_b64 = base64.b64encode(known.encode()).decode()
        for n in chain:
            self.prepared.append(n)
            res = self.conns.get(n).run(["bash", "-c", script, "onsite", self.dir, known_b64, entry], stdin=key_line, timeout=60)
            if not res.ok:
                raise TransportError("protocol", n, f"relay setup failed: {res.stderr.strip()[-200:]}", "use --direct")

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
                warnings.append(f"{n}: could not remove the temporary relay key (the node is unreachable); it only "
                                f"accepts bundle files from the plan's nodes, and the next push removes it "
                                f"(or delete the line ending in {MARK}{self.id} from /root/.ssh/authorized_keys)")
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
            live = []
            for n in chain:  # nodes that cannot even be reached go direct (and fail there, clearly)
                try:
                    self.conns.get(n)
                    live.append(n)
                except TransportError as exc:
                    fallback[n] = f"not reachable ({exc.message})"
            if len(live) >= 2:
                self._setup(live)
                relayed = self._stream(live, results, fallback)
        except TransportError as exc:
            for n in chain:
                fallback.setdefault(n, f"relay setup failed on {exc.node}: {exc.message}")
            relayed = []
        finally:
            warnings = self.cleanup()
        direct = [n for n in chain if n not in relayed]
        for n in direct:
            fallback.setdefault(n, "not relayed")
            self.listener(RelayFallback(n, f"pushing directly: {fallback[n]}"))
        if direct:
            rep = push_mod.push(self.plan, self.profile, self.bundles, self.conns, listener=self.listener, nodes=direct)
            results.update(rep.results)
        return RelayReport(push_mod.PushReport(results), relayed, {n: fallback[n] for n in direct}, warnings)

    def _stream(self, chain: list[str], results: dict[str, push_mod.NodeResult], fallback: dict[str, str]) -> list[str]:
        """Send every needed file down the chain; returns the nodes that hold
        every file verified."""
        first = chain[0]
        t = self.conns.get(first)
        items = [(b, f) for b in self.bundles for f in b.files if any(b in self.wanted[n] for n in chain)]
        # what each node already has: files whose final copy matches are skipped everywhere
        states = {}
        for n in chain:
            out = self.conns.get(n).run(sh_script(push_mod._STATE_SCRIPT, *(push_mod.remote_path(b, f) for b, f in items)),
                                        timeout=3600).stdout.split("\n")
            states[n] = out
        todo = [(i, b, f) for i, (b, f) in enumerate(items)
                if any(not states[n][i].startswith(f"H {f.sha256}") for n in chain)]
        total = sum(f.size for _, _, f in todo)
        for n in chain:
            self.listener(TransferPlanned(n, tuple(b.id for b in self.wanted[n]), total, len(items) - len(todo)))
        self.listener(RelayHop(first, "installer"))
        for a, b in zip(chain, chain[1:]):
            self.listener(RelayHop(b, a))
        ok_nodes = set(chain)
        meter = RateMeter()
        done = 0
        t0 = time.monotonic()
        hops = [f"{n}={self.plan.address_of(self.plan.node(n))}" for n in chain[1:]]
        for _, b, f in todo:
            rel = f"{b.id}/{f.path}"
            enc = base64.b64encode(rel.encode()).decode()
            last = [0.0]

            def progress(pos: int, _base=done) -> None:
                now = time.monotonic()
                rate = meter.add(_base + pos, now)
                if now - last[0] >= 0.1:
                    last[0] = now
                    eta = (total - _base - pos) / rate if rate else None
                    for n in chain:
                        self.listener(TransferProgress(n, f.path, _base + pos, total, rate, eta))

            try:
                res = t.put_stream(b.root / f.path, [f"{self.dir}/receive", enc, f.sha256, first, *hops], progress=progress)
            except TransportError as exc:
                for n in chain:
                    fallback.setdefault(n, f"the relay broke at {first}: {exc.message}")
                results[first].problem = transport_problem(exc, step="push")
                self.conns.drop(first)
                return []
            verdicts = [line.split() for line in res.stdout.splitlines() if len(line.split()) >= 2]
            got = {w[1]: w for w in verdicts}
            for n in list(ok_nodes):
                verdict = got.get(n)
                if verdict is None or verdict[0] != "ok":
                    ok_nodes.discard(n)
                    why = " ".join(verdict[2:]) if verdict else "no verified copy came back"
                    fallback.setdefault(n, f"the relay did not bring it {f.path} ({why})")
            done += f.size
            for n in chain:
                if n in ok_nodes:
                    results[n].sent_bytes += f.size
                    results[n].files_sent += 1
        for n in chain:
            results[n].files_skipped = len(items) - len(todo)
            results[n].seconds = time.monotonic() - t0
            if n in ok_nodes:
                self.listener(TransferDone(n, results[n].sent_bytes, results[n].files_sent, results[n].files_skipped, 0,
                                           results[n].seconds))
        return [n for n in chain if n in ok_nodes]


def relay_push(plan: Plan, profile: Profile, bundles: Sequence[Bundle], conns: Connections, *,
               listener: Listener = ignore, nodes: Sequence[str] | None = None) -> RelayReport:
    return Relay(plan, profile, bundles, conns, listener=listener, nodes=nodes).run()


__all__ = ["relay_push", "relay_possible", "RelayHop", "RelayFallback", "RelayReport", "SMALL"]


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
        return False, "direct push (--direct)"
    why_not = relay_possible(plan, wanted)
    if why_not:
        return False, f"direct push: {why_not}"
    if mode == "relay":
        return True, "relay (--relay)"
    total = sum(f.size for b in bundles for f in b.files)
    if total < SMALL:
        return False, f"direct push: the bundles are small ({total >> 20} MiB)"
    import os
    import tempfile
    from pathlib import Path

    with tempfile.NamedTemporaryFile(prefix="onsite-probe-") as tmp:
        tmp.write(os.urandom(PROBE_BYTES))
        tmp.flush()
        probe = Path(tmp.name)
        sink = ["sh", "-c", "cat > /dev/null"]

        def send(n: str) -> None:
            conns.get(n).put_stream(probe, sink)

        try:
            t0 = time.monotonic()
            send(wanted[0])
            one = PROBE_BYTES / (time.monotonic() - t0)
            from concurrent.futures import ThreadPoolExecutor

            t0 = time.monotonic()
            with ThreadPoolExecutor(len(wanted)) as pool:
                list(pool.map(send, wanted))
            together = PROBE_BYTES * len(wanted) / (time.monotonic() - t0)
        except TransportError as exc:
            return False, f"direct push: the probe failed on {exc.node} ({exc.message})"
    measured = f"{one / 1e6:.0f} MB/s to one node, {together / 1e6:.0f} MB/s to all {len(wanted)} together"
    if together < 0.6 * len(wanted) * one:
        return True, f"relay: the installer's link is the bottleneck ({measured})"
    return False, f"direct push: the installer's link is not the bottleneck ({measured})"
