"""The Review's data (installer.engine.review), without a lab: per node the
bundles and their sizes and the steps; the steps in order; the estimate and
what it rests on; the place for the change against an installed plan; the
same in `onsite plan`; the preflight matrix's short headers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle, journal, link, review
from installer.engine.events import short_names
from installer.model import validate

from .conftest import repo_root

BASE = Path(__file__).parent / "corpus" / "base.yaml"


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory) -> bundle.Bundle:
    out = tmp_path_factory.mktemp("b") / "base"
    bundle.build(repo_root() / "bundles" / "base", out)
    return bundle.load(out)


def _plan():
    v = validate.validate_file(BASE)
    assert v.ok
    return v.plan, v.profile


def _site(tmp_path: Path, base_bundle) -> Path:
    answer = tmp_path / "site.yaml"
    answer.write_text(BASE.read_text())
    return answer


def test_review_lists_every_node_its_bundles_sizes_and_steps_in_order(tmp_path, base_bundle):
    plan, profile = _plan()
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml", bundle_paths=[base_bundle.root])
    assert [n.name for n in rv.nodes] == ["node1", "node2", "node3", "escape"]
    for n in rv.nodes:
        assert n.bundles == ("base-1.0.0",) and n.bytes == base_bundle.total_bytes > 0
        assert n.steps == ("hostname", "hosts", "nonlocal-bind", "reach")
    node1 = rv.nodes[0].view
    assert "etcd" in node1.roles and [(h.slot, h.priority) for h in node1.vips] == [("IP5", 150), ("IP6", 150)]
    assert 2379 in [p.port for p in node1.ports]
    assert [b.id for b in rv.bundles] == ["base-1.0.0"] and rv.bundles[0].nodes == ("node1", "node2", "node3", "escape")
    assert [s.id for s in rv.steps] == ["hostname", "hosts", "nonlocal-bind", "reach"]
    # what an install would refuse: the components no bundle serves, at their field
    missing = {p.path[1] for p in rv.problems if p.code == "component-missing"}
    assert {"etcd", "patroni", "keepalived"} <= missing
    # nothing measured: no figure is invented
    e = rv.estimate
    assert e.send_bytes == 4 * base_bundle.total_bytes
    assert e.seconds is None and e.send_seconds is None and e.steps_seconds is None
    assert any("unknown until measured" in b for b in e.basis)
    assert rv.installed_changes is None  # never installed from this file


def test_no_bundles_is_a_problem_and_no_estimate(tmp_path):
    plan, profile = _plan()
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml")
    assert [p.code for p in rv.problems] == ["no-bundles"]
    assert f"{tmp_path / 'bundles'}/" in rv.problems[0].message
    assert rv.estimate.seconds is None and all(n.bytes == 0 for n in rv.nodes)


def test_a_damaged_bundle_is_a_problem_not_a_crash(tmp_path, base_bundle):
    import shutil

    copy = tmp_path / "base"
    shutil.copytree(base_bundle.root, copy)
    victim = next(p for p in copy.rglob("*.sh"))
    victim.write_text(victim.read_text() + "# changed\n")
    plan, profile = _plan()
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml", bundle_paths=[copy])
    assert any(p.code in ("bundle-hash", "bundle-size") for p in rv.problems), [p.render() for p in rv.problems]


def test_estimate_from_the_recorded_push_and_the_journals_step_times(tmp_path, base_bundle):
    plan, profile = _plan()
    jdir = tmp_path / "journal"
    # a push of 40 MB in 2 s was recorded: 20 MB/s delivered
    recorded = link.record_link(jdir, 40_000_000, 2.0, 4, "direct push")
    assert recorded is not None and recorded.rate == pytest.approx(20e6)
    assert link.recorded_link(jdir) == recorded
    assert link.record_link(tmp_path / "small", 1000, 0.1, 1, "direct") is None  # too small to measure a link
    # the journal of an earlier run: every step 3 s on every node
    steps = ["hostname", "hosts", "nonlocal-bind", "reach"]
    keys = [f"{n.name}/{s}" for n in plan.nodes for s in steps]
    j = journal.Journal.create(jdir, plan, {"base": "1.0.0"}, keys)
    t0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    for k in keys:
        j.update(k, status=journal.DONE, started=t0.isoformat(), ended=(t0 + dt.timedelta(seconds=3)).isoformat())
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml", bundle_paths=[base_bundle.root], journal_dir=jdir)
    e = rv.estimate
    assert e.send_seconds == pytest.approx(4 * base_bundle.total_bytes / 20e6)
    assert e.steps_seconds == pytest.approx(4 * 3.0)  # four parallel steps, 3 s each
    assert e.seconds == pytest.approx(e.send_seconds + 12.0)
    assert any("the push of" in b and "20.0 MB/s" in b for b in e.basis), e.basis
    assert any("last install" in b for b in e.basis)
    assert rv.installed_changes == []  # installed with this same plan
    # a rate a front end measured later wins over the recorded one
    later = link.LinkRate(1e6, "Test connection to node1", "2999-01-01T00:00:00+00:00")
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml", bundle_paths=[base_bundle.root], journal_dir=jdir,
                      link=later)
    assert rv.estimate.send_seconds == pytest.approx(4 * base_bundle.total_bytes / 1e6)
    # one node without a recorded time: the steps' time is unknown, not guessed
    j.update("escape/reach", status=journal.PENDING)
    rv = review.build(plan, profile, answer_file=tmp_path / "site.yaml", bundle_paths=[base_bundle.root], journal_dir=jdir)
    assert rv.estimate.steps_seconds is None and rv.estimate.seconds is None


def test_changes_against_the_installed_plan(tmp_path):
    plan, profile = _plan()
    jdir = tmp_path / "journal"
    journal.Journal.create(jdir, plan, {}, [])
    changed = validate.validate_text(BASE.read_text().replace("node3", "node9"), "x.yaml")
    assert changed.ok, [p.render() for p in changed.problems]
    changes = review.changes_against_installed(changed.plan, jdir)
    assert changes and any("node9" in c or "node3" in c for c in changes), changes
    assert review.changes_against_installed(plan, jdir) == []
    assert review.changes_against_installed(plan, tmp_path / "none") is None


def test_plan_command_shows_bundle_sizes_order_and_estimate(tmp_path, base_bundle, capsys):
    assert main(["plan", str(BASE), "--bundle", str(base_bundle.root)]) == 0
    out = capsys.readouterr().out
    size = f"({base_bundle.total_bytes / 1000:.0f} KB)"
    assert f"  bundles:    base-1.0.0 {size}" in out
    assert "steps in order:\n   1. hostname" in out
    assert "time: unknown" in out and "unknown until measured" in out
    assert "an install would stop on:" in out and "no bundle installs etcd" in out
    assert main(["plan", str(BASE), "--bundle", str(base_bundle.root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["nodes"][3]["bundles"] == ["base-1.0.0"] and doc["nodes"][3]["bytes"] == base_bundle.total_bytes
    assert doc["bundle_details"][0]["bytes"] == base_bundle.total_bytes
    assert [s["id"] for s in doc["order"]] == ["hostname", "hosts", "nonlocal-bind", "reach"]
    assert doc["estimate"]["seconds"] is None and doc["estimate"]["send_bytes"] == 4 * base_bundle.total_bytes
    assert any(p["code"] == "component-missing" for p in doc["problems"])


def test_short_headers_fit_and_stay_unique():
    names = ["ssh", "root", "os", "disk", "disk-used", "disk-usage", "hostname", "hosts", "algorithms", "a-b-c-d"]
    for width in (3, 4, 5):
        short = short_names(names, width)
        assert all(len(v) <= width for v in short.values()), short
        assert len(set(short.values())) == len(names), short
    assert short_names(["ssh", "disk-used"], 3) == {"ssh": "ssh", "disk-used": "dus"}


def test_cli_preflight_is_a_matrix_that_fits_then_every_warning_and_blocker_unfolded(capsys, monkeypatch):
    from installer.cli.install import preflight_matrix, show_preflight
    from installer.engine.events import CheckResult

    checks = [f"check-{i:02d}" for i in range(25)]  # more than fit one 80-column matrix
    results = [CheckResult(node=n, check=c, status="ok", detail="fine") for n in ("node1", "a-very-long-node-name") for c in checks]
    results[3] = CheckResult(node="node1", check="check-03", status="fail", detail="port 6443 taken by \x1b[31mevil",
                             hint="stop what holds it")
    results[30] = CheckResult(node="a-very-long-node-name", check="check-05", status="warn", detail="login shell prints")
    lines = [line.plain for line in preflight_matrix(results, 80)]
    assert all(len(line) <= 80 for line in lines if not line.startswith("c")), lines  # the legend may wrap
    heads = [line for line in lines if line.startswith("node ")]
    assert len(heads) == 2  # 25 checks at 3 characters do not fit 80 columns: two matrices
    assert [line[:10] for line in lines if line.startswith("a-very")] == ["a-very-lon"] * 2
    assert "✗" in lines[1] and "!" in lines[2]
    monkeypatch.setenv("COLUMNS", "80")
    show_preflight(results)
    out = capsys.readouterr().out
    assert "1 warning:\n  a-very-long-node-name: check-05: login shell prints" in out
    assert "1 blocker:\n  node1: check-03: port 6443 taken by" in out and "→ stop what holds it" in out
    assert "\x1b[31m" not in out and "checks passed" not in out


def _app_on_review(state_text: str, bundles=None):
    from installer.model import yamlio
    from installer.tui.app import OnsiteApp
    from installer.tui.state import WizardState

    app = OnsiteApp(Path("/srv/onsite/site.yaml"), bundles=bundles, autostart=False)

    async def start(pilot):
        app.state = WizardState(yamlio.parse_text(state_text, "site.yaml").data, Path("/srv/onsite/site.yaml"))
        app.go(app.page_index("review"))
        for _ in range(200):
            await pilot.pause(0.02)
            if app.screen.name == "review" and app.screen.focused is not None:
                break
    return app, start


def test_enter_on_a_problem_in_review_opens_its_page_with_the_field_focused():
    import asyncio

    bad = BASE.read_text().replace("IP1: 10.20.30.11", "IP1: 10.20.30.300")
    assert "10.20.30.300" in bad
    app, start = _app_on_review(bad)

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await start(pilot)
            page = app.screen
            assert page.query_one("#next").disabled  # an invalid plan goes no further
            first = page._items[0]
            assert first.path[:2] == ("ips", "IP1"), [p.render() for p in page._items]
            assert page.query_one("#problems").has_focus
            await pilot.press("enter")
            for _ in range(100):
                await pilot.pause(0.02)
                if app.screen.name == "network" and app.focused is not None:
                    break
            assert app.screen.name == "network"
            assert app.focused.id == "f-ips--IP1"

    asyncio.run(go())


def test_leaving_review_before_the_bundles_are_read_is_harmless(base_bundle, monkeypatch):
    """The worker finishes after the page is gone: nothing is drawn, nothing crashes."""
    import asyncio
    import threading

    release = threading.Event()
    real = review.build

    def slow_build(*a, **kw):
        release.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(review, "build", slow_build)
    app, start = _app_on_review(BASE.read_text(), bundles=[base_bundle.root])

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await start(pilot)
            page = app.screen
            assert page.review is None
            await pilot.press("escape")  # back to SSH while the worker reads
            await pilot.pause(0.2)
            assert app.screen.name == "ssh"
            release.set()
            await pilot.pause(0.5)
            assert app.screen.name == "ssh" and page.review is None
            assert app.return_code is None  # still running, no crash

    asyncio.run(go())
    assert not getattr(app, "crashed", None)


def test_every_review_and_preflight_word_has_its_chinese_entry():
    """The templates of t()/m() in the Review and Preflight pages and in
    engine/review.py are in locale/zh_CN.po, with the same placeholders."""
    import ast
    import re

    po = (repo_root() / "src" / "installer" / "locale" / "zh_CN.po").read_text(encoding="utf-8")
    entries = dict(re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"', po, re.M))
    wanted = []
    pages = ast.parse((repo_root() / "src/installer/tui/pages.py").read_text())
    scopes = [n for n in pages.body if isinstance(n, ast.ClassDef) and n.name in ("ReviewPage", "PreflightPage")]
    scopes.append(ast.parse((repo_root() / "src/installer/engine/review.py").read_text()))
    for scope in scopes:
        for node in ast.walk(scope):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "m")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                wanted.append(node.args[0].value)
    assert len(wanted) > 40
    for template in wanted:
        key = template.replace("\\", "\\\\").replace('"', '\\"')
        assert key in entries and entries[key], template
        names = sorted(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", template))
        assert sorted(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", entries[key])) == names, template
