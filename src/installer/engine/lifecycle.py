"""A lifecycle: an ordered list of phases that the CLI and the wizard both
drive and only render (after k0sctl's phase manager).

A phase has a `name` and a `title`, and may define:

- `skip(op)`: a reason not to run now (shown), or None;
- `run(op)`: do the work; raise ProblemError to stop the lifecycle (its exit
  code says whether the input was wrong, 2, or the operation failed, 1) or
  Interrupted when asked to stop;
- `dry_run(op)`: what it would do, as Notice events; connects to nothing
  unless the phase only reads local files (then it may simply run);
- `stop(op)` / `abort(op)`: the first and second Ctrl-C (or the wizard's
  pause and abort) while it runs;
- `always = True`: it runs even after an earlier phase failed (unlock).

The manager runs them in order and emits PhaseStarted / PhaseFinished for
each; a failure ends the run after the `always` phases. The outcome is a
value with the exit code both front ends return.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence

from ..model.problems import Problem, ProblemError, Problems
from .events import Listener, Notice, PhaseFinished, PhaseStarted, ignore

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class Interrupted(Exception):
    """A phase stopped because it was asked to (Ctrl-C, pause, abort)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class Phase:
    name = ""
    title = ""
    always = False

    def skip(self, op) -> str | None:
        return None

    def run(self, op) -> None:
        raise NotImplementedError

    def dry_run(self, op) -> None:
        op.notice(f"would {self.title.lower()}", self.name)

    def stop(self, op) -> None:
        pass

    def abort(self, op) -> None:
        pass


@dataclasses.dataclass
class Outcome:
    status: str  # ok | failed | invalid | interrupted
    problems: Problems = dataclasses.field(default_factory=lambda: Problems([]))
    phase: str = ""  # where it ended, when not ok
    message: str = ""
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def exit_code(self) -> int:
        return {"ok": EXIT_OK, "failed": EXIT_FAILED, "invalid": EXIT_INVALID, "interrupted": EXIT_INTERRUPTED}[self.status]

    def to_json(self) -> dict:
        return {"status": self.status, "exit_code": self.exit_code, "phase": self.phase, "message": self.message,
                "problems": [p.to_json() for p in self.problems.sorted()],
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}


class Operation:
    """What a lifecycle works on: subclasses add the plan, the options and
    what the phases find out. Thread-safe control from the front end."""

    def __init__(self, listener: Listener = ignore) -> None:
        self.listener = listener
        self.stopping = threading.Event()
        self.aborting = threading.Event()
        self.dry = False

    def notice(self, text: str, phase: str = "") -> None:
        self.listener(Notice(text, phase))

    def check_stop(self, what: str) -> None:
        if self.stopping.is_set():
            raise Interrupted(f"stopped before {what}")


class Lifecycle:
    def __init__(self, phases: Sequence[Phase]) -> None:
        self.phases = list(phases)
        self._current: Phase | None = None
        self._op: Operation | None = None
        self._lock = threading.Lock()

    @property
    def titles(self) -> list[tuple[str, str]]:
        return [(p.name, p.title) for p in self.phases]

    # -- control, from any thread (a signal handler, the UI) --------------------
    def request_stop(self) -> None:
        with self._lock:
            op, phase = self._op, self._current
        if op is not None:
            op.stopping.set()
            if phase is not None:
                phase.stop(op)

    def abort(self) -> None:
        with self._lock:
            op, phase = self._op, self._current
        if op is not None:
            op.stopping.set()
            op.aborting.set()
            if phase is not None:
                phase.abort(op)

    # -- the run ------------------------------------------------------------------
    def run(self, op: Operation, dry_run: bool = False) -> Outcome:
        op.dry = dry_run
        self._op = op
        outcome: Outcome | None = None
        crash: BaseException | None = None
        timings: dict[str, float] = {}
        n = len(self.phases)
        try:
            for i, phase in enumerate(self.phases, 1):
                if outcome is not None and not phase.always:
                    continue
                reason = phase.skip(op)
                op.listener(PhaseStarted(phase.name, phase.title, i, n))
                if reason:
                    op.listener(PhaseFinished(phase.name, phase.title, "skipped", 0.0, reason))
                    continue
                with self._lock:
                    self._current = phase
                t0 = time.monotonic()
                status, note = "done", ""
                try:
                    if dry_run:
                        phase.dry_run(op)
                    else:
                        phase.run(op)
                except ProblemError as exc:
                    status = "invalid" if exc.exit_code == EXIT_INVALID else "failed"
                    note = exc.problems.sorted()[0].message if exc.problems else ""
                    if outcome is None:
                        outcome = Outcome(status, exc.problems, phase.name, note)
                    elif phase.always:
                        outcome.problems = Problems([*outcome.problems, *exc.problems])
                except Interrupted as exc:
                    status, note = "interrupted", exc.message
                    if outcome is None:
                        outcome = Outcome("interrupted", Problems([Problem(message=exc.message, hint=exc.hint,
                                                                          code="interrupted")]), phase.name, exc.message)
                except BaseException as exc:  # a bug or KeyboardInterrupt: unlock first, then let it go on
                    status = "failed"
                    if crash is None:
                        crash = exc
                    if outcome is None:
                        outcome = Outcome("failed", Problems([]), phase.name, type(exc).__name__)
                finally:
                    with self._lock:
                        self._current = None
                    timings[phase.name] = time.monotonic() - t0
                op.listener(PhaseFinished(phase.name, phase.title, status, timings[phase.name], note))
        finally:
            self._op = None
        if crash is not None:
            raise crash
        outcome = outcome or Outcome("ok")
        outcome.timings = timings
        return outcome


__all__ = ["Phase", "Lifecycle", "Operation", "Outcome", "Interrupted"]
