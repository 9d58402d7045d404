"""`onsite uninstall` on a lab of its own (osun, 198.18.102.0/24), for real:
the reference system installed from the bundle, taken off again, and proved
gone three ways: the uninstall's own leftover phase, `onsite preflight`,
and a before/after picture of each node (files under /etc, /opt, /usr/local,
/var/lib, /var/log, /root; the files' contents in /etc; users and groups;
packages; processes; listening ports). A step that fails midway resumes
with --resume; a fresh install afterwards passes verify; --keep-data keeps
the rows written before through uninstall and install; --only takes one
node out while the rest runs on, is refused when etcd would lose its
quorum, and node replace puts the node back. Three full installs in all (a
few minutes each)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest

from installer.cli import main
from installer.engine.journal import PENDING, Journal
from installer.lab import Lab

from .conftest import repo_root
from .day2_clients import ClientLoop
from .reference_site import REF, patroni_leader, psql, reference_lab

pytestmark = pytest.mark.lab

ROWS = 1000


@pytest.fixture(scope="module")
def un(tmp_path_factory):
    """(lab, answer file): a fresh 4-node lab with the reference bundles next to it."""
    yield from reference_lab(tmp_path_factory, "osun", "198.18.102.0/24")


# What a node looks like, for before/after. Package databases, apt's and
# systemd's bookkeeping and ssh's host keys are the machine's, not the
# install's; logs of package tools record the install by design.
_PICTURE = r'''
echo "== paths"
find /etc /opt /srv /usr/local /var/lib /var/log /root -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \
    -o -path /var/lib/ucf -o -path /var/lib/systemd -o -path /etc/ssh -o -path /var/log/apt \
    -o -path /var/log/journal -o -path /var/lib/postgresql/15/main -o -path /etc/postgresql/15/main \) -prune \
    -o -print | LC_ALL=C sort
echo "== etc"
find /etc -xdev -type f ! -name '*-' ! -name '*-old' ! -path '/etc/ssh/*' ! -name ld.so.cache \
    ! -name 02autoremove-postgresql -exec md5sum {} + | LC_ALL=C sort -k2
echo "== users"
getent passwd | LC_ALL=C sort
getent group | LC_ALL=C sort
echo "== packages"
dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1 != "not-installed"' | LC_ALL=C sort
echo "== processes"
ps -eo comm= | LC_ALL=C sort -u
echo "== ports"
ss -Hltnu | awk '{print $1, $5}' | LC_ALL=C sort -u
'''
# 02autoremove-postgresql: postgresql-common rewrites it when the install
# upgrades a PostgreSQL the node had before (the lab's nodes have one).


def picture(lab: Lab) -> dict[str, dict[str, set[str]]]:
    out = {}
    for n in lab.nodes:
        sections: dict[str, set[str]] = {}
        current = None
        for line in lab.run(n.name, _PICTURE, timeout=120).stdout.splitlines():
            if line.startswith("== "):
                current = sections.setdefault(line[3:], set())
            elif current is not None:
                current.add(line)
        out[n.name] = sections
    return out


def differences(before, after) -> dict[str, dict[str, list[str]]]:
    """Per node and section: what is there now and was not before ('+')
    and, for packages, what went ('-')."""
    out = {}
    for node, sections in after.items():
        for name, now in sections.items():
            was = before[node][name]
            added = sorted(now - was)
            if name == "processes":
                added = [p for p in added if p not in ("ps", "bash", "sort", "sshd")]
            gone = sorted(was - now) if name == "packages" else []
            if added or gone:
                out.setdefault(node, {})[name] = [f"+ {x}" for x in added] + [f"- {x}" for x in gone]
    return out


def leader(lab: Lab) -> str:
    found = patroni_leader(lab)
    assert found, "no Patroni leader"
    return found


def site_journals(answer: Path) -> list[str]:
    return sorted(p.name for p in (answer.parent / "onsite-journal").iterdir() if p.is_dir())


def say(capsys, text: str) -> None:
    with capsys.disabled():
        print(text)


def uninstall(answer: Path, *extra: str) -> int:
    return main(["uninstall", str(answer), "--yes", "--plain", *extra])


def test_uninstall_leaves_nothing_resumes_after_a_failing_step_and_archives_the_journal(un, capsys):
    """Also on nodes never installed (an install that stopped before them)."""
    lab, answer = un
    before = picture(lab)
    # Never installed: every step copes ("nothing here"), nothing is left, not even the bundles it sent.
    assert uninstall(answer) == 0, capsys.readouterr().err[-3000:]
    assert not differences(before, picture(lab))
    capsys.readouterr()
    t0 = time.monotonic()
    assert main(["install", str(answer), "--plain"]) == 0, capsys.readouterr().out[-3000:]
    say(capsys, f"install: {time.monotonic() - t0:.0f} s")
    assert differences(before, picture(lab))  # the picture sees an install
    capsys.readouterr()
    # the customer adds a user and a group after the install: they are not the install's to remove
    # (a system account: useradd gives it no subordinate ids, so /etc/subuid keeps no backup of the change)
    lab.run("node2", "groupadd site-ops && useradd -r -M -g site-ops ops-alice")

    # A folder the last step must remove is busy on one node: the step fails there.
    lab.run("escape", "mkdir -p /var/log/onsite/busy && mount -t tmpfs onsite-busy /var/log/onsite/busy")
    t0 = time.monotonic()
    assert uninstall(answer) == 1
    err = capsys.readouterr().err
    assert "system-uninstall" in err and "escape" in err and "--resume" in err, err[-2000:]
    ops = answer.parent / "onsite-journal" / "lab-osun" / "operations"
    assert len(list(ops.glob("uninstall-*"))) == 1  # the first uninstall's journal, kept with its time stamp
    journal = Journal.load(ops / "uninstall")
    assert journal.status("escape/system-uninstall") == "failed" and journal.status("node1/etcd-uninstall") == "done"
    assert uninstall(answer) == 2  # an unfinished uninstall is continued or restarted, not run again blindly
    assert "--resume" in capsys.readouterr().err
    lab.run("escape", "umount /var/log/onsite/busy")
    assert uninstall(answer, "--resume") == 0, capsys.readouterr().err[-3000:]
    out = capsys.readouterr()
    say(capsys, f"uninstall (with the failed run and the resume): {time.monotonic() - t0:.0f} s")
    assert "nothing left on node1, node2, node3, escape" in out.out + out.err
    assert lab.run("node2", "id -u ops-alice && getent group site-ops", check=False).returncode == 0
    lab.run("node2", "userdel ops-alice && groupdel site-ops")

    after = picture(lab)
    diff = differences(before, after)
    # The install may remove a package the node had when the bundle's newer
    # library conflicts with it (the lab: libpq-dev against the bundle's
    # libpq5): named by the install and the uninstall, not put back.
    removed = {node: [x for x in d.pop("packages", []) if x.startswith("- ")] for node, d in diff.items()}
    assert all(not d for d in diff.values()), json.dumps(diff, indent=1)
    say(capsys, f"packages the install removed (named by install and uninstall): {removed}")

    # onsite preflight agrees: no leftover on any node, the ports and VIPs free.
    assert main(["preflight", str(answer), "--format", "json"]) == 0
    checks = json.loads(capsys.readouterr().out)["preflight"]
    assert {c["node"] for c in checks if c["check"] == "leftovers" and c["status"] == "ok"} == {
        "node1", "node2", "node3", "escape"}
    assert all(c["status"] == "ok" for c in checks if c["check"] in ("leftovers", "ports", "vips")), checks
    # The install's journal is archived: the next install starts afresh
    # (preflight's own lab-osun/preflight.json is no journal).
    journals = site_journals(answer)
    assert len([j for j in journals if j.startswith("lab-osun-uninstalled-")]) == 1, journals
    assert not Journal.exists(answer.parent / "onsite-journal" / "lab-osun")


def test_a_fresh_install_passes_verify_and_keep_data_brings_the_rows_back(un, capsys):
    lab, answer = un
    assert main(["install", str(answer), "--plain"]) == 0  # verify included
    assert "verify passed" in capsys.readouterr().out
    first = leader(lab)
    psql(lab, first, f"create table kept(i int primary key); insert into kept select generate_series(1, {ROWS})")
    members = lab.run("node1", "ETCDCTL_API=3 etcdctl member list").stdout  # ids: kept with the data
    # apt's lock is held on node1 (an unattended upgrade, say): the purge fails there after the data
    # was set aside; the resume keeps the data and the users that own it
    # (the lock holder on the node ends when its stdin closes, also if this test dies)
    locker = subprocess.Popen(
        ["nsenter", "-t", str(lab.node("node1").pid), "-m", "-u", "-n", "-p", "-r", "-w", "python3", "-c",
         "import fcntl, sys; f = open('/var/lib/dpkg/lock-frontend', 'w'); fcntl.lockf(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        assert uninstall(answer, "--keep-data") == 1
        err = capsys.readouterr().err
        assert "system-uninstall" in err and "node1" in err, err[-2000:]
        assert lab.run("node1", "ls /var/lib/onsite/state/kept").stdout.strip()  # the data is set aside: the case
    finally:
        locker.stdin.close()
        locker.wait(timeout=30)
    # resuming without --keep-data would purge what the first run set aside: refused
    assert uninstall(answer, "--resume") == 2
    assert "keep data=true" in capsys.readouterr().err
    assert uninstall(answer, "--keep-data", "--resume") == 0, capsys.readouterr().err[-3000:]
    out = capsys.readouterr()
    assert "(data kept)" in out.out + out.err
    for n in ("node1", "node2", "node3"):
        kept = lab.run(n, "ls -d /var/lib/postgresql/15/main/base /var/lib/etcd/member /var/lib/redis; "
                          "id -u etcd; id -u redis; pgrep -x patroni || echo none", check=False).stdout
        assert "/var/lib/postgresql/15/main/base" in kept and "/var/lib/etcd/member" in kept and kept.endswith("none\n"), kept
        assert lab.run(n, "dpkg-query -W -f '${db:Status-Status}' patroni etcd-server 2>/dev/null",
                       check=False).stdout.count("installed") == 0
    assert main(["install", str(answer), "--plain"]) == 0  # verify included
    assert "verify passed" in capsys.readouterr().out
    now = leader(lab)
    assert psql(lab, now, "select count(*), sum(i) from kept") == f"{ROWS}|{ROWS * (ROWS + 1) // 2}"
    assert lab.run("node1", "ETCDCTL_API=3 etcdctl member list").stdout == members
    say(capsys, f"{ROWS} rows written on {first} before uninstall --keep-data are there after install (leader {now})")


def test_only_one_node_keeps_the_rest_running_and_is_refused_without_quorum(un, capsys):
    lab, answer = un
    # node3's etcd down: taking node1 away too would leave etcd without a quorum.
    lab.run("node3", f"cd {REF} && . lib/onsite.sh && svc_stop etcd")
    assert uninstall(answer, "--only", "node1") == 1
    err = capsys.readouterr().err
    assert "quorum" in err and "node3" in err, err[-2000:]
    # the same refusal as JSON: stdout holds the one document, and it follows the schema
    assert uninstall(answer, "--only", "node1", "--restart", "--format", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(json.loads((repo_root() / "schemas/cli/uninstall.schema.json").read_text())).validate(doc)
    assert doc["outcome"]["exit_code"] == 1, doc["outcome"]
    [failure] = doc["steps"]["failures"]
    said = "\n".join(failure["tail"])
    assert failure["step"] == "uninstall-guard" and "quorum" in said and "node3" in said, failure
    assert lab.run("node1", f"cd {REF} && . lib/onsite.sh && svc_running etcd && svc_running patroni",
                   check=False).returncode == 0  # nothing changed on node1
    lab.run("node3", f"cd {REF} && . lib/onsite.sh && svc_start etcd")
    deadline = time.monotonic() + 60
    while lab.run("node1", "ETCDCTL_API=3 etcdctl --endpoints=http://198.18.102.13:2379 endpoint health",
                  check=False).returncode != 0:
        assert time.monotonic() < deadline, "etcd on node3 did not come back"
        time.sleep(1)

    # The rest runs on: a client writes through the current leader and asks
    # RADIUS through the service VIP the whole time.
    led = leader(lab)
    with ClientLoop(lab, answer) as loop:
        rc = uninstall(answer, "--only", "node2")
    assert rc == 0, capsys.readouterr().err[-3000:]
    say(capsys, f"uninstall --only node2 (Patroni leader before: {led}) under load: {loop.report.describe()}")
    assert loop.report.acked > 0 and not loop.report.lost
    out = capsys.readouterr()
    assert "nothing left on node2" in out.out + out.err
    members = lab.run("node1", "ETCDCTL_API=3 etcdctl member list").stdout
    assert "node2" not in members and members.count("started") == 2, members
    assert leader(lab) in ("node1", "node3")
    assert psql(lab, leader(lab), "select count(*) from kept") == str(ROWS)
    assert "installed" not in lab.run("node2", "dpkg-query -W -f '${db:Status-Status}' etcd-server 2>/dev/null",
                                      check=False).stdout
    [site] = [p for p in (answer.parent / "onsite-journal").iterdir() if p.name == "lab-osun"]
    journal = Journal.load(site)
    assert {journal.status(k) for k in journal.data["steps"] if k.startswith("node2/")} == {PENDING}
    assert {journal.status(k) for k in journal.data["steps"] if k.startswith("node1/")} == {"done"}
    # resuming the install cannot bring it back without its data (etcd removed the member): refused
    capsys.readouterr()
    assert main(["install", str(answer), "--resume", "--plain"]) == 2
    assert "onsite node replace FILE node2" in capsys.readouterr().err
    # node replace puts it back, as the notice says: through the survivors, into the running site
    t0 = time.monotonic()
    rc = main(["node", "replace", str(answer), "node2", "--yes", "--plain"])
    out = capsys.readouterr()
    assert rc == 0, out.out[-3000:] + out.err[-3000:]
    say(capsys, f"node replace after uninstall --only node2: {time.monotonic() - t0:.0f} s")
    assert Journal.load(site).complete
    members = lab.run("node1", "ETCDCTL_API=3 etcdctl member list").stdout
    assert ", started, node2," in members and members.count("started") == 3, members
    assert psql(lab, "node2", "select count(*) from kept") == str(ROWS)  # a streaming replica again
