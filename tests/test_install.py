"""onsite install on the lab with the runner test bundle (11 steps, several
roles): a full install, a second run that changes nothing, a failing step,
Ctrl-C once and twice, a hung step, a node whose sshd dies, a changed plan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle
from installer.engine.journal import Journal

from .conftest import journal_folder

pytestmark = pytest.mark.lab

STEPS_PER_RUN = 33  # instances of the 11 steps on the 4 lab nodes


def journal_of(site: Path) -> Journal:
    return Journal.load(journal_folder(site))


def runs(lab) -> Counter:
    out = Counter()
    for n in lab.nodes:
        text = lab.run(n.name, "cat /var/lib/onsite-test/runs.log 2>/dev/null || true").stdout
        out.update(tuple(line.split()) for line in text.splitlines() if line.strip())
    return out


def install(site: Path, bundle_dir: Path, *extra: str) -> int:
    return main(["install", str(site), "--bundle", str(bundle_dir), "--skip-preflight", *extra])


def test_full_install_then_a_second_run_changes_nothing(lab, site, runner_bundle, capsys):
    assert main(["install", str(site), "--bundle", str(runner_bundle)]) == 0  # with preflight
    out = capsys.readouterr().out
    assert "preflight:" in out and f"install complete: {STEPS_PER_RUN} steps ran" in out
    first = runs(lab)
    assert first[("node1", "cluster-init")] == 1 and first[("node2", "cluster-init")] == 0  # once per cluster
    assert first[("escape", "escape-setup")] == 1 and first[("node1", "escape-setup")] == 0  # by role
    assert first[("node2", "flaky")] == 2  # idempotent, retried once
    assert sum(1 for k in first if k[1] == "base") == 4
    # need to know: the step of a component gets that component's secrets, others none
    assert lab.run("node1", "cat /var/lib/onsite-test/secrets-seen.secret-use").stdout.split() == \
        ["ONSITE_SECRET_POSTGRES_SUPERUSER"]
    for n in lab.nodes:
        assert lab.run(n.name, "cat /var/lib/onsite-test/secrets-seen.hosts").stdout.strip() == ""
    j = journal_of(site)
    assert j.complete and j.data["finished"]
    # serial: no two joins overlapped
    spans = sorted((j.data["steps"][f"{n}/join"]["started"], j.data["steps"][f"{n}/join"]["ended"]) for n in ("node1", "node2", "node3"))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    # the plan reached the scripts through the env file, which is gone afterwards
    conf = lab.run("node2", "cat /var/lib/onsite-test/etcd.conf").stdout
    assert f"listen-client-urls=http://{lab.node('node2').address}:2379" in conf
    assert lab.run("node2", "ls /var/lib/onsite/run/ 2>/dev/null | wc -l").stdout.strip() == "0"
    # the secret never reached a log, the journal or argv; the script saw it
    secret = Path(lab.secret_file("postgres_superuser")).read_text().strip()
    for log in (j.folder / "logs").rglob("*.log"):
        assert secret not in log.read_text()
    assert "connecting with password ********" in (j.folder / "logs" / "node1" / "secret-use.log").read_text()
    assert secret not in j.file.read_text()

    # a second run: every check passes, no script runs
    assert install(site, runner_bundle) == 0
    assert f"0 steps ran, {STEPS_PER_RUN} already in place" in capsys.readouterr().out
    assert runs(lab) == first

    # status and the support bundle
    assert main(["status", str(site)]) == 0
    assert "complete" in capsys.readouterr().out
    tarball = site.parent / "support.tar.gz"
    assert main(["support-bundle", str(site), "-o", str(tarball)]) == 0
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert "plan.yaml" in names and "versions.json" in names and "journal/journal.json" in names
    assert "journal/logs/node1/secret-use.log" in names and "journal/preflight.json" in names
    assert secret.encode() not in blob


def test_failing_step_then_resume(lab, site, runner_bundle, capsys):
    # the step prints what fail-here holds: terminal escapes (a title, clear screen) and a bidi override
    lab.run("node2", "mkdir -p /var/lib/onsite-test && printf 'evil \\033]0;owned\\007 \\033[2J \\342\\200\\256x\\n' "
                     "> /var/lib/onsite-test/fail-here")
    assert install(site, runner_bundle) == 1
    out, err = capsys.readouterr()
    assert "FAILED: step may-fail on node node2: exited with status 3" in err
    assert "boom: /var/lib/onsite-test/fail-here is set" in err  # the log's tail
    # what a node prints reaches the terminal as visible escapes, never raw; the step's log keeps it as printed
    assert r"evil \x1b]0;owned\x07 \x1b[2J \u202ex" in err
    assert not {"\x1b", "\x07", "\u202e"} & set(out + err)
    log = (journal_folder(site) / "logs" / "node2" / "may-fail.log").read_text()
    assert "evil \x1b]0;owned\x07 \x1b[2J \u202ex" in log
    assert "log: " in err and "may-fail.log" in err
    assert "onsite install --resume" in err
    j = journal_of(site)
    assert j.status("node2/may-fail") == "failed" and j.data["steps"]["node2/may-fail"]["exit_code"] == 3
    assert j.status("node1/slow") == "pending"  # nothing new started after the failure
    before = runs(lab)
    # without --resume, an unfinished install is not silently started over
    assert install(site, runner_bundle) == 2
    assert "--resume" in capsys.readouterr().err
    lab.run("node2", "rm /var/lib/onsite-test/fail-here")
    assert install(site, runner_bundle, "--resume") == 0
    after = runs(lab)
    for key, count in before.items():
        if key != ("node2", "may-fail"):
            assert after[key] == count, f"{key} ran again on resume"
    assert after[("node2", "may-fail")] == 2
    assert journal_of(site).complete


def _start(site: Path, bundle_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "installer", "install", str(site), "--bundle", str(bundle_dir),
                             "--skip-preflight"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_running(site: Path, key: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if journal_of(site).status(key) == "running":
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{key} never started")


def test_ctrl_c_once_lets_running_steps_finish(lab, site, runner_bundle):
    for n in ("node1", "node2", "node3"):
        lab.run(n, "mkdir -p /var/lib/onsite-test && echo 3 > /var/lib/onsite-test/sleep")
    proc = _start(site, runner_bundle)
    _wait_running(site, "node1/slow")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping" in err and "--resume" in err
    assert "Traceback" not in err
    j = journal_of(site)
    assert j.status("node1/slow") == "done"  # finished, not killed
    assert j.status("node1/finish") == "pending"
    assert install(site, runner_bundle, "--resume") == 0
    assert journal_of(site).complete


def test_ctrl_c_twice_aborts_and_resume_completes(lab, site, runner_bundle):
    for n in ("node1", "node2", "node3"):
        lab.run(n, "mkdir -p /var/lib/onsite-test && echo 4 > /var/lib/onsite-test/sleep")
    proc = _start(site, runner_bundle)
    _wait_running(site, "node1/slow")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "aborting" in err and "Traceback" not in err
    j = journal_of(site)
    assert j.status("node1/slow") == "unknown"
    assert "running" not in {r["status"] for r in j.data["steps"].values()}
    time.sleep(1)
    # the aborted step was stopped on the node, not left running
    assert lab.run("node1", "pgrep -f 'steps/[s]low.sh' || echo none").stdout.strip() == "none"
    assert "slow" not in lab.run("node1", "cat /var/lib/onsite-test/runs.log").stdout
    for n in ("node1", "node2", "node3"):
        lab.run(n, "echo 0 > /var/lib/onsite-test/sleep")
    assert install(site, runner_bundle, "--resume") == 0
    assert journal_of(site).complete


def test_hung_step_times_out_then_resume(lab, site, runner_bundle, capsys):
    lab.run("node3", "mkdir -p /var/lib/onsite-test && echo 60 > /var/lib/onsite-test/sleep")
    t0 = time.monotonic()
    assert install(site, runner_bundle) == 1
    assert time.monotonic() - t0 < 40
    err = capsys.readouterr().err
    assert "FAILED: step slow on node node3: timed out after 6 s and was stopped" in err
    assert lab.run("node3", "pgrep -x sleep || echo none").stdout.strip() == "none"
    lab.run("node3", "echo 0 > /var/lib/onsite-test/sleep")
    assert install(site, runner_bundle, "--resume") == 0


def test_sshd_dies_mid_install_then_resume(lab, site, runner_bundle, capsys):
    lab.run("node1", "mkdir -p /var/lib/onsite-test && echo 4 > /var/lib/onsite-test/sleep")
    proc = _start(site, runner_bundle)
    try:
        _wait_running(site, "node1/slow")
        lab.stop_sshd("node1")
        out, err = proc.communicate(timeout=90)
    finally:
        lab.start_sshd("node1")
    assert proc.returncode == 1, err
    assert "step slow on node node1" in err and "may or may not have finished" in err
    assert "Traceback" not in err
    assert journal_of(site).status("node1/slow") == "unknown"
    lab.run("node1", "echo 0 > /var/lib/onsite-test/sleep")
    assert install(site, runner_bundle, "--resume") == 0
    assert journal_of(site).complete


def test_changed_plan_is_detected_and_explained(lab, site, runner_bundle, capsys):
    lab.run("node2", "mkdir -p /var/lib/onsite-test && touch /var/lib/onsite-test/fail-here")
    assert install(site, runner_bundle) == 1
    site.write_text(site.read_text().replace("interval: 2", "interval: 3", 1))
    assert install(site, runner_bundle, "--resume") == 2
    err = capsys.readouterr().err
    assert "the plan changed since this install began" in err and "vips[0].check.interval" in err
    lab.run("node2", "rm -f /var/lib/onsite-test/fail-here")


def test_dry_run_connects_to_nothing(lab, site, runner_bundle, capsys):
    lab.cut_link("node1")
    try:
        assert install(site, runner_bundle, "--dry-run") == 0
    finally:
        lab.restore_link("node1")
    out = capsys.readouterr().out
    assert f"{STEPS_PER_RUN} step runs on 4 nodes" in out
    assert "node1      cluster-init" in out
    assert not (site.parent / "onsite-journal").exists()


def test_only_and_from(lab, site, runner_bundle, capsys):
    assert install(site, runner_bundle, "--only", "escape") == 0
    r = runs(lab)
    assert r[("escape", "finish")] == 1 and r[("node1", "base")] == 0
    assert install(site, runner_bundle, "--only", "nodeX") == 2
    assert install(site, runner_bundle, "--from", "no-such-step") == 2
    assert "no such step" in capsys.readouterr().err


def test_bad_step_declarations_are_reported(tmp_path, lab, site):
    src = tmp_path / "src"
    (src / "steps").mkdir(parents=True)
    (src / "steps" / "a.sh").write_text("true\n")
    (src / "bundle.yaml").write_text(json.dumps({
        "name": "bad", "version": "1", "components": ["*"],
        "steps": [
            {"id": "a", "script": "steps/a.sh", "depends_on": ["b"]},
            {"id": "b", "script": "steps/a.sh", "depends_on": ["a"]},
            {"id": "c", "script": "steps/missing.sh", "retries": 2, "roles": ["nope"]},
        ]}))
    out = tmp_path / "out"
    bundle.build(src, out)
    from installer.engine.steps import load_steps
    from installer.model.problems import ProblemError
    from installer.model.profile import load_profile

    with pytest.raises(ProblemError) as exc:
        load_steps([bundle.load(out)], set(load_profile("reference").roles))
    text = " | ".join(p.message for p in exc.value.problems)
    assert "unknown role 'nope'" in text and "'steps/missing.sh' is not a file" in text
    assert "retries are only allowed" in str([p.message for p in exc.value.problems])
    os.unlink(out / "manifest.yaml")
