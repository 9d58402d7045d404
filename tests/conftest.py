"""Shared fixtures. The `lab` fixture brings up a real multi-node lab once per
test session (network namespaces with real OpenSSH servers) and always tears
it down, also on Ctrl-C or a failing test.

Lab tests need root and the lab's tools. Outside CI they are skipped with the
reason when those are missing; in CI (CI=true) a missing lab is an error, so a
green CI run always includes them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from installer.lab import Lab, LabError, check_host
from installer.model.i18n import language_of, set_language

TEST_LAB_NAME = "ostest"
TEST_LAB_SUBNET = "198.18.100.0/24"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch):
    """Keep the developer's own lab out of the tests."""
    monkeypatch.delenv("ONSITE_LAB_DIR", raising=False)


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Tests read English unless they choose a language (--lang, OnsiteApp(lang=),
    set_language, or an environment of their own): a developer's
    LANG=zh_CN.UTF-8 must not change what the English assertions see (main()
    follows the environment when --lang is not given), and a Chinese test
    must not leak into the next."""
    if language_of(os.environ.get("LC_ALL")) != "en":
        monkeypatch.delenv("LC_ALL")
    monkeypatch.setenv("LC_MESSAGES", "C.UTF-8")
    set_language("en")
    yield
    set_language("en")


def _need_lab() -> None:
    try:
        check_host()
    except LabError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the lab tests: {exc.message} ({exc.hint})")
        pytest.skip(f"lab not available: {exc.message}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    _need_lab()
    # Lab names and subnets are fixed: two test runs on one machine would
    # tear down each other's nodes, so the second waits for the first.
    import fcntl

    lock = open("/run/onsite-test-lab.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = tmp_path_factory.mktemp("lab") / "state"
    lab = Lab(state, name=TEST_LAB_NAME)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):  # a killed test run still cleans up
        lab.down()
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    try:
        lab.up(nodes=4, subnet=TEST_LAB_SUBNET, password_user="deploy")
        yield lab
    finally:
        lab.down()
        signal.signal(signal.SIGTERM, previous)
        lock.close()


@pytest.fixture
def lab_node_names(lab) -> list[str]:
    return [n.name for n in lab.nodes]


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def lab_validation(lab):
    from installer.model import validate

    result = validate.validate_file(lab.answer_file)
    assert result.ok, [p.render() for p in result.problems]
    return result


def ssh_connections(plan, **options):
    """Connections over real SSH; options go to SshTransport (timeouts)."""
    from installer.remote.connections import Connections
    from installer.remote.ssh_paramiko import connect

    return Connections(plan, lambda ep: connect(ep, **options))


def runner_site(lab, answer: Path) -> Path:
    """The lab's plan with every component of the profile marked external:
    the runner bundle installs none of them (the install refuses a plan
    whose components no bundle serves)."""
    from installer.model import answerfile, validate

    answer.write_text(lab.answer_file.read_text())
    loaded = validate.validate_file(answer)
    for comp in loaded.profile.components:
        loaded.plan.components.setdefault(comp, {})["external"] = True
    answerfile.write(loaded.plan, answer, loaded.profile)
    return answer


RUNNER_BUNDLE_SRC = Path(__file__).parent / "bundles" / "runner"


@pytest.fixture(scope="module")
def runner_bundle(tmp_path_factory) -> Path:
    """The runner test bundle (tests/bundles/runner), built once per module."""
    from installer.engine import bundle

    out = tmp_path_factory.mktemp("bundle") / "runner-test"
    bundle.build(RUNNER_BUNDLE_SRC, out)
    return out


@pytest.fixture
def site(lab, tmp_path) -> Path:
    """A fresh answer file for the runner bundle (its journal lands beside
    it) and nodes cleaned of what an earlier test left: its marks, env
    files and node lock."""
    for n in lab.nodes:
        lab.run(n.name, "rm -rf /var/lib/onsite-test /var/lib/onsite/run /var/lib/onsite/lock", check=False)
    return runner_site(lab, tmp_path / "site.yaml")


def journal_folder(answer: Path) -> Path:
    """The one journal folder next to an answer file (the site lock beside it is a file)."""
    [folder] = [p for p in (answer.parent / "onsite-journal").iterdir() if p.is_dir()]
    return folder


def build_reference_bundles(answer: Path) -> None:
    """The base and reference bundles in bundles/ next to an answer file, the
    reference one filled with its Debian packages through `onsite bundle
    add-debs`, as a deployer types it (apt downloads them)."""
    from installer.cli import main
    from installer.engine import bundle

    bundles = answer.parent / "bundles"
    bundle.build(repo_root() / "bundles/base", bundles / "base")
    bundle.build(repo_root() / "bundles/reference", bundles / "reference")
    packages = [w for line in (repo_root() / "bundles/reference/debs.txt").read_text().splitlines()
                for w in line.split("#")[0].split()]
    assert main(["bundle", "add-debs", str(bundles / "reference"), *packages]) == 0

