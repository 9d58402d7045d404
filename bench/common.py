"""What every benchmark needs: the checkout's src on the path, and a lab of
its own in a scratch folder, always torn down: also when the benchmark is
killed (SIGTERM, SIGHUP: the handler turns them into SystemExit, so the
`finally` runs) or interrupted (Ctrl-C)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from installer.lab import Lab, ServerKind  # noqa: E402


def _exit_on(signum, frame):  # noqa: ANN001 - a signal handler
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def bench_lab(name: str, subnet: str, nodes: int, servers: Sequence[ServerKind] | None = None,
              profile: str = "reference") -> Iterator[tuple[Lab, Path]]:
    """A lab (and a work folder on disk, not tmpfs) for one benchmark run,
    torn down however the run ends (SIGTERM and SIGHUP become SystemExit)."""
    previous = {s: signal.signal(s, _exit_on) for s in (signal.SIGTERM, signal.SIGHUP)}
    work = Path(tempfile.mkdtemp(prefix=f"onsite-bench-{name}-", dir="/var/tmp"))
    lab = Lab(work / "lab", name=name, profile=profile)
    try:
        lab.up(nodes=nodes, subnet=subnet, servers=servers)
        yield lab, work
    finally:
        # a second signal must not stop the teardown half-way
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        lab.down()
        shutil.rmtree(work, ignore_errors=True)
        for s, h in previous.items():
            signal.signal(s, h)
