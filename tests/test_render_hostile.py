"""Every render script with hostile values: quotes, `#`, `:`, `=`, spaces
(leading and trailing), `$`, `${...}`, `%{...}`, backslashes, braces and
non-ASCII text in the site name, the secrets and the settings.

- golden files: tests/golden/hostile/<node>/<file>.out (ONSITE_UPDATE_GOLDEN=1
  rewrites them for review);
- each file is parsed the way its program reads it (PyYAML, promtool and
  amtool; Redis's and FreeRADIUS's tokenizers, java.util.Properties.load,
  bash for the EnvironmentFiles, json.loads, Doris's key = value) and every
  value comes back exactly;
- a value a format cannot hold (a line break, a name Sentinel writes back
  unquoted, a path Doris reads unquoted) stops the render script with a
  message naming the field, and never echoes a secret.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from installer.engine import envfile, probes
from installer.model import validate

from .conftest import repo_root
from .test_reference_render import BUNDLE, CASES, PLAN, RENDERERS, _redis_words, _tool

GOLDEN = repo_root() / "tests/golden/hostile"

SITE = "Campus: North #2 'A' \"B\" $HOME \\x {y} ü"
SECRETS = {
    "postgres_superuser": "p'w\" #: ${x} $1 \\\\ {} ü 😀",
    "postgres_replication": " lead 'and' trail ",
    "redis_password": "r\\e\\\\d#x${y}ü$1{}\\",  # no blank or quote: Sentinel writes it back unquoted
    "radius_shared_secret": "${confdir} %{User-Name} \"q\" 'a' \\n #ü!",  # radclient cuts a non-ASCII end
}
# Settings in the answer file, as odd as the validator lets them be.
SETTINGS = {
    "mongodb": {"replica_set": "rs0_x-y"},
    "sentinel": {"master_name": "master.site_2-x"},
    "doris-fe": {"meta_dir": "/data/doris+fe/meta_1"},
    "doris-be": {"storage_root_path": "/data/doris-be/storage_1.d"},
}
# Values the validator refuses in an answer file (patterns, plain paths, the
# site LAN's networks): the render scripts quote them all the same, trusting
# no earlier check, so they go in here as the variables a node gets.
ODD = {
    "ONSITE_POD_SUBNET": "10.244.0.0/16 # x: 'y'",
    "ONSITE_SERVICE_SUBNET": "{10.96.0.0/12}",
    "ONSITE_SETTING_MONGODB_DB_PATH": "/data/mongo db/#1: 'x' \"y\" ${z} ü",
    "ONSITE_SETTING_ROCKETMQ_BROKER_BROKERCLUSTERNAME": "Cluster #1: a=b !c \\d ü",
    "ONSITE_SETTING_ROCKETMQ_BROKER_BROKERNAME": " broker 'a'",
    "ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHROOTDIR": "/data/rocket mq/#1:x=ü\\",
    "ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHCOMMITLOG": "/data/rocket mq/commit log",
}


@functools.cache
def _plan(tmp: str):
    doc = yaml.safe_load(PLAN.read_text())
    doc["site"]["name"] = SITE
    for comp, values in SETTINGS.items():
        doc.setdefault("components", {}).setdefault(comp, {}).update(values)
    path = os.path.join(tmp, "hostile.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump(doc, fh, allow_unicode=True, sort_keys=False)
    result = validate.validate_file(path)
    assert result.ok and result.plan is not None and result.profile is not None, [p.message for p in result.problems]
    return result.plan, result.profile


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return _plan(str(tmp_path_factory.mktemp("hostile")))


def env_for(plan, node: str, **changes: str) -> dict[str, str]:
    env = envfile.variables(*plan, node, SECRETS)
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env, **ODD, "ONSITE_STEP": "render-test", **changes}


def run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", f"render/{script}"], cwd=BUNDLE, env=env, capture_output=True, text=True)


def render(plan, script: str, node: str = "node1") -> str:
    res = run(script, env_for(plan, node))
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize(("script", "node"), CASES, ids=[f"{n}-{s}" for s, n in CASES])
def test_hostile_golden(plan, script, node):
    got = render(plan, script, node)
    golden = GOLDEN / node / script.replace(".sh", ".out")
    if os.environ.get("ONSITE_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"no golden file {golden}: run with ONSITE_UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text(), f"{script} for {node} differs from {golden}"


# JSON has no comments: the dashboard carries the site name in its title.
@pytest.mark.parametrize("script", [s for s in RENDERERS if s not in ("mongo-rs.sh", "keepalived-health.sh",
                                                                      "grafana-dashboard.sh")])
def test_the_site_name_stays_in_its_comment(plan, script):
    """No value adds a line: the hostile rendering has the lines of a plain one."""
    got = render(plan, script)
    assert got.splitlines()[0].startswith(f"# Written by onsite for site {SITE}")
    plain = subprocess.run(["bash", f"render/{script}"], cwd=BUNDLE, capture_output=True, text=True,
                           env=env_for(plan, "node1", ONSITE_SITE="x")).stdout
    assert len(got.splitlines()) == len(plain.splitlines())


# -- YAML ---------------------------------------------------------------------

def test_yaml_values_round_trip(plan):
    etcd = yaml.safe_load(render(plan, "etcd.sh"))
    assert etcd["initial-cluster-token"] == f"onsite-{SITE}" and etcd["name"] == "node1"
    patroni = yaml.safe_load(render(plan, "patroni.sh"))
    assert patroni["scope"] == SITE
    auth = patroni["postgresql"]["authentication"]
    assert auth["superuser"]["password"] == SECRETS["postgres_superuser"]
    assert auth["replication"]["password"] == SECRETS["postgres_replication"]
    assert patroni["bootstrap"]["dcs"]["ttl"] == 30 and patroni["bootstrap"]["dcs"]["synchronous_mode"] is True
    docs = {d["kind"]: d for d in yaml.safe_load_all(render(plan, "kubeadm.sh"))}
    assert docs["ClusterConfiguration"]["clusterName"] == SITE
    assert docs["ClusterConfiguration"]["networking"] == {"podSubnet": ODD["ONSITE_POD_SUBNET"],
                                                          "serviceSubnet": ODD["ONSITE_SERVICE_SUBNET"]}
    mongod = yaml.safe_load(render(plan, "mongod.sh"))
    assert mongod["storage"]["dbPath"] == ODD["ONSITE_SETTING_MONGODB_DB_PATH"]
    assert mongod["replication"]["replSetName"] == SETTINGS["mongodb"]["replica_set"]


# -- Prometheus, Alertmanager and Grafana (YAML, JSON) ----------------------------

def test_monitoring_yaml_values_round_trip(plan):
    prom = yaml.safe_load(render(plan, "prometheus.sh", "node3"))
    assert prom["global"]["external_labels"] == {"site": SITE}
    nodes = {c["labels"]["node"] for j in prom["scrape_configs"] for c in j["static_configs"]}
    assert nodes == {"node1", "node2", "node3", "escape"}
    rules = yaml.safe_load(render(plan, "prometheus-rules.sh", "node3"))
    assert len([r for g in rules["groups"] for r in g["rules"]]) == 12
    am = yaml.safe_load(render(plan, "alertmanager.sh", "node3"))
    assert am["route"]["receiver"] == "onsite" and am["receivers"] == [{"name": "onsite"}]
    ds = yaml.safe_load(render(plan, "grafana-datasource.sh", "node3"))
    assert ds["datasources"][0]["url"] == "http://10.20.30.13:9090"
    boards = yaml.safe_load(render(plan, "grafana-dashboards.sh", "node3"))
    assert boards["providers"][0]["options"] == {"path": "/etc/onsite/grafana/dashboards"}


def test_promtool_and_amtool_accept_the_hostile_files(plan, tmp_path):
    rules = tmp_path / "onsite-rules.yml"
    rules.write_text(render(plan, "prometheus-rules.sh", "node3"))
    config = tmp_path / "prometheus.yml"
    config.write_text(render(plan, "prometheus.sh", "node3").replace("/etc/prometheus/onsite-rules.yml", str(rules)))
    am = tmp_path / "alertmanager.yml"
    am.write_text(render(plan, "alertmanager.sh", "node3"))
    for tool, args in (("promtool", ["check", "rules", str(rules)]), ("promtool", ["check", "config", str(config)]),
                       ("amtool", ["check-config", str(am)])):
        res = subprocess.run([_tool(tool), *args], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_grafana_dashboard_title_round_trips(plan):
    got = render(plan, "grafana-dashboard.sh", "node3")
    assert json.loads(got)["title"] == f"onsite: {SITE}"
    plain = run("grafana-dashboard.sh", env_for(plan, "node3", ONSITE_SITE="x")).stdout
    assert len(got.splitlines()) == len(plain.splitlines())


# -- EnvironmentFiles (/etc/default/*: systemd and bash read them) -----------------

DEFAULTS = [("prometheus-defaults.sh", "node3"), ("alertmanager-defaults.sh", "node3"),
            ("node-exporter-defaults.sh", "escape"), ("postgres-exporter-defaults.sh", "node1"),
            ("redis-exporter-defaults.sh", "node2")]


def _sourced(text: str, tmp_path) -> dict[str, str]:
    (tmp_path / "default").write_text(text)
    out = subprocess.run(["env", "-i", "bash", "-c", 'set -a; . "$1"; set +a; env -0', "_", str(tmp_path / "default")],
                         capture_output=True, text=True, check=True).stdout
    env = dict(x.split("=", 1) for x in out.split("\0") if x)
    return {k: v for k, v in env.items() if k not in ("PWD", "SHLVL", "_")}


@pytest.mark.parametrize(("script", "node"), DEFAULTS)
def test_environment_files_read_back(plan, tmp_path, script, node):
    env = _sourced(render(plan, script, node), tmp_path)
    assert "ARGS" in env and "--web.listen-address=10.20.30." in env["ARGS"]
    if script == "redis-exporter-defaults.sh":
        assert env["REDIS_PASSWORD"] == SECRETS["redis_password"] and env["REDIS_ADDR"] == "redis://10.20.30.12:6379"
        assert set(env) == {"ARGS", "REDIS_ADDR", "REDIS_PASSWORD"}
    elif script == "postgres-exporter-defaults.sh":
        assert set(env) == {"ARGS", "DATA_SOURCE_NAME"}
    else:
        assert set(env) == {"ARGS"}


def test_vip_facts_lines_read_back(plan):
    """onsite-vip-facts reads `vip ADDRESS LABELS` lines with `read -r key a b`."""
    lines = render(plan, "vip-facts.sh", "escape").splitlines()
    assert lines[1:] == ["interval 15", 'vip 10.20.30.16 vip="service",address="10.20.30.16",escape="true"']


# -- Redis and Sentinel (sdssplitargs) -----------------------------------------

def _words(conf: str, first: str) -> list[list[str]]:
    return [_redis_words(x) for x in conf.splitlines() if x.startswith(first)]


def test_redis_values_round_trip(plan):
    pw = SECRETS["redis_password"]
    redis = render(plan, "redis.sh", "node2")
    assert _words(redis, "requirepass") == [["requirepass", pw]] and _words(redis, "masterauth") == [["masterauth", pw]]
    # Redis itself quotes what it writes back: a blank and quotes are fine there
    quoted = "a \"b\" 'c' \\"
    conf = run("redis.sh", env_for(plan, "node1", ONSITE_SECRET_REDIS_PASSWORD=quoted)).stdout
    assert _words(conf, "requirepass") == [["requirepass", quoted]]
    sentinel = render(plan, "sentinel.sh")
    assert _words(sentinel, "requirepass") == [["requirepass", pw]]
    assert ["sentinel", "sentinel-pass", pw] in _words(sentinel, "sentinel")
    assert ["sentinel", "auth-pass", "master.site_2-x", pw] in _words(sentinel, "sentinel")
    assert ["sentinel", "monitor", "master.site_2-x", "10.20.30.11", "6379", "2"] in _words(sentinel, "sentinel")


# -- FreeRADIUS ---------------------------------------------------------------

def _radius_value(text: str) -> str:
    """A quoted value as FreeRADIUS 3.2 reads clients.conf (measured with
    3.2.1): a backslash before the quote gives the quote, before anything
    else both characters stay."""
    quote, out, i = text[0], "", 1
    while text[i] != quote:
        if text[i] == "\\":
            out += text[i + 1] if text[i + 1] == quote else text[i:i + 2]
            i += 2
        else:
            out += text[i]
            i += 1
    assert text[i + 1:] == "", "something after the closing quote"
    assert quote == "'", "a double-quoted value is expanded (${...}) when FreeRADIUS reads it"
    return out


@pytest.mark.parametrize("value", ["a'b", "a\\b", "a\\\\b", "a\\\\'b", "a\\\\", "'", "${x} %{y} \"q\" #\u00fc.",
                                   "x\\\\\\\\'y\\\\\\\\"])
def test_radius_quoting_reads_back(plan, value):
    conf = run("radius-clients.sh", env_for(plan, "node1", ONSITE_SECRET_RADIUS_SHARED_SECRET=value)).stdout
    assert [_radius_value(m) for m in re.findall(r"^\tsecret = (.*)$", conf, re.M)] == [value] * 2


def test_freeradius_values_round_trip(plan):
    clients = render(plan, "radius-clients.sh")
    secrets = [_radius_value(m) for m in re.findall(r"^\tsecret = (.*)$", clients, re.M)]
    assert secrets == [SECRETS["radius_shared_secret"]] * 2
    users = render(plan, "radius-users.sh")
    pw = re.search(r"Cleartext-Password := (.*)$", users, re.M).group(1)
    assert _radius_value(pw) == probes.probe_password(SECRETS["radius_shared_secret"])


# -- Java properties (RocketMQ) --------------------------------------------------

def _properties(text: str) -> dict[str, str]:
    """java.util.Properties.load for one-line entries (no continuations)."""
    out = {}
    for line in text.splitlines():
        line = line.lstrip(" \t\f")
        if not line or line[0] in "#!":
            continue
        key, value, i, in_key = "", "", 0, True
        while i < len(line):
            c = line[i]
            if c == "\\":
                i += 1
                c = line[i]
                if c == "u":
                    c, i = chr(int(line[i + 1:i + 5], 16)), i + 4
                else:
                    c = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c)
            elif in_key and c in "=: \t":
                in_key = False
                rest = line[i + 1:].lstrip(" \t")
                if c in " \t" and rest[:1] in ("=", ":"):
                    rest = rest[1:]
                line, i = rest.lstrip(" \t"), 0
                continue
            if in_key:
                key += c
            else:
                value += c
            i += 1
        out[key] = value.encode("utf-16", "surrogatepass").decode("utf-16")
    return out


def test_properties_values_round_trip(plan):
    broker = _properties(render(plan, "rocketmq-broker.sh"))
    b = {k: v for k, v in ODD.items() if k.startswith("ONSITE_SETTING_ROCKETMQ_BROKER_")}
    assert {k: broker[k] for k in ("brokerClusterName", "brokerName", "storePathRootDir", "storePathCommitLog")} == {
        "brokerClusterName": b["ONSITE_SETTING_ROCKETMQ_BROKER_BROKERCLUSTERNAME"],
        "brokerName": b["ONSITE_SETTING_ROCKETMQ_BROKER_BROKERNAME"],
        "storePathRootDir": b["ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHROOTDIR"],
        "storePathCommitLog": b["ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHCOMMITLOG"]}
    assert broker["brokerRole"] == "ASYNC_MASTER" and broker["brokerId"] == "0"
    assert all(ord(c) < 128 for c in render(plan, "rocketmq-broker.sh").split("\n", 1)[1])  # read as ISO-8859-1
    assert _properties(render(plan, "rocketmq-namesrv.sh")) == {"listenPort": "9876", "threadPoolNums": "8", "logLevel": "INFO"}


# -- Doris (key = value, nothing quoted) ----------------------------------------

def _doris(text: str) -> dict[str, str]:
    return dict((k.strip(), v.strip()) for k, _, v in (x.partition("=") for x in text.splitlines() if x and x[0] != "#"))


def test_doris_values_round_trip(plan):
    assert _doris(render(plan, "doris-fe.sh"))["meta_dir"] == SETTINGS["doris-fe"]["meta_dir"]
    assert _doris(render(plan, "doris-be.sh"))["storage_root_path"] == SETTINGS["doris-be"]["storage_root_path"]


# -- the health check's values, sourced by bash ------------------------------------

def test_keepalived_health_values_round_trip(plan, tmp_path):
    (tmp_path / "health.env").write_text(render(plan, "keepalived-health.sh", "escape"))
    got = subprocess.run(["bash", "-c", '. "$1"; printf "%s\\0%s" "$RADIUS_SECRET" "$PROBE_PASSWORD"', "_",
                          str(tmp_path / "health.env")], capture_output=True, text=True, check=True).stdout
    secret = SECRETS["radius_shared_secret"]
    assert got.split("\0") == [secret, probes.probe_password(secret)]


# -- refused values ---------------------------------------------------------------

SITE_USERS = [s for s in RENDERERS if s not in ("mongo-rs.sh", "keepalived-health.sh")]
REFUSED = (
    [(s, "ONSITE_SITE", "a\nb: c", "site.name") for s in SITE_USERS]
    + [("patroni.sh", "ONSITE_SECRET_POSTGRES_SUPERUSER", "pw\nscope: x", "secrets.postgres_superuser"),
       ("patroni.sh", "ONSITE_SECRET_POSTGRES_REPLICATION", "pw\rx", "secrets.postgres_replication"),
       ("redis.sh", "ONSITE_SECRET_REDIS_PASSWORD", "pw\nreplicaof 1.2.3.4 6379", "secrets.redis_password"),
       ("sentinel.sh", "ONSITE_SECRET_REDIS_PASSWORD", "pw\tx", "secrets.redis_password"),
       ("sentinel.sh", "ONSITE_SECRET_REDIS_PASSWORD", "pw x", "secrets.redis_password"),
       ("sentinel.sh", "ONSITE_SECRET_REDIS_PASSWORD", "pw'x", "secrets.redis_password"),
       ("sentinel.sh", "ONSITE_SECRET_REDIS_PASSWORD", 'pw"x', "secrets.redis_password"),
       ("radius-clients.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw\n}\nclient x {", "secrets.radius_shared_secret"),
       ("radius-clients.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw\\'x", "secrets.radius_shared_secret"),
       ("radius-clients.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw x\\", "secrets.radius_shared_secret"),
       ("radius-clients.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw x\u00fc", "secrets.radius_shared_secret"),
       ("keepalived-health.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw x\u00fc", "secrets.radius_shared_secret"),
       ("keepalived-health.sh", "ONSITE_SECRET_RADIUS_SHARED_SECRET", "pw\nx", "secrets.radius_shared_secret"),
       ("sentinel.sh", "ONSITE_SETTING_SENTINEL_MASTER_NAME", "my master", "components.sentinel.master_name"),
       ("sentinel.sh", "ONSITE_SETTING_SENTINEL_DOWN_AFTER_MS", "5000 x", "components.sentinel.down_after_ms"),
       ("mongo-rs.sh", "ONSITE_SETTING_MONGODB_REPLICA_SET", 'rs0"})', "components.mongodb.replica_set"),
       ("mongod.sh", "ONSITE_SETTING_MONGODB_DB_PATH", "/a\u0085b", "components.mongodb.db_path"),
       ("kubeadm.sh", "ONSITE_POD_SUBNET", "x\ny", "network.pod_subnet"),
       ("rocketmq-broker.sh", "ONSITE_SETTING_ROCKETMQ_BROKER_BROKERNAME", "a\nbrokerId=7", "components.rocketmq-broker.brokerName"),
       ("rocketmq-broker.sh", "ONSITE_SETTING_ROCKETMQ_BROKER_MAPEDFILESIZECOMMITLOG", "1;2", "components.rocketmq-broker.mapedFileSizeCommitLog"),
       ("rocketmq-namesrv.sh", "ONSITE_SETTING_ROCKETMQ_NAMESRV_LOGLEVEL", "INFO\x7f", "components.rocketmq-namesrv.logLevel"),
       ("doris-fe.sh", "ONSITE_SETTING_DORIS_FE_META_DIR", "/data/${HOME}/meta", "components.doris-fe.meta_dir"),
       ("doris-be.sh", "ONSITE_SETTING_DORIS_BE_STORAGE_ROOT_PATH", "/a;/b", "components.doris-be.storage_root_path"),
       ("doris-be.sh", "ONSITE_SETTING_DORIS_BE_DISABLE_STORAGE_MEDIUM", "no", "components.doris-be.disable_storage_medium"),
       ("patroni.sh", "ONSITE_SETTING_PATRONI_TTL", "30\nx: 1", "components.patroni.ttl"),
       ("redis-exporter-defaults.sh", "ONSITE_SECRET_REDIS_PASSWORD", "pw\nARGS=--x", "secrets.redis_password"),
       ("prometheus.sh", "ONSITE_NODES", "node1 node2 node3 escape a\x01b", "nodes[4].name")]
)


@pytest.mark.parametrize(("script", "var", "value", "field"), REFUSED, ids=[f"{s}-{f}" for s, _, _, f in REFUSED])
def test_a_value_the_format_cannot_hold_is_refused_naming_the_field(plan, script, var, value, field):
    res = run(script, env_for(plan, "node1", **{var: value}))
    assert res.returncode != 0 and res.stdout == "", f"{script} wrote {res.stdout!r}"
    assert res.stderr.startswith(f"onsite: {script}: {field} "), res.stderr
    if "SECRET" in var:
        assert value.split()[0] not in res.stderr.replace(field, "")  # a secret is never echoed


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root for a private /etc/hosts")
def test_the_hosts_block_with_a_hostile_site_name_is_replaced_and_removed(plan, tmp_path):
    """The base bundle's /etc/hosts block, marked with the site name (backslashes, quotes, `$`):
    written twice it is there once, and the uninstall takes it out, leaving the file as it was.
    The scripts run in a mount namespace of their own, on a copy bound over /etc/hosts."""
    hosts = tmp_path / "hosts"
    original = "127.0.0.1 localhost\n# a line of the customer's\n"
    hosts.write_text(original)
    site = r"Plant\north \t 'A' \"B\" $HOME"  # awk -v would read \n and \t as escapes
    env = env_for(plan, "node1", ONSITE_SITE=site)
    base = repo_root() / "bundles/base"

    def on_copy(script: str) -> str:
        res = subprocess.run(["unshare", "-m", "bash", "-c", 'mount --bind "$0" /etc/hosts && exec bash "$1"', str(hosts), script],
                             cwd=base, env=env, capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        return hosts.read_text()

    on_copy("steps/hosts.sh")
    text = on_copy("steps/hosts.sh")
    assert text.count(f"# BEGIN onsite {site}\n") == 1 and text.count(f"# END onsite {site}\n") == 1, text
    assert text.startswith(original)
    assert on_copy("ops/hosts-uninstall.sh") == original
