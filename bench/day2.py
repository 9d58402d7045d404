"""Benchmark: the day-2 operations on the reference system, each against
the outage the customer sees in a plain failover of the same component.

On a 4-node lab of its own (osd2b, 198.18.106.0/24) with the reference
bundles: install, then under the client loop of tests/day2_clients.py
(PostgreSQL rows through the current leader every 0.1 s, RADIUS to the
service VIP every 0.2 s) the references and the operations, one after the
other:

  failover postgres   the Patroni leader stopped (Patroni promotes a standby)
  failover radius     RADIUS stopped on the service VIP's holder (the VIP moves)
  switchover postgres onsite switchover FILE postgres --to <a standby>
  switchover redis    onsite switchover FILE redis --to <a replica>
  switchover vip      onsite switchover FILE vip:service --to <another member>
  change              the service VIP's check interval and the SOCKS port changed: onsite install FILE --yes
  node2 dies          node2 reset as a fresh server (lab reset): the cluster's own failover
  node replace        onsite node replace FILE node2, once the survivors lead
  uninstall/reinstall onsite uninstall FILE --keep-data, then onsite install FILE (no clients: the site is down)

For each: the wall time, the longest gap each client saw, the acknowledged
rows lost (must be 0), and the gap as a ratio of the failover's. The goal
is no gap longer than one failover of the component concerned (ratio <= 1).

    .venv/bin/python bench/day2.py

The lab is torn down however the run ends (bench/common.py).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from common import bench_lab  # noqa: E402

from installer.cli import main  # noqa: E402
from installer.engine import bundle  # noqa: E402
from installer.model import answerfile, validate  # noqa: E402
from tests.day2_clients import ClientLoop  # noqa: E402
from tests.reference_site import patroni_members, svc, vip_holders  # noqa: E402

ROWS: list[tuple[str, float, dict[str, float], int, int]] = []


def onsite(*argv: str) -> None:
    """Run an onsite command quietly; stop the benchmark if it fails."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        sys.stderr.write(out.getvalue()[-3000:] + err.getvalue()[-3000:])
        raise SystemExit(f"onsite {' '.join(argv[:3])} exited {code}")


def build_bundles(answer: Path) -> None:
    bundles = answer.parent / "bundles"
    bundle.build(ROOT / "bundles/base", bundles / "base")
    bundle.build(ROOT / "bundles/reference", bundles / "reference")
    packages = [w for line in (ROOT / "bundles/reference/debs.txt").read_text().splitlines()
                for w in line.split("#")[0].split()]
    onsite("bundle", "add-debs", str(bundles / "reference"), *packages)


def patroni(lab, asking: str = "node1") -> dict[str, str]:
    return {m["Member"]: m["Role"] for m in patroni_members(lab, asking)}


def wait(what: str, fn, timeout: float = 180) -> None:
    t0 = time.monotonic()
    while not fn():
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"{what}: not within {timeout:g} s")
        time.sleep(0.5)


def healthy(lab) -> bool:
    roles = patroni(lab)
    return list(roles.values()).count("Leader") == 1 and list(roles.values()).count("Sync Standby") >= 1 and all(
        r in ("Leader", "Sync Standby", "Replica") for r in roles.values()) and len(roles) == 3


def measured(name: str, lab, answer: Path, action, clients: bool = True, settled: bool = True) -> None:
    if settled:
        wait("a healthy cluster before " + name, lambda: healthy(lab))
    t0 = time.monotonic()
    if clients:
        with ClientLoop(lab, answer) as loop:
            time.sleep(2)
            action()
            time.sleep(2)
        report = loop.report
        ROWS.append((name, time.monotonic() - t0 - 4, report.longest_gap, len(report.lost), report.acked))
    else:
        action()
        ROWS.append((name, time.monotonic() - t0, {}, 0, 0))
    print(f"  {name}: {ROWS[-1][1]:.1f} s", flush=True)


def run() -> None:
    with bench_lab("osd2b", "198.18.106.0/24", 4) as (lab, _work):
        answer = lab.answer_file
        build_bundles(answer)
        t0 = time.monotonic()
        onsite("install", str(answer), "--plain")
        print(f"install: {time.monotonic() - t0:.1f} s", flush=True)

        def failover_postgres() -> None:
            leader = [m for m, r in patroni(lab).items() if r == "Leader"][0]
            svc(lab, leader, "stop", "patroni")
            wait("a new leader", lambda: any(r == "Leader" and m != leader for m, r in patroni(
                lab, next(n for n in ("node1", "node2", "node3") if n != leader)).items()))
            svc(lab, leader, "start", "patroni")

        def failover_radius() -> None:
            address = validate.validate_file(answer).plan.ips["IP6"]
            holders = vip_holders(lab, address)
            svc(lab, holders[0], "stop", "radius")
            wait("the service VIP to move",
                 lambda: f" {address}/" not in lab.run(holders[0], ["ip", "-o", "-4", "addr"]).stdout)
            time.sleep(3)
            svc(lab, holders[0], "start", "radius")

        def standby() -> str:
            return next(m for m, r in patroni(lab).items() if r != "Leader")

        measured("failover postgres", lab, answer, failover_postgres)
        measured("failover radius", lab, answer, failover_radius)
        measured("switchover postgres", lab, answer,
                 lambda: onsite("switchover", str(answer), "postgres", "--to", standby(), "--yes", "--plain"))
        measured("switchover redis", lab, answer,
                 lambda: onsite("switchover", str(answer), "redis", "--to", "node3", "--yes", "--plain"))
        measured("switchover vip", lab, answer,
                 lambda: onsite("switchover", str(answer), "vip:service", "--to", "node2", "--yes", "--plain"))

        def change() -> None:
            loaded = validate.validate_file(answer)
            plan = loaded.plan
            vip = next(v for v in plan.vips if v.address == "IP6")
            vip.check.interval = max(2, vip.check.interval // 2)
            plan.ports.setdefault("socks5", {})["socks"] = 1081
            answerfile.write(plan, answer, loaded.profile)
            onsite("install", str(answer), "--yes", "--plain")

        measured("change (interval, port)", lab, answer, change)

        def dies() -> None:
            lab.reset("node2")  # no clean stop: if node2 led, the others wait out the leader key's TTL
            wait("a leader among the survivors", lambda: any(
                r == "Leader" and m != "node2" for m, r in patroni(lab).items()))

        def replace() -> None:
            onsite("node", "replace", str(answer), "node2", "--accept-new-host-key", "node2", "--yes", "--plain")

        # The server's death and the operation, measured apart: the death's gap
        # is the cluster's own failover; the replace's is what onsite adds.
        measured("node2 dies (lab reset)", lab, answer, dies)
        measured("node replace node2", lab, answer, replace, settled=False)
        measured("uninstall --keep-data", lab, answer,
                 lambda: onsite("uninstall", str(answer), "--keep-data", "--yes", "--plain"), clients=False)
        t0 = time.monotonic()
        onsite("install", str(answer), "--plain")
        ROWS.append(("reinstall", time.monotonic() - t0, {}, 0, 0))

    base = {"postgres": ROWS[0][2].get("postgres", 0.0), "radius": ROWS[1][2].get("radius", 0.0)}
    print(f"\n{'operation':<26} {'seconds':>8} {'pg gap':>8} {'radius gap':>11} {'lost':>5} {'rows':>6}  vs failover")
    for name, seconds, gaps, lost, acked in ROWS:
        pg, rad = gaps.get("postgres"), gaps.get("radius")
        ratios = ", ".join(f"{k} {g / base[k]:.2f}x" for k, g in (("postgres", pg), ("radius", rad))
                           if g is not None and base[k] > 0)
        print(f"{name:<26} {seconds:>8.1f} {'' if pg is None else f'{pg:.1f} s':>8} "
              f"{'' if rad is None else f'{rad:.1f} s':>11} {lost:>5} {acked:>6}  {ratios}")
    print(f"\nreferences: a PostgreSQL failover's gap {base['postgres']:.1f} s, the service VIP's {base['radius']:.1f} s")


if __name__ == "__main__":
    run()
