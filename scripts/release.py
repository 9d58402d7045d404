"""Build what an implementer copies onto a USB stick: onsite with every
dependency, for a laptop that reaches no package registry.

    .venv/bin/python scripts/release.py [--target linux-x86_64] [--python 3.11] [-o dist] [--sign-key KEY]
    .venv/bin/python scripts/release.py --verify dist [--pubkey KEY.pub]

onsite's wheel is built from its sdist (so nothing .gitignore'd, such as a
vendor payload or a key under bundles/, can get in). For each target and
CPython version (3.11, 3.12, 3.13) it writes to dist/:

    onsite-VERSION-TARGET-cpXY.tar.gz   wheels/ (onsite and every dependency, the
                                        binary wheels pinned by hash in
                                        locks/TARGET-cpXY.txt), requirements.txt
                                        and install.sh:
        tar xzf onsite-*.tar.gz && ./onsite-*/install.sh     # -> ~/.local/share/onsite/bin/onsite
    onsite-VERSION-TARGET-cpXY.pyz      a single-file executable (shiv) for that
                                        Python: `python3.XY onsite-*.pyz --version`
    onsite_installer-VERSION.tar.gz     the sdist the wheel was built from
    SHA256SUMS                          of the files above (sha256sum -c SHA256SUMS)
    SHA256SUMS.sig                      base64 ed25519 signature of SHA256SUMS, with the
                                        key of --sign-key or $ONSITE_RELEASE_KEY (an
                                        OpenSSH ed25519 private key, as for bundles)

The build is reproducible: the same commit gives the same bytes (entries
sorted, times from SOURCE_DATE_EPOCH, by default the commit's time; owner 0;
gzip time 0). Targets: linux-x86_64 and linux-aarch64 (see README: why no
Windows or macOS artifacts). The locks are made by scripts/lock.py.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "locks"

# pip's --platform tags for each target, newest first.
TARGETS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_5_x86_64",
                     "manylinux1_x86_64"],
    "linux-aarch64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
}
PYTHONS = ["3.11", "3.12", "3.13"]
SUMS = "SHA256SUMS"


class ReleaseError(Exception):
    """A problem the person building can fix: the message says where and how."""


def cp(python: str) -> str:
    return "cp" + python.replace(".", "")


def lock_file(target: str, python: str) -> Path:
    return LOCKS / f"{target}-{cp(python)}.txt"


def platform_args(target: str, python: str) -> list[str]:
    plats = [a for p in TARGETS[target] for a in ("--platform", p)]
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", python, *plats]


def host_target() -> str | None:
    system, machine = platform.system(), platform.machine().lower()
    if system == "Linux" and f"linux-{machine}" in TARGETS:
        return f"linux-{machine}"
    return None


def run(argv: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(argv, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise ReleaseError(f"{what} failed:\n{tail}")
    return res


def version() -> str:
    ns: dict[str, str] = {}
    exec((ROOT / "src/installer/__init__.py").read_text(), ns)
    return ns["__version__"]


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the time of the commit being built."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        try:
            return int(os.environ["SOURCE_DATE_EPOCH"])
        except ValueError:
            raise ReleaseError(f"SOURCE_DATE_EPOCH={os.environ['SOURCE_DATE_EPOCH']!r} is not a number of seconds") from None
    res = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True)
    if res.returncode != 0 or not res.stdout.strip():
        raise ReleaseError(f"{ROOT} is not a git checkout: set SOURCE_DATE_EPOCH (seconds since 1970) for the archives' times")
    return int(res.stdout.strip())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- onsite's own wheel, from the sdist ----------------------------------------


def build_sdist_and_wheel(out: Path, root: Path = ROOT) -> tuple[Path, Path]:
    """`python -m build` makes the sdist, then the wheel from the unpacked sdist:
    what .gitignore keeps out of the sdist cannot reach the wheel. The backend
    is the venv's hatchling (pinned in constraints.txt), so no registry is
    asked and the same commit gives the same wheel."""
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(root)],
        "building the sdist and the wheel (python -m build; needs the test extra: pip install -e '.[test]')")
    [sdist] = out.glob("onsite_installer-*.tar.gz")
    [wheel] = out.glob("onsite_installer-*.whl")
    return sdist, wheel


# -- reproducible archives ---------------------------------------------------------


def write_tar_gz(folder: Path, archive: Path, epoch: int) -> None:
    """folder as a .tar.gz whose bytes depend only on the files' contents and
    executable bits: sorted entries, mtime = epoch, owner root (0/0), no gzip
    name or time."""
    entries = [folder, *sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix())]
    with open(archive, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for p in entries:
            info = tar.gettarinfo(str(p), arcname=(Path(folder.name) / p.relative_to(folder)).as_posix())
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isdir():
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o755 if p.stat().st_mode & 0o100 else 0o644
                with open(p, "rb") as f:
                    tar.addfile(info, f)


# -- install.sh ------------------------------------------------------------------------

INSTALL_SH = """#!/bin/sh
# Install onsite from this folder with no network: ./install.sh [FOLDER]
# This is {name}: for CPython {python} on {target} (glibc).
# PYTHON=/path/to/python{python} picks the interpreter; default: python{python}, else python3.
# Installs into FOLDER (default ~/.local/share/onsite) a virtual environment of
# its own: onsite's import package is called `installer`, as PyPA's is.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${{1:-$HOME/.local/share/onsite}}
py=${{PYTHON:-}}
if [ -z "$py" ]; then
    py=$(command -v python{python} || command -v python3 || true)
fi
if [ -z "$py" ]; then
    echo "install.sh: no python3 found: install CPython {python} (Debian/Ubuntu: apt install python3 python3-venv), or set PYTHON=/path/to/python{python}" >&2
    exit 3
fi
found=$("$py" -c 'import platform, sys; print(sys.implementation.name, "%d.%d" % sys.version_info[:2], platform.machine())') || {{
    echo "install.sh: $py does not run" >&2
    exit 3
}}
set -- $found "$@"
impl=$1 ver=$2 arch=$3
shift 3
if [ "$impl" != cpython ]; then
    echo "install.sh: $py is $impl $ver: onsite's wheels are for CPython; set PYTHON=/path/to/python{python}" >&2
    exit 3
fi
case "$arch" in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
esac
case "$ver" in
    {supported_case}) fits="onsite-{version}-linux-$arch-cp$(echo "$ver" | tr -d .).tar.gz" ;;
    *) fits="" ;;
esac
if [ "linux-$arch" != "{target}" ] || [ "$ver" != "{python}" ]; then
    echo "install.sh: this is {name}, for CPython {python} on {target}; $py is Python $ver on linux-$arch." >&2
    if [ -n "$fits" ] && {{ [ "$arch" = x86_64 ] || [ "$arch" = aarch64 ]; }}; then
        echo "  Use $fits from the same release, or set PYTHON=/path/to/python{python}." >&2
    else
        echo "  onsite is released for CPython {supported} on linux-x86_64 and linux-aarch64: install one of those Pythons, or set PYTHON=/path/to/python{python}." >&2
    fi
    exit 3
fi
if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "install.sh: $py cannot make a virtual environment: install python$ver-venv (Debian/Ubuntu: apt install python$ver-venv)" >&2
    exit 3
fi
"$py" -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$here/wheels" \\
    --only-binary=:all: --require-hashes -r "$here/requirements.txt"
echo "installed: $prefix/bin/onsite  (add $prefix/bin to PATH)"
"$prefix/bin/onsite" --version
"""

# Runs inside the .pyz before onsite is imported: the wrong Python would fail
# later with an ImportError from a compiled dependency.
PREAMBLE = '''import platform
import sys

WANT = {python!r}
have = "%d.%d" % sys.version_info[:2]
if have != WANT or sys.implementation.name != "cpython" or platform.machine().lower() not in {machines!r}:
    fits = "onsite-{version}-linux-%s-cp%s.pyz" % (platform.machine().lower(), have.replace(".", ""))
    print(f"{name}.pyz is for CPython {{WANT}} on {target}; this is {{sys.implementation.name}} {{have}} on "
          f"{{platform.machine()}}: run it with python{{WANT}}, or use {{fits}} (released for CPython {supported})",
          file=sys.stderr)
    raise SystemExit(3)
'''

ENTRY = '''"""The .pyz's entry point: onsite's console script, installer.cli:main."""


def main():
    from installer.cli import main

    return main()
'''


# -- one target and Python --------------------------------------------------------------


def wheelhouse(wheel: Path, target: str, python: str, dest: Path) -> None:
    """The locked wheels (pip checks each hash) and onsite's, plus the
    requirements.txt that install.sh installs with --require-hashes."""
    lock = lock_file(target, python)
    if not lock.is_file():
        raise ReleaseError(f"{lock} is missing: make it with .venv/bin/python scripts/lock.py --target {target} --python {python}")
    dest.mkdir(parents=True)
    run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps", "--require-hashes",
         *platform_args(target, python), "--dest", str(dest), "-r", str(lock)],
        f"downloading the wheels locked in {lock.relative_to(ROOT)}")
    shutil.copy(wheel, dest)
    name, ver = wheel.name.split("-")[:2]
    requirements = lock.read_text() + f"{name.replace('_', '-')}=={ver} \\\n    --hash=sha256:{sha256(wheel)}\n"
    (dest.parent / "requirements.txt").write_text(requirements)


def package(target: str, python: str, wheel: Path, out: Path, epoch: int, work: Path) -> Path:
    name = f"onsite-{version()}-{target}-{cp(python)}"
    folder = work / name
    wheelhouse(wheel, target, python, folder / "wheels")
    script = folder / "install.sh"
    script.write_text(INSTALL_SH.format(name=name, python=python, target=target, version=version(),
                                        supported=", ".join(PYTHONS), supported_case="|".join(PYTHONS)))
    script.chmod(0o755)
    archive = out / f"{name}.tar.gz"
    write_tar_gz(folder, archive, epoch)
    count = len(list((folder / "wheels").glob("*.whl")))
    print(f"{archive}: {archive.stat().st_size / 1e6:.1f} MB, {count} wheels")
    return archive


def zipapp(target: str, python: str, out: Path, work: Path) -> Path:
    """A single-file executable for one target and Python, from the same
    wheels as the tarball (installed for that platform, not for this one)."""
    name = f"onsite-{version()}-{target}-{cp(python)}"
    folder = work / name
    site = work / f"{name}-site-packages"
    run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-compile",
         "--find-links", str(folder / "wheels"), "--require-hashes", *platform_args(target, python), "--target", str(site),
         "-r", str(folder / "requirements.txt")], f"installing {name}'s wheels for the .pyz")
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with this machine's python in their first line
    # shiv resolves "installer.cli:main" by importing installer.cli.main first: where that is a
    # module (the cli package), it would call the module. A module of our own names the function.
    (site / "onsite_pyz_main.py").write_text(ENTRY)
    preamble = work / "onsite_python_check.py"
    machines = ("x86_64", "amd64") if target.endswith("x86_64") else ("aarch64", "arm64")
    preamble.write_text(PREAMBLE.format(python=python, name=name, target=target, version=version(), machines=machines,
                                        supported=", ".join(PYTHONS)))
    pyz = out / f"{name}.pyz"
    run([sys.executable, "-m", "shiv", "--site-packages", str(site), "--python", f"/usr/bin/env python{python}",
         "--entry-point", "onsite_pyz_main:main", "--preamble", str(preamble), "--output-file", str(pyz), "--reproducible"],
        f"making {pyz.name} (shiv)")
    print(f"{pyz}: {pyz.stat().st_size / 1e6:.1f} MB, single file (python{python} {pyz.name} --version)")
    return pyz


# -- checksums and signature --------------------------------------------------------


def _bundle_module():
    """onsite's bundle module, whose ed25519 key handling the release reuses
    (installer.bundle, or installer.engine.bundle once the package has layers)."""
    try:
        from installer.engine import bundle
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("installer"):
            raise
        from installer import bundle
    return bundle


def load_sign_key(path: Path):
    """The ed25519 private key, read the way bundles' signing keys are."""
    bundle = _bundle_module()
    try:
        return bundle._load_private_key(path)
    except bundle.ProblemError as exc:
        raise ReleaseError("; ".join(f"{p.message} ({p.hint})" for p in exc.problems)) from None


def write_sums(out: Path, artifacts: list[Path], key) -> list[Path]:
    sums = out / SUMS
    sums.write_text("".join(f"{sha256(p)}  {p.name}\n" for p in sorted(artifacts, key=lambda p: p.name)))
    written = [sums]
    if key is not None:
        import base64

        sig = out / f"{SUMS}.sig"
        sig.write_text(base64.b64encode(key.sign(sums.read_bytes())).decode() + "\n")
        written.append(sig)
    return written


def verify(folder: Path, pubkey: Path | None) -> list[str]:
    """Every file SHA256SUMS names has that hash; with a public key, the
    signature over SHA256SUMS verifies. Returns the problems."""
    sums = folder / SUMS
    if not sums.is_file():
        return [f"{sums} is missing: this folder is not a release"]
    problems = []
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        p = folder / name
        if not p.is_file():
            problems.append(f"{p}: missing (copy it again)")
        elif sha256(p) != digest:
            problems.append(f"{p}: sha256 differs from {SUMS} (damaged or changed: copy it again)")
    if pubkey is not None:
        import base64

        from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

        bundle = _bundle_module()
        sig = folder / f"{SUMS}.sig"
        try:
            bundle._load_public_key(pubkey).verify(base64.b64decode(sig.read_text().strip()), sums.read_bytes())
        except FileNotFoundError:
            problems.append(f"{sig} is missing: the release is not signed")
        except (InvalidSignature, ValueError):
            problems.append(f"{sig} does not verify with {pubkey}: changed after signing, or signed with another key: do not use it")
        except bundle.ProblemError as exc:
            problems.extend(f"{p.message} ({p.hint})" for p in exc.problems)
        except UnsupportedAlgorithm:  # e.g. the private key given for the public one
            problems.append(f"{pubkey} is not an ed25519 public key: use the signing key's .pub file")
    return problems


# -- main ---------------------------------------------------------------------------------


def build(targets: list[str], pythons: list[str], out: Path, sign_key: Path | None, zipapps: bool = True) -> list[Path]:
    key = load_sign_key(sign_key) if sign_key is not None else None  # a bad key stops before the build, not after
    epoch = source_date_epoch()
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # for hatchling and shiv
    out.mkdir(parents=True, exist_ok=True)
    artifacts = []
    with tempfile.TemporaryDirectory(prefix="onsite-release-") as tmp:
        work = Path(tmp)
        sdist, wheel = build_sdist_and_wheel(work / "build")
        shutil.copy(sdist, out)
        artifacts.append(out / sdist.name)
        for target in targets:
            for python in pythons:
                artifacts.append(package(target, python, wheel, out, epoch, work))
                if zipapps:
                    artifacts.append(zipapp(target, python, out, work))
    written = write_sums(out, artifacts, key)
    print(f"{out / SUMS}: {len(artifacts)} files" + ("" if sign_key else " (not signed: no --sign-key or $ONSITE_RELEASE_KEY)"))
    return artifacts + written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", action="append", choices=[*TARGETS, "all"],
                    help="platform to build for (repeatable; default: this machine's)")
    ap.add_argument("--python", action="append", choices=PYTHONS, help="the laptop's CPython (repeatable; default: all)")
    ap.add_argument("-o", "--output", default=str(ROOT / "dist"), help="folder for the artifacts (default: %(default)s)")
    ap.add_argument("--sign-key", default=os.environ.get("ONSITE_RELEASE_KEY") or None,
                    help="ed25519 private key (OpenSSH) that signs SHA256SUMS (default: $ONSITE_RELEASE_KEY)")
    ap.add_argument("--no-zipapp", action="store_true", help="skip the single-file executables")
    ap.add_argument("--verify", metavar="DIR", help="check a release folder's SHA256SUMS (and, with --pubkey, its signature)")
    ap.add_argument("--pubkey", help="the signing key's .pub file, for --verify")
    args = ap.parse_args()
    try:
        if args.verify:
            problems = verify(Path(args.verify), Path(args.pubkey) if args.pubkey else None)
            for p in problems:
                print(f"release: {p}", file=sys.stderr)
            if not problems:
                print(f"{args.verify}: every file matches {SUMS}" + (", signature good" if args.pubkey else " (signature not checked: no --pubkey)"))
            return 1 if problems else 0
        targets = args.target or [host_target() or "linux-x86_64"]
        if "all" in targets:
            targets = list(TARGETS)
        build(targets, args.python or PYTHONS, Path(args.output), Path(args.sign_key) if args.sign_key else None,
              zipapps=not args.no_zipapp)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"release: {exc.name} is not installed for {sys.executable}: run it with the project's venv, "
              ".venv/bin/python scripts/release.py (made by scripts/setup.sh)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))  # installer.bundle's signing, from this checkout
    raise SystemExit(main())
