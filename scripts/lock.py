"""Write the release locks: locks/TARGET-cpXY.txt for every target and CPython
version scripts/release.py builds, each pinning one binary wheel per package,
by sha256, of pyproject.toml's dependencies (and theirs), at the versions in
constraints.txt (the ones the tests run with).

    .venv/bin/python scripts/lock.py                       # all of them
    .venv/bin/python scripts/lock.py --target linux-x86_64 --python 3.12

pip resolves for the target's platform tags without installing anything
(pip install --dry-run --report); the registry's sha256 of each chosen wheel
goes into the lock. Run it after changing a dependency or constraints.txt,
and commit the locks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from release import LOCKS, PYTHONS, ROOT, TARGETS, ReleaseError, cp, lock_file, platform_args, run  # noqa: E402


def dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def resolve(target: str, python: str) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of every wheel the target and Python need."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--dry-run", "--ignore-installed",
             "--target", str(Path(tmp) / "unused"), *platform_args(target, python), "--report", str(report),
             "-c", str(ROOT / "constraints.txt"), *dependencies()],
            f"resolving the dependencies for {target}, CPython {python}")
        items = json.loads(report.read_text())["install"]
    pins = []
    for item in items:
        info = item["download_info"]
        digest = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not digest or not info["url"].endswith(".whl"):
            raise ReleaseError(f"{item['metadata']['name']}: the registry gave no sha256 of a wheel ({info['url']})")
        name = re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
        pins.append((name, item["metadata"]["version"], digest))
    return sorted(pins)


def write(target: str, python: str) -> Path:
    pins = resolve(target, python)
    path = lock_file(target, python)
    head = (f"# onsite's dependencies for {target}, CPython {python} ({cp(python)}): one binary wheel each, pinned by sha256.\n"
            "# Written by scripts/lock.py from pyproject.toml's dependencies at constraints.txt's versions; do not edit.\n"
            "# scripts/release.py downloads and install.sh installs them with pip --require-hashes.\n")
    path.write_text(head + "".join(f"{n}=={v} \\\n    --hash=sha256:{h}\n" for n, v, h in pins))
    print(f"{path.relative_to(ROOT)}: {len(pins)} wheels")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", action="append", choices=list(TARGETS), help="default: every target")
    ap.add_argument("--python", action="append", choices=PYTHONS, help="default: every version")
    args = ap.parse_args()
    LOCKS.mkdir(exist_ok=True)
    try:
        for target in args.target or TARGETS:
            for python in args.python or PYTHONS:
                write(target, python)
    except ReleaseError as exc:
        print(f"lock: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
