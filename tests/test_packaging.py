"""What pyproject.toml promises about dependencies and what the release is
built from: the lowest versions CI tests are pyproject's lower bounds, and
every release lock pins every dependency within them, by hash."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from .conftest import repo_root


def _dependencies() -> list[Requirement]:
    return [Requirement(d) for d in tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]["dependencies"]]


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_cryptography_is_declared():
    assert "cryptography" in {_norm(r.name) for r in _dependencies()}


def test_constraints_lowest_pins_each_lower_bound():
    pins = _pins(repo_root() / "constraints-lowest.txt")
    for req in _dependencies():
        [floor] = [s.version for s in req.specifier if s.operator == ">="]
        assert _norm(req.name) in pins, f"constraints-lowest.txt lacks {req.name}"
        assert Version(pins[_norm(req.name)]) == Version(floor), f"{req.name}: pyproject says >={floor}, constraints-lowest.txt {pins[_norm(req.name)]}"
    assert set(pins) == {_norm(r.name) for r in _dependencies()}


LOCKS = sorted((repo_root() / "locks").glob("*.txt"))


def test_a_lock_per_target_and_python():
    names = {p.name for p in LOCKS}
    assert names == {f"{t}-cp{v}.txt" for t in ("linux-x86_64", "linux-aarch64") for v in ("311", "312", "313")}


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_each_lock_pins_every_dependency_within_pyproject_by_hash(lock):
    text = lock.read_text()
    pins = _pins(lock)
    for req in _dependencies():
        assert _norm(req.name) in pins, f"{lock.name} lacks {req.name}: run scripts/lock.py"
        assert Version(pins[_norm(req.name)]) in req.specifier, f"{lock.name}: {req.name}=={pins[_norm(req.name)]} is outside {req}"
    tested = _pins(repo_root() / "constraints.txt")
    assert not {n: v for n, v in pins.items() if n in tested and tested[n] != v}, f"{lock.name} differs from constraints.txt: run scripts/lock.py"
    entries = re.findall(r"^\S+==\S+ \\\n    --hash=sha256:[0-9a-f]{64}$", text, re.M)
    assert len(entries) == len(pins) >= 15, "every pin carries one sha256"


# -- the wheel comes from the sdist: nothing .gitignore'd gets in ---------------------

PLANTED = ["bundles/reference/payload/kubernetes.tar.gz", "bundles/base/signing.key", "bundles/reference/id_ed25519",
           "schemas/stray.deb", "src/installer/__pycache__/stray.cpython-311.pyc", "screens/leftover.tar"]


def _source_files() -> list[str]:
    res = subprocess.run(["git", "-C", str(repo_root()), "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in res.stdout.splitlines() if (repo_root() / f).is_file()]


@pytest.mark.slow
def test_the_wheel_is_built_from_the_sdist_and_holds_exactly_the_package_and_its_data(tmp_path):
    """A copy of the tree with ignored files planted where they would hurt (a
    vendor payload, keys under bundles/): the release's build path leaves them
    out of the sdist and so out of the wheel, and the wheel holds every
    source file of the package and every data file, nothing else."""
    sys.path.insert(0, str(repo_root() / "scripts"))
    import release

    files = _source_files()
    tree = tmp_path / "tree"
    for f in files:
        (tree / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo_root() / f, tree / f)
    for f in PLANTED:
        (tree / f).parent.mkdir(parents=True, exist_ok=True)
        (tree / f).write_bytes(b"must never ship")
    sdist, wheel = release.build_sdist_and_wheel(tmp_path / "out", root=tree)

    with tarfile.open(sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert not in_sdist & set(PLANTED)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    dist_info = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    expected = {f"installer/{f.removeprefix('src/installer/')}" for f in files if f.startswith("src/installer/")}
    expected |= {f"installer/_data/{f}" for f in files if f.split("/")[0] in ("schemas", "screens", "bundles")}
    assert names - dist_info == expected, (sorted((names - dist_info) - expected), sorted(expected - (names - dist_info)))
    assert not [n for n in names if n.endswith((".key", ".tar.gz", ".deb", ".pyc", ".tar")) or "id_ed25519" in n or "/payload/" in n]
    assert {"installer/__init__.py", "installer/_data/schemas/answer-file.v1.schema.json", "installer/_data/bundles/base/bundle.yaml",
            "installer/locale/zh_CN.po"} <= names  # the Chinese catalogue (installer.model.i18n)
    assert any(n.endswith("entry_points.txt") for n in dist_info)
