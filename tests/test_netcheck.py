"""The network check while planning (engine.netcheck, `onsite netcheck`):
only the plan's addresses in the plan's subnet are probed, a VIP that a
device holds is flagged with its MAC, a fresh plan passes; on the lab's real
bridge and namespaces."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import time

import pytest

from installer.cli.main import main
from installer.engine import netcheck
from installer.model import yamlio
from installer.model.profile import load_profile

from .conftest import repo_root

PROFILE = load_profile("reference")
CORPUS = yamlio.read_file(repo_root() / "tests" / "corpus" / "base.yaml").data


def fake_check(data, *, local, answering=(), neighbours=None):
    probed: list[tuple[str, int]] = []

    def connect(address, port, timeout, source):
        probed.append((address, port))
        return address in answering

    report = netcheck.check(data, PROFILE.node_slots, PROFILE.vip_slots, timeout=0.1,
                            local=lambda: local, neighbour_table=lambda iface: neighbours or {}, connect=connect)
    return report, probed


def codes(report) -> dict[str, str]:
    return {".".join(map(str, p.path)): p.code for p in report.problems}


def test_skipped_when_this_machine_is_not_on_the_plans_subnet():
    report, probed = fake_check(CORPUS, local=[netcheck.LocalAddress("eth0", "192.0.2.2", 24)])
    assert report.skipped and "no address in 10.20.30.0/24" in report.skipped and probed == []
    assert netcheck.check(CORPUS, [], [], local=lambda: None).skipped.startswith("cannot read this machine's addresses")


def test_only_the_plans_addresses_in_its_subnet_are_probed():
    data = copy.deepcopy(CORPUS)
    data["ips"]["IP4"] = "10.99.0.14"  # outside the subnet: validation words that, the check never goes there
    data["ips"]["IP6"] = "10.20.30.255"  # the broadcast address: never probed either
    me = netcheck.LocalAddress("eth0", "10.20.30.200", 24)
    report, probed = fake_check(data, local=[me], answering={"10.20.30.11", "10.20.30.12", "10.20.30.13", "10.20.30.1"})
    assert {a for a, _ in probed} == {"10.20.30.11", "10.20.30.12", "10.20.30.13", "10.20.30.15", "10.20.30.1"}
    net = ipaddress.IPv4Network("10.20.30.0/24")
    assert all(ipaddress.IPv4Address(a) in net for a, _ in probed)
    assert report.ok and not list(report.problems)


def test_findings_sit_at_their_fields():
    me = netcheck.LocalAddress("eth0", "10.20.30.13", 24)  # this laptop took IP3's address
    seen = {"10.20.30.16": netcheck.Neighbour("10.20.30.16", "02:00:00:00:00:16", "REACHABLE"),
            "10.20.30.15": netcheck.Neighbour("10.20.30.15", "02:00:00:00:00:15", "STALE")}
    report, probed = fake_check(CORPUS, local=[me], answering={"10.20.30.11"}, neighbours=seen)
    assert codes(report) == {"ips.IP2": "net-node-silent", "ips.IP3": "net-own-address", "ips.IP4": "net-node-silent",
                             "ips.IP5": "net-vip-seen", "ips.IP6": "net-vip-taken", "network.gateway": "net-gateway-silent"}
    [taken] = [p for p in report.problems if p.code == "net-vip-taken"]
    assert "MAC 02:00:00:00:00:16" in taken.message and taken.is_error
    assert "10.20.30.13" not in {a for a, _ in probed}


def test_an_arp_resolution_left_from_an_earlier_run_is_waited_out_before_probing():
    # An earlier run left IP6's entry INCOMPLETE; a device takes the address: the kernel asks again only
    # on its own schedule, so a probe started now could give up first. The check waits for the entry.
    me = netcheck.LocalAddress("eth0", "10.20.30.200", 24)
    events: list[str] = []
    states = iter(["INCOMPLETE", "INCOMPLETE", "REACHABLE"])

    def table(iface):
        state = next(states, "REACHABLE")
        events.append(f"table {state}")
        return {"10.20.30.16": netcheck.Neighbour("10.20.30.16", "02:00:00:00:00:16" if state != "INCOMPLETE" else None,
                                                  state)}

    def connect(address, port, timeout, source):
        events.append("connect")
        return address == "10.20.30.16"

    report = netcheck.check(CORPUS, PROFILE.node_slots, PROFILE.vip_slots, timeout=0.1, local=lambda: [me],
                            neighbour_table=table, connect=connect)
    assert events[:3] == ["table INCOMPLETE", "table INCOMPLETE", "table REACHABLE"] and events[3] == "connect"
    assert codes(report)["ips.IP6"] == "net-vip-taken"
    # an entry that never settles costs at most `settle` seconds
    started = time.monotonic()
    netcheck.check(CORPUS, PROFILE.node_slots, PROFILE.vip_slots, timeout=0.1, local=lambda: [me], settle=0.3,
                   neighbour_table=lambda iface: {"10.20.30.16": netcheck.Neighbour("10.20.30.16", None, "INCOMPLETE")},
                   connect=lambda *a: False)
    assert 0.3 <= time.monotonic() - started < 2


@pytest.mark.lab
def test_on_the_lab_a_fresh_plan_passes_and_a_taken_vip_is_flagged(lab, tmp_path, capsys):
    data = yamlio.read_file(lab.answer_file).data
    site = tmp_path / "site.yaml"
    site.write_text(lab.answer_file.read_text())
    vip = data["ips"]["IP6"]
    prefix = ipaddress.IPv4Network(data["network"]["subnet"]).prefixlen
    started = time.monotonic()
    report = netcheck.check(data, PROFILE.node_slots, PROFILE.vip_slots)
    took = time.monotonic() - started
    assert "0 errors, 0 warnings" in netcheck.summary(report)
    assert report.skipped is None and report.local is not None
    assert report.ok, [p.render() for p in report.problems]
    assert all(r.answers for r in report.results if r.target.kind == "node")
    assert took < 5
    holder = lab.nodes[1]
    lab.run(holder.name, ["ip", "addr", "add", f"{vip}/{prefix}", "dev", "eth0"])
    try:
        report = netcheck.check(data, PROFILE.node_slots, PROFILE.vip_slots)
        [taken] = [p for p in report.problems if p.code == "net-vip-taken"]
        assert taken.path == ("ips", "IP6")
        mac = lab.run(holder.name, ["cat", "/sys/class/net/eth0/address"]).stdout.strip()
        assert f"MAC {mac}" in taken.message
        assert main(["netcheck", str(site)]) == 1
        text = capsys.readouterr().out
        assert re.search(rf"error: ips\.IP6: IP6 {re.escape(vip)} is already taken: port \d+ answers \(MAC {mac}\)", text), text
        assert main(["netcheck", str(site), "--format", "json"]) == 1
        doc = json.loads(capsys.readouterr().out)
        from jsonschema import Draft202012Validator

        Draft202012Validator(json.loads((repo_root() / "schemas/cli/netcheck.schema.json").read_text())).validate(doc)
        assert [p["field"] for p in doc["problems"] if p["severity"] == "error"] == ["ips.IP6"]
    finally:
        lab.run(holder.name, ["ip", "addr", "del", f"{vip}/{prefix}", "dev", "eth0"], check=False)
