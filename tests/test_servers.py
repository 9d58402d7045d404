"""Servers as customers have them: hardened sshd (MaxSessions 1, short
algorithm lists, RSA-only host keys), Debian's stock sshd, a login shell that
prints on every command, sudo users with and without a password and with
requiretty. The reference install and `onsite verify` run on one lab whose
nodes mix these kinds, so each condition is really exercised by the install:

    node1   hardened sshd (aes256-gcm/aes256-ctr), RSA host key only; logs in as
            `admin`, sudo with a password, requiretty, no cached timestamp
    node2   hardened sshd with aes256-ctr only (so HMAC-SHA2-512), RSA host key
            only; root, zsh login shell
    node3   Debian's stock sshd_config with ed25519, ECDSA and RSA host keys, the
            ECDSA key pinned; logs in as `ops`, sudo NOPASSWD
    escape  Debian's stock sshd_config, RSA host key only; root
    every node: a login shell that prints a notice on stdout and stderr

Its own lab (name osserv, 198.18.140.0/24) with the reference bundles, apart
from the session's shared lab.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle, preflight
from installer.lab import Lab, LabError, ServerKind
from installer.model import validate
from installer.remote.ssh_paramiko import _Framed, connect
from installer.remote.transport import Endpoint, Segment, TransportError

from .conftest import _need_lab, build_reference_bundles, ssh_connections

KINDS = {
    "node1": ServerKind(sshd="hardened", noisy=True, sudo_user="admin", sudo="requiretty"),
    "node2": ServerKind(sshd="hardened", ciphers="aes256-ctr", noisy=True, shell="/bin/zsh"),
    "node3": ServerKind(sshd="stock", host_keys=("ed25519", "ecdsa", "rsa"), pin="ecdsa", noisy=True,
                        sudo_user="ops", sudo="nopasswd"),
    "escape": ServerKind(sshd="stock", host_keys=("rsa",), noisy=True),
}
NOISE_LINE = "authorised use only"


# -- without a lab ----------------------------------------------------------------


def test_framing_splits_noise_from_output_across_any_chunking():
    marks = [b"-=S=-", b"-=B=-\n", b"-=E=-"]
    stream = b"welcome\nnotice-=S=-[sudo] pw:-=B=-\nline 1\nline 2 -=E -=E=-bye\n"
    for size in (1, 2, 3, 7, len(stream)):
        got = bytearray()
        f = _Framed(marks, got.extend)
        for i in range(0, len(stream), size):
            f.feed(stream[i:i + size])
        f.finish()
        assert bytes(got) == b"line 1\nline 2 -=E "
        assert f.noise_text() == "welcome\nnoticebye\n"
        assert f.sudo_text() == "[sudo] pw:"


def test_server_kinds_are_checked():
    assert ServerKind(sshd="hardened").host_keys == ("rsa",)
    with pytest.raises(LabError, match="cannot pin a ecdsa"):
        ServerKind(host_keys=("ed25519",), pin="ecdsa")
    with pytest.raises(LabError, match="sudo mode"):
        ServerKind(sudo="always")


# -- the lab ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(lab, answer file): the mixed lab."""
    _need_lab()
    lock = open("/run/onsite-test-serverslab.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = tmp_path_factory.mktemp("serverslab") / "state"
    lab = Lab(state, name="osserv")
    try:
        lab.up(nodes=4, subnet="198.18.140.0/24", servers=list(KINDS.values()), password_user="deploy")
        yield lab, lab.answer_file
    finally:
        lab.down()
        lock.close()


@pytest.fixture(scope="module")
def with_bundles(servers):
    """The reference bundles next to the lab's answer file (apt downloads the packages)."""
    build_reference_bundles(servers[1])
    return servers


def endpoint(lab: Lab, node: str, **changes) -> Endpoint:
    n = lab.node(node)
    kind = lab.kind(n)
    pw = lab.secret_file(f"sudo-{kind.sudo_user}").read_text().strip() if kind.sudo_user and kind.sudo != "nopasswd" else None
    ep = Endpoint(node=n.name, host=n.address, user=kind.sudo_user or "root", key_path=str(lab.key_file),
                  host_key=n.host_key, sudo_password=pw)
    return dataclasses.replace(ep, **changes)


def test_the_lab_makes_the_servers_asked_for(servers):
    lab, answer = servers
    sshd = {n: lab.run(n, ["/usr/sbin/sshd", "-T", "-f", "/etc/ssh/sshd_config"]).stdout for n in KINDS}
    assert "maxsessions 1\n" in sshd["node1"] and "ciphers aes256-gcm@openssh.com,aes256-ctr\n" in sshd["node1"]
    assert "ciphers aes256-ctr\n" in sshd["node2"] and "hostkeyalgorithms rsa-sha2-512,rsa-sha2-256\n" in sshd["node2"]
    assert "maxsessions 10\n" in sshd["node3"] and "maxstartups 10:30:100\n" in sshd["node3"]
    assert lab.run("escape", "ls /etc/ssh/ | grep host_ | sort").stdout.split() == ["ssh_host_rsa_key", "ssh_host_rsa_key.pub"]
    plan = validate.validate_file(answer).plan
    assert [(n.name, n.ssh.user, bool(n.ssh.sudo_password)) for n in plan.nodes] == [
        ("node1", "admin", True), ("node2", "root", False), ("node3", "ops", False), ("escape", "root", False)]


def test_preflight_reports_each_server_as_found(servers):
    lab, answer = servers
    v = validate.validate_file(answer)
    with ssh_connections(v.plan) as conns:
        report = preflight.run(v.plan, v.profile, conns)
    got = {(r.node, r.check): r for r in report.results}
    assert report.ok, [(r.node, r.check, r.detail) for r in report.blockers]
    for n in KINDS:
        print(f"{n}: " + " | ".join(f"{c}: {got[(n, c)].status} {got[(n, c)].detail}"
                                     for c in ("sessions", "algorithms", "shell", "sudo")))
    for n in ("node1", "node2"):
        assert got[(n, "sessions")].status == "warn" and "allows 1 session per connection" in got[(n, "sessions")].detail
    assert "allows 10 sessions per connection" in got[("node3", "sessions")].detail  # Debian's MaxSessions
    assert "cipher aes256-gcm@openssh.com" in got[("node1", "algorithms")].detail
    assert "host key rsa-sha2-512" in got[("node1", "algorithms")].detail
    assert "cipher aes256-ctr, MAC hmac-sha2-512" in got[("node2", "algorithms")].detail
    assert "host key ecdsa-sha2-nistp256" in got[("node3", "algorithms")].detail  # the pinned one, not the first offered
    assert "aes128-gcm@openssh.com: onsite's fastest" in got[("escape", "algorithms")].detail
    for n in KINDS:
        assert got[(n, "shell")].status == "warn" and NOISE_LINE in got[(n, "shell")].detail
    assert got[("node1", "sudo")].detail.startswith("sudo asks for the password and needs a terminal")
    assert got[("node3", "sudo")].detail.startswith("sudo without a password (NOPASSWD)")
    assert got[("node2", "sudo")].detail.startswith("logged in as root")


# Where each secret must be on a node after the reference install (files the
# services read; the seed marks hold hashes only). Nowhere else: not in a
# step's env file, a log, a bundle, a unit, a daemon's environment or argv.
MUST_HOLD = {
    "postgres_superuser": {"/etc/patroni/config.yml", "/var/lib/postgresql/.pgpass.patroni"},
    "postgres_replication": {"/etc/patroni/config.yml", "/var/lib/postgresql/.pgpass.patroni"},
    "redis_password": {"/etc/redis/redis.conf", "/etc/redis/sentinel.conf",
                       "/etc/default/prometheus-redis-exporter"},  # 0600: the exporter's only way in
    "radius_shared_secret": {"/etc/freeradius/3.0/clients.conf", "/etc/keepalived/onsite-health.env"},
    "ssh": set(),  # the SSH and sudo password of `deploy`: only its hash in /etc/shadow
}


def _canaries(lab: Lab, answer) -> dict[str, str]:
    """Distinctive values for every secret: the plan's, and escape logging in
    as `deploy` with an SSH password that is also its sudo password."""
    import secrets as pysecrets

    from installer.model import answerfile

    values = {}
    loaded = validate.validate_file(answer)
    for name in loaded.plan.secrets:
        values[name] = f"Canary-{name}-{pysecrets.token_hex(6)}"
        lab.secret_file(name).write_text(values[name] + "\n")
    values["ssh"] = f"Canary-ssh-{pysecrets.token_hex(6)}"
    lab.secret_file("ssh-deploy").write_text(values["ssh"] + "\n")
    lab.run("escape", ["chpasswd"], input=f"deploy:{values['ssh']}\n")
    node = loaded.plan.node("escape")
    node.ssh.user, node.ssh.auth, node.ssh.key = "deploy", "password", None
    node.ssh.password = node.ssh.sudo_password = f"file:{lab.secret_file('ssh-deploy')}"
    answerfile.write(loaded.plan, answer, loaded.profile)
    return values


# The daemons that must hold a secret in their environment (need to know):
# the Redis exporter reads the password only from there.
DAEMON_NEEDS = {"redis_password": "prometheus-redis-exporter"}


class _ProcessWatch(threading.Thread):
    """Every second, every process's argv and environment on every node:
    a secret may sit only in the environment of a step or a verify check
    (ONSITE_STEP or ONSITE_CHECK set) and their tools, or of the daemon that
    needs it (DAEMON_NEEDS); never in argv."""

    SCAN = r"""for p in /proc/[0-9]*; do
        c=$(tr '\0' ' ' < $p/cmdline 2>/dev/null); e=$(tr '\0' '\n' < $p/environ 2>/dev/null)
        printf '@@ %s\n%s\n@@ENV\n%s\n' "${p#/proc/}" "$c" "$e"; done"""

    def __init__(self, lab: Lab, canaries: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.lab, self.canaries, self.stop = lab, canaries, threading.Event()
        self.found: list[str] = []
        self.scans = 0

    def run(self) -> None:
        while not self.stop.wait(1.0):
            for n in self.lab.nodes:
                out = self.lab.run(n.name, ["bash", "-c", self.SCAN], check=False, timeout=30).stdout
                self.scans += 1
                for block in out.split("@@ ")[1:]:
                    head, _, env = block.partition("\n@@ENV\n")
                    pid, _, argv = head.partition("\n")
                    for name, value in self.canaries.items():
                        if value in argv:
                            self.found.append(f"{n.name} pid {pid}: {name} in argv: {argv[:120]}")
                        needs = DAEMON_NEEDS.get(name)
                        script = "ONSITE_STEP=" in env or "ONSITE_CHECK=" in env
                        if value in env and not script and not (needs and needs in argv):
                            self.found.append(f"{n.name} pid {pid}: {name} in the environment of {argv[:120]}")


def test_reference_install_and_verify_on_servers_as_customers_have_them(with_bundles, capsys, tmp_path):
    lab, answer = with_bundles
    canaries = _canaries(lab, answer)
    watch = _ProcessWatch(lab, canaries)
    watch.start()
    t0 = time.monotonic()
    try:
        rc = main(["install", str(answer), "--plain"])
    finally:
        watch.stop.set()
        watch.join(timeout=60)
    out = capsys.readouterr().out
    took = time.monotonic() - t0
    print(out[-3000:])
    assert rc == 0, out[-3000:]
    assert "install complete" in out and "verify passed" in out
    [folder] = [p for p in (answer.parent / "onsite-journal").iterdir() if p.is_dir()]
    steps = json.loads((folder / "journal.json").read_text())["steps"]
    assert {r["status"] for r in steps.values()} == {"done"}, {k: r for k, r in steps.items() if r["status"] != "done"}
    assert not any("may or may not" in (r.get("message") or "") for r in steps.values())
    report = json.loads(sorted(folder.glob("verify-*.json"))[-1].read_text())
    assert report["ok"], [c for c in report["checks"] if c["status"] != "ok"]
    # The login shells' notices are kept in the step logs, apart from the output.
    logs = list((folder / "logs").rglob("*.log"))
    assert any(f"[noise] *** {n}: {NOISE_LINE}" in p.read_text() for p in logs for n in KINDS)
    # The sudo password is answered to sudo's prompt only: in no log, no file of the journal.
    pw = lab.secret_file("sudo-admin").read_text().strip()
    assert not any(pw in p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
    print(f"reference install + verify on the mixed lab (hardened MaxSessions 1, stock, noisy, sudo+requiretty, "
          f"RSA-only, an SSH password login): {took:.0f} s")

    # -- the canaries: each only where it must be --------------------------------
    assert watch.scans >= 8 and watch.found == [], watch.found[:10]
    assert main(["support-bundle", str(answer), "-o", str(tmp_path / "support.tar.gz")]) == 0
    import tarfile

    with tarfile.open(tmp_path / "support.tar.gz") as tar:
        packed = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    for name, value in canaries.items():
        assert value.encode() not in packed, f"{name} in the support bundle"
    _nowhere_on_the_installer(canaries, [answer, *folder.rglob("*")], out)
    for (node, name), held in _held_on_nodes(lab, canaries).items():
        assert held <= MUST_HOLD[name], f"{node}: {name} in {sorted(held - MUST_HOLD[name])}"


def _nowhere_on_the_installer(canaries: dict[str, str], paths, screen: str) -> None:
    """No canary on the screen or in any of the files among `paths`."""
    files = [p for p in paths if p.is_file()]
    for name, value in canaries.items():
        assert value not in screen, f"{name} on the screen"
        for p in files:
            assert value not in p.read_text(errors="replace"), f"{name} in {p}"


def _held_on_nodes(lab: Lab, canaries: dict[str, str]) -> dict[tuple[str, str], set[str]]:
    """Per (node, secret): the files on the node holding its canary, as paths on the node
    (its overlay's upper layer), and files of its home folder as paths on this machine."""
    found = {}
    for n in lab.nodes:
        upper = Path(n.dir) / "upper"
        for name, value in canaries.items():
            res = subprocess.run(["grep", "-rlF", "--", value, str(upper), str(Path(n.dir) / "home")],
                                 capture_output=True, text=True)
            found[(n.name, name)] = {"/" + str(Path(f).relative_to(upper)) if f.startswith(str(upper)) else f
                                     for f in res.stdout.split()}
    return found


def _canaries_set(lab: Lab, answer) -> dict[str, str]:
    """The canary values the install test above wrote (read back from the lab's secret files)."""
    values = {name: lab.secret_file(name).read_text().strip() for name in validate.validate_file(answer).plan.secrets}
    values["ssh"] = lab.secret_file("ssh-deploy").read_text().strip()
    assert all(v.startswith("Canary-") for v in values.values()), "needs the install test before it"
    return values


def test_switchover_and_uninstall_on_the_same_servers_leave_no_secret_behind(with_bundles, capsys, tmp_path):
    """The day-2 verbs through hardened sshd (MaxSessions 1), sudo with a password
    and requiretty, noisy shells and an SSH password login: a switchover of the
    PostgreSQL leader, then an uninstall. The secrets stay where they must while
    it runs (argv and environments watched), and after the uninstall no node
    holds any of them, nor does anything onsite wrote on the installer."""
    lab, answer = with_bundles
    canaries = _canaries_set(lab, answer)
    watch = _ProcessWatch(lab, canaries)
    watch.start()
    t0 = time.monotonic()
    try:
        rc = main(["switchover", str(answer), "postgres", "--yes", "--plain"])
        out = capsys.readouterr()
        assert rc == 0, (out.out + out.err)[-3000:]
        assert "verify passed" in out.out + out.err
        t1 = time.monotonic()
        rc = main(["uninstall", str(answer), "--yes", "--plain"])
        out2 = capsys.readouterr()
        assert rc == 0, (out2.out + out2.err)[-3000:]
        assert "nothing left on node1, node2, node3, escape" in out2.out + out2.err
    finally:
        watch.stop.set()
        watch.join(timeout=60)
    print(f"switchover postgres {t1 - t0:.0f} s, uninstall {time.monotonic() - t1:.0f} s on the mixed lab")
    assert watch.scans >= 8 and watch.found == [], watch.found[:10]
    written = [answer, *(answer.parent / "onsite-journal").rglob("*")]
    assert any("operations" in p.parts for p in written)  # the day-2 journals are searched too
    _nowhere_on_the_installer(canaries, written, out.out + out.err + out2.out + out2.err)
    for (node, name), held in _held_on_nodes(lab, canaries).items():
        assert held == set(), f"{node}: {name} left in {sorted(held)}"


def test_a_nopasswd_user_never_receives_the_sudo_password(servers):
    lab, _ = servers
    t = connect(endpoint(lab, "node3", sudo_password="canary-not-for-nopasswd"))
    try:
        assert t.run(["id", "-u"]).stdout == "0\n"
        assert t.run(["cat"]).stdout == ""  # sudo asked nothing, so nothing was sent
        assert t.run(["sh", "-c", 'cat > "$1"; cat "$1"', "x", "/var/tmp/envfile"], stdin=b"A=1\n").stdout == "A=1\n"
        assert t.facts.sudo == "nopasswd"
    finally:
        t.close()


def test_sudo_with_password_and_requiretty_passes_every_byte(servers, tmp_path):
    lab, _ = servers
    data = bytes(range(256)) * 2048 + b"\x03\x04\x1a\r\n\x7f"  # terminal control bytes included
    t = connect(endpoint(lab, "node1"))
    try:
        res = t.run(["sh", "-c", 'cat > /var/tmp/bin; sha256sum < /var/tmp/bin; id -u'], stdin=data)
        import hashlib

        assert res.stdout.split() == [hashlib.sha256(data).hexdigest(), "-", "0"], res
        assert t.facts.sudo == "password+tty"
        t.get("/var/tmp/bin", tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == data
        src = tmp_path / "src"
        src.write_bytes(data)
        res = t.put_stream(["sh", "-c", "cat > /var/tmp/put; sha256sum < /var/tmp/put"], [Segment(data=b"head"), Segment(path=src, length=len(data))])
        assert res.stdout.split()[0] == hashlib.sha256(b"head" + data).hexdigest()
        # every command above was asked for the password (no cached timestamp) and answered once
    finally:
        t.close()
    with pytest.raises(TransportError) as exc:
        connect(endpoint(lab, "node1", sudo_password="wrong-password")).run(["true"])
    assert exc.value.kind == "sudo-refused" and "refused the password" in exc.value.message
    assert "wrong-password" not in exc.value.message + exc.value.hint


def test_max_sessions_1_parallel_commands_all_finish(servers):
    lab, _ = servers
    for max_links in (4, 1):  # more connections, or one and a queue
        t = connect(endpoint(lab, "node2"), max_links=max_links)
        try:
            results, errors = [], []

            def job(i: int) -> None:
                try:
                    results.append(t.run(["sh", "-c", 'sleep 0.3; echo "$1"', "x", str(i)]).stdout.strip())
                except TransportError as exc:  # pragma: no cover - the failure this test guards against
                    errors.append(exc)

            threads = [threading.Thread(target=job, args=(i,)) for i in range(10)]
            t0 = time.monotonic()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            print(f"max_links {max_links}: 10 commands of 0.3 s in {time.monotonic() - t0:.1f} s over {t.facts.connections} connections")
            assert not errors and sorted(results, key=int) == [str(i) for i in range(10)]
            assert t.facts.session_limit == 1 and t.facts.connections <= max_links
        finally:
            t.close()


def test_dash_and_zsh_login_shells(servers):
    lab, _ = servers
    try:
        for shell in ("/bin/dash", "/bin/zsh"):
            lab.run("node3", ["usermod", "-s", shell, "ops"])
            t = connect(endpoint(lab, "node3"))
            try:
                assert t.run(["sh", "-c", 'printf "%s|" "$@"; id -u', "x", "a b", "'q'", "$(x)"]).stdout == "a b|'q'|$(x)|0\n"
            finally:
                t.close()
    finally:
        lab.run("node3", ["usermod", "-s", "/bin/bash", "ops"])


def test_no_common_algorithm_names_what_each_side_has(servers):
    lab, _ = servers
    conf = lab.run("escape", ["cat", "/etc/ssh/sshd_config"]).stdout
    try:
        lab.run("escape", ["sh", "-c", 'cat > /etc/ssh/sshd_config'], input="Ciphers chacha20-poly1305@openssh.com\n" + conf)
        lab.stop_sshd("escape")
        lab.start_sshd("escape")
        with pytest.raises(TransportError) as exc:
            connect(endpoint(lab, "escape")).close()
        msg = exc.value.message
        assert exc.value.kind == "protocol"
        assert "share no cipher" in msg and "offers chacha20-poly1305@openssh.com" in msg and "aes128-gcm@openssh.com" in msg
        assert "Ciphers" in exc.value.hint
    finally:
        lab.run("escape", ["sh", "-c", 'cat > /etc/ssh/sshd_config'], input=conf)
        lab.stop_sshd("escape")
        lab.start_sshd("escape")


def test_relay_between_hardened_and_rsa_only_nodes(servers, tmp_path):
    lab, answer = servers
    from installer.engine import relay

    src = tmp_path / "src"
    (src / "payload").mkdir(parents=True)
    (src / "bundle.yaml").write_text("name: relaytest\nversion: 1.0.0\ncomponents: ['*']\n")
    (src / "payload/blob").write_bytes(bytes(range(256)) * 4096)
    b = bundle.build(src, tmp_path / "out")
    v = validate.validate_file(answer)
    with ssh_connections(v.plan) as conns:
        rep = relay.relay_push(v.plan, v.profile, [b], conns, nodes=["node2", "escape"])
    assert rep.report.ok and rep.fallback == {} and sorted(rep.relayed) == ["escape", "node2"], rep


def test_lab_up_options_make_such_a_server(tmp_path, capsys):
    _need_lab()
    where = ["--state-dir", str(tmp_path / "lab"), "--name", "ossrv1"]
    assert main(["lab", "up", "--nodes", "1", "--subnet", "198.18.142.0/24", "--host-keys", "dsa", *where]) == 2
    assert "host keys dsa" in capsys.readouterr().err
    try:
        assert main(["lab", "up", "--nodes", "1", "--subnet", "198.18.142.0/24", "--sshd", "hardened", "--noisy-shell",
                     "--sudo-user", "admin", "--sudo", "requiretty", "--login-shell", "/bin/zsh", *where]) == 0
        out = capsys.readouterr().out
        assert "(hardened sshd, rsa host key, noisy shell, shell /bin/zsh, login admin + sudo requiretty)" in out
        lab = Lab(tmp_path / "lab", name="ossrv1")
        t = connect(endpoint(lab, "node1"))
        try:
            res = t.run(["sh", "-c", "id -u; ps -o comm= -p $PPID"])
            assert res.stdout.split()[0] == "0" and "authorised use only" in res.noise
            assert t.facts.sudo == "password+tty" and t.facts.host_key_type.startswith("rsa-sha2")
        finally:
            t.close()
    finally:
        assert main(["lab", "down", *where]) == 0


def test_a_user_sudo_refuses_is_named_after_one_try_with_a_terminal(servers):
    lab, _ = servers
    rule = lab.run("node3", ["cat", "/etc/sudoers.d/onsite-lab-login"]).stdout
    try:
        # no rule for ops, and nothing to authenticate: sudo refuses at once, without a prompt
        lab.run("node3", ["sh", "-c", "cat > /etc/sudoers.d/onsite-lab-login"], input="Defaults:ops !authenticate\n")
        t = connect(endpoint(lab, "node3"))
        try:
            for _ in range(2):  # the terminal is tried once only
                with pytest.raises(TransportError) as exc:
                    t.run(["id", "-u"])
                assert exc.value.kind == "sudo-refused" and "sudoers" in exc.value.message, exc.value.message
                assert "sudo rights" in exc.value.hint
            assert t.run(["id", "-un"], sudo=False).stdout == "ops\n"  # the login itself still works
        finally:
            t.close()
    finally:
        lab.run("node3", ["sh", "-c", "cat > /etc/sudoers.d/onsite-lab-login"], input=rule)
