"""Progress events: what the engine reports while it works, in one module.

The CLI prints them, the wizard turns them into messages; both get the same
objects through a plain callback, so one engine serves every front end:

- a lifecycle's phases: PhaseStarted, PhaseFinished, Notice;
- the push: TransferPlanned, TransferProgress, TransferDone, NodeFailed;
- preflight: CheckResult; verify: VerifyResult;
- the steps: StepStarted, StepOutput, StepFinished.

STATUS maps every status any of them carries to one mark and one colour, so
both front ends show a status the same way.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from ..model.problems import Problem


@dataclasses.dataclass(frozen=True)
class Event:
    node: str


@dataclasses.dataclass(frozen=True)
class TransferPlanned(Event):
    bundles: tuple[str, ...]
    total_bytes: int  # what must still be sent to this node
    skipped_files: int  # already on the node with the right hash


@dataclasses.dataclass(frozen=True)
class TransferProgress(Event):
    file: str
    done_bytes: int  # for this node, since the push started
    total_bytes: int
    rate: float  # bytes per second, recent
    eta: float | None  # seconds


@dataclasses.dataclass(frozen=True)
class TransferDone(Event):
    sent_bytes: int
    files_sent: int
    files_skipped: int
    resumed_files: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class NodeFailed(Event):
    problem: Problem


@dataclasses.dataclass(frozen=True)
class CheckResult(Event):
    check: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""


@dataclasses.dataclass(frozen=True)
class StepStarted:
    node: str
    step: str
    title: str
    attempt: int


@dataclasses.dataclass(frozen=True)
class StepOutput:
    node: str
    step: str
    stream: str  # out | err
    line: str


@dataclasses.dataclass(frozen=True)
class StepFinished:
    node: str
    step: str
    status: str  # done | failed | unknown
    seconds: float
    exit_code: int | None = None
    message: str = ""
    skipped: bool = False  # its check passed: nothing was run


@dataclasses.dataclass(frozen=True)
class PhaseStarted:
    phase: str
    title: str
    index: int  # 1-based, of `count`
    count: int


@dataclasses.dataclass(frozen=True)
class PhaseFinished:
    phase: str
    title: str
    status: str  # done | skipped | failed | invalid | interrupted
    seconds: float
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Notice:
    """A line worth showing: where the journal is, why the push relays, ..."""

    text: str
    phase: str = ""


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    name: str
    status: str  # ok | failed | skipped | warn
    summary: str
    node: str | None = None
    hint: str = ""


Listener = Callable[[object], None]


def ignore(event: object) -> None:
    pass


# status -> (mark, colour name understood by rich and Textual)
STATUS: dict[str, tuple[str, str]] = {
    "done": ("✓", "green"), "ok": ("✓", "green"), "passed": ("✓", "green"),
    "failed": ("✗", "red"), "fail": ("✗", "red"), "invalid": ("✗", "red"),
    "warn": ("!", "yellow"), "unknown": ("?", "yellow"), "interrupted": ("■", "yellow"),
    "running": ("▶", "cyan"), "pending": ("·", "bright_black"), "skipped": ("–", "bright_black"),
}


def mark(status: str) -> str:
    return STATUS.get(status, ("?", "yellow"))[0]


def colour(status: str) -> str:
    return STATUS.get(status, ("?", "yellow"))[1]


def short_names(names: list[str], width: int) -> dict[str, str]:
    """Column headers of at most `width` characters for check names, unique:
    the name itself when it fits; a hyphenated one by its parts' initials and
    the start of its last part (disk-used -> dused, dus); else its start. A
    clash takes a digit at the end."""
    out: dict[str, str] = {}
    for name in names:
        if len(name) <= width:
            short = name
        elif "-" in name:
            parts = [p for p in name.split("-") if p]
            head = "".join(p[0] for p in parts[:-1])[: max(width - 1, 1)]
            short = (head + parts[-1])[:width]
        else:
            short = name[:width]
        k = 1
        while short in out.values():
            k += 1
            short = short[: width - len(str(k))] + str(k)
        out[name] = short
    return out


def human_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disk and link speeds are sold)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class RateMeter:
    """Recent transfer rate over a sliding window of a few seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self.samples: list[tuple[float, int]] = []
        self.lock = threading.Lock()

    def add(self, total_done: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self.lock:
            self.samples.append((now, total_done))
            while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
                self.samples.pop(0)
            (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
            return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def to_json(event: object) -> dict:
    """An event as a JSON object: {"event": its class name, its fields...}.
    Problems become their JSON form; other values their text."""
    from ..model.problems import Problem

    def value(v: object) -> object:
        if isinstance(v, Problem):
            return v.to_json()
        if isinstance(v, (str, int, float, bool)) or v is None:
            return v
        if isinstance(v, (list, tuple)):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {str(k): value(x) for k, x in v.items()}
        return str(v)

    fields = {f.name: value(getattr(event, f.name)) for f in dataclasses.fields(event)} \
        if dataclasses.is_dataclass(event) else {"text": str(event)}
    return {"event": type(event).__name__, "time": round(time.time(), 3), **fields}
