"""`onsite verify`: proof that the installed system works, at the end of an
install and at any time later. Each check asks the system itself, not
onsite's journal.

The checks are declared by the bundles (`verify:` in bundle.yaml), so the
engine knows no component. An entry is a check script the bundle ships or a
probe of a generic kind that this module sends:

  - id: NAME                   # shown in the report; unique
    title: What it proves
    component: COMPONENT       # n/a when the plan marks it external or no
                               # bundle installs it
    secrets: [NAME, ...]       # what a script receives (default: the
                               # component's secrets in the profile)
    timeout: 60
    # one of:
    script: verify/x.sh        # run as root on a node, in the bundle folder,
    roles: [ROLE]              # with the plan's ONSITE_* variables (stdin,
    scope: cluster | node      # never argv); cluster: the first reachable
                               # holder of a role; node: every holder. It
                               # prints `ONSITE-RESULT {"status": "ok" |
                               # "failed" | "warn", "summary": "...",
                               # "details": {...}, "hint": "..."}`; other
                               # output is ignored; a non-zero exit without
                               # that line is a failure.
    probe: vip-holders         # every VIP of the plan held by exactly one
                               # member (found with `ip addr` on the
                               # members); held by a backup-role member: warn
    probe: radius              # an Access-Request from this machine for a
    target: {vip: NAME}        # probe user, to the VIP (or `roles: [ROLE]`:
    port: COMPONENT.PORT       # each holder); the answer must be an
    secret: SECRET             # Access-Accept authenticated by the secret;
    user: NAME                 # password: probes.probe_password(user, secret)
    probe: socks5              # through each holder of `roles`, a CONNECT to
    roles: [ROLE]              # the next node's SSH port must return its
    port: COMPONENT.PORT       # banner
    probe: tcp                 # a TCP connect from this machine to each
    roles: [ROLE]              # holder's port (or target: {vip: NAME})
    port: COMPONENT.PORT

The report is printed, written as JSON (for machines) and as a Markdown
document for the customer's records; neither holds a secret. A check's
details may carry `endpoints` ({name: url}): the document lists them under
"Where to reach the system".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import clean, show
from ..model.profile import Profile
from ..remote.connections import Connections
from ..remote.transport import TransportError
from . import envfile, probes
from .bundle import Bundle
from .events import Listener, VerifyResult, ignore
from .push import REMOTE_ROOT

OK, FAILED, SKIPPED, WARN = "ok", "failed", "skipped", "warn"
RESULT_MARK = "ONSITE-RESULT "
KINDS = ("script", "vip-holders", "radius", "socks5", "tcp")
_KNOWN = {"id", "title", "component", "secrets", "timeout", "script", "roles", "scope", "probe", "target", "port",
          "secret", "user"}

# Values reach the script through its stdin, as an env file; argv holds only
# the bundle folder and the script's path, both from the bundle.
_RUN_CHECK = 'set -a; . /dev/stdin; set +a; export ONSITE_CHECK="$3"; cd "$1" && exec bash "$2" </dev/null'


@dataclasses.dataclass
class Check:
    name: str
    status: str
    summary: str
    node: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    hint: str = ""


@dataclasses.dataclass(frozen=True)
class Declared:
    id: str
    title: str
    kind: str
    bundle: str
    raw: dict[str, Any]
    component: str | None = None

    @property
    def roles(self) -> list[str]:
        return list(self.raw.get("roles") or [])


@dataclasses.dataclass
class Report:
    site: str
    started: str
    plan_hash: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        """Every check passed (or warned), and at least one was made: a
        report of nothing but n/a proves nothing."""
        return any(c.status in (OK, WARN) for c in self.checks) and all(c.status in (OK, SKIPPED, WARN)
                                                                           for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "time": self.started, "plan_hash": self.plan_hash, "ok": self.ok,
                "checks": [dataclasses.asdict(c) for c in self.checks]}


class _Fail(Exception):
    def __init__(self, summary: str, hint: str = "", node: str | None = None, details: dict | None = None) -> None:
        super().__init__(summary)
        self.summary, self.hint, self.node, self.details = summary, hint, node, details or {}


def declared_checks(bundles: Sequence[Bundle]) -> list[Declared]:
    """The bundles' checks in bundle order. Malformed entries become checks
    that fail with the reason (a bundle is built by the vendor, not typed on
    site; its problems are still named, never a crash)."""
    out: list[Declared] = []
    for b in bundles:
        for i, raw in enumerate(b.checks):
            if not isinstance(raw, dict):
                out.append(Declared(f"{b.id}:verify[{i}]", "", "invalid", b.id, {"why": "not a mapping"}))
                continue
            cid = str(raw.get("id") or f"{b.id}:verify[{i}]")
            kind = "script" if "script" in raw else str(raw.get("probe", ""))
            why = ""
            if kind not in KINDS:
                why = m("unknown probe {probe} (known: {known}, or a script)", probe=show(raw.get('probe')), known=", ".join(KINDS[1:]))
            elif set(raw) - _KNOWN:
                why = m("unknown field(s) {fields}", fields=", ".join(sorted(map(str, set(raw) - _KNOWN))))
            comp = raw.get("component")
            out.append(Declared(cid, str(raw.get("title", cid)), "invalid" if why else kind, b.id,
                                {"why": why} if why else raw, comp if isinstance(comp, str) else None))
    return out


class Verifier:
    def __init__(self, plan: Plan, profile: Profile, conns: Connections, secrets: dict[str, str],
                 bundles: Sequence[Bundle], installed: set[str] | None = None) -> None:
        """installed: the components the bundles' steps install (None: every
        component counts as installed); checks of others are n/a."""
        self.plan, self.profile, self.conns, self.secrets = plan, profile, conns, secrets
        self.bundles = list(bundles)
        self.installed = installed

    # -- helpers ------------------------------------------------------------------
    def _holders(self, roles: Sequence[str]) -> list[str]:
        return [n.name for n in self.plan.nodes if "*" in roles or set(n.roles) & set(roles)]

    def _port(self, ref: Any) -> int:
        comp, _, name = str(ref).partition(".")
        try:
            return int(self.plan.port(self.profile, comp, name))
        except (KeyError, ValueError, TypeError):
            raise _Fail(m("the check names port {port}, which the profile does not have", port=show(ref)),
                        m("fix the bundle's verify entry (component.port)")) from None

    def _secret(self, name: Any) -> str:
        if name not in self.secrets:
            raise _Fail(m("the check needs the secret {name}, which the plan does not have", name=show(name)),
                        m("fix the bundle's verify entry or the profile's secrets"))
        return self.secrets[name]

    def _target(self, d: Declared) -> list[tuple[str, str]]:
        """(label, address) to probe: a VIP's address or each role holder's."""
        target = d.raw.get("target") or {}
        vip = target.get("vip") if isinstance(target, dict) else None
        if vip:
            v = next((v for v in self.plan.vips if v.name == vip), None)
            if v is None:
                raise _Fail(m("the plan has no VIP {vip}", vip=show(vip)), m("fix the bundle's verify entry"))
            return [(f"{v.address}", self.plan.ips.get(v.address, ""))]
        return [(n, self.plan.address_of(self.plan.node(n))) for n in self._holders(d.roles)]

    # -- kinds --------------------------------------------------------------------
    def _script(self, d: Declared) -> list[Check]:
        nodes = self._holders(d.roles) if d.roles else [n.name for n in self.plan.nodes]
        if not nodes:
            return [Check(d.id, SKIPPED, m("no node holds {roles}", roles=', '.join(d.roles)))]
        wanted = d.raw.get("secrets")
        if wanted is None:
            comp = self.profile.components.get(d.component or "")
            wanted = list(comp.secrets) if comp is not None else []
        secrets = {k: self._secret(k) for k in wanted}
        timeout = float(d.raw.get("timeout", 60))
        bdir = f"{REMOTE_ROOT}/{d.bundle}"
        if d.raw.get("scope", "cluster") == "node":  # every node at once, reported in plan order
            with ThreadPoolExecutor(max_workers=min(8, len(nodes)), thread_name_prefix="verify") as pool:
                return list(pool.map(lambda n: self._run_script(d, n, bdir, secrets, timeout, f"{d.id}:{n}"), nodes))
        last: Check | None = None
        for n in nodes:  # the first holder that answers
            last = self._run_script(d, n, bdir, secrets, timeout, d.id)
            if not last.details.get("unreachable"):
                return [last]
        return [last] if last else []

    def _run_script(self, d: Declared, node: str, bdir: str, secrets: dict[str, str], timeout: float,
                    name: str) -> Check:
        env = envfile.render(envfile.variables(self.plan, self.profile, node, secrets)).encode()
        try:
            res = self.conns.get(node).run(["bash", "-c", _RUN_CHECK, "onsite-verify", bdir, str(d.raw["script"]), d.id],
                                           stdin=env, timeout=timeout)
        except TransportError as exc:
            return Check(name, FAILED, m("{node}: {message}", node=node, message=exc.message), node=node, hint=exc.hint, details={"unreachable": True})
        line = next((x for x in reversed(res.stdout.splitlines()) if x.startswith(RESULT_MARK)), None)
        if line is None:
            err = (res.stderr or res.stdout).strip().splitlines()
            return Check(name, FAILED, m("{node}: the check exited {status} without a verdict: {output}", node=node, status=res.exit_status,
                                       output=show(err[-1], 160) if err else m("no output")), node=node,
                         hint=m("run the bundle's check script by hand on the node"))
        try:
            verdict = json.loads(line[len(RESULT_MARK):])
            status = verdict["status"] if verdict["status"] in (OK, FAILED, WARN) else FAILED
        except (ValueError, KeyError, TypeError):
            return Check(name, FAILED, m("{node}: the check printed an unreadable verdict", node=node), node=node,
                         hint=m("run the bundle's check script by hand on the node"))
        details = verdict.get("details") if isinstance(verdict.get("details"), dict) else {}
        return Check(name, status, clean(str(verdict.get("summary", ""))[:500], keep_lines=True), node=node, details=details,
                     hint=clean(str(verdict.get("hint", ""))[:500], keep_lines=True))

    def _vip_holders(self, d: Declared) -> list[Check]:
        out: list[Check] = []
        held: dict[str, list[str]] = {}
        order = [n.name for n in self.plan.nodes]
        members = sorted({m for v in self.plan.vips for m in v.members}, key=order.index)
        unreachable: list[str] = []
        for node in members:
            try:
                res = self.conns.get(node).run(["ip", "-o", "-4", "addr", "show"], timeout=30)
            except TransportError:
                unreachable.append(node)
                continue
            for line in res.stdout.splitlines():
                parts = line.split()
                if "inet" in parts and parts.index("inet") + 1 < len(parts):
                    held.setdefault(parts[parts.index("inet") + 1].split("/")[0], []).append(node)
        for v in self.plan.vips:
            addr = self.plan.ips.get(v.address, "")
            spec = self.profile.vips.get(v.name)
            holders = held.get(addr, [])
            label = f"vip:{v.name}"
            details = {"address": addr, "slot": v.address, "holders": holders, "unreachable": unreachable}
            if len(holders) != 1:
                held = m("{slot} {address} is held by {count} nodes ({holders})", slot=v.address, address=addr, count=len(holders),
                         holders=", ".join(holders) or m("none"))
                out.append(Check(label, FAILED, m("{held}; not reachable: {nodes}", held=held, nodes=", ".join(unreachable))
                                 if unreachable else held,
                                 details=details, hint=m("look at the address manager's log on the members")))
                continue
            holder = holders[0]
            backup = spec is not None and bool(set(self.plan.node(holder).roles) & set(spec.backup_roles))
            if backup:
                out.append(Check(label, WARN, m("{slot} {address} on {holder}, the backup: the cluster nodes' checks ({check}) fail", slot=v.address, address=addr, holder=holder, check=spec.check), node=holder, details=details))
            else:
                out.append(Check(label, OK, m("{slot} {address} on {holder}", slot=v.address, address=addr, holder=holder), node=holder, details=details))
        return out

    def _radius(self, d: Declared) -> list[Check]:
        port = self._port(d.raw.get("port"))
        secret = self._secret(d.raw.get("secret"))
        user = str(d.raw.get("user") or probes.PROBE_USER)
        out = []
        for label, addr in self._target(d):
            name = d.id if d.raw.get("target") else f"{d.id}:{label}"
            try:
                ans = probes.access_request(addr, port, secret, user, probes.probe_password(secret, user))
            except probes.ProbeError as exc:
                out.append(Check(name, FAILED, exc.message, hint=m("is the address held, and the RADIUS service running?")))
                continue
            details = {"address": addr, "port": port, "answer": ans.name, "from": ans.source,
                       "ms": round(ans.seconds * 1000, 1)}
            if ans.code != probes.ACCESS_ACCEPT:
                out.append(Check(name, FAILED, m("{address}:{port} answered {answer} for the probe user", address=addr, port=port, answer=ans.name), details=details))
            else:
                out.append(Check(name, OK, m("Access-Request to {address}:{port} answered {answer} in {ms} ms (reply authenticated)", address=addr, port=port, answer=ans.name, ms=details['ms']), details=details))
        return out

    def _socks5(self, d: Declared) -> list[Check]:
        out = []
        port = self._port(d.raw.get("port"))
        nodes = [n.name for n in self.plan.nodes]
        for node in self._holders(d.roles):
            target = self.plan.node(nodes[(nodes.index(node) + 1) % len(nodes)])
            addr = self.plan.address_of(self.plan.node(node))
            taddr = self.plan.address_of(target)
            tport = target.ssh.port
            details = {"proxy": f"{addr}:{port}", "target": f"{taddr}:{tport}"}
            try:
                banner = probes.socks5_connect(addr, port, taddr, tport)
            except probes.ProbeError as exc:
                out.append(Check(f"{d.id}:{node}", FAILED, exc.message, node=node, details=details,
                                 hint=m("look at the proxy's log on the node")))
                continue
            ok = banner.startswith(b"SSH-")
            out.append(Check(f"{d.id}:{node}", OK if ok else FAILED,
                             m("CONNECT via {proxy} to {node} {target}: SSH banner received", proxy=f"{addr}:{port}", node=target.name,
                               target=f"{taddr}:{tport}") if ok else
                             m("CONNECT via {proxy} to {node} {target}: no SSH banner", proxy=f"{addr}:{port}", node=target.name,
                               target=f"{taddr}:{tport}"), node=node, details=details))
        return out

    def _tcp(self, d: Declared) -> list[Check]:
        port = self._port(d.raw.get("port"))
        out = []
        for label, addr in self._target(d):
            name = d.id if d.raw.get("target") else f"{d.id}:{label}"
            try:
                ms = probes.tcp_connect(addr, port)
                out.append(Check(name, OK, m("{address}:{port} accepts connections ({ms} ms)", address=addr, port=port, ms=f"{ms:.1f}"),
                                 details={"address": addr, "port": port}))
            except probes.ProbeError as exc:
                out.append(Check(name, FAILED, exc.message, details={"address": addr, "port": port}))
        return out

    # -- all ----------------------------------------------------------------------
    def run(self, listener: Listener = ignore) -> Report:
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        checks: list[Check] = []

        from .runner import Masker, masked_values

        mask = Masker(masked_values(self.secrets), self.conns.resolved_secrets)

        def add(c: Check) -> None:
            # a bundle's script could print a secret: reports and events hold none
            c.summary, c.hint = mask(c.summary), mask(c.hint)
            c.details = json.loads(mask(json.dumps(c.details)))
            checks.append(c)
            listener(VerifyResult(c.name, c.status, c.summary, c.node, c.hint))

        declared = declared_checks(self.bundles)
        if not declared:
            add(Check("checks", FAILED, m("nothing to verify: no bundle declares a check"),
                      hint=m("run verify with the bundles the site was installed from (bundles/ next to the answer file, or --bundle)")))
        kinds = {"script": self._script, "vip-holders": self._vip_holders, "radius": self._radius,
                 "socks5": self._socks5, "tcp": self._tcp}
        for d in declared:
            comp = d.component
            if d.kind == "invalid":
                add(Check(d.id, FAILED, m("bundle {bundle}: {why}", bundle=d.bundle, why=d.raw['why']), hint=m("fix the bundle's verify entry")))
                continue
            skip = (m("{component} is provided outside this install", component=comp) if comp and self.plan.is_external(comp) else
                    m("{component} is not installed by these bundles", component=comp) if comp and self.installed is not None
                    and comp not in self.installed else "")
            if skip:
                add(Check(d.id, SKIPPED, skip))
                continue
            try:
                new = kinds[d.kind](d)
            except _Fail as f:
                new = [Check(d.id, FAILED, f.summary, node=f.node, details=f.details, hint=f.hint)]
            for c in new:
                add(c)
        if declared and not any(c.status != SKIPPED for c in checks):
            add(Check("checks", FAILED, m("nothing was checked: every declared check is n/a"),
                      hint=m("verify the site with the bundles it was installed from")))
        external = sorted(c for c in self.profile.components if self.plan.is_external(c))
        if external:
            add(Check("external", SKIPPED, m("provided outside this install, not checked: {components}", components=", ".join(external)),
                      details={"components": external}))
        return Report(site=self.plan.site_name, started=started, plan_hash=self.plan.fingerprint(), checks=checks)


MARK = {OK: "PASS", FAILED: "FAIL", SKIPPED: "n/a", WARN: "WARN"}


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "/").split())


def document(report: Report, plan: Plan, profile: Profile) -> str:
    """The acceptance report as Markdown, for the customer's records."""
    lines = [f"# Acceptance report: {_cell(report.site)}", "",
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
    endpoints = {str(k): str(v) for c in report.checks for k, v in (c.details.get("endpoints") or {}).items()}
    if endpoints:
        lines += ["", "## Where to reach the system", "", "| what | where |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in endpoints.items()]
    lines += ["", "## Checks", "", "| check | result | what was seen |", "|---|---|---|"]
    for c in report.checks:
        lines.append(f"| {_cell(c.name)} | {MARK[c.status]} | {_cell(c.summary)} |")
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


__all__ = ["Verifier", "Report", "Check", "declared_checks", "document", "write", "RESULT_MARK"]
