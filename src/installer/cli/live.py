"""Live install progress in a terminal (rich): the CLI's face of the core's
events. A node x step matrix with states and durations, transfer bars with
rate and ETA, the output tail of running steps, elapsed and remaining time.

Events arrive from worker threads; they only update plain state under a lock.
`rich.live.Live` redraws from that state a few times a second, so a flood of
output lines costs a dict update each, never a redraw each.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..engine import events
from ..engine.runner import StepFinished, StepOutput, StepStarted
from ..model.i18n import t

MAX_ROWS = 14


class LiveView:
    def __init__(self, nodes: Sequence[str], step_ids: Sequence[str], instances: set[str]) -> None:
        self.nodes = list(nodes)
        self.step_ids = list(step_ids)
        self.instances = instances
        self.state: dict[str, str] = {k: "pending" for k in instances}
        self.started: dict[str, float] = {}
        self.took: dict[str, float] = {}
        self.transfer: dict[str, tuple[int, int, float, float | None]] = {}
        self.tail: collections.deque[str] = collections.deque(maxlen=6)
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.live: Live | None = None

    # -- events (any thread) ------------------------------------------------------
    def __call__(self, ev) -> None:
        with self.lock:
            if isinstance(ev, events.TransferPlanned):
                self.transfer[ev.node] = (0, ev.total_bytes, 0.0, None)
            elif isinstance(ev, events.TransferProgress):
                self.transfer[ev.node] = (ev.done_bytes, ev.total_bytes, ev.rate, ev.eta)
            elif isinstance(ev, events.TransferDone):
                total = self.transfer.get(ev.node, (0, ev.sent_bytes, 0.0, None))[1]
                self.transfer[ev.node] = (total, total, 0.0, 0.0)
            elif isinstance(ev, StepStarted):
                key = f"{ev.node}/{ev.step}"
                self.state[key] = "running"
                self.started[key] = time.monotonic()
            elif isinstance(ev, StepFinished):
                key = f"{ev.node}/{ev.step}"
                self.state[key] = "skipped" if ev.skipped else ev.status
                self.took[key] = ev.seconds
            elif isinstance(ev, StepOutput):
                self.tail.append(f"{ev.node}/{ev.step}: {ev.line}"[:200])

    # -- drawing (the Live thread) ---------------------------------------------------
    def __rich__(self):
        with self.lock:
            return Group(self._header(), self._transfers(), self._matrix(), self._tail())

    def _header(self) -> Text:
        elapsed = time.monotonic() - self.t0
        done = [k for k, s in self.state.items() if s in ("done", "skipped")]
        remaining = ""
        if done and len(done) < len(self.state):
            per = sum(self.took.get(k, 0.0) for k in done) / len(done)
            left = (len(self.state) - len(done)) * per / max(1, len(self.nodes))
            remaining = t(" · about {seconds} s left", seconds=f"{left:.0f}")
        return Text(t("{done}/{total} steps · {seconds} s elapsed{remaining}", done=len(done), total=len(self.state),
                      seconds=f"{elapsed:.0f}", remaining=remaining), style="bold")

    def _transfers(self):
        if not self.transfer or all(d >= t for d, t, _, _ in self.transfer.values()):
            return Text("")
        table = Table.grid(padding=(0, 1))
        for node, (done, total, rate, eta) in sorted(self.transfer.items()):
            width = 30
            filled = int(width * done / total) if total else width
            bar = Text("█" * filled + "░" * (width - filled), style="cyan")
            table.add_row(Text(node), bar, t("{done} of {total}", done=events.human_bytes(done), total=events.human_bytes(total)),
                          f"{events.human_bytes(rate)}/s", f"{eta:.0f} s" if eta else "")
        return table

    def _matrix(self) -> Table:
        table = Table(box=None, padding=(0, 1), show_edge=False)
        table.add_column(t("step"), no_wrap=True, max_width=26)
        for n in self.nodes:
            table.add_column(Text(n), no_wrap=True, max_width=12)
        rows = [s for s in self.step_ids if any(f"{n}/{s}" in self.instances for n in self.nodes)]
        # keep the rows around the work in progress when there are many steps
        active = [i for i, s in enumerate(rows) if any(self.state.get(f"{n}/{s}") in ("running", "failed") for n in self.nodes)]
        if len(rows) > MAX_ROWS:
            centre = active[0] if active else next((i for i, s in enumerate(rows)
                                                    if any(self.state.get(f"{n}/{s}") == "pending" for n in self.nodes)), 0)
            start = max(0, min(centre - MAX_ROWS // 3, len(rows) - MAX_ROWS))
            rows = rows[start:start + MAX_ROWS]
        now = time.monotonic()
        for s in rows:
            cells = []
            for n in self.nodes:
                key = f"{n}/{s}"
                if key not in self.instances:
                    cells.append(Text(""))
                    continue
                st = self.state.get(key, "pending")
                mark, style = events.mark(st), events.colour(st)
                secs = now - self.started[key] if st == "running" else self.took.get(key)
                cells.append(Text(f"{mark} {secs:.0f}s" if secs is not None and st != "pending" else mark, style=style))
            table.add_row(Text(s), *cells)
        return table

    def _tail(self) -> Text:
        return Text("\n".join(self.tail), style="dim")

    # -- lifetime -------------------------------------------------------------------
    def __enter__(self) -> LiveView:
        self.live = Live(self, refresh_per_second=4, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
