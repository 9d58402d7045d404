"""Benchmark: what more nodes cost. The base bundle (hostname, /etc/hosts,
sysctl, reachability) installed by the whole install lifecycle on 4 and on
16 lab nodes, each phase timed; prints the two wall times side by side and
their ratio.

    .venv/bin/python bench/scale.py [--small 4] [--large 16]

The reference profile names four node slots; the benchmark derives a
profile with as many node slots as each lab has (the extra nodes are
Kubernetes workers), in a scratch data folder (ONSITE_DATA_DIR), and marks
every component external: only the base bundle is installed. Each lab
(osscl, 198.18.52.0/24) is brought up, used and torn down, also when the
benchmark is killed (SIGTERM) or interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(tempfile.mkdtemp(prefix="onsite-bench-scale-data-"))
os.environ["ONSITE_DATA_DIR"] = str(DATA)  # before installer reads its data folders
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_lab  # noqa: E402

from installer.engine import bundle  # noqa: E402
from installer.engine.install import InstallOperation, InstallOptions, install_lifecycle  # noqa: E402
from installer.model import answerfile, validate  # noqa: E402
from installer.remote.ssh_paramiko import connect  # noqa: E402


def make_data(nodes: int) -> None:
    shutil.copytree(ROOT / "schemas", DATA / "schemas", dirs_exist_ok=True)
    for folder in ("screens", "bundles"):
        if not (DATA / folder).exists():
            (DATA / folder).symlink_to(ROOT / folder)
    raw = yaml.safe_load((ROOT / "schemas/profiles/reference.yaml").read_text())
    node_slots = [s for s, v in raw["slots"].items() if v["kind"] == "node"]
    vip_slots = [s for s, v in raw["slots"].items() if v["kind"] == "vip"]
    slots = {f"IP{i + 1}": {"kind": "node", "title": f"Node {i + 1}"} for i in range(nodes)}
    renamed = {}
    for k, old in enumerate(vip_slots):
        new = f"IP{nodes + k + 1}"
        slots[new] = raw["slots"][old]
        renamed[old] = new
    raw["slots"] = slots
    for v in raw["vips"].values():
        v["slot"] = renamed[v["slot"]]
    layout = [dict(n) for n in raw["layout"]]
    for i in range(len(layout), nodes):
        layout.append({"name": f"node{i + 1}", "slot": f"IP{i + 1}", "roles": ["k8s-worker"]})
    for i, n in enumerate(layout):
        n["slot"] = f"IP{i + 1}" if n["slot"] in node_slots else n["slot"]
    raw["layout"] = layout
    raw["name"] = f"scale{nodes}"
    (DATA / f"schemas/profiles/scale{nodes}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def one(nodes: int, subnet: str) -> dict[str, float]:
    with bench_lab("osscl", subnet, nodes, profile=f"scale{nodes}") as (lab, work):
        loaded = validate.validate_file(lab.answer_file)
        plan, profile = loaded.plan, loaded.profile
        for comp in profile.components:
            plan.components.setdefault(comp, {})["external"] = True
        answer = work / "site.yaml"
        answerfile.write(plan, answer, profile)
        loaded = validate.validate_file(answer)
        assert loaded.ok, [p.render() for p in loaded.problems]
        b = bundle.build(ROOT / "bundles/base", work / "base")
        op = InstallOperation(loaded.plan, loaded.profile, answer_file=answer, problems=loaded.problems,
                              bundle_paths=[b.root], options=InstallOptions(parallel=8, transfer="direct"),
                              connect=lambda ep: connect(ep), command="bench/scale.py")
        t0 = time.perf_counter()
        outcome = install_lifecycle().run(op)
        wall = time.perf_counter() - t0
        if not outcome.ok:
            raise SystemExit(f"install on {nodes} nodes failed at {outcome.phase}: "
                             + "; ".join(p.message for p in outcome.problems))
        return {**outcome.timings, "wall": wall}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=4)
    ap.add_argument("--large", type=int, default=16)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # finally-blocks tear the lab down
    try:
        make_data(args.small)
        make_data(args.large)
        small = one(args.small, "198.18.52.0/24")
        large = one(args.large, "198.18.52.0/24")
    finally:
        shutil.rmtree(DATA, ignore_errors=True)
    print(f"base bundle, whole install lifecycle: {args.small} nodes against {args.large} (seconds)\n")
    print(f"{'phase':<12} {args.small:>8} {args.large:>8} {'ratio':>7}")
    for phase in [*small.keys()]:
        a, b = small[phase], large.get(phase, 0.0)
        print(f"{phase:<12} {a:8.2f} {b:8.2f} {b / a if a > 0.005 else float('nan'):7.2f}")
    print(f"\n{args.large} nodes take {large['wall'] / small['wall']:.2f} x the wall time of {args.small} "
          f"({args.large / args.small:.0f} x the nodes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
