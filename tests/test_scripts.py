"""Every step script in a bundle passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import repo_root

SCRIPTS = sorted(str(p) for folder in ("bundles", "tests/bundles") for p in (repo_root() / folder).rglob("*.sh"))


def test_there_are_scripts():
    assert len(SCRIPTS) >= 20


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: os.path.relpath(s, repo_root()))
def test_shellcheck(script):
    if not shutil.which("shellcheck"):
        if os.environ.get("CI"):
            pytest.fail("CI must run shellcheck (apt-get install shellcheck)")
        pytest.skip("shellcheck is not installed")
    res = subprocess.run(["shellcheck", "-x", "-S", "style", script], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(script)))
    assert res.returncode == 0, res.stdout


# -- the README's commands, as root without sudo and as a user with sudo --------

ENTRY_POINTS = ["scripts/setup.sh", "scripts/try-lab.sh", ".ci/run"]
SHELL_SCRIPTS = sorted(str(p.relative_to(repo_root())) for p in (repo_root() / "scripts").glob("*.sh")) + [".ci/run"]


@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shellcheck_own_scripts(script):
    if not shutil.which("shellcheck"):
        if os.environ.get("CI"):
            pytest.fail("CI must run shellcheck (apt-get install shellcheck)")
        pytest.skip("shellcheck is not installed")
    res = subprocess.run(["shellcheck", "-x", "-S", "style", script], capture_output=True, text=True, cwd=repo_root())
    assert res.returncode == 0, res.stdout


@pytest.mark.parametrize("script", ENTRY_POINTS)
def test_entry_points_need_no_sudo_as_root(script):
    """They reach root through scripts/as-root.sh only: no sudo anywhere else."""
    text = (repo_root() / script).read_text()
    assert '/as-root.sh"' in text
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "sudo" in line.replace("procps sudo tmux", "")], script


def _guarded(tmp_path: Path) -> Path:
    """A script that starts like the entry points and then says who it is."""
    # The guard is copied beside the script: the checkout may sit in a folder
    # only root can read (a 0700 temp folder), and these scripts also run as nobody.
    guard = tmp_path / "as-root.sh"
    shutil.copyfile(repo_root() / "scripts/as-root.sh", guard)
    guard.chmod(0o644)
    script = tmp_path / "guarded.sh"
    script.write_text(f'set -eu\n. "{guard}"\necho "ran as $(id -u): $*"\n')
    script.chmod(0o755)
    return script


def _path_without_sudo(tmp_path: Path, fake_sudo: bool = False) -> str:
    """A PATH with the tools the guard uses and no sudo (as on a fresh Debian 12),
    or with a stand-in sudo that records how it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id", "basename", "dirname", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    if fake_sudo:
        (bin_dir / "sudo").write_text('#!/bin/sh\necho "sudo $*"\n')
        (bin_dir / "sudo").chmod(0o755)
    return str(bin_dir)


def _as_nobody(argv: list[str]) -> list[str]:
    return [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


@pytest.fixture
def root_only():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        if os.environ.get("CI"):
            pytest.fail("CI runs as root with setpriv (util-linux)")
        pytest.skip("needs root to try the guard as root and as another user")


@pytest.fixture
def shared_tmp():
    """A folder another user can read (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="onsite-guard-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_as_root_without_sudo_installed_the_script_runs(root_only, tmp_path):
    script = _guarded(tmp_path)
    env = {"PATH": _path_without_sudo(tmp_path)}
    res = subprocess.run(["bash", str(script), "a", "b c"], capture_output=True, text=True, env=env,
                         executable=shutil.which("bash"))
    assert (res.returncode, res.stdout, res.stderr) == (0, "ran as 0: a b c\n", "")


def test_as_a_user_with_sudo_the_script_runs_itself_again_through_sudo(root_only, shared_tmp):
    tmp_path = shared_tmp
    script = _guarded(tmp_path)
    env = {"PATH": _path_without_sudo(tmp_path, fake_sudo=True)}
    res = subprocess.run(_as_nobody(["bash", str(script), "a", "b"]), capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["sudo", "--", str(Path(env["PATH"]) / "bash"), str(script), "a", "b"]
    assert "running it again through sudo" in res.stderr


def test_as_a_user_without_sudo_the_script_says_what_to_do(root_only, shared_tmp):
    tmp_path = shared_tmp
    script = _guarded(tmp_path)
    env = {"PATH": _path_without_sudo(tmp_path)}
    res = subprocess.run(_as_nobody(["bash", str(script)]), capture_output=True, text=True, env=env)
    assert res.returncode == 3 and res.stdout == ""
    assert "sudo is not installed" in res.stderr and f"su -c 'bash {script}'" in res.stderr
