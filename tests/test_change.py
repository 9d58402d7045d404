"""A changed plan, without a lab: what changed, what is refused and why,
which install steps it concerns (predicted from the reference bundle's
scripts), the rolling order; and a day-2 operation's WHAT picking steps.
The lab proves the same on real services in tests/test_day2_switchover.py."""

from __future__ import annotations

import copy
import json

import pytest

from installer.cli import main
from installer.engine import bundle
from installer.engine.change import field_changes, plan_change, rolling
from installer.engine.journal import Journal
from installer.engine.steps import instances, load_steps, offered, serves
from installer.model import answerfile
from installer.model.plan import Plan
from installer.model.profile import load_profile

from .conftest import repo_root


@pytest.fixture(scope="module")
def profile():
    return load_profile("reference")


@pytest.fixture(scope="module")
def base_data(profile) -> dict:
    plan = answerfile.starting_plan(profile, site="north", subnet="198.18.0.0/24", gateway=None, first=None,
                                    key="~/.ssh/id_ed25519")
    return plan.to_data()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    return [bundle.build(repo_root() / "bundles/base", out / "base"),
            bundle.build(repo_root() / "bundles/reference", out / "reference")]


def changed(data: dict, edit) -> dict:
    new = copy.deepcopy(data)
    edit(new)
    return new


def test_fields_show_old_and_new_leaf_by_leaf(base_data):
    def edit(d):
        d["vips"][1]["check"]["interval"] = 5
        d["ports"] = {"socks5": {"socks": 1081}}

    fields = field_changes(base_data, changed(base_data, edit))
    assert [f.line() for f in fields] == ["vips[1].check.interval: 10 -> 5", "ports.socks5.socks: (not set) -> 1081"]


def test_port_and_check_interval_concern_only_their_steps_one_node_at_a_time(base_data, profile, bundles):
    def edit(d):
        d["vips"][1]["check"]["interval"] = 5
        d["ports"] = {"socks5": {"socks": 1081}}

    new = Plan.from_data(changed(base_data, edit), profile)
    change = plan_change(base_data, new, profile, bundles)
    assert change.ok and not change.empty
    steps = {s.step: s for s in change.steps}
    # danted reads the port; keepalived (and the VIP facts writer) the VIP's check
    assert set(steps) == {"socks5", "keepalived", "node-exporter"}, change.lines()
    assert steps["socks5"].nodes == ("node1", "node2", "node3") and steps["socks5"].rolling
    assert steps["keepalived"].nodes == ("node1", "node2", "node3", "escape")
    assert steps["keepalived"].leader_last  # the VIP holder goes last
    text = "\n".join(change.lines())
    assert "vips[1].check.interval: 10 -> 5" in text and "socks5 on node1, node2, node3 (one node at a time)" in text
    doc = change.to_json()
    assert doc["in_place"] and doc["fields"][1] == {"path": "ports.socks5.socks", "old": None, "new": 1081}
    json.dumps(doc)


def test_a_secret_reference_concerns_the_steps_of_its_components(base_data, profile, bundles):
    new = Plan.from_data(changed(base_data, lambda d: d["secrets"].update(redis_password="env:OTHER")), profile)
    change = plan_change(base_data, new, profile, bundles)
    assert {"redis", "sentinel", "redis-exporter"} <= {s.step for s in change.steps}
    assert "patroni" not in {s.step for s in change.steps}


@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d["ips"].update(IP2="198.18.0.99"), ["node node2's address", "onsite node replace"]),
    (lambda d: d["nodes"].pop(), ["the node list (removed escape)", "uninstall"]),
    (lambda d: d["nodes"][0]["roles"].remove("socks5"), ["node node1's roles", "uninstall"]),
    (lambda d: d["site"].update(name="south"), ["the site's name", "uninstall"]),
    (lambda d: d["network"].update(gateway="198.18.0.2"), ["gateway", "new install"]),
])
def test_what_cannot_be_applied_in_place_is_refused_naming_what_to_do(base_data, profile, edit, words):
    new = Plan.from_data(changed(base_data, edit), profile)
    change = plan_change(base_data, new, profile)
    assert not change.ok
    text = " ".join(p.message + " " + p.hint for p in change.refused)
    assert all(w in text for w in words), text
    assert all(p.message.startswith("cannot be applied in place") for p in change.refused)


def test_an_unchanged_plan_is_no_change(base_data, profile):
    change = plan_change(base_data, Plan.from_data(base_data, profile), profile)
    assert change.empty and change.ok


def test_rolling_makes_node_steps_of_several_nodes_serial(base_data, profile, bundles):
    plan = Plan.from_data(base_data, profile)
    insts = rolling(instances(plan, load_steps(bundles, set(profile.roles))))
    modes = {i.step.id: (i.step.scope, i.step.mode) for i in insts}
    assert modes["keepalived"] == ("node", "serial") and modes["socks5"] == ("node", "serial")
    assert modes["etcd-ready"] == ("cluster", "parallel")  # once, on one node
    assert modes["prometheus"][1] == "parallel"  # one node only


def test_operation_steps_serve_the_what_they_declare(bundles, profile):
    steps = load_steps(bundles, set(profile.roles), operation="switchover")
    assert offered(steps) == ["postgres", "redis", "vip:*"]
    assert [s.id for s in steps if serves(s, "vip:service")] == [
        "switchover-vip", "switchover-vip-others", "switchover-vip-verify"]
    assert [s.id for s in steps if serves(s, "postgres")] == ["switchover-postgres"]
    assert not any(serves(s, "mysql") for s in steps)


def test_plan_shows_the_change_against_the_installed_site(tmp_path, base_data, profile, bundles, capsys):
    answer = tmp_path / "site.yaml"
    new = Plan.from_data(changed(base_data, lambda d: d["vips"][1]["check"].update(interval=4)), profile)
    answer.write_text(answerfile.render(new, profile))
    journal = Journal.create(tmp_path / "onsite-journal" / "north", Plan.from_data(base_data, profile), {}, [])
    assert journal.complete
    args = ["plan", str(answer), "--bundle", str(bundles[0].root), "--bundle", str(bundles[1].root)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "change against the installed site" in out and "vips[1].check.interval: 10 -> 4" in out
    assert "keepalived on node1, node2, node3, escape" in out
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["change"]["fields"] == [{"path": "vips[1].check.interval", "old": 10, "new": 4}]
    assert [s["step"] for s in doc["change"]["steps"]][:1] == ["keepalived"]
    # the installed plan itself: no change
    answer.write_text(answerfile.render(Plan.from_data(base_data, profile), profile))
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["change"] is None


def test_switchover_refuses_a_vip_the_plan_does_not_have(tmp_path, base_data, profile, capsys):
    answer = tmp_path / "site.yaml"
    answer.write_text(answerfile.render(Plan.from_data(base_data, profile), profile))
    assert main(["switchover", str(answer), "vip:nope", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "'vip:nope': the answer file has no such VIP" in err and "vip:k8s-api, vip:service" in err


def test_a_renamed_site_is_refused_not_installed_afresh(tmp_path, base_data, profile, bundles, capsys):
    journal = Journal.create(tmp_path / "onsite-journal" / "north", Plan.from_data(base_data, profile), {}, [])
    assert journal.complete
    answer = tmp_path / "site.yaml"
    renamed = Plan.from_data(changed(base_data, lambda d: d["site"].update(name="south")), profile)
    answer.write_text(answerfile.render(renamed, profile))
    assert main(["install", str(answer), "--yes", "--plain"]) == 2
    err = capsys.readouterr().err
    assert "cannot be applied in place: the site's name ('north' -> 'south')" in err and "uninstall" in err


def test_an_uninstalled_site_or_an_earlier_journal_of_the_same_site_is_no_rename(tmp_path, base_data, profile):
    """After `onsite uninstall` (its journal archived and marked) a new name
    installs afresh; a journal kept by --restart of this same site is no
    rename either."""
    from installer.engine.change import renamed_site

    old = Plan.from_data(base_data, profile)
    renamed = Plan.from_data(changed(base_data, lambda d: d["site"].update(name="south")), profile)
    here = tmp_path / "onsite-journal" / "south"
    gone = Journal.create(tmp_path / "onsite-journal" / "north-uninstalled-20261124-030000", old, {}, [])
    gone.data["uninstalled"] = "20261124-030000"
    gone.save()
    assert renamed_site(here, renamed) is None
    Journal.create(tmp_path / "onsite-journal" / "north-20261124-030000", old, {}, [])  # --restart's copy
    assert renamed_site(tmp_path / "onsite-journal" / "north", old) is None
    assert renamed_site(here, renamed) is not None  # north's finished journal, not uninstalled: a rename


def test_a_changed_ssh_access_is_no_change_on_the_nodes(base_data, profile, bundles):
    new = Plan.from_data(changed(base_data, lambda d: d["nodes"][1]["ssh"].update(
        host_key="SHA256:07/MmfCQwrCmfyLU+kxcVmBOzNAaup7FGhNOU93i/TE")), profile)
    change = plan_change(base_data, new, profile, bundles)
    assert change.ok and change.access_only and change.steps == [] and change.nodes == []
    other = Plan.from_data(changed(base_data, lambda d: d["vips"][0]["check"].update(fall=4)), profile)
    assert not plan_change(base_data, other, profile, bundles).access_only


VENDOR = ("kube-apiserver", "kubelet", "mongodb", "rocketmq-namesrv", "rocketmq-broker", "doris-fe", "doris-be",
          "portal", "grafana")


def test_install_shows_a_change_and_refuses_it_without_a_terminal_before_connecting(tmp_path, base_data, profile,
                                                                                    bundles, capsys):
    installed = changed(base_data, lambda d: d.setdefault("components", {}).update(
        {c: {"external": True} for c in VENDOR}))
    journal_dir = tmp_path / "onsite-journal" / "north"
    Journal.create(journal_dir, Plan.from_data(installed, profile), {}, [])
    answer = tmp_path / "site.yaml"
    new = Plan.from_data(changed(installed, lambda d: d["vips"][1]["check"].update(interval=4)), profile)
    answer.write_text(answerfile.render(new, profile))
    args = ["install", str(answer), "--plain", "--bundle", str(bundles[0].root), "--bundle", str(bundles[1].root)]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "vips[1].check.interval: 10 -> 4" in out and "keepalived on node1, node2, node3, escape" in out
    assert "would keep the installed plan's journal" in out
    assert main(args) == 2  # stdin is no terminal here, and no --yes: nothing connects, nothing changes
    err = capsys.readouterr().err
    assert "no terminal to confirm it on" in err and "--yes" in err
    assert Journal.load(journal_dir).data["plan_hash"] == Plan.from_data(installed, profile).fingerprint()
    assert not list(journal_dir.glob("journal-*.json"))
