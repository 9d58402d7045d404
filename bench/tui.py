"""Benchmark the wizard's responsiveness (printed, not asserted).

    .venv/bin/python bench/tui.py

1. Key latency under load: the install page receives 5,000 step-output lines
   per second from a worker thread (as a chatty install would send); every
   200 ms a key (cursor down/up in the step matrix) is posted and the time
   until the cursor has moved is measured. Target: under 100 ms.
2. Cold start: a fresh interpreter until the first page is on screen
   (headless), the wizard against a bare Textual app; printed as a ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from textual import events as tevents  # noqa: E402

from installer.engine.runner import StepOutput  # noqa: E402
from installer.tui.app import OnsiteApp  # noqa: E402

LINES_PER_SECOND = 5000
SECONDS = 6


async def latency_under_flood() -> tuple[list[float], int]:
    app = OnsiteApp(Path("/nonexistent/site.yaml"), autostart=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.go(app.page_index("install"))
        await pilot.pause()
        screen = app.screen
        nodes = ["node1", "node2", "node3", "escape"]
        steps = [f"step-{i:02d}" for i in range(20)]
        screen.setup_matrix(nodes, steps, {f"{n}/{s}" for n in nodes for s in steps})
        table = screen.query_one("#matrix")
        table.focus()
        await pilot.pause()
        stop = threading.Event()
        sent = [0]

        def flood() -> None:
            batch = LINES_PER_SECOND // 100
            while not stop.is_set():
                t = time.perf_counter()
                for i in range(batch):
                    screen.drain(StepOutput("node1", "step-00", "out", f"line {sent[0] + i}: compiling something rather long"))
                sent[0] += batch
                time.sleep(max(0.0, 0.01 - (time.perf_counter() - t)))

        th = threading.Thread(target=flood, daemon=True)
        th.start()
        latencies = []
        t_end = time.perf_counter() + SECONDS
        key = "down"
        while time.perf_counter() < t_end:
            await asyncio.sleep(0.2)
            before = table.cursor_coordinate
            t0 = time.perf_counter()
            app.post_message(tevents.Key(key, None))
            while table.cursor_coordinate == before:
                await asyncio.sleep(0.001)
                if time.perf_counter() - t0 > 5:
                    break
            latencies.append((time.perf_counter() - t0) * 1000)
            key = "up" if key == "down" else "down"
        stop.set()
        th.join()
        return latencies, sent[0]


START = """
import sys, time
sys.path.insert(0, {src!r})
{setup}
app.call_after_refresh(lambda: app.exit())
app.run(headless=True, size=(80, 24))
"""
BARE = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
app = Bare()
"""
WIZARD = """
from pathlib import Path
from installer.tui.app import OnsiteApp
app = OnsiteApp(Path("/nonexistent/site.yaml"), autostart=False)
"""


def cold_start(setup: str, rounds: int = 5) -> float:
    src = str(Path(__file__).resolve().parents[1] / "src")
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", START.format(src=src, setup=setup)], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    lat, sent = asyncio.run(latency_under_flood())
    print(f"key latency while streaming {LINES_PER_SECOND} lines/s ({sent} lines in {SECONDS} s, {len(lat)} keys):")
    print(f"  median {statistics.median(lat):.1f} ms, p95 {sorted(lat)[int(len(lat) * 0.95) - 1]:.1f} ms, "
          f"max {max(lat):.1f} ms (target: under 100 ms)")
    bare = cold_start(BARE)
    wizard = cold_start(WIZARD)
    print(f"cold start to the first page (headless, best of 5): bare Textual app {bare * 1000:.0f} ms, "
          f"wizard {wizard * 1000:.0f} ms, ratio {wizard / bare:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
