"""The Network page's IP sheet import (F2) and network check (F3), F1 help
on a field and the key list (F12), driven through Textual's Pilot at 80x24."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from installer.tui.app import OnsiteApp
from installer.tui.overlays import FieldHelpModal, KeysModal, PreviewModal, field_help
from installer.tui.state import WizardState

from .conftest import repo_root
from .wizard_pilot import wait_for

DOCS = repo_root() / "docs"
LAB_LIKE = "198.18.0.0/24"


def starting_app(tmp_path: Path) -> OnsiteApp:
    app = OnsiteApp(None, autostart=False)
    return app


async def open_network(pilot) -> None:
    app = pilot.app
    app.state = WizardState(path=None)
    app.go(app.page_index("network"))
    await wait_for(pilot, lambda: app.screen.name == "network" and app.screen.query("#import-sheet"), 10, "the network page")
    await pilot.pause()


async def import_sheet(pilot, path: Path) -> None:
    await pilot.press("f2")
    await wait_for(pilot, lambda: pilot.app.screen.query("#value"), 5, "the path dialog")
    pilot.app.screen.query_one("#value").value = str(path)
    await pilot.press("enter")


@pytest.mark.parametrize("sample", ["ip-sheet-sample.xlsx", "ip-sheet-sample.csv"])
def test_importing_the_sample_sheet_fills_ip1_to_ip6_and_the_names(tmp_path, sample):
    async def go():
        app = starting_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_network(pilot)
            assert app.state.get("ips.IP1") == "198.18.0.11"
            await import_sheet(pilot, DOCS / sample)
            await wait_for(pilot, lambda: isinstance(app.screen, PreviewModal), 10, "the preview")
            text = "\n".join(app.screen.lines)
            assert "ips.IP1: 198.18.0.11 -> 10.20.30.11" in text and "nodes[0].name: node1 -> cn-node1" in text
            assert app.state.get("ips.IP1") == "198.18.0.11"  # nothing applied before the deployer says so
            await pilot.press("enter")  # Apply has the focus
            await wait_for(pilot, lambda: app.screen.name == "network" and app.state.get("ips.IP6") == "10.20.30.16", 10,
                           "the import applied")
            await pilot.pause()
            assert {k: app.state.get(f"ips.{k}") for k in ("IP1", "IP2", "IP3", "IP4", "IP5", "IP6")} == {
                "IP1": "10.20.30.11", "IP2": "10.20.30.12", "IP3": "10.20.30.13", "IP4": "10.20.30.14",
                "IP5": "10.20.30.15", "IP6": "10.20.30.16"}
            assert [n["name"] for n in app.state.data["nodes"]] == ["cn-node1", "cn-node2", "cn-node3", "cn-escape"]
            assert app.state.data["vips"][1]["members"] == ["cn-node1", "cn-node2", "cn-node3", "cn-escape"]
            assert app.state.problems.ok, [p.render() for p in app.state.problems.errors]
            assert app.screen.query_one("#f-ips--IP3").value == "10.20.30.13"  # the page shows the new values

    asyncio.run(go())


def test_a_sheet_with_a_bad_cell_is_refused_naming_the_cell(tmp_path):
    lines = (DOCS / "ip-sheet-sample.csv").read_bytes().decode("utf-8-sig").splitlines()
    lines[3] = lines[3].replace("10.20.30.13", "10.20.30.300")
    bad = tmp_path / "Sheet1.csv"
    bad.write_text("\n".join(lines) + "\n")

    async def go():
        app = starting_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_network(pilot)
            await import_sheet(pilot, bad)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessageModal", 10, "the refusal")
            assert "Sheet1!B4: '10.20.30.300' is not an IPv4 address" in app.screen.text
            await pilot.press("escape")
            assert app.state.get("ips.IP3") == "198.18.0.13"  # unchanged
            await import_sheet(pilot, tmp_path)  # a folder
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessageModal", 10, "the refusal")
            assert "is a folder, not a sheet" in app.screen.text
            await pilot.press("escape")
            await import_sheet(pilot, f"{DOCS / 'ip-sheet-sample.xlsx'}#Other")  # PATH#SHEET names a sheet
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessageModal", 10, "the refusal")
            assert "has no sheet named 'Other'; its sheets: 'IP规划'" in app.screen.text

    asyncio.run(go())


def test_network_check_results_sit_under_their_fields(tmp_path, monkeypatch):
    from installer.engine import netcheck

    real = netcheck.check

    def fake(data, node_slots, vip_slots, **kw):
        return real(data, node_slots, vip_slots, local=lambda: [netcheck.LocalAddress("br0", "198.18.0.1", 24)],
                              neighbour_table=lambda i: {"198.18.0.16": netcheck.Neighbour("198.18.0.16", "02:aa:bb:cc:dd:ee",
                                                                                              "REACHABLE")},
                              connect=lambda a, p, t, s: a != "198.18.0.16" and a != "198.18.0.15")

    monkeypatch.setattr(netcheck, "check", fake)

    async def go():
        app = starting_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_network(pilot)
            await pilot.press("f3")
            await wait_for(pilot, lambda: app.state.network_findings, 10, "the check")
            await pilot.pause()
            msg = app.screen.query_one("#f-ips--IP6").parent.parent.query_one(".field-message")
            assert "IP6 198.18.0.16 is already taken" in str(msg.render()) and "02:aa:bb:cc:dd:ee" in str(msg.render())
            # changing the field drops the finding about the old value
            app.state.set("ips.IP6", "198.18.0.99")
            assert not [p for p in app.state.exact_problems("ips.IP6") if p.code.startswith("net-")]

    asyncio.run(go())


def test_f1_on_a_field_explains_it_and_f12_lists_the_keys(tmp_path):
    async def go():
        app = starting_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_network(pilot)
            app.screen.query_one("#f-network--gateway").focus()
            await pilot.press("f1")
            await wait_for(pilot, lambda: isinstance(app.screen, FieldHelpModal), 5, "the field help")
            text = str(app.screen.body_text)
            assert "The default gateway of the subnet" in text and "four numbers 0-255" in text
            await pilot.press("escape")
            await pilot.press("f12")
            await wait_for(pilot, lambda: isinstance(app.screen, KeysModal), 5, "the key list")
            text = str(app.screen.body_text)
            for key in ("F1", "F2", "F3", "F12", "Esc", "Tab", "Import sheet", "Check network"):
                assert key.lower() in text.lower(), key
            await pilot.press("escape")
            assert app.screen.name == "network"

    asyncio.run(go())


def test_field_help_texts_come_from_the_schema():
    assert field_help("nodes[0].ssh.port", "Port")[1:3] == ("The node's SSH port.", "a port number, 1-65535; from 1 to 65535; default: 22")
    title, meaning, constraint, example = field_help("ips.IP5", "IP5", slot_title="Kubernetes API VIP")
    assert meaning.startswith("IP5: Kubernetes API VIP.") and "IPv4" in constraint
    assert "env:NAME, file:PATH or prompt" in field_help("nodes[0].ssh.password", "Password ref")[2]

