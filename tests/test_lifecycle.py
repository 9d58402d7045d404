"""The install lifecycle's gates, on the lab with the runner test bundle:
no bundles is refused naming the components, a failed preflight leaves
nothing behind, one install per site (a second is refused at once, naming
the holder), a kill -9'd install leaves a stale lock that --break-lock
takes over, and the wizard cannot leave Preflight with a blocker."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine.events import PhaseFinished, PhaseStarted
from installer.engine.install import InstallOperation, InstallOptions, install_lifecycle
from installer.engine.journal import Journal
from installer.model import validate

from .conftest import journal_folder
from .wizard_pilot import wait_for

pytestmark = pytest.mark.lab



def listing(folder: Path) -> dict[str, float]:
    """Files and their times; a journal's atomic-write temp file (the running
    install's own, for an instant) left out."""
    out = {}
    for p in folder.rglob("*") if folder.exists() else []:
        if p.name.endswith(".tmp"):
            continue
        try:
            out[str(p)] = p.stat().st_mtime
        except FileNotFoundError:
            pass  # renamed away while we looked
    return out


def vip(lab) -> str:
    return validate.validate_file(lab.answer_file).plan.ips["IP5"]


def block(lab) -> None:
    """A preflight blocker: the API VIP already configured on node2."""
    lab.run("node2", ["ip", "addr", "add", f"{vip(lab)}/24", "dev", "eth0"])


def unblock(lab) -> None:
    lab.run("node2", ["ip", "addr", "del", f"{vip(lab)}/24", "dev", "eth0"], check=False)


def test_no_bundles_is_refused_naming_the_components(lab, tmp_path, capsys):
    answer = tmp_path / "site.yaml"
    answer.write_text(lab.answer_file.read_text())  # components not external, and no bundles/ next to it
    assert main(["install", str(answer), "--plain"]) == 2
    err = capsys.readouterr().err
    for comp in ("etcd", "patroni", "keepalived"):
        assert f"no bundle installs {comp}, which the plan puts on" in err
    assert f"bundles looked for in {tmp_path / 'bundles'}/*" in err and "found: none" in err
    assert "external: true" in err
    assert "0 steps ran" not in capsys.readouterr().out
    # no journal: the run log of the refused run is all there is
    assert not any((p / "journal.json").exists() for p in (tmp_path / "onsite-journal").glob("*"))


def test_failed_preflight_writes_no_journal_and_a_plain_install_follows(lab, site, runner_bundle, capsys):
    block(lab)
    try:
        assert main(["install", str(site), "--bundle", str(runner_bundle), "--plain"]) == 1
        captured = capsys.readouterr()
        assert f"VIP {vip(lab)} (k8s-api) is already configured on node2" in captured.out
        assert "stopped at preflight; nothing was installed" in captured.err
        assert not Journal.exists(journal_folder(site))
    finally:
        unblock(lab)
    # the cause fixed, a plain install (no --resume) runs from the start
    assert main(["install", str(site), "--bundle", str(runner_bundle), "--plain"]) == 0
    assert Journal.load(journal_folder(site)).complete
    out = capsys.readouterr().out
    assert "verify" in out and "marks:node1" in out


def test_resume_rechecks_reachability_instead_of_skipping_preflight(lab, site, runner_bundle, capsys):
    assert main(["install", str(site), "--bundle", str(runner_bundle), "--plain"]) == 0
    capsys.readouterr()
    seen = []
    loaded = validate.validate_file(site)
    from installer.remote.ssh_paramiko import connect

    op = InstallOperation(loaded.plan, loaded.profile, answer_file=site, problems=loaded.problems,
                          bundle_paths=[runner_bundle], options=InstallOptions(resume=True),
                          connect=lambda ep: connect(ep), listener=seen.append)
    block(lab)  # a VIP held is no blocker on an installed site: it is held by design
    try:
        outcome = install_lifecycle().run(op)
    finally:
        unblock(lab)
    assert outcome.ok, outcome.problems
    checks = {e.check for e in seen if type(e).__name__ == "CheckResult"}
    assert checks == {"ssh", "root", "disk", "disk-used"}
    phases = [(e.phase, e.status) for e in seen if isinstance(e, PhaseFinished)]
    assert ("preflight", "done") in phases and [p for p, _ in phases][-1] == "unlock"
    # (change: a changed plan's phase, skipped here)
    assert [e.phase for e in seen if isinstance(e, PhaseStarted)][:5] == ["lock", "validate", "bundles", "change",
                                                                          "preflight"]


def _start(site: Path, bundle_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "installer", "install", str(site), "--bundle", str(bundle_dir),
                             "--skip-preflight", "--plain", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_running(site: Path, key: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Journal.load(journal_folder(site)).status(key) == "running":
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{key} never started")


def test_a_second_install_is_refused_at_once_then_kill_9_leaves_a_stale_lock(lab, site, runner_bundle, capsys):
    for n in ("node1", "node2", "node3"):
        lab.run(n, "mkdir -p /var/lib/onsite-test && echo 30 > /var/lib/onsite-test/sleep")
    proc = _start(site, runner_bundle)
    try:
        _wait_running(site, "node1/slow")
        before = listing(journal_folder(site))
        lock_file = site.parent / "onsite-journal" / f"{journal_folder(site).name}.lock"
        holder = lock_file.read_text()
        t0 = time.monotonic()
        rc = main(["install", str(site), "--bundle", str(runner_bundle), "--resume", "--plain"])
        took = time.monotonic() - t0
        err = capsys.readouterr().err
        assert rc == 1 and took < 1.0, (rc, took, err)
        assert "another onsite is working on this site" in err and f"pid {proc.pid}" in err
        assert "onsite install" in err
        # The refused run wrote nothing: no new file (no run log, no preflight
        # result, no journal), and the lock still names the first install. The
        # running install itself goes on writing its journal and logs, so file
        # times say nothing here.
        after = listing(journal_folder(site))
        assert {k for k in after if not k.endswith(".log")} == {k for k in before if not k.endswith(".log")}
        assert not [k for k in after if "/runs/" in k and k not in before], "the refused run wrote a run log"
        assert lock_file.read_text() == holder and f'"pid": {proc.pid}' in holder
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    for n in ("node1", "node2", "node3"):
        lab.run(n, "echo 0 > /var/lib/onsite-test/sleep")
    # the killed run's lock is stale: reported, with the way to break it
    assert main(["install", str(site), "--bundle", str(runner_bundle), "--resume", "--plain"]) == 1
    err = capsys.readouterr().err
    assert "a stale lock" in err and f"pid {proc.pid}" in err and "--break-lock" in err
    assert main(["install", str(site), "--bundle", str(runner_bundle), "--resume", "--break-lock", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "broke the stale lock" in out
    assert Journal.load(journal_folder(site)).complete
    # unlocked at the end: on the installer and on every node
    lock = site.parent / "onsite-journal" / f"{journal_folder(site).name}.lock"
    assert lock.read_text().strip() == ""
    for n in lab.nodes:
        assert lab.run(n.name, "test -e /var/lib/onsite/lock && echo held || echo free").stdout.strip() == "free"


def test_a_node_lock_of_another_laptop_refuses_the_install(lab, site, runner_bundle, capsys):
    other = ('{"host": "laptop-2", "pid": 4242, "command": "onsite install site.yaml", "started": '
             '"2026-11-23T08:00:00+00:00", "lock_id": "laptop-2:4242:1", "site": "x", "machine": "other-machine"}')
    lab.run("node3", f"mkdir -p /var/lib/onsite && printf '%s\\n' '{other}' > /var/lib/onsite/lock")
    try:
        assert main(["install", str(site), "--bundle", str(runner_bundle), "--plain"]) == 1
        err = capsys.readouterr().err
        assert "node3: another installer works on this site" in err and "laptop-2" in err
        # a refused node lock releases the ones already taken
        for n in ("node1", "node2", "escape"):
            assert lab.run(n, "test -e /var/lib/onsite/lock && echo held || echo free").stdout.strip() == "free"
        # no heartbeat for longer than the stale time: reported as stale
        lab.run("node3", "touch -d '-10 minutes' /var/lib/onsite/lock")
        assert main(["install", str(site), "--bundle", str(runner_bundle), "--plain"]) == 1
        assert "node3: a stale node lock" in capsys.readouterr().err
    finally:
        lab.run("node3", "rm -f /var/lib/onsite/lock")


# -- the wizard obeys the gates ----------------------------------------------------


def test_no_key_or_click_leaves_preflight_with_a_blocker_and_the_wizard_install_runs_preflight(lab, site, runner_bundle):
    from installer.tui.app import OnsiteApp

    block(lab)

    async def go():
        app = OnsiteApp(site, bundles=[runner_bundle])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await pilot.pause()
            assert app.screen.name == "review"
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen.name == "preflight", 10, "preflight page")
            page = app.screen
            await wait_for(pilot, lambda: page.report is not None, 60, "preflight to finish")
            assert page.report.blockers
            for key in ("ctrl+n", "enter"):
                await pilot.press(key)
                await pilot.pause(0.2)
                assert app.screen.name == "preflight", key
            await pilot.click("#next")
            await pilot.pause(0.2)
            assert app.screen.name == "preflight"
            assert app.go(app.page_index("install")) is False  # any code path passes the same gate
            assert app.screen.name == "preflight"
            # the install page, reached another way (Welcome -> resume), runs preflight itself
            app.resume_requested = False
            app.screen.leave_reason = lambda target: None  # open the gate by hand, as a bug would
            app.go(app.page_index("install"))
            await wait_for(pilot, lambda: getattr(app.screen, "outcome", None) is not None, 60, "the install to stop")
            assert app.screen.name == "install"
            assert app.screen.outcome.phase == "preflight" and not app.screen.outcome.ok
            assert not app.backend.running.is_set()

    try:
        asyncio.run(go())
    finally:
        unblock(lab)
    assert not Journal.exists(journal_folder(site))


def test_the_install_page_cannot_be_left_while_it_runs_and_esc_offers_pause_or_abort(lab, site, runner_bundle):
    from installer.tui.app import OnsiteApp

    for n in ("node1", "node2", "node3"):
        lab.run(n, "mkdir -p /var/lib/onsite-test && echo 5 > /var/lib/onsite-test/sleep")

    async def go():
        app = OnsiteApp(site, bundles=[runner_bundle])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await pilot.pause()
            app.go(app.page_index("install"))
            await wait_for(pilot, lambda: hasattr(app.screen, "state_of"), 10, "the install page")
            page = app.screen
            await wait_for(pilot, lambda: page.state_of.get("node1/slow") == "running", 90, "the slow step")
            await pilot.press("escape")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ChoiceModal", 5, "the pause/abort question")
            await pilot.click("#choice-keep")
            await pilot.pause(0.2)
            assert app.screen is page
            for key, choice in (("ctrl+n", "keep"), ("escape", "pause")):  # every way out asks the same
                await pilot.press(key)
                await wait_for(pilot, lambda: type(app.screen).__name__ == "ChoiceModal", 5, f"the question after {key}")
                await pilot.click(f"#choice-{choice}")
                await pilot.pause(0.2)
                assert app.screen is page, key
            assert app.go(app.page_index("welcome")) is False  # any code path passes the same gate
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ChoiceModal", 5, "the question once more")
            await pilot.press("escape")  # the question's own Esc: no choice, nothing changes
            await wait_for(pilot, lambda: page.outcome is not None, 90, "the paused install to stop")
            assert page.outcome.status == "interrupted"
            assert app.screen is page
            assert page.leave_reason(app.page_index("welcome")) is None  # stopped: it may be left now

    asyncio.run(go())
    jr = Journal.load(journal_folder(site))
    assert jr.status("node1/slow") == "done" and not jr.complete  # paused: the running step finished
