"""Snapshots (pytest-textual-snapshot) of every wizard page at 80x24 and
120x40, in English and in Simplified Chinese (--lang zh_CN: double-width
characters must not cut a label, a button or a column). The plan is the
corpus base file; preflight and install pages are fed canned core events
(made with m(), as the engine makes them, so the Chinese pictures show them
translated), so the pictures do not depend on a lab or a clock.

The English test keeps its name (test_page_snapshot[SIZE-PAGE]) and the
Chinese one is its own function (test_page_snapshot_zh_cn[SIZE-PAGE]): the
same body, parametrized by language, without renaming the English pictures.

Update after an intended change: pytest tests/test_wizard_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from installer.engine import events
from installer.engine.runner import RunOutcome, StepFinished, StepOutput, StepStarted
from installer.model import yamlio
from installer.model.i18n import m
from installer.tui.app import OnsiteApp
from installer.tui.state import WizardState, load_pages

BASE = Path(__file__).parent / "corpus" / "base.yaml"
PAGES = [p.id for p in load_pages()]
SIZES = [(80, 24), (120, 40)]


def _state() -> WizardState:
    return WizardState(yamlio.parse_text(BASE.read_text(), "site.yaml").data, Path("/srv/onsite/site.yaml"))


CHECKS = ("ssh", "sessions", "root", "sudo", "os", "arch", "cpu", "memory", "disk", "disk-used", "ports", "nic", "hostname", "clock", "vips",
          "leftovers", "algorithms", "shell")


def _feed_preflight(screen) -> None:
    """The 18 checks preflight makes on the lab's four nodes: one blocker
    (node3's disk) and one warning (escape's sessions), as the matrix must
    show them in 80 columns."""
    for node in ("node1", "node2", "node3", "escape"):
        for check in CHECKS:
            status, detail, hint = "ok", f"{check} as expected", ""
            if check == "ssh":
                detail = m("{login}, host key verified", login=f"root@{node}:22")
            if check == "disk-used":
                detail = m("{pct} % used (limit {limit} %)", pct=41, limit=95)
            if node == "node3" and check == "disk-used":
                status, detail, hint = ("fail", m("{pct} % used (limit {limit} %)", pct=97, limit=95),
                                        m("free space on the data disk before installing"))
            if node == "escape" and check == "sessions":
                status, detail, hint = "warn", "MaxSessions 1: commands queue on one connection", "raise MaxSessions to 10"
            screen.drain(events.CheckResult(node, check, status, detail, hint))
    screen._pump()
    screen._finished(SimpleNamespace(blockers=[r for r in screen.results if r.status == "fail"]))


def _feed_install(screen) -> None:
    screen.clock = lambda: screen.t0
    nodes = ["node1", "node2", "node3", "escape"]
    steps = ["base", "hosts", "etcd-conf", "cluster-init", "join", "finish"]
    screen.setup_matrix(nodes, steps, {f"{n}/{s}" for n in nodes for s in steps if not (n == "escape" and s in ("etcd-conf", "cluster-init", "join"))})
    for n in nodes:
        screen.drain(events.TransferPlanned(n, ("runner-test-1.0.0",), 2_000_000, 0))
        screen.drain(events.TransferProgress(n, "payload.bin", 1_000_000, 2_000_000, 50e6, 0.02))
    for n in nodes:
        screen.drain(StepStarted(n, "base", "Prepare", 1))
        screen.drain(StepFinished(n, "base", "done", 0.4))
    screen.drain(StepStarted("node1", "hosts", "Write the node list", 1))
    screen.drain(StepOutput("node1", "hosts", "out", "writing /etc/hosts"))
    screen._pump()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("page", PAGES)
def test_page_snapshot(page, size, snap_compare, runner_bundle):
    assert _snapshot(page, size, snap_compare, runner_bundle, "en")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("page", PAGES)
def test_page_snapshot_zh_cn(page, size, snap_compare, runner_bundle):
    assert _snapshot(page, size, snap_compare, runner_bundle, "zh_CN")


def _snapshot(page, size, snap_compare, runner_bundle, lang: str) -> bool:
    app = OnsiteApp(Path("/srv/onsite/site.yaml"), bundles=[runner_bundle], autostart=False, lang=lang)

    async def run_before(pilot) -> None:
        app.state = _state()
        if page == "done":
            app.backend.outcome = RunOutcome(ran=33, skipped=0)
            app.backend.journal_dir = Path("/srv/onsite/onsite-journal/campus-north")
        app.go(app.page_index(page))
        # the page is composed and has taken its focus (call_after_refresh),
        # and Review's worker has read the bundles: on a loaded machine that
        # takes more than a fixed number of pauses, so wait for it (or fail)
        deadline = time.monotonic() + 60
        while not (app.screen.name == page and app.screen.focused is not None and (
                page != "review" or app.screen.review is not None)):
            if time.monotonic() > deadline:
                raise AssertionError(f"the {page} page did not settle within 60 s")
            await pilot.pause(0.02)
        # A blinking cursor is drawn or not by the clock: on a loaded machine the
        # blink timer fires before the picture is taken. Steady, it is always drawn.
        for widget in app.screen.query("Input"):
            widget.cursor_blink = False
        await pilot.pause()
        if page == "preflight":
            _feed_preflight(app.screen)
        elif page == "install":
            _feed_install(app.screen)
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_review_focuses_the_problems_when_the_bundles_are_read_after_the_page_opened(runner_bundle):
    """The race behind a flaky picture: Review opens with nothing to fix yet (Next focused), then its
    worker reads the bundles and finds problems; the focus moves to them, as when they are known at once."""
    import threading

    from textual.widgets import ListView

    app = OnsiteApp(Path("/srv/onsite/site.yaml"), bundles=[runner_bundle], autostart=False, lang="en")
    gate = threading.Event()
    read = app.backend.review

    def slow_review(plan):
        gate.wait(30)
        return read(plan)

    app.backend.review = slow_review

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            app.state = _state()
            app.go(app.page_index("review"))
            deadline = time.monotonic() + 30
            while not (app.screen.name == "review" and app.screen.focused is not None):
                assert time.monotonic() < deadline, "the review page did not open"
                await pilot.pause(0.02)
            await pilot.pause()
            # nothing to fix yet: Next has the focus, not the hidden list
            assert app.screen.focused.id == "next" and app.screen.review is None
            gate.set()
            while app.screen.review is None:
                assert time.monotonic() < deadline, "the review did not arrive"
                await pilot.pause(0.02)
            await pilot.pause()
            assert isinstance(app.screen.focused, ListView) and app.screen.focused.id == "problems"

    asyncio.run(drive())
