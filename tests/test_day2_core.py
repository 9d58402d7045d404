"""The day-2 core on the lab: a bundle's `operations:` steps run as a
lifecycle with the install's lock, journal, resume and runner; `nodes:`
picks the target or the others, `leader:` puts the leading node last, and
the operation's parameters reach the scripts in the env file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from installer.cli import main
from installer.cli.common import Pinning
from installer.engine import bundle
from installer.engine.day2 import Day2Operation, Day2Options, day2_lifecycle
from installer.engine.journal import Journal
from installer.model import validate

from .conftest import RUNNER_BUNDLE_SRC

pytestmark = pytest.mark.lab

MARK = "/var/lib/onsite-test/op.log"
OPERATIONS = {
    "poke": [
        {"id": "poke-target", "title": "Poke the target", "roles": ["*"], "nodes": "target",
         "script": "ops/poke.sh", "timeout": 30},
        {"id": "poke-others", "title": "Poke the others, the leader last", "roles": ["*"], "nodes": "others",
         "mode": "serial", "leader": "ops/leader.sh", "depends_on": ["poke-target"], "script": "ops/poke.sh",
         "timeout": 30},
        {"id": "poke-once", "title": "Poke one survivor", "roles": ["*"], "nodes": "one-other",
         "depends_on": ["poke-others"], "script": "ops/poke.sh", "check": "ops/fail-if-asked.sh", "timeout": 30},
    ],
}


@pytest.fixture(scope="module")
def ops_bundle(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src") / "runner"
    shutil.copytree(RUNNER_BUNDLE_SRC, src)
    data = yaml.safe_load((src / "bundle.yaml").read_text())
    data["operations"] = OPERATIONS
    (src / "bundle.yaml").write_text(yaml.safe_dump(data))
    (src / "ops").mkdir()
    (src / "ops/poke.sh").write_text(
        'set -eu\nprintf "%s %s %s %s %s\\n" "$(date +%s.%N)" "$ONSITE_STEP" "$ONSITE_NODE" "$ONSITE_OP_NODE" '
        f'"$ONSITE_OP_KEEP_DATA" >> {MARK}\n')
    (src / "ops/leader.sh").write_text('[ "$ONSITE_NODE" = "$(cat /var/lib/onsite-test/leader 2>/dev/null)" ]\n')
    # exit 1 before the step (run it), then: fail when asked to, else pass
    (src / "ops/fail-if-asked.sh").write_text(
        f'grep -q poke-once {MARK} 2>/dev/null || exit 1\n[ ! -e /var/lib/onsite-test/fail-op ]\n')
    out = tmp_path_factory.mktemp("bundle") / "runner-ops"
    bundle.build(src, out)
    return out


def _op(site: Path, bundle_dir: Path, **options) -> Day2Operation:
    loaded = validate.validate_file(site)
    return Day2Operation("poke", loaded.plan, loaded.profile, answer_file=site, problems=loaded.problems,
                         bundle_paths=[bundle_dir], options=Day2Options(verify=False, **options),
                         connect=Pinning(True), command="onsite poke")


def _log(lab) -> list[list[str]]:
    lines = []
    for n in lab.nodes:
        text = lab.run(n.name, f"cat {MARK} 2>/dev/null || true").stdout
        lines += [line.split() for line in text.splitlines() if line.strip()]
    return sorted(lines, key=lambda w: float(w[0]))


def test_an_operation_runs_its_steps_where_and_in_the_order_declared(lab, site, ops_bundle):
    op = _op(site, ops_bundle, target="node2")
    outcome = day2_lifecycle().run(op)
    assert outcome.status == "invalid" and "no finished install" in str(outcome.problems.sorted()[0].message)

    assert main(["install", str(site), "--bundle", str(ops_bundle), "--skip-preflight", "--no-verify"]) == 0
    lab.run("node1", "echo node3 > /var/lib/onsite-test/leader")
    lab.run("node3", "echo node3 > /var/lib/onsite-test/leader")
    op = _op(site, ops_bundle, target="node2", keep_data=True)
    outcome = day2_lifecycle().run(op)
    assert outcome.ok, outcome.problems.sorted()
    log = _log(lab)
    assert [(w[1], w[2]) for w in log][:1] == [("poke-target", "node2")]
    others = [w[2] for w in log if w[1] == "poke-others"]
    assert sorted(others) == sorted(n.name for n in lab.nodes if n.name != "node2")
    assert others[-1] == "node3"  # the leader goes last
    assert [w[2] for w in log if w[1] == "poke-once"] == ["node1"]  # the first survivor
    assert all(w[3] == "node2" and w[4] == "true" for w in log)
    journal = Journal.load(op.journal_dir)
    assert journal.complete and journal.data["operation"] == "poke"
    assert op.journal_dir.parent.name == "operations" and op.journal_dir.name == "poke-node2"


def test_a_failed_operation_resumes_from_its_journal(lab, site, ops_bundle):
    assert main(["install", str(site), "--bundle", str(ops_bundle), "--skip-preflight", "--no-verify"]) == 0
    lab.run("node1", "touch /var/lib/onsite-test/fail-op")
    outcome = day2_lifecycle().run(_op(site, ops_bundle, target="node2"))
    assert outcome.status == "failed" and outcome.phase == "steps"
    assert "onsite poke --resume" in outcome.problems.sorted()[0].hint
    again = day2_lifecycle().run(_op(site, ops_bundle, target="node2"))
    assert again.status == "invalid" and "--resume" in again.problems.sorted()[0].hint
    lab.run("node1", "rm /var/lib/onsite-test/fail-op")
    # resumed with other options (uninstall --keep-data resumed without it would purge the kept data): refused
    other = day2_lifecycle().run(_op(site, ops_bundle, target="node2", keep_data=True, resume=True))
    assert other.status == "invalid", other.problems.sorted()
    [p] = other.problems.sorted()
    assert p.code == "options-changed" and "keep data=false" in p.message and "keep data=true" in p.message, p.message
    before = len(_log(lab))
    op = _op(site, ops_bundle, target="node2", resume=True)
    resumed = day2_lifecycle().run(op)
    assert resumed.ok, resumed.problems.sorted()
    assert _log(lab)[before:] == []  # done steps were not run again; the failed one's check now passes
    journal = Journal.load(op.journal_dir)
    assert journal.complete and journal.record("node1/poke-once")["message"] == "in place (check passed)"
