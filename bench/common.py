"""What every benchmark needs: the checkout's src on the path, and a lab of
its own in a scratch folder, always torn down."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from installer.lab import Lab  # noqa: E402


@contextlib.contextmanager
def bench_lab(name: str, subnet: str, nodes: int) -> Iterator[tuple[Lab, Path]]:
    """A lab (and a work folder on disk, not tmpfs) for one benchmark run."""
    work = Path(tempfile.mkdtemp(prefix=f"onsite-bench-{name}-", dir="/var/tmp"))
    lab = Lab(work / "lab", name=name)
    try:
        lab.up(nodes=nodes, subnet=subnet)
        yield lab, work
    finally:
        lab.down()
        shutil.rmtree(work, ignore_errors=True)
