"""Benchmark: push bundles to one lab node, onsite against OpenSSH scp, side
by side in one run (alternating, best of N each), and print the ratios.

    sudo .venv/bin/python bench/push.py [--size-mib 1024] [--files 200] [--rounds 3] [--no-hardened]

It brings up its own two-node lab (name osbnch, 198.18.50.0/24: the lab's
default node, and a hardened one: MaxSessions 1, AES-256 only, RSA host key)
and tears it down, also when killed. scp uses the fastest cipher both sides
allow, the one onsite negotiates (the lab's node: aes128-gcm; the hardened
one: aes256-gcm). Before each timed run the node drops the last copy and
syncs, so no method pays for the writeback of another's data. Each timing
includes the method's own SSH connection. Two cases per node:

one file (--size-mib, 1 GiB):
  scp (default cipher; on the default node only), scp -c <fastest common>
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
from installer.lab import ServerKind  # noqa: E402
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
    ap.add_argument("--no-hardened", action="store_true", help="the default node only")
    args = ap.parse_args()
    size = args.size_mib << 20
    small = 640 << 10
    servers = [ServerKind()] + ([] if args.no_hardened else [ServerKind(sshd="hardened")])
    with bench_lab("osbnch", "198.18.50.0/24", len(servers), servers) as (lab, work):
        big = make_bundle(work / "src-big", work / "big", "bench", {"data.bin": size})
        many = make_bundle(work / "src-many", work / "many", "many", {f"pkg{i:04d}.deb": small for i in range(args.files)})
        summary = []
        for node in lab.nodes:
            kind = "hardened" if lab.kind(node).sshd == "hardened" else "default"
            summary.append((kind, *bench_node(lab, node, kind, args, size, small, big, many)))
        print("\nonsite push (verified) / scp with the fastest cipher both sides allow:")
        for kind, cipher, one, several in summary:
            print(f"  {kind:<9} node ({cipher}): one file {one:.2f} x, {args.files} files {several:.2f} x")
        return 0


def bench_node(lab, node, kind: str, args, size: int, small: int, big: bundle.Bundle, many: bundle.Bundle):
    data = big.root / "payload/data.bin"
    v = validate.validate_file(lab.answer_file)
    v.plan.nodes = [n for n in v.plan.nodes if n.name == node.name]
    ep = Endpoint(node=node.name, host=node.address, key_path=str(lab.key_file), host_key=node.host_key)
    probe = connect(ep)
    cipher = probe.facts.cipher  # the fastest both sides allow: onsite's choice
    probe.close()
    ssh_opts = ["-i", str(lab.key_file), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes"]

    def scp(src: Path, extra: list[str]):
        return lambda: timed(["scp", "-q", "-r", *extra, *ssh_opts, str(src), f"root@{node.address}:/var/tmp/scp"])

    def onsite_stream():
        t = connect(ep)
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

    one: dict = {f"scp -c {cipher}": scp(data, ["-c", cipher])}
    if kind == "default":
        one["scp (default cipher)"] = scp(data, [])
    one.update({"onsite stream": onsite_stream, "onsite push (verified)": onsite_push(big)})
    cases = {
        f"one file, {args.size_mib} MiB": (size, one),
        f"{args.files} files of {small >> 10} KiB": (many.total_bytes, {
            f"scp -r -c {cipher}": scp(many.root / "payload", ["-c", cipher]),
            "onsite push (verified)": onsite_push(many),
        }),
    }
    ratios = []
    for title, (nbytes, methods) in cases.items():
        best = {k: float("inf") for k in methods}
        for _ in range(args.rounds):
            for name, fn in methods.items():
                settle()
                best[name] = min(best[name], fn())
        ref = next(iter(best.values()))
        print(f"\n{title} to the {kind} lab node ({node.name}, {cipher}), best of {args.rounds} (alternating):")
        print(f"{'method':<34} {'seconds':>8} {'MB/s':>8} {'x scp':>7}")
        for name, secs in best.items():
            print(f"{name:<34} {secs:8.2f} {nbytes / secs / 1e6:8.0f} {ref / secs:7.2f}")
        ratios.append(ref / best["onsite push (verified)"])
        print(f"ratio onsite push / scp -c {cipher}: {ratios[-1]:.2f} x")
    return cipher, ratios[0], ratios[1]


if __name__ == "__main__":
    raise SystemExit(main())
