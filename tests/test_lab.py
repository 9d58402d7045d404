"""The lab: real nodes with real OpenSSH servers, and its fault helpers.

SSH here goes through the OpenSSH client with strict host-key checking
against the lab's known_hosts, so the pinned keys are proven too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from installer import lab as labmod
from installer.cli import main
from installer.lab import Lab, LabError
from installer.model import validate

pytestmark = pytest.mark.lab


def ssh(lab: Lab, node: str, command: str, *, input: bytes | None = None, timeout: float = 30, user: str = "root"):
    n = lab.node(node)
    return subprocess.run(
        ["ssh", "-i", str(lab.key_file), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"{user}@{n.address}", command],
        input=input, capture_output=True, timeout=timeout,
    )


def tcp(address: str, port: int = 22, timeout: float = 1.0) -> str:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return f"error {exc.errno}"


def test_four_nodes_answer_ssh_with_own_hostname_and_host_key(lab):
    seen_names, seen_keys = set(), set()
    for n in lab.nodes:
        out = ssh(lab, n.name, "hostname; ip -4 -o addr show eth0")
        assert out.returncode == 0, out.stderr
        hostname, addr_line = out.stdout.decode().splitlines()[:2]
        assert hostname == n.name
        assert f"inet {n.address}/24" in addr_line
        seen_names.add(hostname)
        seen_keys.add(n.host_key)
    assert len(seen_names) == 4 and len(seen_keys) == 4


def test_answer_file_is_valid_and_pins_the_host_keys(lab):
    result = validate.validate_file(lab.answer_file)
    assert result.ok, [p.render() for p in result.problems]
    plan = result.plan
    for node in plan.nodes:
        ln = lab.node(node.name)
        assert plan.ips[node.address] == ln.address
        assert node.ssh.host_key == ln.host_key
        assert node.ssh.key == str(lab.key_file)
    vip_addresses = {plan.ips["IP5"], plan.ips["IP6"]}
    assert not vip_addresses & {n.address for n in lab.nodes}
    for ref in plan.secrets.values():
        assert ref.startswith("file:")
        assert os.stat(ref[5:]).st_mode & 0o077 == 0
    # The profile's short windows for the lab (its `lab:` section), on components it installs.
    for cname, settings in result.profile.lab_components.items():
        assert settings and all(plan.setting(result.profile, cname, k) == v for k, v in settings.items())
        assert not plan.is_external(cname)


def test_up_again_is_a_no_op(lab):
    before = [(n.name, n.pid, n.host_key) for n in lab.nodes]
    again = Lab(lab.state_dir, name=lab.name)
    assert again.up(nodes=4, subnet=lab.subnet, password_user="deploy") is False
    assert [(n.name, n.pid, n.host_key) for n in again.nodes] == before


def test_another_shape_is_refused_not_destroyed(lab):
    again = Lab(lab.state_dir, name=lab.name)
    with pytest.raises(LabError, match="already up with 4 nodes") as exc:
        again.up(nodes=5, subnet=lab.subnet)
    assert exc.value.exit_code == 2
    assert lab.healthy()


def _build_deb(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/onsite-canary").mkdir(parents=True)
    (root / "usr/share/onsite-canary/marker").write_text("installed\n")
    (root / "DEBIAN/control").write_text(
        "Package: onsite-canary\nVersion: 1.0\nArchitecture: all\nMaintainer: onsite tests <t@example.invalid>\n"
        "Description: canary package for the lab isolation test\n"
    )
    deb = tmp_path / "onsite-canary.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    return deb


def test_dpkg_on_one_node_changes_nothing_elsewhere(lab, tmp_path):
    deb = _build_deb(tmp_path)
    first = lab.nodes[0].name
    out = ssh(lab, first, "cat > /var/tmp/canary.deb && dpkg -i /var/tmp/canary.deb >/dev/null && dpkg -s onsite-canary | grep Status",
              input=deb.read_bytes())
    assert out.returncode == 0, out.stderr
    assert b"install ok installed" in out.stdout
    for n in lab.nodes[1:]:
        other = ssh(lab, n.name, "dpkg -s onsite-canary; test -e /usr/share/onsite-canary/marker")
        assert other.returncode != 0
    host = subprocess.run(["dpkg", "-s", "onsite-canary"], capture_output=True)
    assert host.returncode != 0
    assert not Path("/usr/share/onsite-canary/marker").exists()
    ssh(lab, first, "dpkg --purge onsite-canary >/dev/null")


def test_nodes_cannot_see_host_secrets_or_the_checkout(lab):
    out = ssh(lab, lab.nodes[1].name, f"ls -A {lab.state_dir} /home; test -e {Path(__file__).resolve()} && echo VISIBLE; ls /etc/ssh")
    text = out.stdout.decode()
    assert "id_ed25519" not in text and "VISIBLE" not in text
    assert "ssh_host_rsa_key" not in text  # the host's own host keys are not there
    env = lab.run(lab.nodes[1].name, "tr '\\0' '\\n' < /proc/1/environ").stdout
    assert "ONSITE" not in env


def test_nodes_have_no_route_beyond_the_lab(lab):
    out = ssh(lab, lab.nodes[0].name, "ip -4 route; python3 -c \"import socket; socket.create_connection(('192.0.2.1', 80), 2)\"")
    assert b"default" not in out.stdout
    assert b"Network is unreachable" in out.stderr


def test_run_as_node_root(lab):
    out = lab.run("escape", ["sh", "-c", "hostname; id -u"])
    assert out.stdout.split() == ["escape", "0"]


def test_password_user_exists_only_on_nodes(lab):
    for n in lab.nodes:
        out = lab.run(n.name, "getent passwd deploy && grep -c '^deploy:\\$' /etc/shadow")
        assert out.returncode == 0
    assert subprocess.run(["getent", "passwd", "deploy"], capture_output=True).returncode != 0
    assert os.stat(lab.secret_file("ssh-deploy")).st_mode & 0o077 == 0


def test_stop_and_start_sshd(lab):
    n = lab.nodes[2]
    lab.stop_sshd(n.name)
    try:
        assert tcp(n.address) == "refused"
        assert lab.run(n.name, "hostname").stdout.strip() == n.name  # the node itself lives on
    finally:
        lab.start_sshd(n.name)
    assert ssh(lab, n.name, "true").returncode == 0


def test_cut_and_restore_link(lab):
    n = lab.nodes[3]
    lab.cut_link(n.name)
    try:
        assert tcp(n.address, timeout=1.0) == "timeout"
    finally:
        lab.restore_link(n.name)
    deadline = time.monotonic() + 10
    while tcp(n.address) != "open" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ssh(lab, n.name, "true").returncode == 0


def _send(lab, node, nbytes) -> float:
    t0 = time.monotonic()
    out = ssh(lab, node, "cat > /dev/null", input=b"\0" * nbytes, timeout=60)
    assert out.returncode == 0
    return time.monotonic() - t0


def test_limit_installer_link(lab):
    n = lab.nodes[0].name
    size = 4 << 20  # 4 MiB = 33.5 Mbit
    lab.limit_installer_link("8mbit")  # must take >= ~4 s
    try:
        shown = subprocess.run(["tc", "qdisc", "show", "dev", lab.bridge], capture_output=True, text=True).stdout
        assert "tbf" in shown and "8Mbit" in shown
        limited = _send(lab, n, size)
    finally:
        lab.clear_installer_link()
    free = _send(lab, n, size)
    assert limited > 3.0, f"a 4 MiB send at 8 Mbit/s took only {limited:.2f} s"
    assert free < limited / 3
    # node to node is not limited by the installer's link
    assert "tbf" not in subprocess.run(["tc", "qdisc", "show", "dev", lab.bridge], capture_output=True, text=True).stdout


def test_small_disk_fills_up(lab):
    n = lab.nodes[1].name
    lab.small_disk(n, "/srv/onsite", "4m")
    try:
        lab.fill_disk(n, "/srv/onsite")
        out = ssh(lab, n, "df --output=pcent /srv/onsite | tail -1; echo x > /srv/onsite/more")
        assert out.stdout.decode().strip() == "100%"
        assert b"No space left on device" in out.stderr
    finally:
        lab.release_disk(n, "/srv/onsite")
    assert ssh(lab, n, "echo x > /srv/onsite/more && rm /srv/onsite/more").returncode == 0


def _leftovers(name: str, state: Path) -> list[str]:
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith(f"{name}-")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"link {line.split(':')[1].strip()}" for line in links.splitlines() if f" {name}-" in line]
    mounts = Path("/proc/mounts").read_text()
    found += [f"mount {line}" for line in mounts.splitlines() if str(state) in line]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(state) in cmd:
                found.append(f"process {pid} {cmd[:60]}")
    if state.exists():
        found.append(f"state {state}")
    return found


def test_down_leaves_nothing_behind(tmp_path, lab, capsys):
    """Through the commands a deployer types: up, status, down, status."""
    state = tmp_path / "state"
    where = ["--state-dir", str(state), "--name", "osdown"]
    assert main(["lab", "up", "--nodes", "2", "--subnet", "198.18.102.0/24", *where]) == 0
    assert Lab(state, name="osdown").healthy()
    assert _leftovers("osdown", state)  # the check sees a lab when there is one
    assert main(["lab", "status", *where]) == 0
    out = capsys.readouterr().out
    assert "198.18.102.11" in out and out.count("up, ssh ok") == 2
    assert main(["lab", "down", *where]) == 0
    assert "lab down: " in capsys.readouterr().out
    assert _leftovers("osdown", state) == []
    assert main(["lab", "status", *where]) == 1
    assert "no lab is up" in capsys.readouterr().out


def test_down_after_a_crash_mid_up(tmp_path, lab, monkeypatch):
    state = tmp_path / "state"
    crashing = Lab(state, name="oscrsh")

    def boom(self):
        raise KeyboardInterrupt  # Ctrl-C while waiting for sshd

    monkeypatch.setattr(Lab, "_wait_ssh", boom)
    with pytest.raises(KeyboardInterrupt):
        crashing.up(nodes=2, subnet="198.18.102.0/24")
    assert _leftovers("oscrsh", state) == []
    # and a crash that skipped the cleanup entirely (kill -9): down still finds it all
    monkeypatch.setattr(Lab, "down", lambda self: [])
    with pytest.raises(KeyboardInterrupt):
        Lab(state, name="oscrsh").up(nodes=2, subnet="198.18.102.0/24")
    monkeypatch.undo()
    assert _leftovers("oscrsh", state)
    Lab(state, name="oscrsh").down()
    assert _leftovers("oscrsh", state) == []


def test_subnet_clash_with_host_route_is_refused(tmp_path, lab):
    with pytest.raises(LabError, match="clashes with the host route 198.18.100.0/24") as exc:
        Lab(tmp_path / "s", name="osclsh").up(nodes=1, subnet="198.18.100.0/25")
    assert exc.value.exit_code == 2
    assert _leftovers("osclsh", tmp_path / "s") == []


def test_clear_errors_where_it_cannot_run(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up", "--state-dir", "/nonexistent/x"]) == 3
    assert "run it as root" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setitem(labmod.REQUIRED_TOOLS, "onsite-no-such-tool", "onsite-no-such-package")
    with pytest.raises(LabError, match="onsite-no-such-tool is missing") as exc:
        labmod.check_host()
    assert "apt-get install onsite-no-such-package" in exc.value.hint
    assert exc.value.exit_code == 3


def test_sixteen_nodes_come_up(tmp_path, lab):
    state = tmp_path / "state"
    big = Lab(state, name="os16")
    t0 = time.monotonic()
    try:
        big.up(nodes=16, subnet="198.18.103.0/24")
        took = time.monotonic() - t0
        print(f"16 nodes up in {took:.1f} s")
        assert [s["ssh"] for s in big.status()] == [True] * 16
        names = {big.run(n.name, "hostname").stdout.strip() for n in big.nodes}
        assert len(names) == 16 and len({n.host_key for n in big.nodes}) == 16
        assert validate.validate_file(big.answer_file).ok
    finally:
        big.down()
    assert _leftovers("os16", state) == []
