"""The network check while planning: do the plan's addresses look right on
the real LAN? Run on request only (the wizard's *Check network*, `onsite
netcheck FILE`), never automatically.

What it does, and what it never does (decided):

- It runs only when this machine has an address in the plan's subnet (read
  with ``ip -json addr``), and probes only the plan's own addresses inside
  that subnet: the node slots, the VIP slots and the gateway. Nothing
  outside the subnet is ever contacted, not even the subnet's network or
  broadcast address; this machine's own address is not probed.
- The probe is a short TCP connect to a few ports (each node's SSH port and
  22, 80, 443), all at once in threads, with a timeout of
  `PROBE_TIMEOUT` seconds, so the whole check takes about that long. A
  connect that succeeds or is refused means something holds the address.
  No raw sockets, no extra tools: it works as any user.
- Then the kernel's neighbour table (``ip -json neigh``, else
  ``/proc/net/arp``) says which addresses answered ARP for the connect: an
  ARP reply proves the address is taken even when every port is filtered,
  and gives the holder's MAC. Only REACHABLE (confirmed) entries count as
  proof; a STALE entry (seen some time ago, not confirmed now) is reported
  as a warning with its MAC, since the device may have left or be
  dropping every probe.
- An ARP resolution still under way from an earlier run (the kernel's
  entry is INCOMPLETE: it asks again only once a second, three times) is
  waited out first, at most `ARP_SETTLE` seconds, before anything is
  probed. Otherwise a device that took an address since the last run could
  answer the kernel's next ARP request just after this run's probe gave
  up, and a check run twice in a row would call a taken VIP free.
- Findings, each at the field it is about (``ips.IP5``, ``network.gateway``)
  so the wizard shows them under the field like validation messages:
  a node address that nothing answers on is a warning (the node may not be
  cabled yet; preflight needs it), a VIP that something answers on is an
  error (the VIP would clash; the MAC says which device), a gateway that
  does not answer is a warning, and a plan address that is this machine's
  own is an error.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import errno
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..model.i18n import m
from ..model.problems import Problem, Problems, Severity

PROBE_TIMEOUT = 1.0
PORTS = (22, 80, 443)
ARP_SETTLE = 3.5  # the kernel's default ARP resolution: mcast_probes 3 × retrans_time 1 s, and a margin
ANSWERED = {errno.ECONNREFUSED, errno.ECONNRESET}


@dataclasses.dataclass(frozen=True)
class Target:
    path: str  # the field it is about, e.g. ips.IP5, network.gateway
    label: str  # IP5, gateway
    address: str
    kind: str  # node | vip | gateway
    ports: tuple[int, ...] = PORTS


@dataclasses.dataclass(frozen=True)
class LocalAddress:
    interface: str
    address: str
    prefixlen: int


@dataclasses.dataclass(frozen=True)
class Neighbour:
    address: str
    mac: str | None
    state: str  # REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT, or COMPLETE (from /proc/net/arp)


@dataclasses.dataclass
class Result:
    target: Target
    answered_port: int | None = None  # connect succeeded or was refused on this port
    mac: str | None = None
    neighbour_state: str | None = None

    @property
    def answers(self) -> bool:
        return self.answered_port is not None or self.neighbour_state in ("REACHABLE", "PERMANENT", "COMPLETE")

    def to_json(self) -> dict[str, Any]:
        return {"field": self.target.path, "slot": self.target.label, "address": self.target.address,
                "kind": self.target.kind, "answers": self.answers, "port": self.answered_port, "mac": self.mac,
                "neighbour": self.neighbour_state}


@dataclasses.dataclass
class Report:
    subnet: str
    local: LocalAddress | None = None
    results: list[Result] = dataclasses.field(default_factory=list)
    problems: Problems = dataclasses.field(default_factory=Problems)
    skipped: str | None = None  # why nothing was probed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.problems.ok

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "subnet": self.subnet, "skipped": self.skipped, "seconds": round(self.seconds, 2),
                "local": dataclasses.asdict(self.local) if self.local else None,
                "results": [r.to_json() for r in self.results], "problems": [p.to_json() for p in self.problems]}


# -- what to probe -----------------------------------------------------------------------------


def targets(data: dict[str, Any], node_slots: Iterable[str], vip_slots: Iterable[str]) -> tuple[str | None, list[Target]]:
    """The plan's subnet and its addresses to probe, from answer-file data
    (valid or not: a field that is not an address yet is left out)."""
    network = data.get("network") if isinstance(data.get("network"), dict) else {}
    subnet = network.get("subnet") if isinstance(network.get("subnet"), str) else None
    ips = data.get("ips") if isinstance(data.get("ips"), dict) else {}
    ssh_ports: dict[str, set[int]] = {}
    for node in data.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("address"), str):
            port = (node.get("ssh") or {}).get("port", 22) if isinstance(node.get("ssh"), dict) else 22
            if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
                ssh_ports.setdefault(node["address"], set()).add(port)
    out: list[Target] = []
    for kind, slots in (("node", node_slots), ("vip", vip_slots)):
        for slot in slots:
            address = ips.get(slot)
            if isinstance(address, str) and _ipv4(address):
                ports = tuple(sorted(ssh_ports.get(slot, set()) | set(PORTS)))
                out.append(Target(f"ips.{slot}", slot, address, kind, ports))
    gateway = network.get("gateway")
    if isinstance(gateway, str) and _ipv4(gateway):
        out.append(Target("network.gateway", "gateway", gateway, "gateway"))
    return subnet, out


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


# -- this machine --------------------------------------------------------------------------------


def local_addresses() -> list[LocalAddress] | None:
    """This machine's IPv4 addresses (None: iproute2's `ip` is missing)."""
    ip = shutil.which("ip") or ("/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else None)
    if ip is None:
        return None
    try:
        out = subprocess.run([ip, "-json", "-4", "addr", "show"], capture_output=True, text=True, timeout=5, check=True).stdout
        links = json.loads(out or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    found = []
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and "local" in info:
                found.append(LocalAddress(link.get("ifname", "?"), info["local"], int(info.get("prefixlen", 32))))
    return found


def neighbours(interface: str | None = None) -> dict[str, Neighbour]:
    """The kernel's neighbour (ARP) table: `ip -json neigh`, else /proc/net/arp."""
    ip = shutil.which("ip") or ("/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else None)
    if ip is not None:
        try:
            cmd = [ip, "-json", "-4", "neigh", "show"] + (["dev", interface] if interface else [])
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=True).stdout
            table = {}
            for e in json.loads(out or "[]"):
                state = (e.get("state") or ["NONE"])[0]
                table[e.get("dst", "")] = Neighbour(e.get("dst", ""), e.get("lladdr"), state)
            return table
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    table = {}
    try:
        with open("/proc/net/arp", encoding="ascii", errors="replace") as fh:
            next(fh, None)
            for line in fh:
                parts = line.split()
                if len(parts) >= 6 and (interface is None or parts[5] == interface):
                    complete = int(parts[2], 16) & 0x2
                    table[parts[0]] = Neighbour(parts[0], parts[3] if complete else None, "COMPLETE" if complete else "INCOMPLETE")
    except OSError:
        pass
    return table


# -- probing ----------------------------------------------------------------------------------------


def _connect(address: str, port: int, timeout: float, source: str | None) -> bool:
    """Whether something answered on address:port (connected or refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        code = s.connect_ex((address, port))
        return code == 0 or code in ANSWERED
    except OSError:
        return False
    finally:
        s.close()


def check(data: dict[str, Any], node_slots: Iterable[str], vip_slots: Iterable[str], *,
          timeout: float = PROBE_TIMEOUT,
          local: Callable[[], list[LocalAddress] | None] = local_addresses,
          neighbour_table: Callable[[str | None], dict[str, Neighbour]] = neighbours,
          connect: Callable[[str, int, float, str | None], bool] = _connect,
          settle: float = ARP_SETTLE) -> Report:
    """Probe the plan's addresses in its subnet (see the module's docstring)."""
    started = time.monotonic()
    subnet_text, wanted = targets(data, node_slots, vip_slots)
    report = Report(subnet=subnet_text or "")
    try:
        net = ipaddress.IPv4Network(subnet_text or "", strict=False)
    except ValueError:
        report.skipped = m("the plan's subnet is not valid yet; fix it first")
        return report
    mine = local()
    if mine is None:
        report.skipped = m("cannot read this machine's addresses (`ip` from iproute2 is missing)")
        return report
    here = [a for a in mine if ipaddress.IPv4Address(a.address) in net and a.prefixlen < 32 and a.interface != "lo"]
    if not here:
        report.skipped = m("this machine has no address in {subnet}: connect it to the site's LAN (an address in the "
                           "subnet) to check the plan against the network", subnet=str(net))
        return report
    report.local = here[0]
    own = {a.address for a in mine}
    probe: list[Target] = []
    for t in wanted:
        address = ipaddress.IPv4Address(t.address)
        if address not in net or address in (net.network_address, net.broadcast_address):
            continue  # never probe outside the plan's subnet (validation words the problem)
        if t.address in own:
            if t.kind == "gateway":
                report.results.append(Result(t, answered_port=0, neighbour_state="PERMANENT"))
                continue  # this machine is the gateway (a lab, a laptop routing the LAN)
            report.problems.add(Problem(
                message=m("{address} is this machine's own address ({interface}): the {slot} would clash with it",
                          address=t.address, interface=report.local.interface, slot=t.label),
                hint=m("give this machine another address, or the plan another address for {slot}", slot=t.label),
                path=tuple(_path(t.path)), code="net-own-address"))
            continue
        probe.append(t)
    _settle(probe, report.local.interface, neighbour_table, settle)
    results = {t.path: Result(t) for t in probe}
    jobs = [(t, p) for t in probe for p in t.ports]
    if jobs:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(32, len(jobs))) as pool:
            futures = {pool.submit(connect, t.address, p, timeout, report.local.address): (t, p) for t, p in jobs}
            for fut in concurrent.futures.as_completed(futures):
                t, p = futures[fut]
                r = results[t.path]
                if fut.result() and (r.answered_port is None or p < r.answered_port):
                    r.answered_port = p  # the lowest port that answered: the same words on every run
    table = neighbour_table(report.local.interface)
    for r in results.values():
        n = table.get(r.target.address)
        if n is not None:
            r.mac, r.neighbour_state = n.mac, n.state
        report.results.append(r)
        _judge(report, r)
    report.results.sort(key=lambda r: (r.target.kind == "gateway", r.target.path))
    report.seconds = time.monotonic() - started
    return report


def _settle(probe: list[Target], interface: str, neighbour_table: Callable[[str | None], dict[str, Neighbour]],
            settle: float) -> None:
    """Wait (at most `settle` seconds) until no target's ARP entry is INCOMPLETE: see the module's docstring."""
    deadline = time.monotonic() + settle
    wanted = {t.address for t in probe}
    while True:
        table = neighbour_table(interface)
        if not any(table[a].state == "INCOMPLETE" for a in wanted if a in table) or time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def _path(path: str) -> list[str]:
    return path.split(".")


def _judge(report: Report, r: Result) -> None:
    t = r.target
    mac = f" (MAC {r.mac})" if r.mac else ""
    path = tuple(_path(t.path))
    if t.kind == "vip":
        if r.answers:
            how = m("port {port} answers", port=r.answered_port) if r.answered_port is not None else m("it answers ARP")
            report.problems.add(Problem(
                message=m("{slot} {address} is already taken: {how}{mac}; a VIP must be free until the install brings it up",
                          slot=t.label, address=t.address, how=how, mac=mac),
                hint=m("ask the network team for a free address, or find the device with this MAC and free it"),
                path=path, code="net-vip-taken"))
        elif r.mac and r.neighbour_state in ("STALE", "DELAY", "PROBE"):
            report.problems.add(Problem(
                message=m("{slot} {address} does not answer now, but a device{mac} had it recently",
                          slot=t.label, address=t.address, mac=mac),
                hint=m("check again in a few seconds; make sure no device keeps this address"),
                path=path, severity=Severity.WARNING, code="net-vip-seen"))
    elif not r.answers:
        if t.kind == "node":
            report.problems.add(Problem(
                message=m("{slot} {address} does not answer (no ARP reply, ports {ports} silent)", slot=t.label,
                          address=t.address, ports=", ".join(map(str, t.ports))),
                hint=m("is the node up, cabled and given this address? preflight needs it to answer on its SSH port"),
                path=path, severity=Severity.WARNING, code="net-node-silent"))
        else:
            report.problems.add(Problem(
                message=m("the gateway {address} does not answer (no ARP reply)", address=t.address),
                hint=m("check the gateway's address with the network team"),
                path=path, severity=Severity.WARNING, code="net-gateway-silent"))


def summary(report: Report) -> str:
    """One line for the deployer."""
    if report.skipped:
        return m("network check skipped: {why}", why=report.skipped)
    errors, warnings = len(report.problems.errors), len(report.problems.warnings)
    answering = sum(1 for r in report.results if r.answers)
    return m("network check from {address} ({interface}): {n} addresses probed in {s:.1f} s, {a} answer; "
             "{e} errors, {w} warnings", address=report.local.address if report.local else "?",
             interface=report.local.interface if report.local else "?", n=len(report.results), s=report.seconds,
             a=answering, e=errors, w=warnings)


__all__ = ["Report", "Result", "Target", "check", "targets", "summary", "local_addresses", "neighbours", "PROBE_TIMEOUT"]
