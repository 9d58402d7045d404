"""Push on the lab: resume, skip, verify, and the faults of issue #4."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle, push
from installer.engine.events import TransferProgress

from .conftest import lab_validation, ssh_connections

pytestmark = pytest.mark.lab


def make_bundle(tmp_path: Path, name: str, files: dict[str, int | bytes], components=("*",)) -> bundle.Bundle:
    src = tmp_path / f"src-{name}"
    src.mkdir()
    (src / "bundle.yaml").write_text(f"name: {name}\nversion: 1.0.0\ncomponents: {list(components)!r}\n")
    for rel, content in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):
            with open(p, "wb") as fh:
                for _ in range(content // (1 << 20)):
                    fh.write(os.urandom(1 << 20))
                fh.write(os.urandom(content % (1 << 20)))
        else:
            p.write_bytes(content)
    return bundle.build(src, tmp_path / f"out-{name}")


def remote_sha(lab, node: str, path: str) -> str:
    res = lab.run(node, ["sh", "-c", 'sha256sum < "$1" 2>/dev/null || echo missing', "x", path], check=False)
    return res.stdout.split()[0]


def local_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def part_size(lab, node: str, path: str) -> int:
    out = lab.run(node, ["sh", "-c", 'stat -c %s "$1" 2>/dev/null || echo 0', "x", path + ".part"], check=False).stdout
    return int(out.strip() or 0)


def clean(lab, b: bundle.Bundle) -> None:
    for n in lab.nodes:
        lab.run(n.name, ["rm", "-rf", f"{push.REMOTE_ROOT}/{b.id}"], check=False)


def push_and_check(lab, plan, profile, b: bundle.Bundle, node: str) -> push.PushReport:
    """Push `b` to one node; every file is there under its final name, with its hash."""
    with ssh_connections(plan) as conns:
        report = push.push(plan, profile, [b], conns, nodes=[node])
    assert report.ok, report.problems
    for f in b.files:
        assert remote_sha(lab, node, push.remote_path(b, f)) == f.sha256
    return report


def test_push_to_all_nodes_then_repeat_sends_nothing(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "allnodes", {"payload/a.bin": 3 << 20, "payload/small.txt": b"hi\n"})
    clean(lab, b)
    events = []
    with ssh_connections(v.plan) as conns:
        report = push.push(v.plan, v.profile, [b], conns, listener=events.append)
    assert report.ok, report.problems
    assert report.sent_bytes == 4 * b.total_bytes
    for n in lab.nodes:
        for f in b.files:
            assert remote_sha(lab, n.name, push.remote_path(b, f)) == f.sha256
    assert any(isinstance(e, TransferProgress) for e in events)
    with ssh_connections(v.plan) as conns:
        again = push.push(v.plan, v.profile, [b], conns)
    assert again.ok and again.sent_bytes == 0
    assert all(r.files_skipped == 2 for r in again.results.values())


def test_bundles_go_only_where_their_components_run(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "etcdonly", {"x": b"etcd payload"}, components=("etcd",))
    clean(lab, b)
    with ssh_connections(v.plan) as conns:
        report = push.push(v.plan, v.profile, [b], conns)
    assert report.ok
    assert remote_sha(lab, "escape", push.remote_path(b, b.files[0])) == "missing"
    assert remote_sha(lab, "node1", push.remote_path(b, b.files[0])) == b.files[0].sha256


def test_hostile_file_names_run_nothing(lab, tmp_path):
    v = lab_validation(lab)
    names = {"$(touch /tmp/canary-a).txt": b"1", "`touch /tmp/canary-b`": b"2", "x; touch /tmp/canary-c": b"3",
             "quote'\"s and spaces": b"4"}
    b = make_bundle(tmp_path, "hostile", names)
    clean(lab, b)
    push_and_check(lab, v.plan, v.profile, b, "node1")
    assert lab.run("node1", "ls /tmp/canary-* 2>/dev/null | wc -l").stdout.strip() == "0"


def _push_in_thread(v, b, node, **options):
    box = {}

    def go():
        with ssh_connections(v.plan, **options) as conns:
            box["report"] = push.push(v.plan, v.profile, [b], conns, nodes=[node])

    th = threading.Thread(target=go)
    th.start()
    return th, box


def _wait_for_part(lab, node, path, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    while part_size(lab, node, path) < at_least:
        assert time.monotonic() < deadline, "the upload did not start"
        time.sleep(0.05)


def test_sshd_killed_mid_upload_then_push_resumes(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "resume", {"big.bin": 48 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    lab.limit_installer_link("100mbit")  # ~4 s for 48 MiB: time to pull the plug
    try:
        th, box = _push_in_thread(v, b, "node2")
        _wait_for_part(lab, "node2", target, 8 << 20)
        lab.stop_sshd("node2")
        th.join(60)
    finally:
        lab.clear_installer_link()
        lab.start_sshd("node2")
    first = box["report"].results["node2"]
    assert first.problem is not None and first.problem.code == "ssh-dropped", first.problem
    assert first.problem.node == "node2" and "resumes" in first.problem.hint
    left = part_size(lab, "node2", target)
    assert 0 < left < b.files[0].size
    assert remote_sha(lab, "node2", target) == "missing"  # no final-named partial file
    with ssh_connections(v.plan) as conns:
        second = push.push(v.plan, v.profile, [b], conns, nodes=["node2"])
    r = second.results["node2"]
    assert r.problem is None and r.resumed_files == 1
    assert r.sent_bytes == b.files[0].size - left
    assert remote_sha(lab, "node2", target) == local_sha(b.root / b.files[0].path)


def test_link_cut_mid_upload_is_a_clear_error_within_the_watchdog_time(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "cut", {"big.bin": 48 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    lab.limit_installer_link("100mbit")
    try:
        th, box = _push_in_thread(v, b, "node3", keepalive=1, dead_after=3, stall_timeout=3)
        _wait_for_part(lab, "node3", target, 4 << 20)
        lab.cut_link("node3")
        t0 = time.monotonic()
        th.join(30)
        took = time.monotonic() - t0
    finally:
        lab.restore_link("node3")
        lab.clear_installer_link()
    p = box["report"].results["node3"].problem
    assert p is not None and p.code == "ssh-dropped"
    assert took < 8, f"took {took:.1f} s to notice"
    assert remote_sha(lab, "node3", target) == "missing"


def test_not_enough_space_is_refused_before_sending(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "nospace", {"big.bin": 12 << 20})
    clean(lab, b)
    lab.small_disk("escape", push.REMOTE_ROOT, "8m")
    try:
        with ssh_connections(v.plan) as conns:
            report = push.push(v.plan, v.profile, [b], conns, nodes=["escape"])
        p = report.results["escape"].problem
        assert p is not None and p.code == "push-disk-space"
        assert "needs" in p.message and p.node == "escape"
        assert report.results["escape"].sent_bytes == 0
    finally:
        lab.release_disk("escape", push.REMOTE_ROOT)


def test_disk_full_mid_write_leaves_no_final_file(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "diskfull", {"big.bin": 24 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    lab.small_disk("escape", push.REMOTE_ROOT, "48m")
    lab.limit_installer_link("100mbit")
    try:
        th, box = _push_in_thread(v, b, "escape")
        _wait_for_part(lab, "escape", target, 2 << 20)
        lab.fill_disk("escape", push.REMOTE_ROOT)  # someone else fills the disk meanwhile
        th.join(60)
        p = box["report"].results["escape"].problem
        assert p is not None and p.code == "push-disk-full", p
        assert "filled up" in p.message
        assert remote_sha(lab, "escape", target) == "missing"
        assert part_size(lab, "escape", target) == 0  # the partial copy was removed
    finally:
        lab.clear_installer_link()
        lab.release_disk("escape", push.REMOTE_ROOT)


def test_changed_host_key_refuses_push(lab, tmp_path):
    text = lab.answer_file.read_text().replace(lab.node("node1").host_key, lab.node("node2").host_key, 1)
    answer = tmp_path / "site.yaml"
    answer.write_text(text)
    b = make_bundle(tmp_path, "hk", {"x": b"x"})
    assert main(["push", str(answer), "--bundle", str(b.root), "--only", "node1"]) == 1


def test_cli_push_pins_new_host_keys(lab, tmp_path, capsys):
    import re

    text = re.sub(r"\n      host_key: SHA256:\S+", "", lab.answer_file.read_text())
    answer = tmp_path / "site.yaml"
    answer.write_text(text)
    b = make_bundle(tmp_path, "pin", {"x": b"x"})
    assert main(["push", str(answer), "--bundle", str(b.root), "--only", "escape"]) == 1
    err = capsys.readouterr()
    assert "not pinned" in err.out + err.err and lab.node("escape").host_key in err.out + err.err
    assert main(["push", str(answer), "--bundle", str(b.root), "--accept-new-host-keys"]) == 0
    out = capsys.readouterr().out
    assert f"pinned host key of escape: {lab.node('escape').host_key}" in out
    assert (tmp_path / "site.yaml.bak").exists()
    assert main(["push", str(answer), "--bundle", str(b.root)]) == 0  # now pinned: no flag needed


def test_node_without_python_or_openssl_still_gets_verified_files(lab, tmp_path):
    """The receiver falls back to cat and a second pass with sha256sum."""
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "nopython", {"a.bin": 3 << 20})
    clean(lab, b)
    hide = "for t in python3 openssl; do p=$(command -v $t) && mv $p $p.hidden; done; true"
    show = "for p in /usr/bin/python3.hidden /usr/bin/openssl.hidden; do [ -e $p ] && mv $p ${p%.hidden}; done; true"
    lab.run("node3", hide)
    try:
        assert lab.run("node3", "command -v python3 openssl || echo none").stdout.strip() == "none"
        push_and_check(lab, v.plan, v.profile, b, "node3")
    finally:
        lab.run("node3", show)


def interrupt_when(condition, timeout: float = 30) -> threading.Thread:
    """Ctrl-C (SIGINT to this process) once `condition()` holds."""
    import signal

    def watch():
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    return th


def test_ctrl_c_mid_push_stops_at_once_and_the_next_push_resumes(lab, tmp_path, capsys):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "ctrlc", {"big.bin": 64 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    lab.limit_installer_link("100mbit")  # ~5.5 s per node alone, 4 nodes sharing: far from done when Ctrl-C comes
    try:
        interrupt_when(lambda: part_size(lab, "node1", target) >= (2 << 20))
        t0 = time.monotonic()
        rc = main(["push", str(lab.answer_file), "--bundle", str(b.root), "--direct"])
        took = time.monotonic() - t0
    finally:
        lab.clear_installer_link()
    assert rc == 130 and "interrupted" in capsys.readouterr().err
    assert took < 10, f"Ctrl-C took effect after {took:.1f} s"
    # the receivers write what was already on its way, see their stream end, and exit
    deadline = time.monotonic() + 10
    while any(lab.run(n.name, "pgrep -f '^python3 -c' || true").stdout.strip() for n in lab.nodes):
        assert time.monotonic() < deadline, "a receiver is still running 10 s after Ctrl-C"
        time.sleep(0.1)
    parts = {n.name: part_size(lab, n.name, target) for n in lab.nodes}
    assert all(0 <= size < b.files[0].size for size in parts.values()) and parts["node1"] > 0
    assert all(remote_sha(lab, n.name, target) == "missing" for n in lab.nodes)
    with ssh_connections(v.plan) as conns:
        again = push.push(v.plan, v.profile, [b], conns)
    assert again.ok, again.problems
    assert again.results["node1"].resumed_files == 1
    assert again.sent_bytes == 4 * b.files[0].size - sum(parts.values())
    assert {remote_sha(lab, n.name, target) for n in lab.nodes} == {b.files[0].sha256}


def test_push_as_a_sudo_user_with_a_password(lab, tmp_path):
    """sudo -S reads its password line from stdin; the receiver's header and
    files follow it on the same stream, byte for byte."""
    v = lab_validation(lab)
    ssh = v.plan.node("node2").ssh
    ssh.user, ssh.auth = "deploy", "password"
    ssh.password = ssh.sudo_password = f"file:{lab.secret_file('ssh-deploy')}"
    b = make_bundle(tmp_path, "sudo", {"a.bin": (3 << 20) + 5, "b/c.txt": b"after the password\n"})
    clean(lab, b)
    push_and_check(lab, v.plan, v.profile, b, "node2")
    owner = lab.run("node2", ["stat", "-c", "%U", push.remote_path(b, b.files[0])]).stdout.strip()
    assert owner == "root"
