"""`onsite uninstall` without a network: which steps run where and in
which order (the reverse of the install), its command line and its
refusals before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle
from installer.engine.day2 import Day2Operation, Day2Options
from installer.engine.uninstall import ResolveUninstall, install_order
from installer.model import answerfile, validate
from installer.model.profile import load_profile

from .conftest import repo_root


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    profile = load_profile("reference")
    plan = answerfile.starting_plan(profile, site="north")
    for comp in ("kube-apiserver", "kubelet", "mongodb", "rocketmq-namesrv", "rocketmq-broker", "doris-fe", "doris-be",
                 "portal", "grafana"):
        plan.components.setdefault(comp, {})["external"] = True
    answerfile.write(plan, folder / "site.yaml", profile)
    for name in ("base", "reference"):
        bundle.build(repo_root() / "bundles" / name, folder / "bundles" / name)
    return folder / "site.yaml"


def _resolved(site: Path, target: str | None = None) -> Day2Operation:
    loaded = validate.validate_file(site)
    assert loaded.ok, [p.render() for p in loaded.problems]
    op = Day2Operation("uninstall", loaded.plan, loaded.profile, answer_file=site, problems=loaded.problems,
                       options=Day2Options(target=target, needs_install=False))
    op.bundles = bundle.find(None, site, None)
    ResolveUninstall().run(op)
    return op


def test_the_whole_site_is_uninstalled_dependents_first_and_the_base_last(site):
    op = _resolved(site)
    assert install_order(op) == ["base-1.0.0", "reference-1.0.0"]
    order = [s.id for s in op.steps]
    before = lambda a, b: order.index(a) < order.index(b)  # noqa: E731
    assert before("keepalived-uninstall", "haproxy-uninstall") and before("keepalived-uninstall", "radius-uninstall")
    assert before("sentinel-uninstall", "redis-uninstall") and before("patroni-uninstall", "etcd-uninstall")
    assert order[-4] == "system-uninstall" and set(order[-3:]) == {"hosts-uninstall", "nonlocal-bind-uninstall",
                                                                   "hostname-uninstall"}
    steps = {s.id: s for s in op.steps}
    assert "system-uninstall" in steps["hosts-uninstall"].depends_on  # the base waits for the reference bundle
    assert steps["patroni-uninstall"].mode == "serial" and steps["patroni-uninstall"].leader
    nodes = [n.name for n in op.plan.nodes]
    where = {}
    for i in op.instances:
        where.setdefault(i.step.id, []).append(i.node)
    assert where["system-uninstall"] == nodes and where["hosts-uninstall"] == nodes
    assert where["uninstall-guard"] == nodes[:1]


def test_only_one_node_runs_there_and_asks_a_survivor(site):
    op = _resolved(site, target="node2")
    where = {}
    for i in op.instances:
        where.setdefault(i.step.id, []).append(i.node)
    assert where.pop("uninstall-guard") == ["node1"] and where.pop("etcd-forget-member") == ["node1"]
    assert all(nodes == ["node2"] for nodes in where.values()), where
    assert {"patroni-uninstall", "etcd-uninstall", "system-uninstall", "hosts-uninstall"} <= set(where)


def test_the_command_line_refuses_before_connecting(site, capsys):
    assert main(["uninstall", str(site), "--only", "node1", "--only", "node2", "--yes"]) == 2
    assert "one node" in capsys.readouterr().err
    assert main(["uninstall", str(site), "--only", "nowhere", "--yes"]) == 2
    assert "no such node" in capsys.readouterr().err
    assert main(["uninstall", str(site)]) == 2  # no terminal to ask on, and no --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["uninstall", str(site), "--dry-run", "--keep-data"]) == 0
    out = capsys.readouterr()
    assert "system-uninstall" in out.out + out.err and "leftovers" in out.out + out.err


def test_its_json_validates_against_the_documented_schema(site, capsys):
    import json

    import jsonschema

    assert main(["schema", "--output", "uninstall"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json.loads((repo_root() / "schemas/cli/uninstall.schema.json").read_text())
    assert main(["uninstall", str(site), "--dry-run", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["command"] == "uninstall" and doc["leftovers"] is None
    assert main(["uninstall", str(site), "--only", "nowhere", "--yes", "--format", "json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["outcome"]["problems"][0]["code"] == "usage"
