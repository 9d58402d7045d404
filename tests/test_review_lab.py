"""Pilot tests on the lab: the Review page shows every node's roles and
ports and the bundle sizes for the lab plan (at 80x24, scrolling); the
Preflight matrix shows a blocker really injected on one node (the API VIP
configured on node2), lands on it, keeps Next disabled, and after the cause
is removed "run again for this node" checks only that node and opens the way."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Console

from installer.engine import link
from installer.engine.bundle import load as load_bundle
from installer.engine.events import human_bytes
from installer.model import validate
from installer.model.planner import node_views

from .conftest import ssh_connections
from .test_lifecycle import block, unblock
from .wizard_pilot import wait_for

pytestmark = pytest.mark.lab


def _plain(renderable, width: int = 76) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_review_shows_every_nodes_roles_ports_and_the_bundle_sizes_for_the_lab_plan(lab, site, runner_bundle):
    from installer.tui.app import OnsiteApp

    loaded = validate.validate_file(site)
    views = node_views(loaded.plan, loaded.profile)
    size = load_bundle(runner_bundle).total_bytes

    async def go():
        app = OnsiteApp(site, bundles=[runner_bundle])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await wait_for(pilot, lambda: app.screen.name == "review", 10, "the review page")
            page = app.screen
            await wait_for(pilot, lambda: page.review is not None, 60, "the bundles to be read")
            rv = page.review
            assert [n.name for n in rv.nodes] == [v.name for v in views]
            for n, v in zip(rv.nodes, views, strict=True):
                assert n.view == v and n.bundles == ("runner-test-1.0.0",) and n.bytes == size
            assert not rv.problems, [p.render() for p in rv.problems]  # the lab plan and this bundle install
            # what the page shows: every node, its address, every role, every port, the bundle and its size
            nodes = page.query_one("#rv-nodes")
            table = nodes.content
            columns = {str(c.header): [str(x) for x in c.cells] for c in table.columns}
            rows = [i for i, cell in enumerate(columns["node"]) if cell]
            assert len(rows) == len(views)
            for i, v in zip(rows, views, strict=True):
                assert columns["node"][i].split("\n")[0] == v.name and v.address in columns["node"][i]
                assert columns["roles"][i] == ", ".join(v.roles)
                assert columns["ports (u: udp)"][i].split() == [f"{p.port}{'u' if p.protocol == 'udp' else ''}"
                                                               for p in v.ports] or (not v.ports and v.external)
                assert columns["VIPs (priority)"][i].split("\n") == [
                    f"{h.slot} {h.vip} {h.priority}{' backup' if h.backup else ''}" for h in v.vips] or not v.vips
                assert columns["gets"][i].startswith("runner-test-1.0.0\n" + human_bytes(size))
            # drawn at the page's real width, nothing is cut off
            shown = _plain(table, nodes.size.width)
            assert "…" not in shown and all(v.name in shown for v in views)
            bundles = _plain(page.query_one("#rv-bundles").content)
            assert "runner-test-1.0.0" in bundles and human_bytes(size) in bundles
            steps = _plain(page.query_one("#rv-steps").content)
            assert [s.id for s in rv.steps] == [line.split()[1] for line in steps.splitlines() if line.strip()]
            # 80x24: the page scrolls by keyboard to its end (the steps)
            body = page.query_one("#page-body")
            assert body.max_scroll_y > 0
            body.focus()
            await pilot.press("end")
            await pilot.pause(0.3)
            assert body.scroll_y == body.max_scroll_y
            assert page.query_one("#rv-steps").region.y < 24
            # no link measured yet: the estimate says so instead of guessing
            assert rv.estimate.send_seconds is None and "unknown until measured" in " ".join(rv.estimate.basis)

    asyncio.run(go())


def test_the_link_is_measured_on_a_real_node_and_the_estimate_uses_it(lab, site, runner_bundle):
    from installer.engine import review

    loaded = validate.validate_file(site)
    conns = ssh_connections(loaded.plan)
    try:
        rate = link.measure(conns.get("node1"), "node1", 4 << 20)
    finally:
        conns.close_all()
    assert rate.rate > 1e6 and "Test connection to node1" in rate.source
    rv = review.build(loaded.plan, loaded.profile, answer_file=site, bundle_paths=[runner_bundle], link=rate)
    assert rv.estimate.send_seconds is not None and rv.estimate.send_seconds > 0
    assert any("Test connection to node1" in b for b in rv.estimate.basis)


def test_preflight_matrix_shows_a_blocker_injected_on_one_node_and_runs_again_for_that_node(lab, site, runner_bundle):
    from installer.tui.app import OnsiteApp

    block(lab)  # node2 answers on the API VIP: a blocker of node2's

    async def go():
        app = OnsiteApp(site, bundles=[runner_bundle])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await wait_for(pilot, lambda: app.screen.name == "review", 10, "the review page")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen.name == "preflight", 10, "the preflight page")
            page = app.screen
            await wait_for(pilot, lambda: page.report is not None and not page.checking, 90, "preflight to finish")
            table = page.query_one("#preflight")
            names = [n.name for n in validate.validate_file(site).plan.nodes]
            assert page.rows == names  # a row per node; a column per check that arrived
            # every column in 80 columns: nothing to scroll sideways, also when landed on the last column
            assert len(page.checks) >= 10
            assert table.virtual_size.width <= table.scrollable_content_region.width, (page.checks, table.virtual_size)
            assert table.max_scroll_x == 0 and table.scroll_x == 0
            blockers = page.blockers
            assert blockers and {r.node for r in blockers} == {"node2"}, [(r.node, r.check, r.detail) for r in blockers]
            first = blockers[0]
            # the cell shows the mark; the other nodes' cells of that check pass
            col = page.checks.index(first.check) + 1
            assert str(table.get_cell_at((page.rows.index("node2"), col))) == "✗"
            # (a check a node does not report on stays blank there: vips reports its ok once)
            assert [str(table.get_cell_at((page.rows.index(n), col))) for n in names].count("✗") == 1
            # landed on the blocker; its whole detail and remedy are shown, and listed under the matrix
            assert table.has_focus and table.cursor_coordinate == (page.rows.index("node2"), col)
            detail = str(page.query_one("#pf-detail").content)
            assert detail.startswith(f"node2 {first.check}: fail") and first.detail in detail
            assert f"node2 {first.check}: {first.detail}" in str(page.query_one("#pf-blockers").content)
            assert page.query_one("#next").disabled
            await pilot.press("ctrl+n")
            await pilot.pause(0.2)
            assert app.screen is page  # the gate holds
            # the cause removed, run again for node2 only
            unblock(lab)
            before = {k: v for k, v in page.cells.items() if k[0] != "node2"}
            await pilot.press("n")
            await pilot.pause(0.2)
            assert page.checking or page.report is not None
            await wait_for(pilot, lambda: page.report is not None and not page.checking, 90, "the node's preflight")
            assert not page.blockers, [(r.node, r.check, r.detail) for r in page.blockers]
            after = {k: v for k, v in page.cells.items() if k[0] != "node2"}
            assert all(after[k] is before[k] for k in before)  # the other nodes were not asked again
            assert {r.node for r in page.report.results} <= {"node2", "bundles"}
            assert not page.query_one("#next").disabled
            assert page.leave_reason(page.index + 1) is None  # the way to Install is open (not taken: it would install)

    try:
        asyncio.run(go())
    finally:
        unblock(lab)


def test_after_an_install_the_estimate_rests_on_its_push_and_its_step_times(lab, site, runner_bundle, tmp_path, capsys):
    """A real install records the delivered rate (link.json) and the step
    times (journal); `onsite plan` then gives a time and says what it rests on."""
    import json

    from installer.cli import main
    from installer.engine import review

    from .conftest import journal_folder
    from .test_push import clean, make_bundle

    big = make_bundle(tmp_path, "estimate", {"payload/a.bin": 3 << 20})  # 4 nodes x 3 MiB: 12.6 MB delivered
    clean(lab, big)
    try:
        assert main(["install", str(site), "--bundle", str(runner_bundle), "--bundle", str(big.root), "--skip-preflight",
                     "--no-verify"]) == 0
    finally:
        clean(lab, big)
    capsys.readouterr()
    recorded = link.recorded_link(journal_folder(site))
    assert recorded is not None and recorded.rate > 0 and "the push of" in recorded.source and "12.6 MB to 4 nodes" in recorded.source
    loaded = validate.validate_file(site)
    rv = review.build(loaded.plan, loaded.profile, answer_file=site, bundle_paths=[runner_bundle, big.root])
    e = rv.estimate
    assert e.send_bytes == 4 * (big.total_bytes + load_bundle(runner_bundle).total_bytes)
    assert e.send_seconds == pytest.approx(e.send_bytes / recorded.rate)
    assert e.steps_seconds is not None and e.seconds == pytest.approx(e.send_seconds + e.steps_seconds)
    assert rv.installed_changes == []
    assert main(["plan", str(site), "--bundle", str(runner_bundle), "--bundle", str(big.root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["estimate"]["seconds"] == pytest.approx(round(e.seconds, 1))
    assert any("the push of" in b for b in doc["estimate"]["basis"]) and any("last install" in b for b in doc["estimate"]["basis"])


def test_test_connection_in_the_wizard_gives_the_review_its_sending_time(lab, site, runner_bundle):
    from installer.tui.app import OnsiteApp

    async def go():
        app = OnsiteApp(site, bundles=[runner_bundle])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await wait_for(pilot, lambda: app.screen.name == "review", 10, "the review page")
            app.go(app.page_index("ssh"))
            await wait_for(pilot, lambda: app.screen.name == "ssh", 10, "the SSH page")
            await wait_for(pilot, lambda: bool(app.screen.query("#test-0")), 10, "the Test connection button")
            app.screen.query_one("#test-0").press()
            await wait_for(pilot, lambda: app.backend.link_rate is not None, 60, "the link to be measured")
            assert "Test connection to node1" in app.backend.link_rate.source
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen.name == "review" and app.screen.review is not None, 60, "the review")
            e = app.screen.review.estimate
            assert e.send_seconds is not None and any("Test connection to node1" in b for b in e.basis)
            assert str(app.screen.query_one("#rv-estimate").content).startswith("Time: ")
            assert "about" in str(app.screen.query_one("#rv-estimate").content) or e.steps_seconds is None

    asyncio.run(go())
