"""Benchmark: push a 1 GiB file to one lab node, onsite against OpenSSH scp,
side by side in one run (alternating, best of N each), and print the ratios.

    sudo .venv/bin/python bench/push.py [--size-mib 1024] [--rounds 2]

It brings up its own one-node lab (name osbnch, 198.18.50.0/24) and tears it
down. Measured:
  scp (default cipher), scp -c aes128-gcm@openssh.com
  onsite stream: the transport's put_stream alone (no verification)
  onsite push:   the whole push (state query, space check, stream, sha256 on
                 the node, rename): what the implementer waits for
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_lab  # noqa: E402

from installer import bundle, push, validate  # noqa: E402
from installer.connections import Connections  # noqa: E402
from installer.ssh_paramiko import connect  # noqa: E402
from installer.transport import Endpoint  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    size = args.size_mib << 20
    with bench_lab("osbnch", "198.18.50.0/24", 1) as (lab, work):
        node = lab.nodes[0]
        src = work / "src"
        (src / "payload").mkdir(parents=True)
        (src / "bundle.yaml").write_text("name: bench\nversion: 1.0.0\ncomponents: ['*']\n")
        data = src / "payload" / "data.bin"
        with open(data, "wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))
        b = bundle.build(src, work / "bundle")
        v = validate.validate_file(lab.answer_file)
        v.plan.nodes = [n for n in v.plan.nodes if n.name == node.name]
        ssh_opts = ["-i", str(lab.key_file), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes"]
        dest = f"root@{node.address}:/var/tmp/scp.bin"

        def scp(extra):
            return ["scp", "-q", *extra, *ssh_opts, str(data), dest]

        def onsite_stream():
            t = connect(Endpoint(node=node.name, host=node.address, key_path=str(lab.key_file), host_key=node.host_key))
            try:
                t.run(["rm", "-f", "/var/tmp/stream.bin"])
                t0 = time.perf_counter()
                t.put_stream(data, ["sh", "-c", 'exec cat > "$1"', "onsite", "/var/tmp/stream.bin"])
                return time.perf_counter() - t0
            finally:
                t.close()

        def onsite_push():
            lab.run(node.name, ["rm", "-rf", f"{push.REMOTE_ROOT}/{b.id}"])
            with Connections(v.plan, lambda ep: connect(ep)) as conns:
                t0 = time.perf_counter()
                report = push.push(v.plan, v.profile, [b], conns)
                took = time.perf_counter() - t0
            assert report.ok, report.problems
            return took

        def timed(argv):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True)
            return time.perf_counter() - t0

        methods = {
            "scp (default cipher)": lambda: timed(scp([])),
            "scp aes128-gcm": lambda: timed(scp(["-c", "aes128-gcm@openssh.com"])),
            "onsite stream": onsite_stream,
            "onsite push (verified)": onsite_push,
        }
        best = {k: float("inf") for k in methods}
        for _ in range(args.rounds):
            for name, fn in methods.items():
                best[name] = min(best[name], fn())
        ref = best["scp (default cipher)"]
        print(f"\n{args.size_mib} MiB to one lab node, best of {args.rounds} (alternating):")
        print(f"{'method':<26} {'seconds':>8} {'MB/s':>8} {'x scp':>7}")
        for name, secs in best.items():
            print(f"{name:<26} {secs:8.2f} {size / secs / 1e6:8.0f} {ref / secs:7.2f}")
        print(f"\nratio onsite push / scp: {ref / best['onsite push (verified)']:.2f} x "
              f"(stream alone {ref / best['onsite stream']:.2f} x; vs scp aes128-gcm "
              f"{best['scp aes128-gcm'] / best['onsite push (verified)']:.2f} x)")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
