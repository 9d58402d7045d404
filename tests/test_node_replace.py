"""`onsite node replace` on the reference system, on a lab of its own
(`osrp`, 198.18.104.0/24): node2 is reset as a fresh server (`lab reset`:
empty disk, new host key) while the site runs, and replace brings it back
through the survivors; then the PostgreSQL leader's server dies the same way
and is replaced after Patroni's own failover. A client loop writes to
PostgreSQL and asks RADIUS through the service VIP the whole time. Before
that, replace refuses when a second etcd member is down (quorum), and a
changed host key is never accepted by --yes alone.

One installed site for the module (a full install takes minutes); the
tests run in order.
"""

from __future__ import annotations

import json
import time

import jsonschema
import pytest

from installer.cli import main
from installer.engine.journal import Journal
from installer.lab import Lab
from installer.model import validate

from .conftest import repo_root
from .day2_clients import ClientLoop
from .reference_site import patroni_leader, patroni_members, psql, reference_lab, svc, wait_until

pytestmark = pytest.mark.lab

ROWS = "onsite_replace_rows"
SCHEMA = repo_root() / "schemas/cli/node-replace.schema.json"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(lab, answer file): the reference system installed on a 4-node lab."""
    yield from reference_lab(tmp_path_factory, "osrp", "198.18.104.0/24", install=True)


def leader(lab: Lab, asking: str = "node1") -> str | None:
    return patroni_leader(lab, asking)


def writable_leader(lab: Lab, gone: str | None = None) -> str | None:
    """The leader once it accepts writes (after a DCS outage Patroni lists
    the old leader before it is promoted again), asked of the first node
    that answers; None while it is `gone` (a server that died)."""
    lead = patroni_leader(lab)
    if lead is None or lead == gone:
        return None
    res = lab.run(lead, ["runuser", "-u", "postgres", "--", "psql", "-XAtc", "select pg_is_in_recovery()"], check=False)
    return lead if res.stdout.strip() == "f" else None


def etcd_members(lab: Lab, node: str) -> list[str]:
    res = lab.run(node, "ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 member list", check=False)
    return res.stdout.strip().splitlines()


def test_rows_committed_before(site):
    lab, _answer = site
    lead, _ = wait_until("a PostgreSQL leader", lambda: writable_leader(lab), 60, every=1)
    psql(lab, lead, f"create table {ROWS} (n int primary key); insert into {ROWS} select generate_series(1, 1000)")
    assert psql(lab, lead, f"select count(*) from {ROWS}") == "1000"


def test_a_changed_host_key_is_not_accepted_by_yes_alone(site, capsys):
    lab, answer = site
    before = answer.read_text()
    old = lab.node("node2").host_key
    new = lab.reset("node2").host_key
    assert new != old
    capsys.readouterr()
    assert main(["node", "replace", str(answer), "node2", "--yes", "--plain"]) == 2
    err = capsys.readouterr().err
    assert old in err and new in err and "--host-key" in err and "--yes alone never accepts" in err
    # a wrong fingerprint is refused: another machine may answer in the node's place
    assert main(["node", "replace", str(answer), "node2", "--yes", "--plain", "--host-key",
                 "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) == 1
    assert "not the key given with --host-key" in capsys.readouterr().err
    # the flag names the node again: it cannot accept another node's key
    assert main(["node", "replace", str(answer), "node2", "--yes", "--accept-new-host-key", "node3"]) == 2
    assert answer.read_text() == before  # nothing pinned


def test_replace_refuses_when_a_second_member_is_down(site, capsys):
    lab, answer = site
    members = etcd_members(lab, "node1")
    assert any(", node2, " in line for line in members)  # the dead member, still listed
    svc(lab, "node3", "stop", "etcd")  # node2 is an empty server (the test before); node3's etcd down too
    try:
        capsys.readouterr()
        rc = main(["node", "replace", str(answer), "node2", "--accept-new-host-key", "node2", "--yes",
                   "--format", "json"])
        out = capsys.readouterr()
        assert rc == 1, out.err
        doc = json.loads(out.out)
        jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
        [failure] = doc["steps"]["failures"]
        assert (failure["node"], failure["step"]) == ("node1", "etcd-replace-check")
        said = "\n".join(failure["tail"])
        assert "etcd would lose its quorum" in said and "Bring node3 back first" in said
        # the key the deployer confirmed is pinned
        assert lab.node("node2").host_key in answer.read_text()
    finally:
        svc(lab, "node3", "start", "etcd")
    # nothing was removed through the survivors
    assert wait_until("etcd answers again", lambda: etcd_members(lab, "node1"), 60, every=1)[0] == members
    wait_until("a PostgreSQL leader accepting writes again", lambda: writable_leader(lab), 180, every=1)


def test_node_replace_brings_a_reset_node_back_while_clients_run(site, capsys):
    lab, answer = site
    plan = validate.validate_file(answer).plan
    journal_dir = answer.parent / "onsite-journal" / plan.site_name
    wait_until("a PostgreSQL leader accepting writes", lambda: writable_leader(lab), 180, every=1)
    with ClientLoop(lab, answer) as loop:
        time.sleep(3)
        new = lab.reset("node2").host_key  # while the site runs: processes killed, disk wiped, new host key
        time.sleep(3)
        t0 = time.monotonic()
        rc = main(["node", "replace", str(answer), "node2", "--host-key", new, "--yes", "--plain", "--restart"])
        took = time.monotonic() - t0
        out = capsys.readouterr()
        assert rc == 0, out.out[-3000:] + out.err[-3000:]
    with capsys.disabled():
        print(f"\nnode replace took {took:.0f} s; {loop.report.describe()}")
    assert loop.report.acked > 100
    assert not loop.report.lost, f"acknowledged rows lost: {loop.report.lost[:20]}"
    assert new in answer.read_text()
    # the site is whole again: verify passes, the rows committed before are all there
    assert main(["verify", str(answer)]) == 0
    lead = leader(lab)
    assert psql(lab, lead, f"select count(*) from {ROWS}") == "1000"
    # node2 is a streaming PostgreSQL replica, an etcd member, a Redis replica again
    members = {m["Member"]: m for m in patroni_members(lab, "node2")}
    assert members["node2"]["State"] in ("streaming", "running") and members["node2"]["Role"] != "Leader"
    assert sum(", started, " in line for line in etcd_members(lab, "node1")) == 3
    assert any(", started, node2," in line for line in etcd_members(lab, "node1"))
    # the install's journal reflects the replaced node
    site_journal = Journal.load(journal_dir)
    assert site_journal.complete
    assert site_journal.data["plan_hash"] == validate.validate_file(answer).plan.fingerprint()
    assert all(r.get("replaced_by") == "replace-node2" for k, r in site_journal.data["steps"].items()
               if k.startswith("node2/"))
    assert site_journal.data["replaced"][-1]["host_key"] == new
    # node2 runs with its data now: replacing it again is refused before anything changes
    members = etcd_members(lab, "node1")
    capsys.readouterr()
    assert main(["node", "replace", str(answer), "node2", "--yes", "--format", "json"]) == 1
    [failure] = json.loads(capsys.readouterr().out)["steps"]["failures"]
    assert failure["step"] == "replace-target-check" and "not an empty server" in "\n".join(failure["tail"])
    assert etcd_members(lab, "node1") == members
    # an install afterwards changes nothing: every step's check passes on node2 too
    capsys.readouterr()
    assert main(["install", str(answer), "--plain"]) == 0
    assert "install complete: 0 steps ran" in capsys.readouterr().out


def test_node_replace_of_the_postgres_leader_brings_it_back_as_a_replica(site, capsys):
    """The server that died was the PostgreSQL leader: Patroni fails over to a survivor
    on its own, and replace brings the node back as a replica of the new leader while
    the clients run; no acknowledged row is lost, verify passes."""
    lab, answer = site
    lead, _ = wait_until("a PostgreSQL leader accepting writes", lambda: writable_leader(lab), 180, every=1)
    with ClientLoop(lab, answer) as loop:
        time.sleep(3)
        new = lab.reset(lead).host_key  # the leader's server dies and comes back empty
        now, failover = wait_until(f"Patroni fails over from {lead}", lambda: writable_leader(lab, lead), 120, every=1)
        t0 = time.monotonic()
        rc = main(["node", "replace", str(answer), lead, "--host-key", new, "--yes", "--plain", "--restart"])
        took = time.monotonic() - t0
        out = capsys.readouterr()
        assert rc == 0, out.out[-3000:] + out.err[-3000:]
    with capsys.disabled():
        print(f"\nleader {lead} reset: {now} led after {failover:.0f} s; node replace took {took:.0f} s; {loop.report.describe()}")
    assert loop.report.acked > 100
    assert not loop.report.lost, f"acknowledged rows lost: {loop.report.lost[:20]}"
    assert main(["verify", str(answer)]) == 0
    members = {m["Member"]: m for m in patroni_members(lab, now)}
    assert members[lead]["State"] in ("streaming", "running") and members[lead]["Role"] != "Leader", members
    assert psql(lab, patroni_leader(lab), f"select count(*) from {ROWS}") == "1000"
    assert sum(", started, " in line for line in etcd_members(lab, now)) == 3


def test_lab_reset_gives_a_fresh_server(site, capsys):
    lab, _answer = site
    lab.run("node2", "mkdir -p /var/lib/onsite-test && touch /var/lib/onsite-test/mark")
    old = lab.node("node2").host_key
    capsys.readouterr()
    assert main(["lab", "reset", "node2", "--state-dir", str(lab.state_dir), "--name", lab.name]) == 0
    out = capsys.readouterr().out
    lab = Lab(lab.state_dir, name=lab.name)  # the state the command wrote
    n = lab.node("node2")
    assert n.host_key != old and f"host key now {n.host_key}" in out and f"host key was {old}" in out
    assert main(["lab", "reset", "node9", "--state-dir", str(lab.state_dir), "--name", lab.name]) == 2
    assert lab.run("node2", "ls /var/lib/onsite-test/mark", check=False).returncode != 0
    assert lab.run("node2", "pgrep -x etcd", check=False).returncode != 0
    addrs = lab.run("node2", ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
    assert addrs.count(" inet ") == 1  # no VIP left behind
    assert lab.status()[1]["ssh"]
