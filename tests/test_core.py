"""Pure-logic tests of the core: round trips, the IP helper, init, plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.cli import main
from installer.model import answerfile, ipplan, validate, yamlio
from installer.model.profile import load_profile

BASE = Path(__file__).parent / "corpus" / "base.yaml"


def test_load_save_load_gives_identical_plan(tmp_path: Path):
    first = validate.validate_file(BASE)
    assert first.ok
    out = tmp_path / "saved.yaml"
    answerfile.write(first.plan, out, first.profile)
    second = validate.validate_file(out)
    assert second.ok, [p.render() for p in second.problems]
    assert second.plan == first.plan
    assert second.plan.fingerprint() == first.plan.fingerprint()
    # and saving again is byte-for-byte stable
    again = tmp_path / "again" / "saved.yaml"
    again.parent.mkdir()
    answerfile.write(second.plan, again, second.profile)
    assert again.read_text() == out.read_text()


def test_saved_file_fills_defaults_explicitly(tmp_path: Path):
    result = validate.validate_file(BASE)
    data = result.plan.to_data()
    assert data["vips"][0]["check"] == {"interval": 10, "fall": 6, "rise": 2}  # the document's 10 s x 6
    assert data["nodes"][0]["ssh"] == {"user": "root", "port": 22, "auth": "agent"}


def test_init_writes_a_valid_commented_file(tmp_path: Path, capsys):
    out = tmp_path / "site.yaml"
    assert main(["init", "-o", str(out), "--subnet", "10.1.2.0/24", "--site", "north"]) == 0
    text = out.read_text()
    assert text.startswith("# onsite answer file")
    assert "IP5: Kubernetes API VIP" in text  # the sheet is explained in a comment
    result = validate.validate_file(out)
    assert result.ok, [p.render() for p in result.problems]
    assert result.plan.ips["IP1"] == "10.1.2.11"
    # refuses to overwrite without --force
    assert main(["init", "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_init_to_stdout_is_valid(capsys):
    assert main(["init"]) == 0
    text = capsys.readouterr().out
    assert validate.validate_text(text, "stdout").ok


@pytest.mark.parametrize(
    "subnet,gateway,first,taken,expect",
    [
        ("10.0.0.0/24", None, None, (), ["10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14", "10.0.0.15", "10.0.0.16"]),
        ("10.0.0.0/24", "10.0.0.13", "10.0.0.11", (), ["10.0.0.11", "10.0.0.12", "10.0.0.14", "10.0.0.15", "10.0.0.16", "10.0.0.17"]),
        ("10.0.0.0/24", None, "10.0.0.20", ["10.0.0.21", "10.0.0.23"], ["10.0.0.20", "10.0.0.22", "10.0.0.24", "10.0.0.25", "10.0.0.26", "10.0.0.27"]),
        ("10.0.0.0/29", None, None, (), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]),
    ],
)
def test_ip_helper_proposes_free_addresses(subnet, gateway, first, taken, expect):
    slots = [f"IP{i}" for i in range(1, len(expect) + 1)]
    got = ipplan.propose(subnet, slots, gateway=gateway, first=first, taken=taken)
    assert list(got.values()) == expect
    gw = gateway or ipplan.default_gateway(subnet)
    assert gw not in got.values()
    assert len(set(got.values())) == len(got)


def test_ip_helper_says_when_subnet_is_too_small():
    with pytest.raises(ipplan.IpPlanError, match="no free address left for IP6"):
        ipplan.propose("10.0.0.0/29", [f"IP{i}" for i in range(1, 7)])
    with pytest.raises(ipplan.IpPlanError, match="outside"):
        ipplan.propose("10.0.0.0/24", ["IP1"], first="10.9.0.1")


def test_ip_helper_output_validates_for_every_small_subnet():
    profile = load_profile("reference")
    for prefix in (24, 26, 28):
        plan = answerfile.starting_plan(profile, subnet=f"172.30.5.0/{prefix}", first=None if prefix == 24 else "172.30.5.2")
        assert validate.validate_data(plan.to_data()).ok


def test_plan_command_prints_nodes_ports_and_vips(capsys):
    assert main(["plan", str(BASE)]) == 0
    out = capsys.readouterr().out
    assert "escape  IP4 10.20.30.14 on eth0" in out
    assert "IP6 10.20.30.16 (service, priority 50, backup)" in out
    assert "16443/tcp haproxy.frontend" in out
    assert main(["plan", str(BASE), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    node1 = doc["nodes"][0]
    assert {"component": "etcd", "name": "client", "port": 2379, "protocol": "tcp"} in node1["ports"]


def test_plan_lists_the_steps_bundles_would_run(tmp_path: Path, capsys):
    from installer.engine import bundle

    built = tmp_path / "base"
    bundle.build(Path(__file__).resolve().parent.parent / "bundles" / "base", built)
    assert main(["plan", str(BASE), "--bundle", str(built)]) == 0
    out = capsys.readouterr().out
    assert "steps:      hostname, hosts, nonlocal-bind, reach" in out  # node1: a VIP holder
    assert "steps:      hostname, hosts, nonlocal-bind, reach" in out.split("escape  IP4")[1]
    assert "bundles: base-1.0.0" in out
    assert main(["plan", str(BASE), "--bundle", str(built), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["nodes"][0]["steps"] == ["hostname", "hosts", "nonlocal-bind", "reach"]


def test_external_component_frees_its_ports(tmp_path: Path):
    text = BASE.read_text().replace("  haproxy: {frontend: 16443}\n", "  haproxy: {frontend: 6443}\n")
    text = text.replace("components:\n", "components:\n  kube-apiserver: {external: true}\n")
    result = validate.validate_text(text, "x.yaml")
    assert result.ok, [p.render() for p in result.problems]


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["$id"].endswith("/v1.json")


def test_version_names_profiles_and_data(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert "profile reference 1.0.0" in out and "data: " in out


def test_no_traceback_for_internal_errors(monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(validate, "validate_file", boom)
    assert main(["validate", str(BASE)]) == 70
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


def test_yaml_dates_and_nan_stay_text():
    doc = yamlio.parse_text("a: 2024-01-01\nb: .nan\n")
    assert doc.data == {"a": "2024-01-01", "b": ".nan"}


def test_the_wizard_without_a_terminal_says_what_to_run_instead(capsys):
    assert main(["wizard", str(BASE)]) == 3  # pytest's stdin and stdout are not terminals
    assert "onsite install FILE" in capsys.readouterr().err
