"""Benchmark: per-step overhead of the runner against spawning `ssh host true`
for every command, side by side in one run.

    sudo .venv/bin/python bench/steps.py [--steps 100]

Both do the same schedule: 100 trivial steps, each on all 4 lab nodes, each
step waiting for the previous one (as dependent install steps do), the nodes
in parallel. The runner does what it does for a real step (journal written
through before and after, log file, check-less step script through the env
file); the reference opens a new OpenSSH connection per command, as a shell
loop of `ssh host cmd` would. It brings up its own lab (osstep,
198.18.51.0/24) and tears it down.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_lab  # noqa: E402

from installer.engine import bundle, push  # noqa: E402
from installer.engine.journal import Journal  # noqa: E402
from installer.engine.runner import Runner  # noqa: E402
from installer.engine.steps import instances, load_steps  # noqa: E402
from installer.model import validate  # noqa: E402
from installer.remote.connections import Connections  # noqa: E402
from installer.remote.ssh_paramiko import connect  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    with bench_lab("osstep", "198.18.51.0/24", 4) as (lab, work):
        src = work / "src"
        (src / "steps").mkdir(parents=True)
        (src / "steps" / "noop.sh").write_text("true\n")
        steps = [{"id": f"s{i:03d}", "roles": ["*"], "script": "steps/noop.sh",
                  **({"depends_on": [f"s{i - 1:03d}"]} if i else {})} for i in range(args.steps)]
        (src / "bundle.yaml").write_text(yaml.safe_dump({"name": "bench", "version": "1", "components": ["*"], "steps": steps}))
        b = bundle.build(src, work / "bundle")
        v = validate.validate_file(lab.answer_file)
        plan, profile = v.plan, v.profile
        with Connections(plan, lambda ep: connect(ep)) as conns:
            assert push.push(plan, profile, [b], conns).ok
            ss = load_steps([b], set(profile.roles))
            insts = instances(plan, ss)
            jr = Journal.create(work / "journal", plan, {b.name: b.version}, [i.key for i in insts])
            runner = Runner(plan, profile, insts, conns, jr, parallel=len(plan.nodes))
            t0 = time.perf_counter()
            outcome = runner.run()
            onsite = time.perf_counter() - t0
            assert outcome.ok and outcome.ran == len(insts), outcome

        opts = ["-i", str(lab.key_file), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "BatchMode=yes"]

        def one_round(address: str) -> None:
            subprocess.run(["ssh", *opts, f"root@{address}", "true"], check=True)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(args.steps):  # each step waits for the previous one on every node
                list(pool.map(one_round, [n.address for n in lab.nodes]))
        ssh = time.perf_counter() - t0

        runs = args.steps * len(lab.nodes)
        print(f"\n{args.steps} steps x {len(lab.nodes)} nodes = {runs} step runs, dependent steps, nodes in parallel")
        print(f"{'method':<34} {'total s':>8} {'ms/step':>8}")
        print(f"{'onsite runner (journal, logs)':<34} {onsite:8.2f} {1000 * onsite / args.steps:8.1f}")
        print(f"{'ssh host true per command':<34} {ssh:8.2f} {1000 * ssh / args.steps:8.1f}")
        print(f"\nratio: the runner's per-step overhead is {ssh / onsite:.1f} x less than ssh-per-command")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
