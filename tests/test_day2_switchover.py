"""Day 2 on the real reference system (a lab of its own, `ossw`): a changed
plan applied rolling, and planned switchovers of the Patroni leader, the
Redis primary and a VIP, while clients write (tests/day2_clients.py, and a
Redis writer here): no acknowledged write is lost; the longest gap is
printed.

One full install for the module; the tests run in order on that site (the
changed plan first: the switchovers then work on the changed site)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from installer.cli import main
from installer.engine.journal import Journal
from installer.lab import Lab
from installer.model import validate

from .conftest import repo_root
from .day2_clients import ClientLoop
from .reference_site import patroni_leader, patroni_members, psql, reference_lab, vip_holders

pytestmark = pytest.mark.lab

NAME, SUBNET = "ossw", "198.18.103.0/24"
REDIS_KEY = "onsite-switchover-probe"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(lab, answer file) of an installed reference site."""
    yield from reference_lab(tmp_path_factory, NAME, SUBNET, install=True)


def say(capsys, line: str) -> None:
    """A measurement for the test log (pytest -s), past the capture."""
    with capsys.disabled():
        print(f"\n{line}")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    with capsys.disabled():  # to the test log, not into the next command's capture
        print(out[-3000:], err[-2000:])
    return code, out, err


def pids(lab: Lab) -> dict[str, dict[str, str]]:
    """Per node: service -> pid (the lab runs services without systemd)."""
    out = {}
    for n in lab.nodes:
        text = lab.run(n.name, "cd /run/onsite/svc && grep -H . *.pid", check=False).stdout
        out[n.name] = dict(line.replace(".pid", "").split(":", 1) for line in text.split())
    return out


def patroni(lab: Lab) -> list[dict]:
    return patroni_members(lab)


def plan_of(answer: Path):
    return validate.validate_file(answer).plan


# -- a Redis writer ------------------------------------------------------------------


class RespError(Exception):
    pass


class Resp:
    """The Redis protocol, enough for AUTH, RPUSH, LRANGE and Sentinel."""

    def __init__(self, host: str, port: int, password: str, timeout: float = 2.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.call("AUTH", password)

    def call(self, *args):
        parts = [str(a).encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line:
            raise OSError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise OSError(f"unexpected reply {line[:20]!r}")

    def close(self) -> None:
        self.sock.close()


class RedisWriter:
    """RPUSH a numbered item every ~0.05 s to whichever node Sentinel names
    primary; an item is acknowledged when the reply is the list's length."""

    def __init__(self, lab: Lab, answer: Path) -> None:
        plan = plan_of(answer)
        profile = validate.validate_file(answer).profile
        self.sentinels = [plan.address_of(n) for n in plan.nodes_with_role("sentinel")]
        self.sport = plan.port(profile, "sentinel", "sentinel")
        self.password = lab.secret_file("redis_password").read_text().strip()
        self.acked: list[int] = []
        self.failed = 0
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def primary(self) -> tuple[str, int]:
        for s in self.sentinels:
            try:
                c = Resp(s, self.sport, self.password)
                host, port = c.call("SENTINEL", "get-master-addr-by-name", "onsite")
                c.close()
                return host, int(port)
            except (OSError, RespError, ValueError, TypeError):
                continue
        raise OSError("no sentinel answers")

    def _run(self) -> None:
        conn, n = None, 0
        while not self._stop.is_set():
            n += 1
            try:
                if conn is None:
                    conn = Resp(*self.primary(), self.password, timeout=5)
                conn.call("RPUSH", REDIS_KEY, n)
                self.acked.append(n)
                self.times.append(time.monotonic())
            except (OSError, RespError):
                self.failed += 1
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(0.05)

    def __enter__(self) -> RedisWriter:
        c = Resp(*self.primary(), self.password)
        c.call("DEL", REDIS_KEY)
        c.close()
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        marks = [self.t0, *self.times, time.monotonic()]
        self.longest_gap = max(b - a for a, b in zip(marks, marks[1:], strict=False))
        c = Resp(*self.primary(), self.password)
        present = {int(x) for x in c.call("LRANGE", REDIS_KEY, 0, -1)}
        c.close()
        self.lost = [n for n in self.acked if n not in present]


# -- the tests, in order --------------------------------------------------------------


def test_switchover_says_what_the_bundles_offer(site, capsys):
    lab, answer = site
    code, _, err = run(capsys, "switchover", str(answer), "mysql", "--yes", "--plain")
    assert code == 2 and "no bundle declares it (the bundles offer postgres, redis, vip:*)" in err
    code, _, err = run(capsys, "switchover", str(answer), "postgres", "--to", "node9", "--yes", "--plain")
    assert code == 2 and "--to 'node9': no such node in the plan" in err
    code, _, err = run(capsys, "switchover", str(answer), "postgres", "--plain")  # no terminal, no --yes
    assert code == 2 and "add --yes" in err


def test_changed_plan_restarts_only_the_services_concerned_one_node_at_a_time(site, capsys):
    lab, answer = site
    original = answer.read_text()
    journal_dir = answer.parent / "onsite-journal" / plan_of(answer).site_name
    installed_hash = Journal.load(journal_dir).data["plan_hash"]

    # not in place: node2 at another address
    moved = answer.with_name("moved.yaml")
    moved.write_text(re.sub(r"IP2: (\S+)\.12\b", r"IP2: \1.99", original))
    code, _, err = run(capsys, "install", str(moved), "--yes", "--plain")
    assert code == 2 and "cannot be applied in place: node node2's address" in err and "node replace" in err
    moved.unlink()

    # the service VIP's check interval 2 -> 3 and the SOCKS5 port 1080 -> 1081
    head, tail = original.split("  - name: service", 1)
    text = head + "  - name: service" + tail.replace("interval: 2", "interval: 3", 1)
    text = text.replace("\n# Component settings", "\nports:\n  socks5:\n    socks: 1081\n\n# Component settings")
    answer.write_text(text)
    code, out, _ = run(capsys, "plan", str(answer))
    assert code == 0 and "vips[1].check.interval: 2 -> 3" in out and "ports.socks5.socks: (not set) -> 1081" in out
    assert "socks5 on node1, node2, node3 (one node at a time)" in out
    code, _, err = run(capsys, "install", str(answer), "--plain")  # no terminal, no --yes
    assert code == 2 and "no terminal to confirm it on" in err
    assert Journal.load(journal_dir).data["plan_hash"] == installed_hash  # nothing was changed

    before = pids(lab)
    node2 = plan_of(answer).address_of(plan_of(answer).node("node2"))
    # the new port is taken on node2: the change stops there, node3 is not touched
    lab.run("node2", f"setsid python3 -m http.server 1081 --bind {node2} > /dev/null 2>&1 < /dev/null & echo $! > /tmp/blocker")
    time.sleep(1)
    with ClientLoop(lab, answer) as loop:
        t0 = time.monotonic()
        code, out, err = run(capsys, "install", str(answer), "--plain", "--yes")
        assert code == 1 and "step socks5 failed on node2" in err and "--resume" in err
        journal = Journal.load(journal_dir)
        assert journal.status("node1/socks5") == "done" and journal.status("node3/socks5") == "pending"
        assert pids(lab)["node3"]["socks5"] == before["node3"]["socks5"]
        lab.run("node2", "kill $(cat /tmp/blocker)")
        code, out, err = run(capsys, "install", str(answer), "--plain", "--resume")
        took = time.monotonic() - t0
    say(capsys, f"changed plan applied (stopped at node2, resumed) in {took:.0f} s; {loop.report.describe()}")
    assert code == 0, err
    assert "continuing the change of plan" in out and "verify passed" in out
    assert not loop.report.lost

    # only danted restarted, on the socks5 nodes; keepalived re-read its file in place
    after = pids(lab)
    restarted = sorted((node, svc) for node in after for svc in after[node] if after[node][svc] != before[node].get(svc))
    assert restarted == [("node1", "socks5"), ("node2", "socks5"), ("node3", "socks5")], restarted
    for n in ("node1", "node2", "node3", "escape"):
        conf = lab.run(n, "cat /etc/keepalived/keepalived.conf").stdout
        assert re.search(r"vrrp_script check_service \{[^}]*interval 3\n", conf), n
        assert re.search(r"vrrp_script check_k8s_api \{[^}]*interval 2\n", conf) or n == "escape", n

    # one node at a time: the runs of socks5 and of keepalived never overlap; the VIP holder last
    journal = Journal.load(journal_dir)
    for step, nodes in (("socks5", ["node1", "node2", "node3"]), ("keepalived", ["node1", "node2", "node3", "escape"])):
        runs = sorted((journal.record(f"{n}/{step}")["started"], journal.record(f"{n}/{step}")["ended"], n)
                      for n in nodes)
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:], strict=False)), runs
        if step == "keepalived":
            holder = vip_holders(lab, plan_of(answer).ips["IP6"])
            assert runs[-1][2] in holder + vip_holders(lab, plan_of(answer).ips["IP5"]), (runs, holder)
    # the old plan's journal is kept, the new one records the change
    assert journal.data["plan_hash"] != installed_hash and journal.data["change"]["from_plan_hash"] == installed_hash
    assert (journal_dir / journal.data["history"][-1]["journal"]).is_file()
    # applied: a second run changes nothing
    code, out, _ = run(capsys, "install", str(answer), "--plain")
    assert code == 0 and "install complete: 0 steps ran" in out


def test_patroni_leader_moves_to_a_named_node_without_losing_a_write(site, capsys):
    lab, answer = site
    members = patroni(lab)
    [leader] = [m["Member"] for m in members if m["Role"] == "Leader"]
    # the asynchronous standby: it is made synchronous for the move
    target = next((m["Member"] for m in members if m["Role"] == "Replica"),
                  next(m["Member"] for m in members if m["Role"] != "Leader"))
    with ClientLoop(lab, answer) as loop:
        t0 = time.monotonic()
        code, out, err = run(capsys, "switchover", str(answer), "postgres", "--to", target, "--yes", "--plain")
        took = time.monotonic() - t0
    say(capsys, f"postgres {leader} -> {target} in {took:.0f} s; {loop.report.describe()}")
    assert code == 0, err
    assert "verify passed" in out
    now = patroni(lab)
    assert [m["Member"] for m in now if m["Role"] == "Leader"] == [target]
    assert all(m["State"] in ("running", "streaming") for m in now)
    assert not loop.report.lost and loop.report.acked > 0
    config = lab.run("node1", ["patronictl", "-c", "/etc/patroni/config.yml", "show-config"]).stdout
    assert "synchronous_node_count: 2" not in config  # put back after the move
    # asked again: nothing to move; the JSON document follows its schema
    code, out, _ = run(capsys, "switchover", str(answer), "postgres", "--to", target, "--yes", "--format", "json")
    assert code == 0 and patroni_leader_is(lab, target)
    doc = json.loads(out)
    schema = json.loads((repo_root() / "schemas/cli/switchover.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["command"] == "switchover" and doc["outcome"]["status"] == "ok" and doc["steps"]["ran"] == 1


def patroni_leader_is(lab: Lab, name: str) -> bool:
    return [m["Member"] for m in patroni(lab) if m["Role"] == "Leader"] == [name]


def test_redis_primary_moves_to_a_named_node_without_losing_a_write(site, capsys):
    lab, answer = site
    plan = plan_of(answer)
    writer = RedisWriter(lab, answer)
    primary_addr = writer.primary()[0]
    primary = next(n.name for n in plan.nodes if plan.address_of(n) == primary_addr)
    target = next(n.name for n in plan.nodes_with_role("redis") if n.name != primary)
    with writer, ClientLoop(lab, answer) as loop:
        t0 = time.monotonic()
        code, out, err = run(capsys, "switchover", str(answer), "redis", "--to", target, "--yes", "--plain")
        took = time.monotonic() - t0
        time.sleep(1)
    say(capsys, f"redis {primary} -> {target} in {took:.0f} s; redis writer: {len(writer.acked)} acknowledged, "
          f"{writer.failed} refused, {len(writer.lost)} lost, longest gap {writer.longest_gap:.1f} s; "
          f"{loop.report.describe()}")
    assert code == 0, err
    assert "verify passed" in out
    assert writer.primary()[0] == plan.address_of(plan.node(target))
    assert not writer.lost and len(writer.acked) > 0
    assert not loop.report.lost
    for n in plan.nodes_with_role("redis"):
        conf = lab.run(n.name, "grep -h replica-priority /etc/redis/redis.conf || true").stdout
        assert "replica-priority 0" not in conf and "replica-priority 1\n" not in conf, (n.name, conf)


def test_vip_moves_to_a_named_node_and_the_plan_brings_it_back(site, capsys):
    lab, answer = site
    plan = plan_of(answer)
    address = plan.ips["IP6"]
    [before] = vip_holders(lab, address)
    target = next(m for m in ("node2", "node3") if m != before)
    with ClientLoop(lab, answer) as loop:
        code, out, err = run(capsys, "switchover", str(answer), "vip:service", "--to", target, "--yes", "--plain")
    say(capsys, f"vip:service {before} -> {target}; {loop.report.describe()}")
    assert code == 0, err
    assert vip_holders(lab, address) == [target] and "verify passed" in out
    assert loop.report.radius_ok > 0 and not loop.report.lost
    # without --to: off the holder, to the best other member whose check passes
    code, out, err = run(capsys, "switchover", str(answer), "vip:service", "--yes", "--plain")
    assert code == 0, err
    moved = vip_holders(lab, address)
    assert len(moved) == 1 and moved != [target]
    # temporary: onsite install puts the plan's priorities back, and with them the plan's holder
    code, out, _ = run(capsys, "install", str(answer), "--plain")
    assert code == 0
    deadline = time.monotonic() + 20
    while vip_holders(lab, address) != ["node1"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert vip_holders(lab, address) == ["node1"]


def test_changed_patroni_settings_reach_etcd_and_a_changed_port_restarts_each_member(site, capsys):
    """A changed plan for Patroni itself: ttl, loop_wait and retry_timeout live in
    etcd once the cluster exists (the file's bootstrap.dcs is read only when the
    cluster is made), and PostgreSQL reads its port only when it starts. Both
    must reach the running cluster, one member at a time and the leader last,
    with no committed row lost."""
    lab, answer = site
    leader = patroni_leader(lab)
    assert leader
    psql(lab, leader, "create table if not exists onsite_port_change (n int primary key); "
                      "insert into onsite_port_change select generate_series(1, 500) on conflict do nothing")
    text = answer.read_text()
    assert "\ncomponents:\n" in text
    text = text.replace("\ncomponents:\n", "\ncomponents:\n  patroni:\n    ttl: 25\n    loop_wait: 5\n    retry_timeout: 9\n", 1)
    text = text.replace("\nports:\n", "\nports:\n  patroni:\n    postgres: 5433\n", 1) if "\nports:\n" in text else \
        text.replace("\ncomponents:\n", "\nports:\n  patroni:\n    postgres: 5433\n\ncomponents:\n", 1)
    answer.write_text(text)
    code, out, _ = run(capsys, "plan", str(answer))
    assert code == 0 and "ports.patroni.postgres: (not set) -> 5433" in out and "components.patroni.ttl" in out
    t0 = time.monotonic()
    code, out, err = run(capsys, "install", str(answer), "--plain", "--yes")
    took = time.monotonic() - t0
    assert code == 0, err[-3000:]
    assert "verify passed" in out
    say(capsys, f"patroni settings and port changed in {took:.0f} s")
    dcs = lab.run("node2", ["patronictl", "-c", "/etc/patroni/config.yml", "show-config"]).stdout
    assert "ttl: 25\n" in dcs and "loop_wait: 5\n" in dcs and "retry_timeout: 9\n" in dcs, dcs
    for n in ("node1", "node2", "node3"):
        port = lab.run(n, "sed -n 4p /var/lib/postgresql/15/main/postmaster.pid").stdout.strip()
        assert port == "5433", (n, port)
    members = patroni_members(lab, "node1")
    assert len(members) == 3 and all(m["State"] in ("running", "streaming") for m in members), members
    assert not any(m.get("Pending restart") for m in members), members
    now = patroni_leader(lab)
    got = lab.run(now, ["runuser", "-u", "postgres", "--", "psql", "-p", "5433", "-XAtc",
                        "select count(*) from onsite_port_change"]).stdout.strip()
    assert got == "500"
    # one member at a time, and the leader of the time last
    journal = Journal.load(answer.parent / "onsite-journal" / plan_of(answer).site_name)
    runs = sorted((journal.record(f"{n}/patroni")["started"], journal.record(f"{n}/patroni")["ended"], n)
                  for n in ("node1", "node2", "node3"))
    assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:], strict=False)), runs
    assert runs[-1][2] == leader, (runs, leader)
    # applied: nothing left to do
    code, out, _ = run(capsys, "install", str(answer), "--plain")
    assert code == 0 and "install complete: 0 steps ran" in out
