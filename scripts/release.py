"""Build what an implementer copies onto a USB stick: onsite with every
dependency, for a laptop that reaches no package registry.

    .venv/bin/python scripts/release.py [--target linux-x86_64] [--python 3.11] [-o dist]

For each target it writes dist/onsite-<version>-<target>.tar.gz (a .zip for
Windows) holding wheels/ (onsite and all its dependencies, binary wheels
for that platform, downloaded with pip's --platform) and an install script:

    tar xzf onsite-*.tar.gz && ./onsite-*/install.sh     # -> ~/.local/share/onsite/bin/onsite

For the platform it runs on it also writes dist/onsite-<version>-<target>.pyz,
a single-file executable (shiv): `python3 onsite.pyz --version`. It unpacks
itself into ~/.shiv on first start.

The data folders (schemas, screens, bundles' manifests and scripts) are inside
onsite's own wheel; nothing is fetched at run time. Bundle payloads are not
included: they travel as bundles.

Targets: linux-x86_64 and linux-aarch64 (manylinux), windows-amd64,
macos-x86_64, macos-arm64. The release test runs linux-x86_64 in a network
namespace with no route; the others are built from the wheels their
dependencies publish, not run here.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGETS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_5_x86_64",
                     "manylinux1_x86_64"],
    "linux-aarch64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "windows-amd64": ["win_amd64"],
    "macos-x86_64": ["macosx_10_9_x86_64", "macosx_10_12_x86_64", "macosx_10_13_x86_64", "macosx_10_15_x86_64",
                     "macosx_11_0_x86_64", "macosx_10_9_universal2", "macosx_10_12_universal2"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_10_9_universal2", "macosx_10_12_universal2",
                    "macosx_11_0_universal2"],
}

INSTALL_SH = """#!/bin/sh
# Install onsite from this folder with no network: ./install.sh [FOLDER]
# Needs python3 {python} with venv (Debian/Ubuntu: the python3-venv package).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${{1:-$HOME/.local/share/onsite}}
python3 -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --no-index --find-links "$here/wheels" onsite-installer
echo "installed: $prefix/bin/onsite  (add $prefix/bin to PATH)"
"$prefix/bin/onsite" --version
"""

INSTALL_PS1 = """# Install onsite from this folder with no network: .\\install.ps1 [FOLDER]
# Needs Python {python} from python.org (py launcher).
param([string]$Prefix = "$env:LOCALAPPDATA\\onsite")
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
py -{python} -m venv $Prefix
& "$Prefix\\Scripts\\python.exe" -m pip install --quiet --no-index --find-links "$here\\wheels" onsite-installer
Write-Host "installed: $Prefix\\Scripts\\onsite.exe"
& "$Prefix\\Scripts\\onsite.exe" --version
"""


def host_target() -> str | None:
    system, machine = platform.system(), platform.machine().lower()
    if system == "Linux" and machine in ("x86_64", "aarch64"):
        return f"linux-{machine}"
    return None


def run(argv: list[str], **kw) -> None:
    subprocess.run(argv, check=True, **kw)


def version() -> str:
    ns: dict[str, str] = {}
    exec((ROOT / "src/installer/__init__.py").read_text(), ns)
    return ns["__version__"]


def build_wheel(out: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)])
    [wheel] = out.glob("onsite_installer-*.whl")
    return wheel


def wheelhouse(wheel: Path, target: str, python: str, dest: Path) -> None:
    dest.mkdir(parents=True)
    shutil.copy2(wheel, dest)
    plats = [a for p in TARGETS[target] for a in ("--platform", p)]
    run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--implementation", "cp",
         "--python-version", python, *plats, "--dest", str(dest), str(wheel)])


def package(target: str, python: str, out: Path, wheel: Path) -> Path:
    name = f"onsite-{version()}-{target}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        wheelhouse(wheel, target, python, folder / "wheels")
        if target.startswith("windows"):
            (folder / "install.ps1").write_text(INSTALL_PS1.format(python=python))
            archive = out / f"{name}.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in sorted(folder.rglob("*")):
                    zf.write(p, p.relative_to(Path(tmp)).as_posix())
        else:
            script = folder / "install.sh"
            script.write_text(INSTALL_SH.format(python=python))
            script.chmod(0o755)
            archive = out / f"{name}.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(folder, arcname=name)
        count = len(list((folder / "wheels").glob("*.whl")))
    print(f"{archive}: {archive.stat().st_size / 1e6:.1f} MB, {count} wheels")
    return archive


def zipapp(wheel: Path, target: str, out: Path) -> Path:
    """A single-file executable for the platform this runs on."""
    pyz = out / f"onsite-{version()}-{target}.pyz"
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        wheels.mkdir()
        shutil.copy2(wheel, wheels)
        run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(wheels), str(wheel)])
        run([sys.executable, "-m", "shiv", "--quiet", "--no-index", "--find-links", str(wheels), "--python", "/usr/bin/env python3",
             "--console-script", "onsite", "--output-file", str(pyz), "--reproducible", "onsite-installer"])
    print(f"{pyz}: {pyz.stat().st_size / 1e6:.1f} MB, single file (python3 {pyz.name} --version)")
    return pyz


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", action="append", choices=[*TARGETS, "all"],
                    help="platform to build for (repeatable; default: this machine's)")
    ap.add_argument("--python", default="3.11", help="the laptop's Python version (default: %(default)s)")
    ap.add_argument("-o", "--output", default=str(ROOT / "dist"))
    ap.add_argument("--no-zipapp", action="store_true", help="skip the single-file executable")
    args = ap.parse_args()
    targets = args.target or [host_target() or "linux-x86_64"]
    if "all" in targets:
        targets = list(TARGETS)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        for target in targets:
            package(target, args.python, out, wheel)
        host = host_target()
        if not args.no_zipapp and host in targets:
            zipapp(wheel, host, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
