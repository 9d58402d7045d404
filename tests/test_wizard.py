"""The wizard, driven through Textual's Pilot: the real app, real core.

From Welcome to a saved answer file (compared with tests/expected/), what a
secret typed into the wizard becomes, opening an invalid file, and (on the
lab) a full install through the wizard that ends on Done.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

import pytest

from installer.engine import bundle
from installer.engine.journal import Journal
from installer.model import validate
from installer.tui.app import OnsiteApp

from .conftest import runner_site
from .wizard_pilot import wait_for

HERE = Path(__file__).parent
BASE = HERE / "corpus" / "base.yaml"


def run(coro):
    return asyncio.run(coro)


async def type_into(pilot, widget_id: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#{widget_id}")
    widget.focus()
    widget.value = ""
    await pilot.pause()
    await pilot.press(*["space" if c == " " else c for c in text])
    await pilot.pause()


def test_from_welcome_to_a_saved_answer_file(tmp_path):
    target = tmp_path / "site.yaml"

    async def go():
        app = OnsiteApp(target, autostart=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.screen.name == "welcome"
            await pilot.press("enter")  # "New plan" has the focus
            await pilot.pause()
            assert app.screen.name == "site"
            await type_into(pilot, "f-site--name", "Campus North")
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.name == "network"
            await type_into(pilot, "f-network--subnet", "10.20.30.0/24")
            await type_into(pilot, "f-network--gateway", "10.20.30.254")
            await type_into(pilot, "f-network--ntp", "10.20.30.2, ntp.campus.example")
            await pilot.click("#suggest")  # skips the gateway and the NTP server's address
            await pilot.pause()
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.name == "nodes"
            await type_into(pilot, "f-nodes-3---name", "fallback")  # renamed: VIP membership follows
            table = app.screen.query_one("#roles")
            table.focus()
            roles = list(app.state.profile.roles)
            table.move_cursor(row=roles.index("monitoring"), column=3)  # node3 drops monitoring
            await pilot.press("space")
            table.move_cursor(row=roles.index("monitoring"), column=1)  # node1 takes it
            await pilot.press("space")
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.name == "ports"
            ports = app.screen.query_one("#ports")
            ports.focus()
            ports.move_cursor(row=3)  # haproxy frontend
            await type_into(pilot, "port-input", "8443")
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.name == "ssh"
            for i in range(4):
                await type_into(pilot, f"f-nodes-{i}---ssh--key", "/etc/onsite/deploy_ed25519")
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.name == "review"
            assert app.state.plan is not None, [p.render() for p in app.state.problems.errors]
            await pilot.press("ctrl+n")  # save, then on to preflight
            await pilot.pause()
            await pilot.press("enter")  # the save dialog proposes the answer file's path
            await pilot.pause()
            assert app.screen.name == "preflight"

    run(go())
    expected = (HERE / "expected" / "wizard-site.yaml").read_text()
    assert target.read_text() == expected
    assert validate.validate_file(target).ok


def test_a_typed_password_never_reaches_the_file(tmp_path):
    target = tmp_path / "site.yaml"
    shutil.copy(BASE, target)

    async def go():
        app = OnsiteApp(target, autostart=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.go(app.page_index("ssh"))
            await pilot.pause()
            app.state.set("nodes[1].ssh.auth", "password")
            await type_into(pilot, "f-nodes-1---ssh--password", "hunter2secret")
            msg = [r for r in app.screen.query("FieldRow") if r.path == "nodes[1].ssh.password"][0]
            assert "a secret is written here in clear" in str(msg.query_one(".field-message").render())
            assert "hunter2secret" not in str(msg.query_one(".field-message").render())
            field = app.screen.query_one("#f-nodes-1---ssh--password")
            assert field.password  # masked on screen
            assert "hunter2secret" not in app.export_screenshot()  # nothing on screen shows it
            await type_into(pilot, "f-nodes-1---ssh--password", "env:NODE2_PASSWORD")
            assert not field.password  # a reference is no secret: it shows
            await type_into(pilot, "f-nodes-1---ssh--password", "hunter2secret")
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.state.get("nodes[1].ssh.password") == "prompt"

    run(go())
    text = target.read_text()
    assert "hunter2secret" not in text
    assert "password: prompt" in text


def test_opening_an_invalid_file_lands_on_its_first_problem(tmp_path):
    target = tmp_path / "site.yaml"
    target.write_text(BASE.read_text().replace("IP3: 10.20.30.13", "IP3: 10.20.30.300"))

    async def go():
        app = OnsiteApp(target, autostart=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await pilot.pause()
            await pilot.pause()
            assert app.screen.name == "network"
            assert app.focused is not None and app.focused.id == "f-ips--IP3"
            row = [r for r in app.screen.query("FieldRow") if r.path == "ips.IP3"][0]
            assert "is not an IPv4 address" in str(row.query_one(".field-message").render())
            await type_into(pilot, "f-ips--IP3", "10.20.30.13")
            assert app.state.plan is not None

    run(go())


def test_a_broken_yaml_file_is_explained_on_welcome(tmp_path):
    target = tmp_path / "site.yaml"
    target.write_text("version: 1\nsite: [unclosed\n")

    async def go():
        app = OnsiteApp(target, autostart=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await pilot.pause()
            assert app.screen.name == "welcome"
            text = str(app.screen.query_one("#welcome-message").render())
            assert "site.yaml:3" in text and "not valid YAML" in text

    run(go())


@pytest.mark.lab
def test_full_install_through_the_wizard_ends_on_done(lab, tmp_path):
    for n in lab.nodes:
        lab.run(n.name, "rm -rf /var/lib/onsite-test /var/lib/onsite/run", check=False)
    target = runner_site(lab, tmp_path / "site.yaml")
    built = tmp_path / "runner-test"
    bundle.build(HERE / "bundles" / "runner", built)

    async def go():
        app = OnsiteApp(target, bundles=[built])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.click("#open")
            await pilot.pause()
            assert app.screen.name == "review"
            await pilot.press("ctrl+n")  # saved already: straight on
            await wait_for(pilot, lambda: app.screen.name == "preflight", 10, "preflight page")
            await wait_for(pilot, lambda: any(not b.disabled for b in app.screen.query("#next")), 60, "preflight to pass")
            await pilot.press("ctrl+n")
            # A screen is named before it has composed: wait for the text itself.
            await wait_for(pilot, lambda: app.screen.name == "done" and app.screen.query("#done-text"), 120,
                           "the install to finish")
            text = str(app.screen.query_one("#done-text").render())
            assert "Installed: 33 steps ran" in text and "service" in text

    run(go())
    [folder] = [p for p in (tmp_path / "onsite-journal").iterdir() if p.is_dir()]
    assert Journal.load(folder).complete


@pytest.mark.lab
def test_a_prompted_secret_is_asked_in_a_modal_and_stays_in_memory(lab, tmp_path):
    for n in lab.nodes:
        lab.run(n.name, "rm -rf /var/lib/onsite-test /var/lib/onsite/run", check=False)
    target = runner_site(lab, tmp_path / "site.yaml")
    import re

    target.write_text(re.sub(r"postgres_superuser: file:\S+", "postgres_superuser: prompt", target.read_text()))
    built = tmp_path / "runner-test"
    bundle.build(HERE / "bundles" / "runner", built)
    typed = "typed-in-the-wizard-7q"

    async def go():
        app = OnsiteApp(target, bundles=[built])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.go(app.page_index("install"))  # straight to the install (preflight is tested above)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "InputModal", 30, "the secret prompt")
            assert "postgres_superuser" in str(app.screen.query_one("Label").render())
            await pilot.press(*typed)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.name == "done", 120, "the install to finish")

    run(go())
    [folder] = [p for p in (tmp_path / "onsite-journal").iterdir() if p.is_dir()]
    assert Journal.load(folder).complete
    log = (folder / "logs" / "node1" / "secret-use.log").read_text()
    assert "connecting with password ********" in log
    for p in [target, *folder.rglob("*")]:
        if p.is_file():
            assert typed not in p.read_text(errors="replace"), p
    expected = __import__("hashlib").sha256(typed.encode()).hexdigest()
    assert lab.run("node1", "cat /var/lib/onsite-test/secret.sha").stdout.strip() == expected  # the step got it


def test_a_crash_shows_one_line_writes_a_0600_log_without_secrets_and_exits_non_zero(tmp_path, monkeypatch):
    """A bug in the wizard (here: the connection test raising with the
    resolved SSH password in its message and locals) must not put a
    traceback, local values or the password on the screen."""
    import installer.tui.app as tui_app

    canary = "Canary-ssh-pw-5b1e"
    monkeypatch.setenv("ONSITE_TEST_CANARY", canary)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    target = tmp_path / "site.yaml"
    shutil.copy(BASE, target)

    def broken_endpoint(**kw):
        password = kw.get("password")  # a local holding the secret
        raise RuntimeError(f"bug while connecting with {password}")

    monkeypatch.setattr(tui_app, "Endpoint", broken_endpoint)
    app = OnsiteApp(target, autostart=False)

    async def go():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.state.set("nodes[0].ssh.auth", "password")
            app.state.set("nodes[0].ssh.password", "env:ONSITE_TEST_CANARY")
            app.test_connection(0)
            for _ in range(100):
                await pilot.pause(0.05)
                if getattr(app, "crashed", None):
                    break

    with contextlib.suppress(Exception):
        run(go())
    assert getattr(app, "crashed", None), "the wizard did not crash as the test meant"
    log = Path(app.crashed)
    assert log.is_relative_to(tmp_path / "state" / "onsite" / "crash")  # no journal yet: the user's folder
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    text = log.read_text()
    assert canary not in text and "RuntimeError" in text and "Traceback (most recent call last; values left out)" in text
    shown = app.crash_message + "".join(str(r) for r in app._exit_renderables)
    assert "Traceback" not in shown and canary not in shown and "internal error: RuntimeError" in shown
    assert app.return_code not in (None, 0)
