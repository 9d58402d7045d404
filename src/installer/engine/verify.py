"""`onsite verify`: proof that the installed system works, at the end of an
install and at any time later.

Each check asks the system itself, not onsite's journal:

  etcd       every member healthy, as many members as the plan has
  patroni    one leader, every other member streaming from it, with its lag;
             with synchronous_mode, a synchronous standby (a commit waits
             for it, so a failover loses no committed row)
  sentinel   Sentinel sees the primary, every replica and every sentinel,
             and has quorum
  vip:NAME   exactly one member holds the address; the service VIP on a
             cluster node (the escape node holding it is reported: it means
             the cluster's checks fail)
  radius     an Access-Request for the probe user, sent from this machine to
             the service VIP, is answered Access-Accept with a reply
             authenticated by the site's shared secret
  socks5     through each proxy, a CONNECT to another node's SSH port gets
             that node's SSH banner

Components the plan marks external are reported as such, not checked. The
report is printed, written as JSON (for machines) and as a Markdown document
for the customer's records; neither holds a secret.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..model.plan import Plan
from ..model.profile import Profile
from ..remote.connections import Connections
from ..remote.transport import TransportError
from . import probes

OK, FAILED, SKIPPED, WARN = "ok", "failed", "skipped", "warn"


@dataclasses.dataclass
class Check:
    name: str
    status: str
    summary: str
    node: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    hint: str = ""


@dataclasses.dataclass
class Report:
    site: str
    started: str
    plan_hash: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status in (OK, SKIPPED, WARN) for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "time": self.started, "plan_hash": self.plan_hash, "ok": self.ok,
                "checks": [dataclasses.asdict(c) for c in self.checks]}


class _Fail(Exception):
    def __init__(self, summary: str, hint: str = "", node: str | None = None, details: dict | None = None) -> None:
        super().__init__(summary)
        self.summary, self.hint, self.node, self.details = summary, hint, node, details or {}


def _sh(script: str, *args: str) -> list[str]:
    return ["sh", "-c", script, "onsite-verify", *args]


class Verifier:
    def __init__(self, plan: Plan, profile: Profile, conns: Connections, secrets: dict[str, str],
                 installed: set[str] | None = None) -> None:
        """installed: the components the bundles' steps install (None: all);
        checks of others are reported as not installed by these bundles."""
        self.plan, self.profile, self.conns, self.secrets = plan, profile, conns, secrets
        self.installed = installed

    # -- helpers --------------------------------------------------------------
    def _run(self, node: str, argv: list[str], stdin: bytes | None = None, timeout: float = 30) -> str:
        try:
            res = self.conns.get(node).run(argv, stdin=stdin, timeout=timeout)
        except TransportError as exc:
            raise _Fail(f"{node}: {exc.message}", exc.hint, node) from None
        if not res.ok:
            err = (res.stderr or res.stdout).strip().splitlines()
            raise _Fail(f"{node}: {argv[0] if argv[0] != 'sh' else 'the check'} exited {res.exit_status}: "
                        f"{err[-1] if err else 'no output'}", node=node)
        return res.stdout

    def _holders(self, role: str) -> list[str]:
        return [n.name for n in self.plan.nodes_with_role(role)]

    def _port(self, comp: str, name: str) -> int:
        return self.plan.port(self.profile, comp, name)

    def _setting(self, comp: str, name: str) -> Any:
        return self.plan.setting(self.profile, comp, name)

    # -- checks ---------------------------------------------------------------
    def etcd(self) -> Check:
        nodes = self._holders("etcd")
        port = self._port("etcd", "client")
        eps = ",".join(f"http://{self.plan.address_of(self.plan.node(n))}:{port}" for n in nodes)
        # etcdctl exits 1 when an endpoint is unhealthy; its JSON says which.
        out = self._run(nodes[0], _sh('ETCDCTL_API=3 etcdctl --endpoints="$1" --command-timeout=5s endpoint health '
                                      '-w json 2>/dev/null; exit 0', eps))
        health = json.loads(out or "[]")
        members = json.loads(self._run(nodes[0], _sh('ETCDCTL_API=3 etcdctl --endpoints="$1" member list -w json',
                                                      eps.split(",")[0]))).get("members", [])
        bad = [h["endpoint"] for h in health if not h.get("health")]
        details = {"members": sorted(m.get("name", "") for m in members), "healthy": [h["endpoint"] for h in health if h.get("health")]}
        if bad or len(members) != len(nodes):
            raise _Fail(f"{len(members)} members, unhealthy: {', '.join(bad) or 'none'} (the plan has {len(nodes)})",
                        "look at /var/log/onsite/etcd.log on the unhealthy members", details=details)
        return Check("etcd", OK, f"{len(members)} members, all healthy", details=details)

    def patroni(self) -> Check:
        nodes = self._holders("postgres")
        listing = json.loads(self._run(nodes[0], ["patronictl", "-c", "/etc/patroni/config.yml", "list", "-f", "json"]))
        leaders = [m for m in listing if m.get("Role") == "Leader"]
        if len(leaders) != 1:
            raise _Fail(f"{len(leaders)} leaders among {len(listing)} members",
                        "patronictl -c /etc/patroni/config.yml list (on a postgres node) shows the state",
                        details={"members": listing})
        leader = leaders[0]["Member"]
        rows = self._run(leader, ["runuser", "-u", "postgres", "--", "psql", "-XAtc",
                                  "select application_name, state, sync_state, "
                                  "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint "
                                  "from pg_stat_replication order by 1"])
        standbys = []
        for line in rows.strip().splitlines():
            name, state, sync, lag = line.split("|")
            standbys.append({"member": name, "state": state, "sync_state": sync, "lag_bytes": int(lag)})
        streaming = [s for s in standbys if s["state"] == "streaming"]
        details = {"leader": leader, "standbys": standbys}
        want = len(nodes) - 1
        lags = ", ".join(f"{s['member']} {s['sync_state']} lag {s['lag_bytes']} B" for s in standbys)
        if len(streaming) != want:
            raise _Fail(f"leader {leader}, {len(streaming)} of {want} standbys streaming ({lags or 'none'})",
                        "look at /var/log/onsite/patroni.log on the standbys", details=details)
        if self._setting("patroni", "synchronous_mode") and want and \
                not any(s["sync_state"] in ("sync", "quorum") for s in streaming):
            raise _Fail(f"leader {leader}: synchronous_mode is on but no standby is synchronous ({lags}): "
                        "a commit waits for no standby", "patronictl -c /etc/patroni/config.yml list shows the "
                        "Sync Standby; look at /var/log/onsite/patroni.log on the leader", details=details)
        return Check("patroni", OK, f"leader {leader}; {want} standbys streaming: {lags}", details=details)

    def sentinel(self) -> Check:
        nodes = self._holders("sentinel")
        name = str(self._setting("sentinel", "master_name"))
        port = str(self._port("sentinel", "sentinel"))
        # The password reaches redis-cli through its environment, read from stdin.
        script = ('read -r REDISCLI_AUTH; export REDISCLI_AUTH; '
                  'redis-cli --no-auth-warning -h 127.0.0.1 -p "$1" info sentinel; '
                  'redis-cli --no-auth-warning -h 127.0.0.1 -p "$1" sentinel ckquorum "$2"')
        out = self._run(nodes[0], _sh(script, port, name),
                        stdin=(self.secrets.get("redis_password", "") + "\n").encode())
        line = next((x for x in out.splitlines() if x.startswith("master0:")), "")
        fields = dict(kv.split("=", 1) for kv in line.split(":", 1)[-1].split(",") if "=" in kv)
        quorum = out.strip().splitlines()[-1] if out.strip() else ""
        want_replicas = len(self._holders("redis")) - 1
        details = {"master": fields.get("address", ""), "status": fields.get("status", ""),
                   "replicas": fields.get("slaves", ""), "sentinels": fields.get("sentinels", ""), "quorum": quorum}
        if fields.get("status") != "ok" or fields.get("slaves") != str(want_replicas) \
                or fields.get("sentinels") != str(len(nodes)) or not quorum.startswith("OK"):
            raise _Fail(f"primary {details['master'] or '?'}: status {details['status'] or '?'}, "
                        f"{details['replicas'] or 0} replicas, {details['sentinels'] or 0} sentinels; {quorum}",
                        "redis-cli -p 26379 info sentinel on a sentinel node shows the state", details=details)
        return Check("sentinel", OK, f"primary {details['master']}, {want_replicas} replicas, "
                                     f"{len(nodes)} sentinels, quorum OK", details=details)

    def vips(self) -> list[Check]:
        out: list[Check] = []
        held: dict[str, list[str]] = {}
        members = sorted({m for v in self.plan.vips for m in v.members}, key=[n.name for n in self.plan.nodes].index)
        for node in members:
            for line in self._run(node, ["ip", "-o", "-4", "addr", "show"]).splitlines():
                parts = line.split()
                if "inet" in parts:
                    held.setdefault(parts[parts.index("inet") + 1].split("/")[0], []).append(node)
        for v in self.plan.vips:
            addr = self.plan.ips.get(v.address, "")
            spec = self.profile.vips.get(v.name)
            holders = held.get(addr, [])
            label = f"vip:{v.name}"
            details = {"address": addr, "slot": v.address, "holders": holders}
            if len(holders) != 1:
                out.append(Check(label, FAILED, f"{v.address} {addr} is held by {len(holders)} nodes "
                                                f"({', '.join(holders) or 'none'})",
                                 details=details, hint="look at /var/log/onsite/keepalived.log on the members"))
                continue
            holder = holders[0]
            backup = spec is not None and bool(set(self.plan.node(holder).roles) & set(spec.backup_roles))
            if backup:
                out.append(Check(label, WARN, f"{v.address} {addr} on {holder}, the backup: the cluster nodes' "
                                              f"checks ({spec.check}) fail", node=holder, details=details))
            else:
                out.append(Check(label, OK, f"{v.address} {addr} on {holder}", node=holder, details=details))
        return out

    def radius(self) -> Check:
        vip = next((v for v in self.plan.vips if self.profile.vips.get(v.name) and
                    self.profile.vips[v.name].check == "service-health"), None)
        addr = self.plan.ips.get(vip.address, "") if vip else self.plan.address_of(self.plan.node(self._holders("radius")[0]))
        port = self._port("radius", "auth")
        secret = self.secrets.get("radius_shared_secret", "")
        try:
            ans = probes.access_request(addr, port, secret, probes.PROBE_USER, probes.probe_password(secret))
        except probes.ProbeError as exc:
            raise _Fail(str(exc), "is keepalived holding the service VIP, and FreeRADIUS running?") from None
        details = {"address": addr, "port": port, "answer": ans.name, "from": ans.source, "ms": round(ans.seconds * 1000, 1)}
        if ans.code != probes.ACCESS_ACCEPT:
            raise _Fail(f"{addr}:{port} answered {ans.name} for the probe user", details=details)
        return Check("radius", OK, f"Access-Request to {addr}:{port} answered {ans.name} in "
                                   f"{details['ms']} ms (reply authenticated)", details=details)

    def socks5(self) -> list[Check]:
        out = []
        port = self._port("socks5", "socks")
        nodes = [n.name for n in self.plan.nodes]
        for node in self._holders("socks5"):
            target = self.plan.node(nodes[(nodes.index(node) + 1) % len(nodes)])
            addr = self.plan.address_of(self.plan.node(node))
            taddr = self.plan.address_of(target)
            details = {"proxy": f"{addr}:{port}", "target": f"{taddr}:22"}
            try:
                banner = probes.socks5_connect(addr, port, taddr, 22)
            except probes.ProbeError as exc:
                out.append(Check(f"socks5:{node}", FAILED, str(exc), node=node, details=details,
                                 hint="look at /var/log/onsite/socks5.log on the node"))
                continue
            ok = banner.startswith(b"SSH-")
            out.append(Check(f"socks5:{node}", OK if ok else FAILED,
                             f"CONNECT via {addr}:{port} to {target.name} {taddr}:22: "
                             + ("SSH banner received" if ok else "no SSH banner"), node=node, details=details))
        return out

    # -- all ------------------------------------------------------------------
    def run(self, on_check: Callable[[Check], None] = lambda c: None) -> Report:
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        checks: list[Check] = []
        plan_ = [("etcd", "etcd", self.etcd), ("patroni", "patroni", self.patroni), ("sentinel", "sentinel", self.sentinel),
                 ("vips", "keepalived", self.vips), ("radius", "radius", self.radius), ("socks5", "socks5", self.socks5)]
        for name, comp, fn in plan_:
            skip = (f"{comp} is provided outside this install" if self.plan.is_external(comp) else
                    f"{comp} is not installed by these bundles" if self.installed is not None and comp not in self.installed
                    else "")
            if skip:
                c = Check(name, SKIPPED, skip)
                checks.append(c)
                on_check(c)
                continue
            try:
                got = fn()
                new = got if isinstance(got, list) else [got]
            except _Fail as f:
                new = [Check(name, FAILED, f.summary, node=f.node, details=f.details, hint=f.hint)]
            except (ValueError, KeyError, IndexError, json.JSONDecodeError) as exc:
                new = [Check(name, FAILED, f"unexpected answer: {exc}", hint="run the check by hand on the node")]
            for c in new:
                checks.append(c)
                on_check(c)
        external = sorted(c for c in self.profile.components if self.plan.is_external(c))
        if external:
            c = Check("external", SKIPPED, "provided outside this install, not checked: " + ", ".join(external),
                      details={"components": external})
            checks.append(c)
            on_check(c)
        return Report(site=self.plan.site_name, started=started, plan_hash=self.plan.fingerprint(), checks=checks)


MARK = {OK: "PASS", FAILED: "FAIL", SKIPPED: "n/a", WARN: "WARN"}


def document(report: Report, plan: Plan, profile: Profile) -> str:
    """The acceptance report as Markdown, for the customer's records."""
    lines = [f"# Acceptance report: {report.site}", "",
             f"- Profile: {profile.title} ({profile.name} {profile.version})",
             f"- Checked: {report.started}",
             f"- Plan fingerprint: `{report.plan_hash}`",
             f"- Result: **{'PASSED' if report.ok else 'FAILED'}**", "",
             "## Addresses", "", "| slot | address | use |", "|---|---|---|"]
    for slot, addr in plan.ips.items():
        spec = profile.slots.get(slot)
        lines.append(f"| {slot} | {addr} | {spec.title if spec else ''} |")
    lines += ["", "## Nodes", "", "| node | address | roles |", "|---|---|---|"]
    for n in plan.nodes:
        lines.append(f"| {n.name} | {plan.address_of(n)} | {', '.join(n.roles)} |")
    lines += ["", "## Checks", "", "| check | result | what was seen |", "|---|---|---|"]
    for c in report.checks:
        lines.append(f"| {c.name} | {MARK[c.status]} | {c.summary.replace('|', '/')} |")
    lines += ["", "Generated by `onsite verify`. Run it again at any time to repeat these checks.", ""]
    return "\n".join(lines)


def write(report: Report, plan: Plan, profile: Profile, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started.replace(":", "").replace("+0000", "Z")
    js = folder / f"verify-{stamp}.json"
    md = folder / f"verify-{stamp}.md"
    js.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    md.write_text(document(report, plan, profile))
    return js, md


__all__ = ["Verifier", "Report", "Check", "document", "write"]
