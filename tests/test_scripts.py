"""Every step script in a bundle passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess

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
