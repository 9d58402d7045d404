"""Benchmark: validation time of the worst shapes an answer file can take,
each at most 1 MiB (the reader's limit). No lab, no network.

    .venv/bin/python bench/validate.py [--repeat 3]

Prints one line per shape (size, outcome, best time of --repeat runs) and the
slowest. Goal (issue 15): under 2 s for any file up to 1 MiB on the project's
machine. The shapes aim at each limit of the reader and at the validator's
costliest paths: nesting, long flow lists, many unique items, many keys, long
strings, many problems (each with a did-you-mean), a plan-shaped file of
1 MiB, and 1 MiB of comments.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from installer.model import validate, yamlio  # noqa: E402

BASE = (Path(__file__).resolve().parents[1] / "tests" / "corpus" / "base.yaml").read_text()
LIMIT = yamlio.MAX_ANSWER_FILE_BYTES
N = yamlio.MAX_ITEMS - 1  # the most entries a list or section may have, less one for good measure


def fill(unit: str, head: str = "", tail: str = "") -> str:
    """head + as many `unit`s as fit in 1 MiB + tail."""
    room = LIMIT - len(head.encode()) - len(tail.encode())
    return head + unit * (room // len(unit.encode())) + tail


def roles_line() -> str:
    return "[k8s-master, k8s-worker, etcd, postgres, redis, sentinel, mongodb, rocketmq-namesrv, rocketmq-broker, doris-fe, doris-be, radius, socks5]"


def nested_blocks() -> str:
    """Blocks nested to just under the depth limit, as many as fit."""
    out, n = ["version: 1\n"], 0
    size = len(out[0])
    while True:
        block = f"b{n}:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 31)) + "  " * 31 + "v: 1\n"
        if size + len(block) > LIMIT:
            return "".join(out)
        out.append(block)
        size += len(block)
        n += 1


def sections_of_keys() -> str:
    out, n = ["version: 1\n"], 0
    size = len(out[0])
    while True:
        line = f"s{n}: {{" + ", ".join(f"a{i}: 1" for i in range(N)) + "}\n"
        if size + len(line) > LIMIT or (n + 2) * (2 * N + 2) >= yamlio.MAX_VALUES:  # keys and values are events
            return "".join(out)
        out.append(line)
        size += len(line)
        n += 1


def nodes(count: int, roles: str) -> str:
    return BASE.split("nodes:\n")[0] + "nodes:\n" + "".join(
        f"  - name: n{i}\n    address: IP1\n    nic: eth0\n    roles: {roles}\n    ssh: {{user: root, port: 22, auth: agent}}\n"
        for i in range(count)) + BASE[BASE.index("vips:\n"):]


SHAPES: dict[str, Callable[[], str]] = {
    "deep flow nesting": lambda: fill("[", "version: 1\nsite: "),
    "nesting at the depth limit, repeated": nested_blocks,
    "one long flow list": lambda: fill("1, ", "version: 1\nx: [", "1]\n"),
    "flow lists at the entry limit, many": lambda: fill("  - [" + ", ".join(["1"] * N) + "]\n", "version: 1\nx:\n"),
    "many unique items (ntp)": lambda: BASE.replace(
        "  ntp: [ntp.campus.example]\n", "  ntp: [" + ", ".join(f"ntp{i}.campus.example" for i in range(N)) + "]\n"),
    "many unique unknown roles (64 nodes)": lambda: nodes(64, "[" + ", ".join(f"role{j}" for j in range(N)) + "]"),
    "many keys (sections at the entry limit)": sections_of_keys,
    "unknown keys, each a did-you-mean": lambda: "version: 1\n" + "".join(f"nodez{i}: 1\n" for i in range(N - 1)),
    "long strings (64 KiB each)": lambda: fill("k{}: " + "x" * 65_000 + "\n", "version: 1\n").format(*range(20)),
    "long site name just under the limit": lambda: BASE.replace("  name: Campus North\n", "  name: " + "x" * 65_000 + "\n"),
    "long quoted string full of escapes": lambda: BASE.replace(
        "  name: Campus North\n", '  name: "' + "\\x1b[31m" * 8000 + '"\n'),
    "plan-shaped: nodes at the entry limit": lambda: nodes(N, roles_line()),
    "plan-shaped: 1 MiB of nodes": lambda: fill(
        "  - name: node1\n    address: IP1\n    nic: eth0\n    roles: " + roles_line()
        + "\n    ssh: {user: root, port: 22, auth: agent}\n", BASE.split("nodes:\n")[0] + "nodes:\n"),
    "1 MiB of comments after a valid plan": lambda: fill("# a comment line padding the file to its limit\n", BASE),
    "numbers that are not: 1 MiB of 1.6443e+4": lambda: fill("  - 1.6443e+4\n", "version: 1\nx:\n"),
    "settings that are not numbers": lambda: BASE.replace(
        "  doris-be: {storage_root_path: /data/doris/be/storage}\n",
        "  doris-be: {" + ", ".join(f"s{i}: 90.0" for i in range(N - 1)) + ", max_disk_usage_percent: 90.0}\n"),
}


def shape_file(text: str, folder: Path, name: str) -> Path:
    data = text.encode("utf-8")[:LIMIT]
    path = folder / (name.replace(" ", "-").replace("/", "") + ".yaml")
    path.write_bytes(data)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    slowest = ("", 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in SHAPES.items():
            path = shape_file(make(), Path(tmp), name)
            best = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                result = validate.validate_file(path)
                best = min(best, time.perf_counter() - started)
            first = result.problems.sorted()[0].code if len(result.problems) else "valid"
            print(f"{best:7.3f} s  {path.stat().st_size / 1024:7.0f} KiB  {name:45s} {len(result.problems):4d} problems ({first})")
            if best > slowest[1]:
                slowest = (name, best)
    verdict = "within" if slowest[1] < 2.0 else "OVER"
    print(f"slowest: {slowest[1]:.3f} s ({slowest[0]}); {verdict} the 2 s goal")
    return 0 if slowest[1] < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
