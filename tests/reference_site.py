"""A lab of the reference system's own, and the few ways the lab tests look
at it (service control, psql, Patroni's members, VIP holders, waiting).

Each lab test module that runs the reference system makes its lab with
`reference_lab(...)` under a name and a subnet no other module uses, so the
modules can run at once (in CI, or a developer's two terminals); a lock per
lab name keeps two pytest runs off the same namespaces.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator

from installer.cli import main
from installer.lab import Lab

from .conftest import _need_lab, build_reference_bundles

REF = "/var/lib/onsite/bundles/reference-1.0.0"


def reference_lab(tmp_path_factory, name: str, subnet: str, *, install: bool = False) -> Iterator[tuple[Lab, object]]:
    """For a module fixture (`yield from reference_lab(...)`): (lab, answer file) of a
    fresh 4-node lab with the base and reference bundles next to the answer file,
    installed with `onsite install` when `install`. Torn down whatever happens."""
    _need_lab()
    lock = open(f"/run/onsite-test-{name}.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    lab = Lab(tmp_path_factory.mktemp(name) / "state", name=name)
    try:
        lab.up(nodes=4, subnet=subnet)
        build_reference_bundles(lab.answer_file)
        if install:
            t0 = time.monotonic()
            assert main(["install", str(lab.answer_file), "--plain"]) == 0
            print(f"reference install on {name}: {time.monotonic() - t0:.0f} s")
        yield lab, lab.answer_file
    finally:
        lab.down()
        lock.close()


def svc(lab: Lab, node: str, action: str, name: str) -> None:
    """Start or stop a service the way the bundle's own scripts do (systemd or not)."""
    lab.run(node, f"cd {REF} && . lib/onsite.sh && svc_{action} {name}", timeout=60)


def psql(lab: Lab, node: str, sql: str) -> str:
    return lab.run(node, ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql]).stdout.strip()


def patroni_members(lab: Lab, asking: str = "node1") -> list[dict]:
    """`patronictl list` as seen from `asking`; [] when it does not answer."""
    res = lab.run(asking, ["patronictl", "-c", "/etc/patroni/config.yml", "list", "-f", "json"], check=False)
    return json.loads(res.stdout) if res.returncode == 0 and res.stdout.strip() else []


def patroni_leader(lab: Lab, asking: str | None = None) -> str | None:
    """The running leader as `asking` sees it, or as the first cluster node that answers."""
    for node in [asking] if asking else ["node1", "node2", "node3"]:
        found = [m["Member"] for m in patroni_members(lab, node) if m["Role"] == "Leader" and m["State"] == "running"]
        if found:
            return found[0]
    return None


def vip_holders(lab: Lab, address: str) -> list[str]:
    return [n.name for n in lab.nodes if f" {address}/" in lab.run(n.name, ["ip", "-o", "-4", "addr", "show"]).stdout]


def wait_until(what: str, fn, timeout: float, every: float = 0.5):
    """(fn's first true answer, seconds it took), or AssertionError naming `what`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = fn()
        if got:
            return got, time.monotonic() - t0
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g} s")
