"""The reference system, for real, on a lab of its own: a full install from
empty nodes (Debian packages only from the bundle), `onsite verify`, a second
install that changes nothing, and failover of every HA component.

The lab here is separate from the session's shared lab (other tests leave
faults and files behind on that one) and runs the real services: etcd,
Patroni + PostgreSQL 15, Redis + Sentinel, FreeRADIUS, Dante, HAProxy and
keepalived, and Prometheus + Alertmanager with their exporters watching
them (the lab's profile settings: scrapes every 2 s, alerts after 6 s).
Building the bundle downloads its Debian packages with apt.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import probes
from installer.lab import Lab
from installer.model import validate

from .reference_site import patroni_leader, psql, reference_lab, svc, vip_holders, wait_until


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """(lab, answer file): a fresh 4-node lab with the reference bundles next to it."""
    yield from reference_lab(tmp_path_factory, "osref", "198.18.101.0/24")


def secret(lab: Lab, name: str) -> str:
    return lab.secret_file(name).read_text().strip()


def redis_cli(lab: Lab, node: str, port: int, *args: str) -> str:
    # The password goes in through the environment, read from stdin.
    script = 'read -r REDISCLI_AUTH; export REDISCLI_AUTH; exec redis-cli --no-auth-warning -h 127.0.0.1 -p "$@"'
    return lab.run(node, ["bash", "-c", script, "_", str(port), *args], input=secret(lab, "redis_password") + "\n").stdout


def sentinel_primary(lab: Lab) -> str:
    return redis_cli(lab, "node3", 26379, "sentinel", "get-master-addr-by-name", "onsite").split()[0]


def last_report(answer: Path) -> dict:
    [folder] = [p for p in (answer.parent / "onsite-journal").iterdir() if p.is_dir()]
    return json.loads(sorted(folder.glob("verify-*.json"))[-1].read_text())


# -- monitoring ------------------------------------------------------------------


def monitoring_node(answer: Path) -> tuple[str, str]:
    """(name, address) of the node holding the monitoring role."""
    plan = validate.validate_file(answer).plan
    [node] = plan.nodes_with_role("monitoring")
    return node.name, plan.address_of(node)


def prom(answer: Path, path: str, **params: str):
    """Prometheus' HTTP API, asked from this machine as a customer would."""
    url = f"http://{monitoring_node(answer)[1]}:9090{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())["data"]


def alerts(answer: Path, state: str = "firing") -> list[dict]:
    return [a["labels"] for a in prom(answer, "/api/v1/alerts")["alerts"] if a["state"] == state]


def firing(answer: Path, alertname: str, **labels: str) -> list[dict]:
    return [a for a in alerts(answer) if a["alertname"] == alertname and all(a.get(k) == v for k, v in labels.items())]


def prometheus_verdict(answer: Path) -> dict:
    """The bundle's `verify: prometheus` check (verify/prometheus.sh on the
    monitoring node) as the last `onsite verify` reported it."""
    [check] = [c for c in last_report(answer)["checks"] if c["name"] == "prometheus"]
    return check


# -- the install ---------------------------------------------------------------


def test_full_install_from_empty_nodes_ends_with_verify_passing(ref, capsys):
    lab, answer = ref
    # Empty nodes: none of the services' packages is installed yet.
    assert lab.run("node1", "dpkg-query -W -f '${db:Status-Status}' etcd-server patroni redis-sentinel freeradius "
                            "dante-server haproxy 2>/dev/null", check=False).stdout.count("installed") == 0
    t0 = time.monotonic()
    rc = main(["install", str(answer), "--plain"])
    out = capsys.readouterr().out
    print(out[-4000:])
    assert rc == 0, out[-3000:]
    assert "install complete" in out and "verify passed" in out
    took = time.monotonic() - t0
    report = last_report(answer)
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert report["ok"] and all(status[k] == "ok" for k in
                                ("etcd", "patroni", "sentinel", "vip:k8s-api", "vip:service", "radius",
                                 "socks5:node1", "socks5:node2", "socks5:node3", "prometheus")), status
    patroni = next(c for c in report["checks"] if c["name"] == "patroni")
    assert len(patroni["details"]["standbys"]) == 2 and {s["state"] for s in patroni["details"]["standbys"]} == {"streaming"}
    # synchronous_mode: a commit waits for one standby from the end of the install on
    assert sorted(s["sync_state"] for s in patroni["details"]["standbys"]) == ["async", "sync"]
    [md] = (answer.parent / "onsite-journal").glob("*/verify-*.md")
    text = md.read_text()
    assert "Result: **PASSED**" in text and "| radius | PASS |" in text
    # Where the customer reaches the monitoring (the prometheus check's endpoints).
    assert f"| prometheus | http://{monitoring_node(answer)[1]}:9090 |" in text, text
    for name in ("postgres_superuser", "redis_password", "radius_shared_secret"):
        assert secret(lab, name) not in text and secret(lab, name) not in json.dumps(report)
    # Packages came from the bundle: each node has its roles' packages and no more.
    assert "installed" in lab.run("escape", "dpkg-query -W -f '${db:Status-Status}' freeradius").stdout
    assert "installed" not in lab.run("escape", "dpkg-query -W -f '${db:Status-Status}' patroni 2>/dev/null",
                                      check=False).stdout
    print(f"full reference install + verify: {took:.0f} s")


def _fingerprint(lab: Lab) -> dict[str, str]:
    """Service pids and config mtimes on every node: what a rerun must not change."""
    out = {}
    for n in lab.nodes:
        out[n.name] = lab.run(n.name, "cat /run/onsite/svc/*.pid 2>/dev/null | sort; "
                                      "stat -c '%n %Y' /etc/etcd/etcd.conf.yml /etc/patroni/config.yml "
                                      "/etc/redis/*.conf /etc/keepalived/keepalived.conf /etc/danted.conf "
                                      "/etc/freeradius/3.0/clients.conf /etc/prometheus/*.yml /etc/default/prometheus* "
                                      "/etc/onsite/vip-facts.conf 2>/dev/null", check=False).stdout
    return out


def test_second_install_changes_nothing(ref, capsys):
    lab, answer = ref
    before = _fingerprint(lab)
    assert main(["install", str(answer), "--plain"]) == 0
    out = capsys.readouterr().out
    assert "install complete: 0 steps ran" in out and "verify passed" in out
    assert _fingerprint(lab) == before


def test_prometheus_scrapes_every_target_and_no_alert_fires(ref):
    lab, answer = ref
    verdict = prometheus_verdict(answer)  # from the second install's `onsite verify`
    print(f"prometheus check: {verdict['status']}: {verdict['summary']}")
    assert verdict["status"] == "ok", verdict
    details = verdict["details"]
    address = monitoring_node(answer)[1]
    assert details["endpoints"] == {"prometheus": f"http://{address}:9090", "alertmanager": f"http://{address}:9093"}
    # prometheus, alertmanager, node x4, then etcd, patroni, postgres, redis, sentinel, haproxy x3
    assert details["targets"] == {"total": 2 + 4 + 6 * 3, "down": []}
    assert details["alerts"] == {"firing": [], "pending": []}
    assert details["vips_held"] == {"k8s-api": 1, "service": 1}  # each VIP on exactly one node
    jobs = {t["labels"]["job"] for t in prom(answer, "/api/v1/targets")["activeTargets"] if t["health"] == "up"}
    assert jobs == {"prometheus", "alertmanager", "node", "etcd", "patroni", "postgres", "redis", "sentinel", "haproxy"}
    # Exporters hold only the secrets they need: no password on any command line.
    for n in lab.nodes:
        ps = lab.run(n.name, ["ps", "-eo", "args"]).stdout
        for name in ("postgres_superuser", "postgres_replication", "redis_password", "radius_shared_secret"):
            assert secret(lab, name) not in ps
    assert lab.run("node1", ["stat", "-c", "%a", "/etc/default/prometheus-redis-exporter"]).stdout.strip() == "600"
    assert "PASSWORD" not in lab.run("node1", ["cat", "/etc/default/prometheus-postgres-exporter"]).stdout


def test_a_changed_radius_secret_full_of_special_characters_is_applied(ref, capsys):
    """A new RADIUS shared secret holding what FreeRADIUS (${...}, %{...},
    quotes, backslashes), bash and the health file treat specially: the rerun
    rewrites clients.conf and keepalived's health file (their checks compare
    them with the plan), every node's service check passes with it and RADIUS
    answers through the service VIP with it (verify)."""
    lab, answer = ref
    new = "n3w'se\"cr\\et ${confdir} %{User-Name} #\u00fc!"
    lab.secret_file("radius_shared_secret").write_text(new + "\n", encoding="utf-8")
    assert secret(lab, "radius_shared_secret") == new
    rc = main(["install", str(answer), "--plain"])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "verify passed" in out
    for n in lab.nodes:  # the health file is current: keepalived's check passes with the new secret
        lab.run(n.name, "bash /etc/keepalived/onsite-check-service-health.sh", timeout=30)


def test_a_missing_vendor_payload_is_named_before_anything_runs(ref, tmp_path, capsys):
    lab, answer = ref
    site = tmp_path / "site.yaml"
    site.write_text(answer.read_text().replace("  mongodb:\n    external: true\n", ""))
    rc = main(["install", str(site), "--bundle", str(answer.parent / "bundles/reference"),
               "--bundle", str(answer.parent / "bundles/base"), "--plain"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "payload/mongodb.tar.gz for mongodb is missing from bundle reference-1.0.0" in err
    assert "`mongodb: {external: true}`" in err
    # nothing started: no journal (the site lock and the run log are all there is)
    assert not any((p / "journal.json").exists() for p in (tmp_path / "onsite-journal").glob("*"))


# -- failover -------------------------------------------------------------------


def test_patroni_primary_stops_new_leader_no_committed_row_lost(ref):
    lab, answer = ref
    leader = patroni_leader(lab, "node1")
    assert leader
    psql(lab, leader, "create table if not exists failover_probe (id int primary key)")
    psql(lab, leader, "insert into failover_probe select g from generate_series(1, 1000) g on conflict do nothing")
    committed = psql(lab, leader, "select count(*) from failover_probe")
    others = [n for n in ("node1", "node2", "node3") if n != leader]
    svc(lab, leader, "stop", "patroni")
    try:
        new, took = wait_until("a new Patroni leader",
                               lambda: (x := patroni_leader(lab, others[0])) and x != leader and x, timeout=90)
        print(f"patroni: {leader} stopped, {new} leads after {took:.1f} s")
        assert psql(lab, new, "select count(*) from failover_probe") == committed == "1000"
        # Prometheus sees the failover (the new leader) and alerts on the stopped member.
        _, seen = wait_until("Prometheus seeing the new leader", lambda: prom(
            answer, "/api/v1/query", query=f'patroni_primary{{node="{new}"}} == 1')["result"], timeout=30)
        _, fired = wait_until("OnsiteTargetDown for the stopped Patroni",
                              lambda: firing(answer, "OnsiteTargetDown", job="patroni", node=leader), timeout=60)
        # A promotion slower than alert_after (a loaded machine) also fires the leader alert.
        no_leader = "fired" if firing(answer, "OnsitePatroniNoLeader") else "did not fire"
        print(f"prometheus: new leader seen {seen:.1f} s, OnsiteTargetDown(patroni, {leader}) fired {fired:.1f} s "
              f"after the failover (alert_after 6 s); OnsitePatroniNoLeader {no_leader}")
    finally:
        svc(lab, leader, "start", "patroni")
    # The old primary comes back as a standby of the new leader.
    t0 = time.monotonic()
    wait_until("two standbys streaming again",
               lambda: psql(lab, patroni_leader(lab, others[0]) or others[0],
                            "select count(*) from pg_stat_replication where state = 'streaming'") == "2", timeout=120)
    wait_until("no alert firing", lambda: not alerts(answer), timeout=60)
    print(f"prometheus: every alert cleared {time.monotonic() - t0:.1f} s after Patroni started again")


def test_redis_primary_stops_sentinel_promotes_a_replica(ref):
    lab, _ = ref
    primary = sentinel_primary(lab)
    node = next(n.name for n in lab.nodes if n.address == primary)
    redis_cli(lab, node, 6379, "set", "failover-key", "kept")
    redis_cli(lab, node, 6379, "wait", "2", "5000")  # both replicas have it
    svc(lab, node, "stop", "redis")
    try:
        new, took = wait_until("Sentinel to promote a replica", lambda: (x := sentinel_primary(lab)) != primary and x,
                               timeout=60)
        print(f"redis: {node} stopped, sentinel promoted {new} after {took:.1f} s")
        new_node = next(n.name for n in lab.nodes if n.address == new)
        assert "role:master" in redis_cli(lab, new_node, 6379, "info", "replication")
        assert redis_cli(lab, new_node, 6379, "get", "failover-key").strip() == "kept"
    finally:
        svc(lab, node, "start", "redis")
    wait_until("the old primary back as a replica",
               lambda: "role:slave" in redis_cli(lab, node, 6379, "info", "replication"), timeout=60)


def test_keepalived_stops_on_the_api_vip_holder_the_vip_moves(ref):
    lab, answer = ref
    from installer.model import validate

    plan = validate.validate_file(answer).plan
    ip5 = plan.ips["IP5"]
    [holder] = vip_holders(lab, ip5)
    svc(lab, holder, "stop", "keepalived")
    try:
        (new,), took = wait_until("IP5 on another node", lambda: [h for h in vip_holders(lab, ip5) if h != holder],
                                  timeout=30)
        print(f"keepalived: stopped on {holder}, IP5 on {new} after {took:.1f} s")
        assert vip_holders(lab, ip5) == [new]
    finally:
        svc(lab, holder, "start", "keepalived")
    wait_until("IP5 held by exactly one node", lambda: len(vip_holders(lab, ip5)) == 1, timeout=30)


def test_radius_down_on_every_cluster_node_moves_the_service_vip_to_escape_and_back(ref):
    lab, answer = ref
    from installer.model import validate

    plan = validate.validate_file(answer).plan
    ip6 = plan.ips["IP6"]
    vip = next(v for v in plan.vips if v.name == "service")
    allowed = vip.check.interval * vip.check.fall + 5  # the configured checks, plus VRRP's own seconds
    sec = secret(lab, "radius_shared_secret")
    assert vip_holders(lab, ip6) != ["escape"]
    for n in ("node1", "node2", "node3"):
        svc(lab, n, "stop", "radius")
    try:
        _, took = wait_until("IP6 on the escape node", lambda: vip_holders(lab, ip6) == ["escape"], timeout=allowed + 20)
        print(f"service VIP: radius stopped on the cluster, IP6 on escape after {took:.1f} s (checks allow {allowed} s)")
        assert took <= allowed
        answer_ = probes.access_request(ip6, 1812, sec, probes.PROBE_USER, probes.probe_password(sec))
        assert answer_.code == probes.ACCESS_ACCEPT  # the escape node serves through IP6
        # Prometheus alerts: its window (alert_after 6 s) plus scrapes and evaluations of 2 s.
        _, fired = wait_until("OnsiteServiceVipOnEscapeNode firing",
                              lambda: firing(answer, "OnsiteServiceVipOnEscapeNode", vip="service", node="escape"),
                              timeout=30)
        print(f"prometheus: OnsiteServiceVipOnEscapeNode fired {fired:.1f} s after IP6 reached the escape node")
        assert fired <= 6 + 4 * 2 + 2
    finally:
        for n in ("node1", "node2", "node3"):
            svc(lab, n, "start", "radius")
        restored = time.monotonic()
    back = vip.check.interval * vip.check.rise + 10
    _, took = wait_until("IP6 back on a cluster node", lambda: [h for h in vip_holders(lab, ip6) if h != "escape"],
                         timeout=back + 20)
    # RADIUS comes back node by node: the first cluster node whose checks pass
    # takes IP6, and a higher-priority one may preempt it a moment later (VRRP,
    # with a gap of milliseconds). Wait until one holder stays.
    steady_for = vip.check.interval * vip.check.rise + 2

    def steady_holder() -> str | None:
        first = vip_holders(lab, ip6)
        t0 = time.monotonic()
        while time.monotonic() - t0 < steady_for:
            if vip_holders(lab, ip6) != first:
                return None
            time.sleep(0.2)
        return first[0] if len(first) == 1 and first[0] != "escape" else None

    holder, settled = wait_until("one cluster node holding IP6 steadily", steady_holder, timeout=back + 40, every=0)
    print(f"service VIP: radius back, IP6 off the escape node after {took:.1f} s, steady on {holder} "
          f"{settled:.1f} s later")
    answer_ = probes.access_request(ip6, 1812, sec, probes.PROBE_USER, probes.probe_password(sec))
    assert answer_.code == probes.ACCESS_ACCEPT  # served through IP6 by the cluster again
    wait_until("OnsiteServiceVipOnEscapeNode cleared", lambda: not firing(answer, "OnsiteServiceVipOnEscapeNode"),
               timeout=30)
    print(f"prometheus: OnsiteServiceVipOnEscapeNode cleared by {time.monotonic() - restored:.1f} s after RADIUS "
          f"started again")


def test_verify_passes_again_after_the_failovers(ref, capsys):
    lab, answer = ref
    rc = main(["verify", str(answer)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "PASS patroni" in out and "PASS sentinel" in out
    verdict = prometheus_verdict(answer)  # every alert of the failovers has cleared
    assert verdict["status"] == "ok", verdict


def test_verify_fails_and_names_what_is_down(ref, capsys):
    lab, answer = ref
    svc(lab, "node2", "stop", "etcd")
    try:
        rc = main(["verify", str(answer)])
        out = capsys.readouterr().out
        assert rc == 1
        assert "FAIL etcd" in out and "198.18.101.12" in out
        # The bundle's monitoring check fails too, naming the target (it waits for targets to come back first).
        verdict = prometheus_verdict(answer)
        print(f"prometheus verify with etcd down on node2: {verdict['status']}: {verdict['summary']}")
        assert verdict["status"] == "failed"
        assert [d for d in verdict["details"]["targets"]["down"] if d.startswith("etcd on node2 ")], verdict
    finally:
        svc(lab, "node2", "start", "etcd")
