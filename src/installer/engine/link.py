"""The link rate an estimate rests on: what a push delivered, kept in the
site's journal folder (`link.json`) for the next Review and `onsite plan`;
or what a front end measured (the wizard's Test connection)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from . import journal as journal_mod
from .events import human_bytes

LINK_FILE = "link.json"  # in the journal folder: the delivered rate of the last push


@dataclasses.dataclass(frozen=True)
class LinkRate:
    """Bytes per second delivered to the nodes, and how it was measured."""

    rate: float
    source: str  # a sentence: "the push of 2026-11-24 01:02 (700 MB to 4 nodes in 12 s)"
    measured: str = ""  # ISO time

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def record_link(journal_dir: Path, sent_bytes: int, seconds: float, nodes: int, how: str) -> LinkRate | None:
    """After a push: keep its delivered rate for the next estimate (the
    phase's whole time: choosing relay or direct, connections, hashing on the
    nodes, as the next push will take them). Pushes under 8 MB measure
    set-up more than the link and are not kept."""
    if sent_bytes < 8_000_000 or seconds <= 0.01:
        return None
    when = dt.datetime.now().astimezone()
    link = LinkRate(sent_bytes / seconds, f"the push of {when:%Y-%m-%d %H:%M} ({human_bytes(sent_bytes)} to {nodes} "
                                          f"node{'s' * (nodes != 1)} in {seconds:.0f} s, {how})",
                    when.isoformat(timespec="seconds"))
    journal_dir.mkdir(parents=True, exist_ok=True)
    journal_mod.write_json_atomic(journal_dir / LINK_FILE, link.to_json())
    return link


def recorded_link(journal_dir: Path | None) -> LinkRate | None:
    if journal_dir is None:
        return None
    try:
        data = json.loads((journal_dir / LINK_FILE).read_text(encoding="utf-8"))
        link = LinkRate(float(data["rate"]), str(data["source"]), str(data.get("measured", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: the estimate says "unknown until measured"
    return link if link.rate > 0 else None


def newest(*links: LinkRate | None) -> LinkRate | None:
    have = [x for x in links if x is not None]
    return max(have, key=lambda x: x.measured) if have else None


PROBE_BYTES = 16 << 20  # enough to pass the connection's ramp-up on a LAN; about 1.5 s at 100 Mbit/s


def measure(transport, node: str, nbytes: int = PROBE_BYTES) -> LinkRate:
    """Send `nbytes` of random data to the node (into /dev/null) and time it:
    the rate one node takes from this machine. Raises TransportError."""
    import os
    import time

    from ..remote.transport import Segment

    data = os.urandom(nbytes)
    t0 = time.monotonic()
    transport.put_stream(["sh", "-c", "cat > /dev/null"], [Segment(data=data)])
    seconds = max(time.monotonic() - t0, 1e-3)
    when = dt.datetime.now().astimezone()
    return LinkRate(nbytes / seconds, f"Test connection to {node} at {when:%H:%M} ({human_bytes(nbytes)} in {seconds:.1f} s, "
                                      "to one node; several nodes at once may go faster)", when.isoformat(timespec="seconds"))
