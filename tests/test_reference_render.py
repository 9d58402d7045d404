"""The reference bundle's configuration files, rendered from a plan and
checked against golden files (tests/golden/<node>/<file>).

The renderers are the bundle's own scripts (bundles/reference/render/*.sh),
run here with the exact variables a node gets (installer.envfile), so what
is checked is what a node writes. Secrets carry quotes, backslashes and a
dollar sign: each file format must keep them intact (checked by parsing).

After an intended change: ONSITE_UPDATE_GOLDEN=1 pytest tests/test_reference_render.py,
then review the diff of tests/golden/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

from installer.engine import envfile, probes
from installer.model import validate

from .conftest import repo_root

BUNDLE = repo_root() / "bundles/reference"
GOLDEN = repo_root() / "tests/golden"
PLAN = repo_root() / "tests/corpus/base.yaml"
SECRETS = {
    "postgres_superuser": "su'per\"pw\\$HOME",
    "postgres_replication": "repl pw 'x'",
    "redis_password": "red\\is#pw$1{x}",  # no blank or quote: Sentinel writes it back unquoted
    "radius_shared_secret": 'ra"dius\\se\'cret',
}
RENDERERS = sorted(p.name for p in (BUNDLE / "render").glob("*.sh"))
NODES = ["node1", "node2", "node3", "escape"]
# Which nodes each file is for (by the roles in tests/corpus/base.yaml).
FOR = {"radius-clients.sh": NODES, "radius-users.sh": NODES, "keepalived.sh": NODES, "keepalived-health.sh": NODES,
       "node-exporter-defaults.sh": NODES, "vip-facts.sh": NODES}
# The monitoring node's files (node3 holds the monitoring role).
FOR.update({s: ["node3"] for s in ("prometheus.sh", "prometheus-rules.sh", "prometheus-defaults.sh", "alertmanager.sh",
                                   "alertmanager-defaults.sh", "grafana-datasource.sh", "grafana-dashboards.sh",
                                   "grafana-dashboard.sh")})


def _env(node: str) -> dict[str, str]:
    result = validate.validate_file(PLAN)
    assert result.plan is not None and result.profile is not None
    env = envfile.variables(result.plan, result.profile, node, SECRETS)
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env, "ONSITE_STEP": "render-test"}


def render(script: str, node: str) -> str:
    res = subprocess.run(["bash", f"render/{script}"], cwd=BUNDLE, env=_env(node), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


CASES = [(s, n) for s in RENDERERS for n in FOR.get(s, ["node1", "node2"])]


@pytest.mark.parametrize(("script", "node"), CASES, ids=[f"{n}-{s}" for s, n in CASES])
def test_golden(script, node):
    got = render(script, node)
    golden = GOLDEN / node / script.replace(".sh", ".out")
    if os.environ.get("ONSITE_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"no golden file {golden}: run with ONSITE_UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text(), f"{script} for {node} differs from {golden}"


def test_every_renderer_has_golden_files():
    assert len(RENDERERS) >= 14
    assert {s for s, _ in CASES} == set(RENDERERS)


def test_yaml_files_keep_secrets_intact():
    patroni = yaml.safe_load(render("patroni.sh", "node1"))
    auth = patroni["postgresql"]["authentication"]
    assert auth["superuser"]["password"] == SECRETS["postgres_superuser"]
    assert auth["replication"]["password"] == SECRETS["postgres_replication"]
    assert patroni["etcd"]["hosts"] == "10.20.30.11:2379,10.20.30.12:2379,10.20.30.13:2379"
    for doc in yaml.safe_load_all(render("kubeadm.sh", "node2")):
        if doc["kind"] == "ClusterConfiguration":
            assert doc["controlPlaneEndpoint"] == "10.20.30.15:16443"  # IP5 on HAProxy's port
            assert doc["etcd"]["external"]["endpoints"][0] == "http://10.20.30.11:2379"
    assert yaml.safe_load(render("etcd.sh", "node3"))["initial-cluster"].count("=http://") == 3


def _redis_words(line: str) -> list[str]:
    """Redis's config tokenizer (sdssplitargs) for double-quoted words."""
    out, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        if line[i] == '"':
            i += 1
            word = ""
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                word += line[i]
                i += 1
            i += 1
        else:
            j = line.find(" ", i)
            j = len(line) if j < 0 else j
            word, i = line[i:j], j
        out.append(word)
    return out


def test_redis_and_radius_quoting():
    conf = render("redis.sh", "node2")
    words = [_redis_words(x) for x in conf.splitlines() if x.startswith(("requirepass", "masterauth"))]
    assert words == [["requirepass", SECRETS["redis_password"]], ["masterauth", SECRETS["redis_password"]]]
    assert "replicaof 10.20.30.11 6379" in conf  # node1 is the first redis node
    assert "replicaof" not in render("redis.sh", "node1")
    sentinel = render("sentinel.sh", "node1")
    assert "sentinel monitor onsite 10.20.30.11 6379 2" in sentinel  # quorum: 2 of 3
    clients = render("radius-clients.sh", "node1")
    # single quotes: FreeRADIUS expands ${...} inside double quotes
    assert "secret = 'ra\"dius\\se\\'cret'" in clients


def test_probe_password_matches_the_installers():
    users = render("radius-users.sh", "escape")
    assert f"Cleartext-Password := '{probes.probe_password(SECRETS['radius_shared_secret'])}'" in users


def test_keepalived_service_vip_escape_is_lowest_and_unicast():
    esc = render("keepalived.sh", "escape")
    assert "vrrp_instance k8s_api" not in esc  # the escape node is not an API VIP member
    assert "priority 50" in esc and "10.20.30.16/24 dev eth0" in esc
    assert "interval 10" in esc and "fall 6" in esc and "rise 2" in esc
    n1 = render("keepalived.sh", "node1")
    assert n1.count("vrrp_instance") == 2 and "priority 150" in n1
    assert "\t\t10.20.30.14\n" in n1 and "\t\t10.20.30.11\n" not in n1  # peers, not itself


def test_rocketmq_broker_roles():
    first, second = render("rocketmq-broker.sh", "node1"), render("rocketmq-broker.sh", "node2")
    assert "brokerId=0" in first and "brokerRole=ASYNC_MASTER" in first
    assert "brokerId=1" in second and "brokerRole=SLAVE" in second
    assert "namesrvAddr=10.20.30.11:9876;10.20.30.12:9876;10.20.30.13:9876" in first


def test_a_hostile_replica_set_name_is_refused(tmp_path):
    env = _env("node1")
    env["ONSITE_SETTING_MONGODB_REPLICA_SET"] = 'rs0"}); db.dropDatabase(); ({"'
    res = subprocess.run(["bash", "render/mongo-rs.sh"], cwd=BUNDLE, env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "components.mongodb.replica_set" in res.stderr and "is not a plain name" in res.stderr


# -- monitoring -------------------------------------------------------------------


def _tool(name: str) -> str:
    """promtool / amtool: scripts/setup.sh unpacks them from Debian's packages into .venv/bin."""
    path = repo_root() / ".venv/bin" / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"CI must check the Prometheus files: {name} is missing (run scripts/setup.sh)")
        pytest.skip(f"{name} is not installed (scripts/setup.sh unpacks it into .venv/bin)")
    return found


def test_promtool_accepts_the_rendered_config_and_rules(tmp_path):
    rules = tmp_path / "onsite-rules.yml"
    rules.write_text(render("prometheus-rules.sh", "node3"))
    config = tmp_path / "prometheus.yml"
    config.write_text(render("prometheus.sh", "node3").replace("/etc/prometheus/onsite-rules.yml", str(rules)))
    for args in (["check", "rules", str(rules)], ["check", "config", str(config)]):
        res = subprocess.run([_tool("promtool"), *args], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 12 rules found" in res.stdout
    am = tmp_path / "alertmanager.yml"
    am.write_text(render("alertmanager.sh", "node3"))
    res = subprocess.run([_tool("amtool"), "check-config", str(am)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


# What the rules make of a site, scrape by scrape (promtool test rules): the
# lab checks the same alerts against real faults in tests/test_reference.py.
RULE_TESTS = """
rule_files: [onsite-rules.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - {series: 'onsite_vip_held{vip="service",address="10.20.30.16",escape="false",node="node1"}', values: '1x4 0x12'}
      - {series: 'onsite_vip_held{vip="service",address="10.20.30.16",escape="true",node="escape"}', values: '0x4 1x12'}
      - {series: 'onsite_vip_held{vip="k8s-api",address="10.20.30.15",escape="false",node="node1"}', values: '1x16'}
      - {series: 'onsite_vip_held{vip="k8s-api",address="10.20.30.15",escape="false",node="node2"}', values: '0x4 1x12'}
      - {series: 'onsite_vip_held{vip="spare",address="10.20.30.17",escape="false",node="node3"}', values: '0x16'}
      - {series: 'patroni_primary{node="node1",instance="a"}', values: '1x4 0x12'}
      - {series: 'patroni_primary{node="node2",instance="b"}', values: '0x16'}
      - {series: 'up{job="etcd",node="node2",instance="c"}', values: '1x16'}
    alert_rule_test:
      - {eval_time: 30s, alertname: OnsiteServiceVipOnEscapeNode, exp_alerts: []}
      - eval_time: 3m
        alertname: OnsiteServiceVipOnEscapeNode
        exp_alerts:
          - exp_labels: {severity: critical, vip: service, address: 10.20.30.16, escape: "true", node: escape}
            exp_annotations:
              summary: 'VIP service (10.20.30.16) is on the escape node escape: the cluster does not serve'
      - eval_time: 3m
        alertname: OnsiteVipHeldTwice
        exp_alerts:
          - exp_labels: {severity: critical, vip: k8s-api, address: 10.20.30.15}
            exp_annotations: {summary: '2 nodes hold VIP k8s-api (10.20.30.15)'}
      - {eval_time: 30s, alertname: OnsiteVipNotHeld, exp_alerts: []}
      - eval_time: 3m
        alertname: OnsiteVipNotHeld
        exp_alerts:
          - exp_labels: {severity: critical, vip: spare, address: 10.20.30.17}
            exp_annotations: {summary: 'no node holds VIP spare (10.20.30.17), or its holder does not report'}
      - eval_time: 3m
        alertname: OnsitePatroniNoLeader
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations: {summary: 'Patroni has no leader: PostgreSQL takes no writes'}
      - {eval_time: 3m, alertname: OnsiteEtcdMemberDown, exp_alerts: []}
  - interval: 15s
    input_series:
      # / on node1 fills to 96 % (df's count: used / (used + available to users))
      - {series: 'node_filesystem_size_bytes{node="node1",mountpoint="/"}', values: '100x16'}
      - {series: 'node_filesystem_free_bytes{node="node1",mountpoint="/"}', values: '10x4 4x12'}
      - {series: 'node_filesystem_avail_bytes{node="node1",mountpoint="/"}', values: '5x4 4x12'}
      # a Sentinel loses quorum; etcd on node2 stops answering
      - {series: 'redis_sentinel_master_ckquorum_status{node="node1",master_name="onsite"}', values: '1x4 0x12'}
      - {series: 'redis_up{job="sentinel",node="node1"}', values: '1x16'}
      - {series: 'redis_up{job="sentinel",node="node2"}', values: '1x16'}
      - {series: 'redis_up{job="sentinel",node="node3"}', values: '1x16'}
      - {series: 'up{job="etcd",node="node2",instance="c"}', values: '1x4 0x12'}
      # the standby on node3 replays 2 MiB behind its leader
      - {series: 'patroni_primary{node="node1",instance="a"}', values: '1x16'}
      - {series: 'patroni_xlog_location{node="node1",instance="a"}', values: '3145728x16'}
      - {series: 'patroni_replica{node="node3",instance="b"}', values: '1x16'}
      - {series: 'patroni_xlog_replayed_location{node="node3",instance="b"}', values: '3145728x4 1048576x12'}
    alert_rule_test:
      - {eval_time: 30s, alertname: OnsiteDiskFull, exp_alerts: []}
      - eval_time: 3m
        alertname: OnsiteDiskFull
        exp_alerts:
          - exp_labels: {severity: critical, node: node1, mountpoint: /}
            exp_annotations: {summary: '/ on node1 is 96 % full'}
      - eval_time: 3m
        alertname: OnsiteSentinelNoQuorum
        exp_alerts:
          - exp_labels: {severity: critical, node: node1, master_name: onsite}
            exp_annotations: {summary: 'Redis Sentinel has no quorum: a failed Redis primary would not be replaced'}
      - eval_time: 3m
        alertname: OnsiteEtcdMemberDown
        exp_alerts:
          - exp_labels: {severity: critical, job: etcd, node: node2, instance: c}
            exp_annotations: {summary: 'etcd member on node2 is down or has no leader'}
      - eval_time: 3m
        alertname: OnsitePatroniStandbyLagging
        exp_alerts:
          - exp_labels: {severity: warning, node: node3, instance: b}
            exp_annotations: {summary: 'the standby on node3 is 2MiB behind its leader'}
      - {eval_time: 3m, alertname: OnsitePatroniNoLeader, exp_alerts: []}
"""


def test_the_rules_fire_on_the_faults_they_name(tmp_path):
    (tmp_path / "onsite-rules.yml").write_text(render("prometheus-rules.sh", "node3"))
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    res = subprocess.run([_tool("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_monitoring_files_keep_values_intact():
    # The exporter's environment file reads back as the secret, through bash
    # (systemd's EnvironmentFile unquotes double quotes the same way).
    env = render("redis-exporter-defaults.sh", "node1")
    res = subprocess.run(["bash", "-c", 'set -a; . /dev/stdin; printf %s "$REDIS_PASSWORD"'], input=env,
                         capture_output=True, text=True)
    assert res.stdout == SECRETS["redis_password"]
    assert SECRETS["redis_password"] not in render("prometheus.sh", "node3")  # Prometheus needs no secret
    config = yaml.safe_load(render("prometheus.sh", "node3"))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "alertmanager", "node", "etcd", "patroni", "postgres", "redis", "sentinel", "haproxy"}
    assert len(jobs["node"]["static_configs"]) == 4  # every node, the escape node too
    assert jobs["haproxy"]["static_configs"][0]["targets"] == ["10.20.30.11:8404"]
    assert config["global"]["scrape_timeout"] == "10s"
    dashboard = json.loads(render("grafana-dashboard.sh", "node3"))
    assert dashboard["title"] == "onsite: Campus North" and len(dashboard["panels"]) >= 8
    assert yaml.safe_load(render("grafana-datasource.sh", "node3"))["datasources"][0]["url"] == "http://10.20.30.13:9090"
    assert render("vip-facts.sh", "escape").count('escape="true"') == 1  # the escape node is a member of IP6 only


def test_hostile_monitoring_settings_are_refused():
    env = _env("node3")
    env["ONSITE_SETTING_PROMETHEUS_RETENTION"] = "15d --web.enable-admin-api"
    res = subprocess.run(["bash", "render/prometheus-defaults.sh"], cwd=BUNDLE, env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "retention" in res.stderr




def _sandbox(tmp_path):
    """A copy of the bundle whose keepalived step and check write under
    tmp_path instead of /etc and /var/lib/onsite, with services stubbed."""
    root = tmp_path / "root"
    bundle = tmp_path / "bundle"
    for sub in ("lib", "render", "steps", "files"):
        shutil.copytree(BUNDLE / sub, bundle / sub)
    for script in ("steps/keepalived.sh", "steps/keepalived.check.sh"):
        p = bundle / script
        p.write_text(p.read_text().replace("/etc/keepalived", f"{root}/etc/keepalived"))
    lib = bundle / "lib/onsite.sh"
    text = lib.read_text().replace("STATE_DIR=/var/lib/onsite/state", f"STATE_DIR={root}/state")
    lib.write_text(text + "\n# test stubs\nchown() { :; }\nsvc_running() { :; }\nsvc_start() { :; }\n"
                   'svc_apply() { echo "applied $1"; }\nsvc_reload() { echo "reloaded $1"; }\n')
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/keepalived").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "bin/keepalived").chmod(0o755)
    return bundle, root / "etc/keepalived"


def _run_in(bundle, env, script):
    env = {**env, "PATH": f"{bundle.parent / 'bin'}:{env['PATH']}"}
    return subprocess.run(["bash", script], cwd=bundle, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("change", ["secret", "port"])
def test_keepalived_check_sees_a_changed_radius_secret_or_port_and_the_step_applies_it(tmp_path, change):
    bundle, etc = _sandbox(tmp_path)
    env = _env("node1")
    assert _run_in(bundle, env, "steps/keepalived.check.sh").returncode != 0  # nothing there yet
    res = _run_in(bundle, env, "steps/keepalived.sh")
    assert res.returncode == 0, res.stderr
    assert _run_in(bundle, env, "steps/keepalived.check.sh").returncode == 0
    if change == "secret":
        env["ONSITE_SECRET_RADIUS_SHARED_SECRET"] = "a new 'secret' $x"
    else:
        env["ONSITE_PORT_RADIUS_AUTH"] = "11812"
    assert _run_in(bundle, env, "steps/keepalived.check.sh").returncode != 0, "the check missed the change"
    res = _run_in(bundle, env, "steps/keepalived.sh")
    assert res.returncode == 0 and f"wrote {etc}/onsite-health.env" in res.stdout, res.stdout + res.stderr
    # the health check reads the file each run: no restart, no reload
    assert "applied keepalived" not in res.stdout and "reloaded keepalived" not in res.stdout
    assert _run_in(bundle, env, "steps/keepalived.check.sh").returncode == 0
    # what the health check script sources is the new value, exactly
    got = subprocess.run(["bash", "-c", '. "$1"; printf "%s\\0%s\\0%s" "$RADIUS_SECRET" "$RADIUS_PORT" "$PROBE_PASSWORD"',
                          "_", str(etc / "onsite-health.env")], capture_output=True, text=True, check=True).stdout
    secret = env["ONSITE_SECRET_RADIUS_SHARED_SECRET"]
    assert got.split("\0") == [secret, env["ONSITE_PORT_RADIUS_AUTH"], probes.probe_password(secret)]
