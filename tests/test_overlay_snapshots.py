"""Snapshots of the wizard's overlays at 80x24: the key list (F12), F1 help
on a field, and the preview of an IP sheet import. Separate from
test_wizard_sheet.py so that file runs with the lowest Textual too
(scripts/test-lowest.sh), where pictures differ.

Update after an intended change: pytest tests/test_overlay_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from installer.tui.app import OnsiteApp
from installer.tui.overlays import FieldHelpModal, KeysModal, PreviewModal

from .test_wizard_sheet import DOCS, import_sheet, open_network
from .wizard_pilot import wait_for

OVERLAYS = ["keys", "field-help", "sheet-preview"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_snapshot_fits_80x24(overlay, snap_compare):
    """The key list, F1 on a field and the import preview, at 80x24."""
    app = OnsiteApp(None, autostart=False)

    async def run_before(pilot) -> None:
        await open_network(pilot)
        for _ in range(100):
            if app.screen.focused is not None:
                break
            await pilot.pause(0.02)
        if overlay == "keys":
            await pilot.press("f12")
            await wait_for(pilot, lambda: isinstance(app.screen, KeysModal), 5, "the key list")
        elif overlay == "field-help":
            app.screen.query_one("#f-ips--IP5").focus()
            await pilot.press("f1")
            await wait_for(pilot, lambda: isinstance(app.screen, FieldHelpModal), 5, "the field help")
        else:
            await import_sheet(pilot, DOCS / "ip-sheet-sample.xlsx")
            await wait_for(pilot, lambda: isinstance(app.screen, PreviewModal), 10, "the preview")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
