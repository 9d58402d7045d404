"""Benchmark: a bundle to 4 lab nodes with the installer's link limited
(tc tbf on the lab bridge, default 1 Gbit/s; node-to-node traffic is not
limited): relay against direct, side by side in one run, as ratios of wall
times to one single-node push of the same bundle.

    sudo .venv/bin/python bench/fanout.py [--size-mib 1024] [--rate 1gbit]

Target (issue #8): relay within 1.3 x the single-node push; direct takes
about 4 x. Every push is verified by sha256 on each node.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_lab  # noqa: E402

from installer.engine import bundle, push, relay  # noqa: E402
from installer.model import validate  # noqa: E402
from installer.remote.connections import Connections  # noqa: E402
from installer.remote.ssh_paramiko import connect  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rate", default="1gbit")
    args = ap.parse_args()
    with bench_lab("osfan", "198.18.52.0/24", 4) as (lab, work):
        src = work / "src"
        (src / "payload").mkdir(parents=True)
        (src / "bundle.yaml").write_text("name: fan\nversion: 1.0.0\ncomponents: ['*']\n")
        with open(src / "payload" / "data.bin", "wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))
        b = bundle.build(src, work / "bundle")
        v = validate.validate_file(lab.answer_file)
        plan, profile = v.plan, v.profile

        def clean() -> None:
            # no copy left from the last run, and none of its writeback pending
            for n in lab.nodes:
                lab.run(n.name, ["rm", "-rf", f"{push.REMOTE_ROOT}/{b.id}"])
            lab.run(lab.nodes[0].name, ["sync"], timeout=300)  # one root filesystem under all nodes

        def timed(fn) -> float:
            clean()
            with Connections(plan, lambda ep: connect(ep)) as conns:
                conns.get(plan.nodes[0].name)
                t0 = time.perf_counter()
                report = fn(conns)
                took = time.perf_counter() - t0
            assert report.ok, report.problems
            return took

        lab.limit_installer_link(args.rate)
        try:
            single = timed(lambda c: push.push(plan, profile, [b], c, nodes=[plan.nodes[0].name]))
            direct = timed(lambda c: push.push(plan, profile, [b], c))
            relayed = timed(lambda c: relay.relay_push(plan, profile, [b], c).report)
            with Connections(plan, lambda ep: connect(ep)) as conns:
                chosen, why = relay.choose(plan, profile, [b], conns)
        finally:
            lab.clear_installer_link()
        print(f"\n{args.size_mib} MiB to 4 lab nodes, installer link limited to {args.rate}, each copy verified:")
        print(f"{'method':<28} {'seconds':>8} {'x single':>9}")
        for name, secs in (("single-node push", single), ("direct to 4 nodes", direct), ("relay to 4 nodes", relayed)):
            print(f"{name:<28} {secs:8.1f} {secs / single:9.2f}")
        print(f"\nratio relay / direct: {relayed / direct:.2f} (relay is {direct / relayed:.1f} x faster)")
        print(f"automatic choice here: {why}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
