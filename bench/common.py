"""What every benchmark needs: the checkout's src on the path, and a lab of
its own in a scratch folder, always torn down."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from installer.lab import Lab  # noqa: E402


@contextlib.contextmanager
def bench_lab(name: str, subnet: str, nodes: int, profile: str = "reference") -> Iterator[tuple[Lab, Path]]:
    """A lab (and a work folder on disk, not tmpfs) for one benchmark run,
    torn down however the run ends: SIGTERM becomes SystemExit, so the
    finally-block runs for a killed benchmark too."""
    work = Path(tempfile.mkdtemp(prefix=f"onsite-bench-{name}-", dir="/var/tmp"))
    lab = Lab(work / "lab", name=name, profile=profile)
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        lab.up(nodes=nodes, subnet=subnet)
        yield lab, work
    finally:
        lab.down()
        shutil.rmtree(work, ignore_errors=True)
