"""Preflight on the lab: every check passes on a clean lab and fails where it should."""

from __future__ import annotations

import subprocess
import time

import pytest

from installer.cli import main
from installer.engine import bundle, preflight

from .conftest import lab_validation, repo_root, ssh_connections

pytestmark = pytest.mark.lab


def run_preflight(lab, plan=None, profile=None):
    v = lab_validation(lab)
    with ssh_connections(plan or v.plan) as conns:
        return preflight.run(plan or v.plan, profile or v.profile, conns)


def results(report, check, status=None):
    return [r for r in report.results if r.check == check and (status is None or r.status == status)]


def test_clean_lab_is_ready(lab):
    report = run_preflight(lab)
    assert report.ok, [(r.node, r.check, r.detail) for r in report.blockers]
    checks = {r.check for r in report.results}
    assert checks >= {"ssh", "root", "os", "arch", "cpu", "memory", "disk", "disk-used", "ports", "nic",
                      "hostname", "clock", "vips", "leftovers"}
    assert len(results(report, "ssh", "ok")) == 4


def test_port_taken_on_one_node(lab):
    lab.run("node2", "setsid python3 -m http.server 2379 --bind 0.0.0.0 >/dev/null 2>&1 < /dev/null &")
    try:
        deadline = time.monotonic() + 5
        while "2379" not in lab.run("node2", "ss -Hlnt").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        report = run_preflight(lab)
        [fail] = results(report, "ports", "fail")
        assert fail.node == "node2"
        assert "2379/tcp (etcd.client) is taken by python3" in fail.detail
    finally:
        lab.run("node2", "pkill -f 'http.server 2379'", check=False)


def test_vip_already_on_a_node(lab):
    v = lab_validation(lab)
    vip = v.plan.ips["IP5"]
    lab.run("node3", ["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
    try:
        report = run_preflight(lab)
        [fail] = results(report, "vips", "fail")
        assert fail.node == "node3" and f"VIP {vip} (k8s-api) is already configured on node3" in fail.detail
    finally:
        lab.run("node3", ["ip", "addr", "del", f"{vip}/24", "dev", "eth0"], check=False)


def test_vip_answering_on_the_network(lab):
    v = lab_validation(lab)
    vip = v.plan.ips["IP6"]
    subprocess.run(["ip", "addr", "add", f"{vip}/32", "dev", lab.bridge], check=True)  # another machine (the host) has it
    try:
        report = run_preflight(lab)
        [fail] = results(report, "vips", "fail")
        assert f"VIP {vip} (service) already answers on the network" in fail.detail
    finally:
        subprocess.run(["ip", "addr", "del", f"{vip}/32", "dev", lab.bridge], check=False)
        for n in lab.nodes:
            lab.run(n.name, ["ip", "neigh", "flush", "to", vip], check=False)


def test_data_disk_full(lab):
    lab.small_disk("escape", "/var/lib", "4m")
    try:
        lab.fill_disk("escape", "/var/lib")
        report = run_preflight(lab)
        [used] = results(report, "disk-used", "fail")
        assert used.node == "escape" and "100 % used" in used.detail
        [size] = results(report, "disk", "fail")
        assert "needs 10 GB" in size.detail
    finally:
        lab.release_disk("escape", "/var/lib")


def test_wrong_nic_and_unsupported_memory(lab):
    v = lab_validation(lab)
    plan = v.plan
    plan.node("node1").nic = "eth7"
    profile = v.profile
    import dataclasses

    from installer.model.profile import Requirement

    reqs = dict(profile.requirements)
    reqs["escape"] = Requirement(cpus=64, memory_mb=10_000_000, disk_gb=10)
    profile = dataclasses.replace(profile, requirements=reqs)
    report = run_preflight(lab, plan, profile)
    [nic] = results(report, "nic", "fail")
    assert nic.node == "node1" and "interface eth7 does not exist" in nic.detail
    assert {r.node for r in results(report, "memory", "fail")} == {"escape"}
    assert {r.node for r in results(report, "cpu", "fail")} == {"escape"}


def test_duplicate_hostname(lab):
    lab.run("node2", ["hostname", "node1"])
    try:
        report = run_preflight(lab)
        fails = results(report, "hostname", "fail")
        assert {r.node for r in fails} == {"node1", "node2"}
    finally:
        lab.run("node2", ["hostname", "node2"])


def test_leftovers_are_named(lab):
    lab.run("node1", "mkdir -p /etc/keepalived && touch /etc/keepalived/keepalived.conf")
    try:
        report = run_preflight(lab)
        warn = [r for r in results(report, "leftovers", "warn") if r.node == "node1"]
        assert warn and "/etc/keepalived/keepalived.conf" in warn[0].detail
    finally:
        lab.run("node1", "rm -f /etc/keepalived/keepalived.conf")


def test_unreachable_node_fails_ssh_and_others_are_still_checked(lab, capsys):
    lab.stop_sshd("escape")
    try:
        report = run_preflight(lab)
        [ssh] = results(report, "ssh", "fail")
        assert ssh.node == "escape" and "refused" in ssh.detail
        assert {r.node for r in results(report, "root", "ok")} == {"node1", "node2", "node3"}
        assert main(["preflight", str(lab.answer_file)]) == 1
        out = capsys.readouterr().out
        assert "blocker" in out and "escape" in out
    finally:
        lab.start_sshd("escape")


def test_cli_preflight_on_a_clean_lab_is_ready(lab, capsys):
    assert main(["preflight", str(lab.answer_file)]) == 0
    out = capsys.readouterr().out
    assert "ready to install" in out and "blocker" not in out


def test_cli_preflight_names_a_missing_vendor_payload(lab, tmp_path, capsys):
    for name in ("base", "reference"):
        bundle.build(repo_root() / "bundles" / name, tmp_path / "bundles" / name)
    site = tmp_path / "site.yaml"  # bundles/ next to it are found without --bundle
    text = lab.answer_file.read_text()
    assert "  mongodb:\n    external: true\n" in text
    site.write_text(text.replace("  mongodb:\n    external: true\n", ""))
    assert main(["preflight", str(site)]) == 1
    out = capsys.readouterr().out
    # the nodes passed; the payload alone blocks, named in full under the table
    assert "1 blocker:\n  bundles: payload: the vendor payload payload/mongodb.tar.gz for mongodb is missing " \
           "from bundle reference-1.0.0 (steps mongodb, mongodb-replica-set on node1, node2, node3)" in out
    assert "`mongodb: {external: true}` under `components:`" in out


def test_clock_skew_is_judged_from_offsets():
    emitted = []

    class F:
        def __init__(self, node, off):
            self.node, self.clock_offset, self.raw = node, off, [("hostname", node)]

        def first(self, key, default=""):
            return self.node if key == "hostname" else default

        def all(self, key):
            return []

    from types import SimpleNamespace

    plan = SimpleNamespace(vips=[], ips={})
    facts = {"a": F("a", 0.010), "b": F("b", 0.020), "c": F("c", 0.700)}
    preflight._cluster_checks(plan, None, None, facts, lambda *a: emitted.append(a))
    clock = {a[0]: a[2] for a in emitted if a[1] == "clock"}
    assert clock == {"a": "fail", "b": "ok", "c": "fail"}
