"""Waiting on a Textual Pilot for what the deployer would wait for, with the
screen's text in the failure (so a timed-out wait says what was on it)."""

from __future__ import annotations

import time


def screen_text(app) -> str:
    """What the deployer would see: every Static and log line on the page, and notifications."""
    parts = []
    for w in app.screen.query("Static, RichLog"):
        try:
            parts.append(str(w.render()) if w.__class__.__name__ != "RichLog" else "\n".join(s.text for s in w.lines))
        except Exception:  # noqa: BLE001 - best effort, for a failure message
            pass
    parts += [f"notification: {n.message}" for n in app._notifications]
    return "\n".join(p for p in parts if p.strip())[-3000:]


async def wait_for(pilot, condition, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (on page {pilot.app.screen.name}):\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)
