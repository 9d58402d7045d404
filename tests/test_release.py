"""The offline artifact: built here, then installed and run in a network
namespace with no route, from a fresh folder, with no registry reachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .conftest import repo_root

pytestmark = [pytest.mark.slow, pytest.mark.lab]

NETNS = "osrelease"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    if os.geteuid() != 0 or not shutil.which("ip"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the release test (needs root for a network namespace)")
        pytest.skip("needs root for a network namespace")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(repo_root() / "scripts" / "release.py"), "--target", "linux-x86_64", "-o", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def offline():
    """Run argv in a network namespace with only a downed loopback: no route anywhere."""
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


def _example(folder: Path) -> Path:
    example = folder / "site.yaml"
    shutil.copy(repo_root() / "tests" / "corpus" / "base.yaml", example)
    return example


def test_wheelhouse_installs_and_runs_offline(artifacts, offline, tmp_path):
    [archive] = artifacts.glob("onsite-*-linux-x86_64.tar.gz")
    print(f"artifact {archive.name}: {archive.stat().st_size / 1e6:.1f} MB")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path)
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    prefix = tmp_path / "prefix"
    res = offline(["/usr/bin/python3", "-c", "import socket; socket.create_connection(('198.18.0.1', 80), 2)"], tmp_path)
    assert "Network is unreachable" in res.stderr  # truly offline
    res = offline(["sh", str(folder / "install.sh"), str(prefix)], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    version = offline([str(prefix / "bin" / "onsite"), "--version"], tmp_path)
    assert version.returncode == 0 and "profile reference" in version.stdout
    assert f"data: {prefix}" in version.stdout  # read from the installed wheel, not this checkout
    example = _example(tmp_path)
    check = offline([str(prefix / "bin" / "onsite"), "validate", str(example)], tmp_path)
    assert check.returncode == 0 and "valid" in check.stdout, check.stdout + check.stderr


def test_single_file_zipapp_runs_offline(artifacts, offline, tmp_path):
    [pyz] = artifacts.glob("onsite-*-linux-x86_64.pyz")
    print(f"artifact {pyz.name}: {pyz.stat().st_size / 1e6:.1f} MB")
    local = tmp_path / pyz.name
    shutil.copy(pyz, local)
    version = offline(["/usr/bin/python3", str(local), "--version"], tmp_path, {"SHIV_ROOT": str(tmp_path / "shiv")})
    assert version.returncode == 0, version.stderr
    assert "profile reference" in version.stdout and str(tmp_path / "shiv") in version.stdout
    example = _example(tmp_path)
    check = offline(["/usr/bin/python3", str(local), "validate", str(example)], tmp_path, {"SHIV_ROOT": str(tmp_path / "shiv")})
    assert check.returncode == 0, check.stdout + check.stderr
    bad = offline(["/usr/bin/python3", str(local), "validate", "/nonexistent.yaml"], tmp_path, {"SHIV_ROOT": str(tmp_path / "shiv")})
    assert bad.returncode == 2 and "file not found" in bad.stdout + bad.stderr
