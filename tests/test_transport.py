"""The SSH transport against the lab's real OpenSSH servers."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from installer.lab import Lab
from installer.remote.ssh_paramiko import connect
from installer.remote.transport import Endpoint, TransportError, sh_join, sh_script

pytestmark = pytest.mark.lab


def endpoint(lab: Lab, node: str = "node1", **changes) -> Endpoint:
    n = lab.node(node)
    ep = Endpoint(node=n.name, host=n.address, key_path=str(lab.key_file), host_key=n.host_key)
    return dataclasses.replace(ep, **changes)


def fails(kind: str, ep: Endpoint, **options) -> TransportError:
    with pytest.raises(TransportError) as exc:
        connect(ep, **options).close()
    assert exc.value.kind == kind, f"{exc.value.kind}: {exc.value.message}"
    assert exc.value.hint
    return exc.value


def test_run_streams_lines_and_exit_status(lab):
    t = connect(endpoint(lab))
    try:
        lines = []
        res = t.run(["sh", "-c", "echo one; echo two; echo oops >&2; exit 7"], on_stdout=lines.append)
        assert (res.exit_status, res.stdout, res.stderr) == (7, "one\ntwo\n", "oops\n")
        assert lines == ["one", "two"]
        assert t.run(["cat"], stdin=b"x" * 300_000).stdout == "x" * 300_000  # both streams drained, large stdin
        assert t.run(["hostname"]).stdout.strip() == "node1"
    finally:
        t.close()


def test_get_copies_a_binary_file_exactly(lab, tmp_path):
    data = bytes(range(256)) * 4096 + b"\n\x00\xff tail"
    t = connect(endpoint(lab))
    try:
        assert t.run(["sh", "-c", 'cat > "$1"', "x", "/var/tmp/get-test.bin"], stdin=data).ok
        t.get("/var/tmp/get-test.bin", tmp_path / "copy.bin")
        assert (tmp_path / "copy.bin").read_bytes() == data
        with pytest.raises(TransportError, match="cannot read /nonexistent"):
            t.get("/nonexistent", tmp_path / "missing.bin")
        assert not (tmp_path / "missing.bin").exists() and not (tmp_path / "missing.bin.part").exists()
    finally:
        t.close()


def test_values_are_quoted_never_interpreted(lab, tmp_path):
    hostile = "a b; touch /tmp/canary-1 $(touch /tmp/canary-2) `touch /tmp/canary-3` '\"\\ \n*"
    t = connect(endpoint(lab))
    try:
        assert t.run(["printf", "%s", hostile]).stdout == hostile
        assert t.run(sh_script('printf %s "$1"', hostile)).stdout == hostile
        assert t.run(["sh", "-c", "ls /tmp/canary-* 2>/dev/null | wc -l"]).stdout.strip() == "0"
    finally:
        t.close()
    assert sh_join(["echo", "$(id)"]) == "echo '$(id)'"


def test_remote_command_timeout(lab):
    t = connect(endpoint(lab))
    try:
        t0 = time.monotonic()
        with pytest.raises(TransportError) as exc:
            t.run(["sleep", "30"], timeout=1)
        assert exc.value.kind == "command-timeout"
        assert time.monotonic() - t0 < 10
        assert t.run(["sh", "-c", "pgrep -x sleep || echo none"]).stdout.strip() == "none"  # killed on the node too
        assert t.run(["true"]).ok  # the connection is still usable
        # A command's own exit status 124 (a check that ran `timeout` itself)
        # is its result, not the transport's timeout.
        assert t.run(["sh", "-c", "exit 124"], timeout=60).exit_status == 124
    finally:
        t.close()


def test_unknown_host_key_is_refused_and_can_be_accepted(lab):
    err = fails("host-key-unknown", endpoint(lab, host_key=None))
    assert lab.node("node1").host_key in err.message
    t = connect(endpoint(lab, host_key=None), accept_new_host_key=True)
    assert t.host_key_was_new and t.seen_host_key == lab.node("node1").host_key
    t.close()


def test_changed_host_key_is_always_refused(lab):
    other = lab.node("node2").host_key
    err = fails("host-key-changed", endpoint(lab, host_key=other), accept_new_host_key=True)
    assert other in err.message and lab.node("node1").host_key in err.message
    assert "answer file" in err.hint


def test_known_hosts_is_trusted_when_nothing_is_pinned(lab):
    t = connect(endpoint(lab, host_key=None, known_hosts=str(lab.known_hosts)))
    assert t.run(["true"]).ok
    t.close()


def test_key_auth_failure(lab, tmp_path):
    key = tmp_path / "other"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {key}")
    err = fails("auth-failed", endpoint(lab, key_path=str(key)))
    assert "refused the key" in err.message


def _password(lab):
    return lab.secret_file("ssh-deploy").read_text().strip()


def _failed_password_lines(lab, node):
    return lab.run(node, "grep -c 'Failed password' /var/log/sshd.log || true").stdout.strip()


def test_wrong_password_is_one_clear_error(lab):
    before = int(_failed_password_lines(lab, "node2"))
    err = fails("auth-failed", endpoint(lab, "node2", user="deploy", auth="password", password="wrong-password"))
    assert "refused the password for user deploy" in err.message
    assert "wrong-password" not in err.message + err.hint
    time.sleep(0.3)
    assert int(_failed_password_lines(lab, "node2")) == before + 1  # no retry loop


def test_password_login_with_sudo_password_on_stdin(lab):
    pw = _password(lab)
    t = connect(endpoint(lab, "node2", user="deploy", auth="password", password=pw, sudo_password=pw))
    try:
        assert t.run(["id", "-un"], sudo=False).stdout.strip() == "deploy"
        assert t.run(["id", "-un"]).stdout.strip() == "root"
        # while sudo runs, its password is not in any process's argv
        res = t.run(["sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; sleep 0.1"])
        assert pw not in res.stdout
        assert t.run(["cat"], stdin=b"payload after the password\n").stdout == "payload after the password\n"
    finally:
        t.close()


def test_sudo_without_password_is_refused_clearly(lab):
    t = connect(endpoint(lab, "node2", user="deploy", auth="password", password=_password(lab)))
    try:
        with pytest.raises(TransportError) as exc:
            t.run(["id", "-u"])
        assert exc.value.kind == "sudo-refused"
        assert "sudo_password" in exc.value.hint
    finally:
        t.close()


def test_refused_when_sshd_is_down(lab):
    lab.stop_sshd("node3")
    try:
        fails("refused", endpoint(lab, "node3"))
    finally:
        lab.start_sshd("node3")


def test_timeout_when_link_is_cut(lab):
    lab.cut_link("escape")
    try:
        t0 = time.monotonic()
        fails("timeout", endpoint(lab, "escape"), connect_timeout=2)
        assert time.monotonic() - t0 < 5
    finally:
        lab.restore_link("escape")


def test_unreachable_address(lab):
    free = str(lab.nodes[-1].address).rsplit(".", 1)[0] + ".250"
    fails("unreachable", Endpoint(node="ghost", host=free, key_path=str(lab.key_file)), connect_timeout=8)


def test_banner_timeout_on_a_silent_port(lab):
    lab.run("node1", "setsid python3 -c \"import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            "s.bind(('0.0.0.0', 2222)); s.listen(); c=s.accept(); time.sleep(30)\" >/dev/null 2>&1 < /dev/null &")
    time.sleep(0.5)
    try:
        t0 = time.monotonic()
        fails("banner-timeout", endpoint(lab, port=2222), banner_timeout=2)
        assert time.monotonic() - t0 < 8
    finally:
        lab.run("node1", "pkill -f 'bind..0.0.0.0., 2222' || true", check=False)


def test_watchdog_closes_a_dead_connection(lab):
    t = connect(endpoint(lab, "node3"), keepalive=1, dead_after=2)
    lab.cut_link("node3")
    try:
        t0 = time.monotonic()
        with pytest.raises(TransportError) as exc:
            t.run(["sleep", "20"], timeout=60)
        assert exc.value.kind == "dropped"
        assert "stopped answering" in exc.value.message
        assert time.monotonic() - t0 < 10
    finally:
        lab.restore_link("node3")
        t.close()
