"""Benchmark: push bundles to one lab node, onsite against OpenSSH scp, side
by side in one run (alternating, best of N each), and print the ratios.

    sudo .venv/bin/python bench/push.py [--size-mib 1024] [--files 200] [--rounds 3]

It brings up its own one-node lab (name osbnch, 198.18.50.0/24) and tears it
down. Before each timed run the node drops the last copy and syncs, so no
method pays for the writeback of another's data. Each timing includes the
method's own SSH connection. Two cases:

one file (--size-mib, 1 GiB):
  scp (default cipher), scp -c aes128-gcm@openssh.com
  onsite stream: the transport's put_stream into `cat` alone (no verification)
  onsite push:   the whole push (state query, space check, stream into the
                 node's receiver, sha256 checked there, rename): what the
                 implementer waits for
many files (--files, 200 files of 640 KiB: about the reference bundle's
Debian packages):
  scp -r of the folder, against onsite push of the same files as a bundle
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

from installer.engine import bundle, push  # noqa: E402
from installer.model import validate  # noqa: E402
from installer.remote.connections import Connections  # noqa: E402
from installer.remote.ssh_paramiko import connect  # noqa: E402
from installer.remote.transport import Endpoint, Segment  # noqa: E402


def make_bundle(src: Path, out: Path, name: str, files: dict[str, int]) -> bundle.Bundle:
    (src / "payload").mkdir(parents=True)
    (src / "bundle.yaml").write_text(f"name: {name}\nversion: 1.0.0\ncomponents: ['*']\n")
    for rel, size in files.items():
        with open(src / "payload" / rel, "wb") as fh:
            for _ in range(size >> 20):
                fh.write(os.urandom(1 << 20))
            fh.write(os.urandom(size & ((1 << 20) - 1)))
    return bundle.build(src, out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    size = args.size_mib << 20
    small = 640 << 10
    with bench_lab("osbnch", "198.18.50.0/24", 1) as (lab, work):
        node = lab.nodes[0]
        big = make_bundle(work / "src-big", work / "big", "bench", {"data.bin": size})
        many = make_bundle(work / "src-many", work / "many", "many", {f"pkg{i:04d}.deb": small for i in range(args.files)})
        data = big.root / "payload/data.bin"
        v = validate.validate_file(lab.answer_file)
        v.plan.nodes = [n for n in v.plan.nodes if n.name == node.name]
        ssh_opts = ["-i", str(lab.key_file), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes"]

        def scp(src: Path, extra: list[str]):
            return lambda: timed(["scp", "-q", "-r", *extra, *ssh_opts, str(src), f"root@{node.address}:/var/tmp/scp"])

        def onsite_stream():
            t = connect(Endpoint(node=node.name, host=node.address, key_path=str(lab.key_file), host_key=node.host_key))
            try:
                t0 = time.perf_counter()
                t.put_stream(["sh", "-c", 'exec cat > "$1"', "onsite", "/var/tmp/stream.bin"], [Segment(path=data, length=size)])
                return time.perf_counter() - t0
            finally:
                t.close()

        def onsite_push(b: bundle.Bundle):
            def run() -> float:
                with Connections(v.plan, lambda ep: connect(ep)) as conns:
                    t0 = time.perf_counter()
                    report = push.push(v.plan, v.profile, [b], conns)
                    took = time.perf_counter() - t0
                assert report.ok, report.problems
                assert report.sent_bytes == b.total_bytes
                return took
            return run

        def timed(argv):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True)
            return time.perf_counter() - t0

        def settle() -> None:
            # Every method starts on an equal footing: no copy left from the
            # last one, and no writeback of it still going on (each run puts
            # 1 GiB into the node's page cache; ext4 flushes a file written
            # over in place, as scp does, when it is closed).
            lab.run(node.name, ["rm", "-rf", "/var/tmp/scp", "/var/tmp/stream.bin", push.REMOTE_ROOT])
            lab.run(node.name, ["sync"], timeout=300)

        cases = {
            f"one file, {args.size_mib} MiB": (size, {
                "scp (default cipher)": scp(data, []),
                "scp aes128-gcm": scp(data, ["-c", "aes128-gcm@openssh.com"]),
                "onsite stream": onsite_stream,
                "onsite push (verified)": onsite_push(big),
            }),
            f"{args.files} files of {small >> 10} KiB": (many.total_bytes, {
                "scp -r (default cipher)": scp(many.root / "payload", []),
                "onsite push (verified)": onsite_push(many),
            }),
        }
        for title, (nbytes, methods) in cases.items():
            best = {k: float("inf") for k in methods}
            for _ in range(args.rounds):
                for name, fn in methods.items():
                    settle()
                    best[name] = min(best[name], fn())
            ref = next(iter(best.values()))
            print(f"\n{title} to one lab node, best of {args.rounds} (alternating):")
            print(f"{'method':<26} {'seconds':>8} {'MB/s':>8} {'x scp':>7}")
            for name, secs in best.items():
                print(f"{name:<26} {secs:8.2f} {nbytes / secs / 1e6:8.0f} {ref / secs:7.2f}")
            print(f"ratio onsite push / scp: {ref / best['onsite push (verified)']:.2f} x")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
