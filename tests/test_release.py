"""The offline release for linux-x86_64, built from the locks for CPython 3.11,
3.12 and 3.13 (pyenv's, on this machine image): signed sums, reproducible
bytes, names that say the Python, and each artifact installed and run with
its Python in a network namespace with no route (--version, init, validate)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .conftest import repo_root

pytestmark = pytest.mark.slow

NETNS = "osrelease"
PYTHONS = ["3.11", "3.12", "3.13"]
TARGET = "linux-x86_64"
RELEASE = [sys.executable, str(repo_root() / "scripts" / "release.py")]


def _python(version: str) -> str:
    """pyenv's CPython VERSION (CI's image has 3.11, 3.12 and 3.13)."""
    root = os.environ.get("PYENV_ROOT", "/root/.pyenv")
    found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the release on CPython {version}: none under {root}/versions (pyenv install {version})")
        pytest.skip(f"no CPython {version} under {root}/versions")
    return found[-1]


def _version() -> str:
    ns: dict[str, str] = {}
    exec((repo_root() / "src/installer/__init__.py").read_text(), ns)
    return ns["__version__"]


def _name(python: str, ext: str) -> str:
    return f"onsite-{_version()}-{TARGET}-cp{python.replace('.', '')}{ext}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    """An OpenSSH ed25519 key pair, as `ssh-keygen -t ed25519` makes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = tmp_path_factory.mktemp("keys")
    key = Ed25519PrivateKey.generate()
    (folder / "release.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                           serialization.NoEncryption()))
    (folder / "release.key.pub").write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                                           serialization.PublicFormat.OpenSSH))
    return folder / "release.key", folder / "release.key.pub"


@pytest.fixture(scope="module")
def release(tmp_path_factory, keys) -> Path:
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([*RELEASE, "--target", TARGET, "-o", str(out)], capture_output=True, text=True,
                         env={**os.environ, "ONSITE_RELEASE_KEY": str(keys[0])})
    assert res.returncode == 0, res.stdout + res.stderr
    print(res.stdout)
    return out


def test_every_artifact_names_its_python_and_the_sums_are_signed(release):
    names = sorted(p.name for p in release.iterdir())
    expected = sorted([*(_name(v, ext) for v in PYTHONS for ext in (".tar.gz", ".pyz")),
                       f"onsite_installer-{_version()}.tar.gz", "SHA256SUMS", "SHA256SUMS.sig"])
    assert names == expected
    listed = sorted(line.split("  ")[1] for line in (release / "SHA256SUMS").read_text().splitlines())
    assert listed == sorted(set(expected) - {"SHA256SUMS", "SHA256SUMS.sig"})
    res = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=release, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_verify_checks_the_signature_and_catches_a_changed_byte(release, keys, tmp_path):
    good = subprocess.run([*RELEASE, "--verify", str(release), "--pubkey", str(keys[1])], capture_output=True, text=True)
    assert good.returncode == 0 and "signature good" in good.stdout, good.stdout + good.stderr

    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    tarball = copy / _name("3.12", ".tar.gz")
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 1
    tarball.write_bytes(bytes(data))
    bad = subprocess.run([*RELEASE, "--verify", str(copy), "--pubkey", str(keys[1])], capture_output=True, text=True)
    assert bad.returncode == 1 and f"{tarball}: sha256 differs from SHA256SUMS" in bad.stderr

    shutil.copy(release / _name("3.12", ".tar.gz"), tarball)
    (copy / "SHA256SUMS").write_text((copy / "SHA256SUMS").read_text().replace("  onsite_installer", "  ./onsite_installer"))
    forged = subprocess.run([*RELEASE, "--verify", str(copy), "--pubkey", str(keys[1])], capture_output=True, text=True)
    assert forged.returncode == 1 and "SHA256SUMS.sig does not verify" in forged.stderr and "Traceback" not in forged.stderr


def test_the_build_is_reproducible(release, tmp_path):
    """A second build of the same commit gives the same bytes."""
    again = tmp_path / "again"
    res = subprocess.run([*RELEASE, "--target", TARGET, "--python", "3.11", "-o", str(again)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in (_name("3.11", ".tar.gz"), _name("3.11", ".pyz"), f"onsite_installer-{_version()}.tar.gz"):
        assert (again / name).read_bytes() == (release / name).read_bytes(), name


def test_the_tarball_is_normalized(release):
    raw = (release / _name("3.11", ".tar.gz")).read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip header: no time
    with tarfile.open(release / _name("3.11", ".tar.gz")) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert len({m.mtime for m in members}) == 1
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}
    assert {m.name.split("/", 1)[-1] for m in members if m.mode & 0o111 and m.isfile()} == {"install.sh"}


def test_install_sh_names_the_artifact_for_the_python_it_finds(release, tmp_path):
    with tarfile.open(release / _name("3.11", ".tar.gz")) as tar:
        tar.extractall(tmp_path)
    script = tmp_path / _name("3.11", "") / "install.sh"
    res = subprocess.run(["sh", str(script), str(tmp_path / "prefix")], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHON": _python("3.12")})
    assert res.returncode == 3 and not (tmp_path / "prefix").exists()
    assert f"Use {_name('3.12', '.tar.gz')} from the same release" in res.stderr, res.stderr
    pyz = subprocess.run([_python("3.13"), str(release / _name("3.12", ".pyz")), "--version"], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "SHIV_ROOT": str(tmp_path / "shiv")})
    assert pyz.returncode == 3 and _name("3.13", ".pyz") in pyz.stderr and "Traceback" not in pyz.stderr, pyz.stderr


@pytest.fixture
def offline():
    """Run argv in a network namespace with only a downed loopback: no route anywhere."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the release test (needs root for a network namespace)")
        pytest.skip("needs root for a network namespace")
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)

    def run(argv, cwd, env_extra=None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(cwd), "LANG": "C.UTF-8",
               "PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", **(env_extra or {})}
        return subprocess.run(["ip", "netns", "exec", NETNS, *argv], cwd=cwd, env=env, capture_output=True, text=True)

    try:
        assert "default" not in run(["ip", "route"], "/").stdout
        yield run
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)


def _init_and_validate(onsite: list[str], run, folder: Path, env_extra=None) -> None:
    version = run([*onsite, "--version"], folder, env_extra)
    assert version.returncode == 0 and "profile reference" in version.stdout, version.stdout + version.stderr
    init = run([*onsite, "init", "-o", str(folder / "site.yaml")], folder, env_extra)
    assert init.returncode == 0, init.stdout + init.stderr
    check = run([*onsite, "validate", str(folder / "site.yaml")], folder, env_extra)
    assert check.returncode == 0 and "valid" in check.stdout, check.stdout + check.stderr
    bad = run([*onsite, "validate", "/nonexistent.yaml"], folder, env_extra)
    assert bad.returncode == 2 and "file not found" in bad.stdout + bad.stderr


@pytest.mark.lab
@pytest.mark.parametrize("python", PYTHONS)
def test_the_tarball_installs_and_runs_offline(release, offline, tmp_path, python):
    interpreter = _python(python)
    archive = release / _name(python, ".tar.gz")
    print(f"artifact {archive.name}: {archive.stat().st_size / 1e6:.1f} MB")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path)
    res = offline([interpreter, "-c", "import socket; socket.create_connection(('198.18.0.1', 80), 2)"], tmp_path)
    assert "Network is unreachable" in res.stderr  # truly offline
    prefix = tmp_path / "prefix"
    res = offline(["sh", str(tmp_path / _name(python, "") / "install.sh"), str(prefix)], tmp_path, {"PYTHON": interpreter})
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"data: {prefix}/lib/python{python}/" in res.stdout  # read from the installed wheel, not this checkout
    _init_and_validate([str(prefix / "bin" / "onsite")], offline, tmp_path)


@pytest.mark.lab
@pytest.mark.parametrize("python", PYTHONS)
def test_the_single_file_runs_offline(release, offline, tmp_path, python):
    pyz = tmp_path / _name(python, ".pyz")
    shutil.copy(release / pyz.name, pyz)
    print(f"artifact {pyz.name}: {pyz.stat().st_size / 1e6:.1f} MB")
    env = {"SHIV_ROOT": str(tmp_path / "shiv")}
    _init_and_validate([_python(python), str(pyz)], offline, tmp_path, env)
    assert str(tmp_path / "shiv") in offline([_python(python), str(pyz), "--version"], tmp_path, env).stdout
