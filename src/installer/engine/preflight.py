"""Preflight: is every node ready for the install? All nodes in parallel.

Checks, each ok / warn / fail (fail blocks the install):
  ssh        reachable, host key verified, logged in
  root       commands run as root (directly or through sudo)
  os, arch   a supported distribution and architecture (profile)
  cpu, memory, disk   against the profile's minimum for the node's roles
  disk-used  the data disk (/var/lib) below the profile's limit (95 %)
  ports      every port the node's components need is free
  nic        the node's address is on its named interface
  hostname   unique across nodes (warn when it differs from the plan)
  clock      skew between nodes below 500 ms
  vips       no VIP answers yet (ARP probe from a node) or sits on a node
  leftovers  signs of an earlier install, named (warn): the profile's
             leftover paths, packages (installed or configuration left),
             running processes and system users
  payload    (node "bundles") a vendor payload a step needs is missing from
             its bundle; found without the network by the caller
The server as found (each with what it means for the install):
  sessions   the SSH sessions per connection sshd allows (MaxSessions)
  algorithms key exchange, host key, cipher and MAC negotiated
  shell      text the login shell prints around commands (warn, first line)
  sudo       root, sudo without a password, with one, with a terminal

One remote script gathers each node's facts; values reach it as arguments.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..model.i18n import joined, m
from ..model.plan import Plan
from ..model.planner import node_views
from ..model.problems import Problem, cleaned
from ..model.profile import Profile
from ..remote.connections import Connections
from ..remote.transport import ServerFacts, Transport, TransportError, sh_script
from .events import CheckResult, Listener, ignore

MAX_SKEW = 0.5
BUNDLES = "bundles"  # the "node" of checks about the bundles, not a machine
MEMORY_TOLERANCE = 0.9  # MemTotal is below the installed memory

_FACTS = r'''
nic=$1 addr=$2; shift 2
echo "uid $(id -u)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os ${ID:-unknown} ${VERSION_ID:-?} ${ID_LIKE:-}"
echo "arch $(uname -m)"
echo "cpus $(nproc)"
echo "mem_kb $(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
d=/var/lib; [ -d "$d" ] || d=/
df -P -B1 -- "$d" | awk 'NR>1{print "disk", $2, $3, $4}'
echo "hostname $(hostname)"
if ! ip link show dev "$nic" >/dev/null 2>&1; then echo "nic missing"
elif ip -o -4 addr show dev "$nic" | awk -v a="$addr" '{split($4,x,"/"); if (x[1]==a) f=1} END{exit !f}'; then echo "nic ok"
else echo "nic noaddr $(ip -o -4 addr show dev "$nic" | awk '{print $4}' | tr '\n' ' ')"; fi
ip -o -4 addr | awk '{split($4,x,"/"); print "addr", x[1]}'
ss -Hlntup 2>/dev/null | awk '{print "listen", $1, $5, $7}'
for p do
    case $p in
        pkg:*) s=$(dpkg-query -W -f '${db:Status-Status}' "${p#pkg:}" 2>/dev/null) || s=
            case $s in ''|not-installed) ;; installed) echo "leftover package ${p#pkg:}" ;;
                *) echo "leftover package ${p#pkg:} ($s)" ;; esac ;;
        proc:*) n=${p#proc:}; if pgrep -x -- "$(printf '%.15s' "$n")" >/dev/null 2>&1; then echo "leftover process $n"; fi ;;
        user:*) if getent passwd "${p#user:}" >/dev/null 2>&1; then echo "leftover user ${p#user:}"; fi ;;
        *) if [ -e "$p" ]; then echo "leftover $p"; fi ;;
    esac
done
'''

_PROBE = r'''
nic=$1; shift
for vip do
    ip neigh flush to "$vip" dev "$nic" 2>/dev/null  # a stale entry is no proof
    ( exec 3<>"/dev/tcp/$vip/22" ) 2>/dev/null &
done
sleep 1.5  # ARP has answered by now, or nobody has the address
for vip do
    if ip neigh show to "$vip" dev "$nic" | grep -q lladdr; then echo "vip $vip answers $(ip neigh show to "$vip" dev "$nic" | awk '{print $3}')"
    else echo "vip $vip silent"; fi
done
kill $(jobs -p) 2>/dev/null
exit 0
'''


@dataclasses.dataclass
class PreflightReport:
    results: list[CheckResult]

    @property
    def blockers(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.blockers


@dataclasses.dataclass
class _Facts:
    node: str
    raw: list[tuple[str, str]]
    clock_offset: float | None = None
    clock_error: float = 0.0
    server: ServerFacts | None = None

    def first(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.raw if k == key), default)

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.raw if k == key]


def run(plan: Plan, profile: Profile, conns: Connections, *, listener: Listener = ignore, parallel: int = 8,
        nodes: Sequence[str] | None = None, missing_payloads: Sequence[Problem] = (),
        checks: Collection[str] | None = None, stop: threading.Event | None = None,
        keep: Collection[str] = ()) -> PreflightReport:
    """Check the nodes; `missing_payloads` (installer.engine.steps.missing_payloads)
    become blockers of their own, so every front end shows them in one place.
    `checks`: only these (by name; None: all). `stop` set: nodes not reached
    yet are not asked. `keep`: leftovers that are there on purpose (paths,
    or `user NAME`, what uninstall --keep-data keeps); named as kept, not as
    leftovers."""
    results: list[CheckResult] = []

    def emit(node: str, check: str, status: str, detail: str, hint: str = "") -> None:
        if checks is not None and check not in checks and check != "payload":
            return
        r = CheckResult(node, check, status, cleaned(detail, keep_lines=True), cleaned(hint, keep_lines=True))  # facts come from the node
        results.append(r)
        listener(r)

    for p in missing_payloads:
        emit(BUNDLES, "payload", "fail", p.message, p.hint)
    names = [n.name for n in plan.nodes if nodes is None or n.name in nodes]
    facts: dict[str, _Facts] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names))), thread_name_prefix="preflight") as pool:
        futures = {n: pool.submit(_gather, plan, profile, conns, n, stop) for n in names}
        for n, fut in futures.items():
            try:
                facts[n] = fut.result()
                ep = conns.endpoint(n)
                emit(n, "ssh", "ok", m("{login}, host key verified", login=f"{ep.user}@{ep.host}:{ep.port}"))
            except TransportError as exc:
                conns.drop(n)
                emit(n, "ssh", "fail", exc.message, exc.hint)
    views = {v.name: v for v in node_views(plan, profile)}
    for n in names:
        if n in facts:
            _node_checks(plan, profile, views[n], facts[n], emit, keep)
    _cluster_checks(plan, profile, conns, facts, emit)
    return PreflightReport(results)


def leftover_args(profile: Profile) -> list[str]:
    """The facts script's arguments for the profile's leftovers."""
    return [*profile.leftovers, *(f"pkg:{p}" for p in profile.leftover_packages),
            *(f"proc:{p}" for p in profile.leftover_processes), *(f"user:{u}" for u in profile.leftover_users)]


def _gather(plan: Plan, profile: Profile, conns: Connections, name: str, stop: threading.Event | None = None) -> _Facts:
    if stop is not None and stop.is_set():
        raise TransportError("stopped", name, m("stopped before this node was checked"), m("run preflight again"))
    t = conns.get(name)
    node = plan.node(name)
    res = t.run(sh_script(_FACTS, node.nic, plan.address_of(node), *leftover_args(profile)), timeout=60)
    raw = [tuple(line.split(" ", 1)) if " " in line else (line, "") for line in res.stdout.splitlines()]
    facts = _Facts(name, raw)  # type: ignore[arg-type]
    facts.clock_offset, facts.clock_error = _clock_offset(t)
    probe = getattr(t, "probe_sessions", None)  # what the transport learnt of the server (SSH only)
    facts.server = probe() if probe is not None else None
    return facts


def _clock_offset(t: Transport) -> tuple[float | None, float]:
    """The node's clock minus ours, and the uncertainty (half the round trip)."""
    best: tuple[float | None, float] = (None, float("inf"))
    for _ in range(3):
        before = time.time()
        res = t.run(["date", "+%s.%N"], timeout=15, sudo=False)
        after = time.time()
        try:
            remote = float(res.stdout.strip())
        except ValueError:
            return None, 0.0
        err = (after - before) / 2
        if err < best[1]:
            best = (remote - (before + after) / 2, err)
    return best


FAST_CIPHER = "aes128-gcm@openssh.com"


def _server_checks(n: str, sf: ServerFacts, emit) -> None:
    """The node's SSH server and login as found, and what each means."""
    if sf.session_limit is not None and sf.session_limit < 4:
        emit(n, "sessions", "warn",
             m("sshd allows 1 session per connection (MaxSessions): onsite opens more connections to this node "
               "(up to 4) and queues the rest, so steps that run side by side may wait for a free session; nothing fails "
               "because of it") if sf.session_limit == 1 else
             m("sshd allows {count} sessions per connection (MaxSessions): onsite opens more connections to this node "
               "(up to 4) and queues the rest, so steps that run side by side may wait for a free session; nothing fails "
               "because of it", count=sf.session_limit),
             m("nothing to do; a higher MaxSessions on the node lets steps start sooner"))
    elif sf.session_limit is not None:
        emit(n, "sessions", "ok", m("sshd allows {count} sessions per connection (MaxSessions): steps run side "
                                    "by side over one connection; beyond that onsite opens another", count=sf.session_limit))
    elif sf.sessions_probed:
        emit(n, "sessions", "ok", m("sshd allows at least {count} sessions per connection: "
                                    "steps run side by side over one connection", count=sf.sessions_probed))
    if sf.cipher:
        what = m("key exchange {kex}, host key {key}, cipher {cipher}", kex=sf.kex, key=sf.host_key_type, cipher=sf.cipher + (f", MAC {sf.mac}" if sf.mac else ""))
        if sf.cipher == FAST_CIPHER:
            emit(n, "algorithms", "ok", m("{algorithms}: onsite's fastest cipher, the push runs at full speed", algorithms=what))
        else:
            emit(n, "algorithms", "ok", m("{algorithms}: the node does not allow {fast} (it offers {offered}), so the push uses "
                                          "the fastest it allows and may be a little slower", algorithms=what, fast=FAST_CIPHER,
                                          offered=", ".join(sf.server_ciphers)))
    if sf.noise:
        emit(n, "shell", "warn", m("the login shell prints text around every command, first line: {line}; onsite "
                                   "frames its own output and ignores it (the step logs keep it)", line=repr(sf.noise)),
             m("nothing to do for the install; to quiet it, move the line below the non-interactive return of the "
               "user's .bashrc (or out of /etc/profile.d, /etc/bash.bashrc, .zshenv)"))
    else:
        emit(n, "shell", "ok", m("the login shell prints nothing around commands"))
    sudo = {
        "root": ("ok", m("logged in as root: no sudo")),
        "nopasswd": ("ok", m("sudo without a password (NOPASSWD): onsite never sends the sudo password")),
        "nopasswd+tty": ("ok", m("sudo without a password, and only on a terminal (requiretty): commands run on a pty, "
                                 "so a step's errors reach its log as part of its output")),
        "password": ("ok", m("sudo asks for the password: onsite answers sudo's own prompt each time it asks (also when "
                             "a timestamp expires during the install), and sends it at no other time")),
        "password+tty": ("ok", m("sudo asks for the password and needs a terminal (requiretty): onsite answers the prompt "
                                 "on a pty; a step's errors reach its log as part of its output")),
    }.get(sf.sudo)
    if sudo:
        emit(n, "sudo", *sudo)


def _node_checks(plan, profile: Profile, view, f: _Facts, emit, keep: Collection[str] = ()) -> None:
    n = f.node
    if f.server is not None:
        _server_checks(n, f.server, emit)
    uid = f.first("uid")
    if uid == "0":
        emit(n, "root", "ok", m("commands run as root"))
    else:
        emit(n, "root", "fail", m("commands run as uid {uid}, not root", uid=uid or "?"), m("log in as root, or give the user sudo rights"))
    os_id, _, rest = f.first("os").partition(" ")
    version, _, like = rest.partition(" ")
    if os_id in profile.supported_os or set(like.split()) & set(profile.supported_os):
        emit(n, "os", "ok", f"{os_id} {version}")
    else:
        emit(n, "os", "warn", m("{os} is not a tested system ({tested})", os=f"{os_id} {version}", tested=", ".join(profile.supported_os)),
             m("the install may work; it has been tested on the systems named"))
    arch = f.first("arch")
    if arch in profile.supported_arch:
        emit(n, "arch", "ok", arch)
    else:
        emit(n, "arch", "fail", m("architecture {arch} is not supported", arch=arch),
             m("use a {arches} server", arches=" or ".join(profile.supported_arch)))
    need = profile.requirement_for_roles(set(view.roles))
    cpus = int(f.first("cpus", "0") or 0)
    emit(n, "cpu", "ok" if cpus >= need.cpus else "fail", m("{cpus} CPUs (needs {needed})", cpus=cpus, needed=need.cpus),
         "" if cpus >= need.cpus else m("give the node more CPUs or fewer roles"))
    mem_mb = int(f.first("mem_kb", "0") or 0) // 1024
    ok = mem_mb >= need.memory_mb * MEMORY_TOLERANCE
    emit(n, "memory", "ok" if ok else "fail", m("{mb} MB (needs {needed} MB)", mb=mem_mb, needed=need.memory_mb),
         "" if ok else m("give the node more memory"))
    disk = f.first("disk").split()
    if len(disk) == 3:
        size, used, avail = (int(x) for x in disk)
        gb = size / 1e9
        emit(n, "disk", "ok" if gb >= need.disk_gb else "fail", m("{gb} GB under /var/lib (needs {needed} GB)", gb=f"{gb:.0f}",
                                                                   needed=need.disk_gb),
             "" if gb >= need.disk_gb else m("give the node a larger data disk"))
        pct = 100 * used / (used + avail) if used + avail else 100
        limit = profile.max_disk_used_percent
        emit(n, "disk-used", "ok" if pct < limit else "fail", m("{pct} % used (limit {limit} %)", pct=f"{pct:.0f}", limit=limit),
             "" if pct < limit else m("free space on the data disk before installing"))
    else:
        emit(n, "disk", "fail", m("could not read the disk size"), m("check that df works on the node"))
    nic = f.first("nic")
    if nic == "ok":
        emit(n, "nic", "ok", m("{address} on {nic}", address=view.address, nic=view.nic))
    elif nic == "missing":
        emit(n, "nic", "fail", m("interface {nic} does not exist", nic=view.nic),
             m("write the interface name `ip link` shows into the node's nic"))
    else:
        has = nic[7:].strip()
        emit(n, "nic", "fail", m("{address} is not on {nic} (it has {has})", address=view.address, nic=view.nic, has=has) if has
             else m("{address} is not on {nic} (it has no IPv4 address)", address=view.address, nic=view.nic),
             m("check the node's address in the IP sheet and its nic"))
    listening: dict[tuple[int, str], str] = {}
    local = {"0.0.0.0", "*", "::", view.address} | {plan.ips[v.slot] for v in view.vips}
    for line in f.all("listen"):
        parts = line.split()
        if len(parts) >= 2 and ":" in parts[1]:
            host, _, port = parts[1].rpartition(":")
            if port.isdigit() and host.strip("[]").split("%")[0] in local:
                who = parts[2].split('"')[1] if len(parts) > 2 and '"' in parts[2] else "?"
                listening[(int(port), parts[0])] = who
    taken = [(p, listening[(p.port, p.protocol)]) for p in view.ports if (p.port, p.protocol) in listening]
    if taken:
        emit(n, "ports", "fail", joined("; ", [m("{port} ({component}) is taken by {who}", port=f"{p.port}/{p.protocol}",
                                                  component=f"{p.component}.{p.name}", who=who) for p, who in taken]),
             m("stop what holds the port, or move the component to another port under ports:"))
    else:
        emit(n, "ports", "ok", m("{count} ports free", count=len(view.ports)))
    lefts = f.all("leftover")
    kept = [x for x in lefts if _kept(x, keep)]
    lefts = [x for x in lefts if not _kept(x, keep)]
    if kept:
        emit(n, "kept", "ok", m("kept on purpose: {items}", items=", ".join(kept)))
    if lefts:
        emit(n, "leftovers", "warn", m("an earlier install left: {items}", items=", ".join(lefts)),
             m("resume it (onsite install --resume) or clean the node before a fresh install"))
    else:
        emit(n, "leftovers", "ok", m("no earlier install found"))


def _kept(leftover: str, keep: Collection[str]) -> bool:
    """A leftover that is kept on purpose: named in `keep`, or a path inside a kept folder."""
    return leftover in keep or any(k.startswith("/") and leftover.startswith(k.rstrip("/") + "/") for k in keep)


def _cluster_checks(plan: Plan, profile: Profile, conns: Connections, facts: dict[str, _Facts], emit) -> None:
    by_host: dict[str, list[str]] = {}
    for n, f in facts.items():
        by_host.setdefault(f.first("hostname"), []).append(n)
    for host, nodes in by_host.items():
        for n in nodes:
            if len(nodes) > 1:
                emit(n, "hostname", "fail", m("hostname {host} is also the hostname of {others}", host=host,
                                              others=", ".join(x for x in nodes if x != n)),
                     m("give every node its own hostname"))
            elif host != n:
                emit(n, "hostname", "warn", m("the hostname is {host}; the plan calls the node {node}", host=host, node=n),
                     m("the install sets the planned hostname"))
            else:
                emit(n, "hostname", "ok", host)
    offsets = {n: f.clock_offset for n, f in facts.items() if f.clock_offset is not None}
    if len(offsets) >= 2:
        lo, hi = min(offsets.values()), max(offsets.values())
        skew = hi - lo
        for n, off in offsets.items():
            if skew > MAX_SKEW and off in (lo, hi):
                emit(n, "clock", "fail", m("clocks differ by {skew} ms between nodes (this one {offset} ms from the installer)",
                                           skew=f"{skew * 1000:.0f}", offset=f"{off * 1000:+.0f}"),
                     m("configure NTP (network.ntp) or set the clocks before installing"))
            else:
                emit(n, "clock", "ok", m("{offset} ms from the installer, skew {skew} ms", offset=f"{off * 1000:+.0f}",
                                         skew=f"{skew * 1000:.0f}"))
    vip_addrs = {plan.ips[v.address]: v.name for v in plan.vips if v.address in plan.ips}
    held = {a: n for n, f in facts.items() for a in f.all("addr") if a in vip_addrs}
    prober = next(iter(facts), None)
    answers: dict[str, str] = {}
    silent: set[str] = set()
    why = m("no node could be reached to probe from")
    if prober is not None and vip_addrs:
        try:
            t = conns.get(prober)
            res = t.run(["bash", "-c", _PROBE, "onsite", plan.node(prober).nic, *vip_addrs], timeout=60)
            for line in res.stdout.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "vip" and parts[2] == "answers":
                    answers[parts[1]] = parts[3] if len(parts) > 3 else "?"
                elif len(parts) == 3 and parts[0] == "vip" and parts[2] == "silent":
                    silent.add(parts[1])
            why = (m("the probe on {node} exited {status}", node=prober, status=res.exit_status) if not res.ok
                   else m("the probe on {node} gave no answer", node=prober))
        except TransportError as exc:
            why = m("the probe on {node} failed: {error}", node=prober, error=exc.message)
    for addr, vip in vip_addrs.items():
        where = prober or "-"
        if addr in held:
            emit(held[addr], "vips", "fail", m("VIP {address} ({vip}) is already configured on {node}", address=addr, vip=vip, node=held[addr]),
                 m("remove it (an address manager left from an earlier install?) before installing"))
        elif addr in answers:
            emit(where, "vips", "fail", m("VIP {address} ({vip}) already answers on the network (MAC {mac})", address=addr, vip=vip,
                                          mac=answers[addr]),
                 m("another machine uses this address: pick a free one for the IP sheet"))
        elif addr not in silent:
            # Only a probe that ran and heard nothing proves the address free.
            emit(where, "vips", "fail", m("could not tell whether VIP {address} ({vip}) is free: {why}", address=addr, vip=vip, why=why),
                 m("check that the node can reach its LAN (ip, bash), then run preflight again"))
        else:
            emit(where, "vips", "ok", m("VIP {address} ({vip}) is free", address=addr, vip=vip))
