"""A lab of real Linux hosts on this one machine (`onsite lab ...`).

Each node is a network namespace on a bridge, with its own hostname (UTS
namespace), process table (PID namespace, a small init as PID 1), mounts and a
copy-on-write root filesystem: an overlay whose lower layer is the host's `/`
and whose upper layer is the node's own folder, so `dpkg -i` on one node
changes nothing elsewhere. Each runs a real OpenSSH server on port 22 with a
fresh host key; root logs in with a key pair the lab generates. Nodes have no
route beyond the lab subnet, as on an air-gapped site.

The host owns only: the bridge (holding the gateway address), one veth per
node, the namespaces and the state folder. Mounts live inside the nodes' own
mount namespaces and vanish with them, so `down` cannot leave a mount behind.

The Python API (`Lab`) is what the tests use to inject faults: stop/start a
node's sshd, cut/restore its link, limit the installer's own link rate, give a
folder a small disk and fill it, run a command on a node as its root.

Decisions:
- state lives in /var/lib/onsite/lab (or $ONSITE_LAB_DIR, or --state-dir),
  mode 0700; it holds the lab's private key and secrets, hidden from nodes.
- `up` is idempotent: a healthy lab of the same shape is left as it is; a
  broken or half-made one is torn down and made again; a healthy lab of
  another shape is refused (run `down` first) rather than destroyed.
- the first nodes take the profile's node names (node1, node2, node3,
  escape); further nodes are node5, node6, ...
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..model import answerfile
from ..model.plan import VipCheck
from ..model.profile import load_profile
from ..remote import hostkeys

DEFAULT_STATE_DIR = Path("/var/lib/onsite/lab")
DEFAULT_SUBNET = "198.18.0.0/24"
DEFAULT_NAME = "onsite"
FIRST_HOST = 11  # node i gets subnet address .11 + i
SSH_WAIT_S = 20.0

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "tc": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "mount": "mount",
    "ssh-keygen": "openssh-client",
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/python3": "python3",
}

NODE_INIT = r"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
subprocess.run(["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config", "-E", "/var/log/sshd.log"])
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.5)
"""

# Runs as PID 1 of the node's new PID namespace, inside its network namespace
# and a private mount namespace: builds the root and becomes the node's init.
NODE_SETUP = r"""
set -eu
name=$1 dir=$2; shift 2
mount --make-rprivate /
hostname "$name"
root=$dir/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$dir/home" "$root/root"
for hide in "$@"; do
    if [ -d "$root$hide" ]; then mount -t tmpfs -o size=64k,mode=0755 tmpfs "$root$hide"; fi
done
mkdir -p "$root/run/sshd"
for key in "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub; do
    # the host's own keys show through the overlay: keep only the node's
    [ -e "$dir/upper/etc/ssh/${key##*/}" ] || rm -f "$key"
done
exec chroot "$root" /usr/bin/python3 -c "$NODE_INIT"
"""


DEFAULT_PROFILE = "reference"


def _whiteout(upper: Path, path: str) -> None:
    """Hide host `path` from a node: parents copied with their owner and mode
    (an upper folder's attributes win over the host's), then a 0/0 device."""
    if not os.path.lexists(path):
        return
    parts = Path(path).parts[1:]
    for k in range(1, len(parts)):
        host = Path("/", *parts[:k])
        mine = upper.joinpath(*parts[:k])
        if not mine.exists():
            st = host.stat()
            mine.mkdir()
            os.chown(mine, st.st_uid, st.st_gid)
            os.chmod(mine, st.st_mode & 0o7777)
    target = upper.joinpath(*parts)
    if not os.path.lexists(target):
        os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(0, 0))


HOST_KEY_TYPES = ("ed25519", "ecdsa", "rsa")
SSHD_KINDS = ("lab", "stock", "hardened")
SUDO_MODES = ("nopasswd", "password", "requiretty")

# Debian 12's /etc/ssh/sshd_config as the package installs it (its
# uncommented lines): MaxSessions 10, MaxStartups 10:30:100 and the
# algorithm lists are OpenSSH's defaults. UsePAM stays off: the lab's nodes
# have no login stack of their own (see _sshd_config).
STOCK_SSHD = """\
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""

# What security baselines ask of sshd: one session per connection, a short
# list of algorithms, an RSA host key with SHA-2 signatures only.
HARDENED_SSHD = """\
Banner /etc/issue.net
MaxSessions 1
MaxAuthTries 3
Ciphers {ciphers}
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-512
KexAlgorithms diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,ecdh-sha2-nistp384
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256
X11Forwarding no
AllowTcpForwarding no
Subsystem sftp internal-sftp
"""
HARDENED_CIPHERS = "aes256-gcm@openssh.com,aes256-ctr"

# A login shell that talks: the first lines of the shell's startup file, before
# the usual "not interactive: return" guard, print on both streams.
NOISE = """\
# written by onsite lab: a managed server's notice
echo "*** {node}: authorised use only; activity is logged ***"
echo "notice: this host is managed by configuration management" >&2
case $- in *i*) ;; *) return 2>/dev/null ;; esac
"""


@dataclasses.dataclass(frozen=True)
class ServerKind:
    """How one lab node's server is set up (the default: the lab's own,
    friendly sshd, root logs in with the lab's key, a quiet shell)."""

    sshd: str = "lab"  # lab | stock (Debian's defaults) | hardened (MaxSessions 1, short algorithm lists)
    host_keys: tuple[str, ...] = ("ed25519",)  # the node's host key types; hardened: rsa only
    pin: str = ""  # the host key type the answer file pins (default: the first of host_keys)
    ciphers: str = ""  # hardened: its Ciphers line (default HARDENED_CIPHERS)
    noisy: bool = False  # the login shell prints on every command (root's and the sudo user's)
    sudo_user: str = ""  # the answer file logs in as this user (key login) and becomes root with sudo
    sudo: str = "nopasswd"  # nopasswd | password | requiretty (password, and sudo wants a terminal)
    shell: str = ""  # the login shell of root and the sudo user (default: the system's, bash)

    def __post_init__(self) -> None:
        if self.sshd not in SSHD_KINDS:
            raise LabError(f"sshd kind {self.sshd!r}: one of {', '.join(SSHD_KINDS)}", exit_code=2)
        if self.sudo not in SUDO_MODES:
            raise LabError(f"sudo mode {self.sudo!r}: one of {', '.join(SUDO_MODES)}", exit_code=2)
        keys = ("rsa",) if self.sshd == "hardened" else tuple(self.host_keys)
        if not keys or any(k not in HOST_KEY_TYPES for k in keys):
            raise LabError(f"host keys {', '.join(keys)}: from {', '.join(HOST_KEY_TYPES)}", exit_code=2)
        object.__setattr__(self, "host_keys", keys)
        if self.pin and self.pin not in keys:
            raise LabError(f"cannot pin a {self.pin} host key: the node has {', '.join(keys)}", exit_code=2)
        if self.sudo_user and not (self.sudo_user.isalnum() and self.sudo_user.islower() and self.sudo_user != "root"):
            raise LabError(f"sudo user {self.sudo_user!r}: lower-case letters and digits", exit_code=2)

    @property
    def pinned(self) -> str:
        return self.pin or self.host_keys[0]

    def describe(self) -> str:
        words = [f"{self.sshd} sshd", "/".join(self.host_keys) + " host key" + ("s" if len(self.host_keys) > 1 else "")]
        if self.pin:
            words.append(f"{self.pin} pinned")
        if self.noisy:
            words.append("noisy shell")
        if self.shell:
            words.append(f"shell {self.shell}")
        if self.sudo_user:
            words.append(f"login {self.sudo_user} + sudo {self.sudo}")
        return ", ".join(words)


class LabError(Exception):
    """Something the lab cannot do; says what to do instead."""

    def __init__(self, message: str, hint: str = "", exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


@dataclasses.dataclass
class LabNode:
    name: str
    index: int
    address: str
    netns: str
    veth: str
    dir: str
    pid: int | None = None  # the node's init (PID 1 inside), as the host sees it
    host_key: str | None = None  # SHA256:... fingerprint (of the pinned key)
    server: dict | None = None  # ServerKind's fields; None: the lab's default


def _run(args: Sequence[str], *, check: bool = True, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise LabError(f"{args[0]} is not installed", f"install the Debian package {REQUIRED_TOOLS.get(args[0], args[0])}", 3) from None
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(args)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _tcp_open(address: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _kill_netns(ns: str) -> bool:
    """SIGKILL every process in the network namespace; True when none is left."""
    for _ in range(250):
        pids = [int(p) for p in _run(["ip", "netns", "pids", ns], check=False).stdout.split()]
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    return False


def check_host() -> None:
    """Can this machine host a lab? Raises LabError (exit 3) if not."""
    if not sys.platform.startswith("linux"):
        raise LabError("the lab needs Linux (network namespaces)", "run it on a Linux machine", 3)
    if os.geteuid() != 0:
        raise LabError("the lab needs root: it creates namespaces, a bridge and mounts", "run it as root (as a user with sudo: sudo onsite lab ...)", 3)
    for tool, package in REQUIRED_TOOLS.items():
        if not (Path(tool).is_file() if tool.startswith("/") else shutil.which(tool)):
            raise LabError(f"{tool} is missing", f"install the Debian package {package}: apt-get install {package}", 3)


class Lab:
    def __init__(self, state_dir: str | Path | None = None, name: str = DEFAULT_NAME, profile: str = DEFAULT_PROFILE) -> None:
        self.profile_name = profile
        if not (1 <= len(name) <= 6 and name.isalnum() and name.islower()):
            raise LabError(f"lab name {name!r} must be 1-6 lower-case letters or digits", exit_code=2)
        self.name = name
        self.state_dir = Path(state_dir or os.environ.get("ONSITE_LAB_DIR") or DEFAULT_STATE_DIR)
        self.bridge = f"{name}-br"
        self.subnet: str | None = None
        self.gateway: str | None = None
        self.nodes: list[LabNode] = []
        self.password_user: str | None = None
        self._load()

    # -- paths ------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def answer_file(self) -> Path:
        return self.state_dir / "lab.yaml"

    def secret_file(self, name: str) -> Path:
        return self.state_dir / "secrets" / name

    def node(self, name: str) -> LabNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise LabError(f"the lab has no node {name!r}", f"nodes: {', '.join(n.name for n in self.nodes)}", 2)

    @staticmethod
    def kind(n: LabNode) -> ServerKind:
        return ServerKind(**{k: tuple(v) if k == "host_keys" else v for k, v in (n.server or {}).items()})

    # -- state --------------------------------------------------------------
    def _load(self) -> None:
        try:
            raw = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        if raw.get("name") != self.name:
            return
        self.subnet = raw.get("subnet")
        self.gateway = raw.get("gateway")
        self.password_user = raw.get("password_user")
        self.nodes = [LabNode(**n) for n in raw.get("nodes", [])]

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name,
            "subnet": self.subnet,
            "gateway": self.gateway,
            "password_user": self.password_user,
            "nodes": [dataclasses.asdict(n) for n in self.nodes],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, self.state_file)

    # -- health ---------------------------------------------------------------
    def _same_netns(self, node: LabNode) -> bool:
        try:
            return os.stat(f"/proc/{node.pid}/ns/net").st_ino == os.stat(f"/run/netns/{node.netns}").st_ino
        except OSError:
            return False

    def status(self) -> list[dict]:
        out = []
        for n in self.nodes:
            alive = self._same_netns(n)
            out.append({
                "name": n.name,
                "address": n.address,
                "up": alive,
                "ssh": alive and _tcp_open(n.address, 22),
                "host_key": n.host_key,
            })
        return out

    def healthy(self) -> bool:
        return bool(self.nodes) and all(s["ssh"] for s in self.status())

    # -- up -------------------------------------------------------------------
    def up(self, nodes: int = 4, subnet: str = DEFAULT_SUBNET, password_user: str | None = None,
           servers: ServerKind | Sequence[ServerKind] | None = None) -> bool:
        """Bring the lab up. Returns False when a healthy lab was already up.
        `servers`: one kind for every node, or one per node (the rest get
        the lab's default)."""
        check_host()
        if not 1 <= nodes <= 200:
            raise LabError(f"--nodes {nodes}: a lab has 1 to 200 nodes", exit_code=2)
        try:
            net = ipaddress.IPv4Network(subnet, strict=True)
        except ValueError as exc:
            raise LabError(f"--subnet {subnet}: {exc}", "write a network such as 198.18.0.0/24", 2) from None
        if net.num_addresses < FIRST_HOST + nodes + 4:
            raise LabError(f"{net} is too small for {nodes} nodes", "use a /24", 2)
        if isinstance(servers, ServerKind) or servers is None:
            kinds = [servers or ServerKind()] * nodes
        else:
            kinds = list(servers)[:nodes] + [ServerKind()] * max(0, nodes - len(servers))
        shapes = [None if k == ServerKind() else dataclasses.asdict(k) for k in kinds]
        if self.nodes and self.healthy():
            same = [n.server for n in self.nodes] == [None if s is None else json.loads(json.dumps(s)) for s in shapes]
            if self.subnet == str(net) and len(self.nodes) == nodes and self.password_user == password_user and same:
                return False
            raise LabError(
                f"a lab is already up with {len(self.nodes)} nodes on {self.subnet}",
                "run `onsite lab down` first to make one of another shape", 2,
            )
        self.down()  # clears anything a crash or a half-finished `up` left
        self._check_subnet_free(net)
        self.subnet = str(net)
        self.gateway = str(net.network_address + 1)
        self.password_user = password_user
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        profile = load_profile(self.profile_name)
        layout_names = [n.name for n in profile.layout]
        self.nodes = [
            LabNode(
                name=layout_names[i] if i < len(layout_names) else f"node{i + 1}",
                index=i,
                address=str(net.network_address + FIRST_HOST + i),
                netns=f"{self.name}-{i + 1}",
                veth=f"{self.name}-v{i + 1}",
                dir=str(self.state_dir / "nodes" / f"n{i + 1}"),
                server=shapes[i],
            )
            for i in range(nodes)
        ]
        self._save()  # from here on, `down` knows what to remove
        try:
            self._make_keys()
            self._make_network(net)
            for n in self.nodes:
                self._prepare_root(n)
            for n in self.nodes:
                self._start_node(n)
            self._save()
            self._wait_ssh()
            if password_user:
                for n in self.nodes:
                    self._add_password_user(n, password_user)
            for n in self.nodes:
                self._set_up_login(n)
            self._write_known_hosts()
            self._write_answer_file()
            self._save()
        except BaseException:
            self.down()
            raise
        return True

    def _check_subnet_free(self, net: ipaddress.IPv4Network) -> None:
        routes = json.loads(_run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
        for r in routes:
            dst = r.get("dst", "")
            if dst in ("default", "") or r.get("type") in ("broadcast", "local"):
                continue
            try:
                other = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
            except ValueError:
                continue
            if other.overlaps(net):
                raise LabError(
                    f"the lab subnet {net} clashes with the host route {dst} dev {r.get('dev', '?')}",
                    "pick another test subnet with --subnet, e.g. 198.18.7.0/24", 2,
                )

    def _make_keys(self) -> None:
        if not self.key_file.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"onsite-lab-{self.name}", "-f", str(self.key_file)])
        os.chmod(self.key_file, 0o600)
        sdir = self.state_dir / "secrets"
        sdir.mkdir(exist_ok=True)
        os.chmod(sdir, 0o700)
        for name in load_profile(self.profile_name).secrets:
            f = sdir / name
            if not f.exists():
                fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(18) + "\n")

    def _make_network(self, net: ipaddress.IPv4Network) -> None:
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{self.gateway}/{net.prefixlen}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        for n in self.nodes:
            self._make_node_network(n, net)

    def _make_node_network(self, n: LabNode, net: ipaddress.IPv4Network, mac: str | None = None) -> None:
        _run(["ip", "netns", "add", n.netns])
        _run(["ip", "link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.netns])
        if mac:  # the same NIC as before (a reinstalled server keeps its hardware; the others' ARP caches stay right)
            _run(["ip", "-n", n.netns, "link", "set", "eth0", "address", mac])
        _run(["ip", "link", "set", n.veth, "master", self.bridge, "up"])
        _run(["ip", "-n", n.netns, "addr", "add", f"{n.address}/{net.prefixlen}", "dev", "eth0"])
        _run(["ip", "-n", n.netns, "link", "set", "eth0", "up"])
        _run(["ip", "-n", n.netns, "link", "set", "lo", "up"])
        # No default route: nothing beyond the lab subnet is reachable.

    def _prepare_root(self, n: LabNode) -> None:
        d = Path(n.dir)
        for sub in ("upper", "work", "root", "home/.ssh", "upper/etc/ssh"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(d / "home", 0o700)
        os.chmod(d / "home/.ssh", 0o700)
        kind = self.kind(n)
        for t in kind.host_keys:
            key = d / f"upper/etc/ssh/ssh_host_{t}_key"
            if not key.exists():
                bits = ["-b", "3072"] if t == "rsa" else []
                _run(["ssh-keygen", "-q", "-t", t, *bits, "-N", "", "-C", f"root@{n.name}", "-f", str(key)])
        pinned = d / f"upper/etc/ssh/ssh_host_{kind.pinned}_key.pub"
        n.host_key = hostkeys.fingerprint_of_public_line(pinned.read_text())
        # The host's own service state that a fresh server would not have (the
        # profile's state_paths): without this the host's services would show
        # through as an earlier install. Hidden by overlay "whiteouts".
        for path in load_profile(self.profile_name).state_paths:
            _whiteout(d / "upper", path)
        shutil.copyfile(self.key_file.with_suffix(".pub"), d / "home/.ssh/authorized_keys")
        os.chmod(d / "home/.ssh/authorized_keys", 0o600)
        (d / "upper/etc/ssh/sshd_config").write_text(self._sshd_config(n, kind))
        if kind.noisy:
            (d / "home/.bashrc").write_text(NOISE.format(node=n.name))
            (d / "home/.zshenv").write_text(NOISE.format(node=n.name).replace("return 2>/dev/null", "return"))
        (d / "upper/etc/hostname").write_text(n.name + "\n")
        hosts = "127.0.0.1 localhost\n" + "".join(f"{m.address} {m.name}\n" for m in self.nodes)
        (d / "upper/etc/hosts").write_text(hosts)

    def _sshd_config(self, n: LabNode, kind: ServerKind) -> str:
        password = "yes" if self.password_user else "no"
        # Every kind: the node's own address and host keys, and no PAM (the
        # nodes share the host's PAM stack, with no login sessions of their own).
        common = (f"ListenAddress {n.address}\n"
                  + "".join(f"HostKey /etc/ssh/ssh_host_{t}_key\n" for t in kind.host_keys)
                  + f"PasswordAuthentication {password}\nUsePAM no\nUseDNS no\nPidFile /run/sshd.pid\n")
        if kind.sshd == "stock":
            return "# written by onsite lab: Debian 12's defaults\n" + common + STOCK_SSHD
        if kind.sshd == "hardened":
            return ("# written by onsite lab: a hardened sshd\n" + common + "PermitRootLogin prohibit-password\n"
                    + HARDENED_SSHD.format(ciphers=kind.ciphers or HARDENED_CIPHERS))
        return (
            "# written by onsite lab\n"
            "Port 22\n"
            + common +
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "KbdInteractiveAuthentication no\n"
            "MaxStartups 200:30:400\n"
            "MaxSessions 100\n"
            "Subsystem sftp internal-sftp\n"
        )

    def _set_up_login(self, n: LabNode) -> None:
        """The node's login as its kind says: the sudo user (key login, its
        sudoers rule, a password for sudo), login shells, a noisy shell."""
        kind = self.kind(n)
        if kind.shell:
            self.run(n.name, ["usermod", "-s", kind.shell, "root"])
        user = kind.sudo_user
        if not user:
            return
        shell = kind.shell or "/bin/bash"
        if self.run(n.name, ["id", "-u", user], check=False).returncode != 0:
            self.run(n.name, ["useradd", "-m", "-s", shell, user])
            # no password yet: "*" rather than useradd's "!", which sshd takes for a locked account
            self.run(n.name, ["usermod", "-p", "*", user])
        home = f"/home/{user}"
        # the lab hides the host's /home from the nodes with a tmpfs; the user's home lives there
        self.run(n.name, ["sh", "-c", 'mkdir -p "$1/.ssh" && cat > "$1/.ssh/authorized_keys" && chmod 700 "$1/.ssh" && '
                          'chmod 600 "$1/.ssh/authorized_keys" && chown -R "$2:" "$1"', "lab", home, user],
                 input=self.key_file.with_suffix(".pub").read_text())
        if kind.noisy:
            for name, text in ((".bashrc", NOISE), (".zshenv", NOISE.replace("return 2>/dev/null", "return"))):
                self.run(n.name, ["sh", "-c", 'cat > "$1" && chown "$2:" "$1"', "lab", f"{home}/{name}", user],
                         input=text.format(node=n.name))
        rules = [f"{user} ALL=(ALL:ALL) NOPASSWD: ALL" if kind.sudo == "nopasswd" else f"{user} ALL=(ALL:ALL) ALL"]
        if kind.sudo != "nopasswd":
            secret = self.secret_file(f"sudo-{user}")
            if not secret.exists():
                fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(15) + "\n")
            self.run(n.name, ["chpasswd"], input=f"{user}:{secret.read_text().strip()}\n")  # on stdin, never in argv
            # no cached timestamp: every sudo asks, as when one expires mid-install
            rules.append(f"Defaults:{user} timestamp_timeout=0")
        if kind.sudo == "requiretty":
            rules.append(f"Defaults:{user} requiretty")
        self.run(n.name, ["sh", "-c", 'cat > /etc/sudoers.d/onsite-lab-login && chmod 0440 /etc/sudoers.d/onsite-lab-login'],
                 input="".join(r + "\n" for r in rules))

    def _hidden_paths(self) -> list[str]:
        """Host folders the nodes must not see: state (keys), the checkout, homes."""
        hide = {str(self.state_dir.resolve()), "/home"}
        checkout = Path(__file__).resolve().parents[3]  # src/installer/lab/netns.py
        if (checkout / "pyproject.toml").exists():
            hide.add(str(checkout))
        if Path("/work").is_dir():
            hide.add("/work")
        return sorted(hide)

    def _start_node(self, n: LabNode) -> None:
        log = open(Path(n.dir) / "node.log", "wb")
        # A clean environment: nothing of the caller's (secrets in env:NAME
        # references, say) may reach the node's processes.
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "NODE_INIT": NODE_INIT}
        proc = subprocess.Popen(
            ["ip", "netns", "exec", n.netns, "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
             "bash", "-c", NODE_SETUP, "node-setup", n.name, n.dir, *self._hidden_paths()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env, cwd="/",
        )
        log.close()
        n.pid = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and n.pid is None:
            n.pid = self._find_init(proc.pid)
            if n.pid is None:
                if proc.poll() is not None:
                    break
                time.sleep(0.01)
        if n.pid is None:
            raise LabError(f"node {n.name} did not start: {self._log_tail(n)}")

    @staticmethod
    def _find_init(unshare_pid: int) -> int | None:
        try:
            children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def _log_tail(self, n: LabNode) -> str:
        try:
            return (Path(n.dir) / "node.log").read_text()[-500:].strip() or "(no output)"
        except OSError:
            return "(no log)"

    def _wait_ssh(self, nodes: Sequence[LabNode] | None = None) -> None:
        deadline = time.monotonic() + SSH_WAIT_S
        pending = list(self.nodes if nodes is None else nodes)
        while pending and time.monotonic() < deadline:
            pending = [n for n in pending if not _tcp_open(n.address, 22, 0.2)]
            if pending:
                time.sleep(0.05)
        if pending:
            n = pending[0]
            raise LabError(f"sshd on node {n.name} ({n.address}) did not answer within {SSH_WAIT_S:.0f} s: {self._log_tail(n)}")

    def _add_password_user(self, n: LabNode, user: str) -> None:
        secret = self.secret_file(f"ssh-{user}")
        if not secret.exists():
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(15) + "\n")
        password = secret.read_text().strip()
        self.run(n.name, ["useradd", "-m", "-s", "/bin/bash", user])
        self.run(n.name, ["chpasswd"], input=f"{user}:{password}\n")  # on stdin, never in argv
        if Path("/usr/bin/sudo").exists():
            self.run(n.name, ["sh", "-c", f"echo '{user} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/onsite-lab && chmod 0440 /etc/sudoers.d/onsite-lab"])

    def _write_known_hosts(self) -> None:
        lines = []
        for n in self.nodes:
            for t in self.kind(n).host_keys:
                pub = (Path(n.dir) / f"upper/etc/ssh/ssh_host_{t}_key.pub").read_text().split()
                lines.append(f"{n.address} {pub[0]} {pub[1]}\n")
        self.known_hosts.write_text("".join(lines))

    def _write_answer_file(self) -> None:
        profile = load_profile(self.profile_name)
        net = ipaddress.IPv4Network(self.subnet)
        last = ipaddress.IPv4Address(self.nodes[-1].address)
        plan = answerfile.starting_plan(profile, site=f"lab-{self.name}", subnet=self.subnet, gateway=self.gateway,
                                        key=str(self.key_file))
        slots = profile.node_slots
        for slot, node in zip(slots, self.nodes, strict=False):
            plan.ips[slot] = node.address
        vip_first = last + 10 if (last + 10) in net else last + 1
        for k, slot in enumerate(profile.vip_slots):
            plan.ips[slot] = str(vip_first + k)
        by_slot = {slot: node for slot, node in zip(slots, self.nodes, strict=False)}
        for pn in plan.nodes:
            ln = by_slot.get(pn.address)
            if ln is not None:
                pn.name = ln.name
                pn.ssh.host_key = ln.host_key
                kind = self.kind(ln)
                if kind.sudo_user:
                    pn.ssh.user = kind.sudo_user
                    if kind.sudo != "nopasswd":
                        pn.ssh.sudo_password = f"file:{self.secret_file('sudo-' + kind.sudo_user)}"
        for v in plan.vips:
            v.check = VipCheck(interval=2, fall=3, rise=2)  # the lab moves VIPs in seconds
        plan.secrets = {s: f"file:{self.secret_file(s)}" for s in plan.secrets}
        # The lab has no vendor payloads: the profile's vendor components count
        # as provided outside this install.
        for comp in profile.components.values():
            if comp.source == "vendor":
                plan.components.setdefault(comp.name, {})["external"] = True
        for cname, settings in profile.lab_components.items():  # the profile's short windows for the lab
            plan.components.setdefault(cname, {}).update(settings)
        answerfile.write(plan, self.answer_file, profile)

    # -- reset ----------------------------------------------------------------
    def reset(self, node: str) -> LabNode:
        """Reinstall one node as a fresh server, as a customer's colleague
        would after a disk died: every process of the node stopped (no clean
        shutdown: the cluster sees it die), its network namespace made anew
        (no VIP left on eth0, default sysctls; eth0 keeps its MAC address, as
        a reinstalled server keeps its NIC), its overlay's upper layer and
        root's home wiped (an empty disk as the OS left it), a NEW host key,
        and sshd back with the lab's login. The lab's state and known_hosts
        get the new host key; the answer file is left as it is (once a site
        is installed from it, it is the deployer's): it still pins the old
        key, as on a real site, until `onsite node replace` pins the new one."""
        check_host()
        n = self.node(node)
        if not self.subnet:
            raise LabError("no lab is up", "run `onsite lab up`", 1)
        net = ipaddress.IPv4Network(self.subnet)
        links = json.loads(_run(["ip", "-n", n.netns, "-j", "link", "show", "eth0"], check=False).stdout or "[]")
        mac = links[0].get("address") if links else None
        if not _kill_netns(n.netns):
            raise LabError(f"node {node}: its processes did not stop", "run `onsite lab down` and `onsite lab up`")
        _run(["ip", "netns", "del", n.netns], check=False)
        _run(["ip", "link", "del", n.veth], check=False)
        d = Path(n.dir)
        for sub in ("upper", "work", "home"):
            if (d / sub).exists():
                shutil.rmtree(d / sub)
        n.pid = None
        try:
            self._make_node_network(n, net, mac)
            self._prepare_root(n)
            self._start_node(n)
            self._save()
            self._wait_ssh([n])
            if self.password_user:
                self._add_password_user(n, self.password_user)
            self._set_up_login(n)
        finally:
            self._save()
        self._write_known_hosts()
        return n

    # -- down -----------------------------------------------------------------
    def down(self) -> list[str]:
        """Remove everything this lab made; safe after a crash. Returns what it removed."""
        removed: list[str] = []
        prefix = f"{self.name}-"
        netns = [line.split()[0] for line in _run(["ip", "netns", "list"], check=False).stdout.splitlines() if line.strip()]
        ours = sorted((ns for ns in netns if ns.startswith(prefix) and ns[len(prefix):].isdigit()), key=lambda s: int(s[len(prefix):]))
        for ns in ours:
            _kill_netns(ns)
            _run(["ip", "netns", "del", ns], check=False)
            removed.append(f"namespace {ns}")
        # The kernel frees a namespace (and with it the veth pair) asynchronously:
        # delete the host ends ourselves rather than race that.
        links = json.loads(_run(["ip", "-j", "link", "show"], check=False).stdout or "[]")
        for link in links:
            ifname = link.get("ifname", "")
            if ifname.startswith(f"{self.name}-v") and ifname[len(self.name) + 2:].isdigit():
                _run(["ip", "link", "del", ifname], check=False)
                removed.append(f"link {ifname}")
        if _run(["ip", "link", "show", self.bridge], check=False).returncode == 0:
            _run(["ip", "link", "del", self.bridge], check=False)
            removed.append(f"bridge {self.bridge}")
        if self.state_dir.exists() and (self.state_file.exists() or (self.state_dir / "nodes").exists()):
            shutil.rmtree(self.state_dir, ignore_errors=True)
            removed.append(f"state {self.state_dir}")
        self.nodes = []
        self.subnet = self.gateway = None
        return removed

    # -- running things on nodes (fault injection) ------------------------------
    def run(self, node: str, command: Sequence[str] | str, *, input: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command on a node as its root (not over SSH)."""
        n = self.node(node)
        if not n.pid:
            raise LabError(f"node {node} is not running", "run `onsite lab up`")
        argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
        return _run(["nsenter", "-t", str(n.pid), "-m", "-u", "-n", "-p", "-r", "-w", *argv], check=check, input=input,
                    timeout=timeout)

    def stop_sshd(self, node: str) -> None:
        """Kill the node's sshd (listener and sessions): like a crashed daemon."""
        self.run(node, "kill -9 $(pgrep -x sshd) 2>/dev/null; while pgrep -x sshd >/dev/null; do sleep 0.05; done", check=False)

    def start_sshd(self, node: str) -> None:
        n = self.node(node)
        self.run(node, ["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config", "-E", "/var/log/sshd.log"])
        deadline = time.monotonic() + 10
        while not _tcp_open(n.address, 22):
            if time.monotonic() > deadline:
                raise LabError(f"sshd on {node} did not come back")
            time.sleep(0.05)

    def cut_link(self, node: str) -> None:
        """Unplug the node's cable: packets are dropped, no RST, no ICMP."""
        _run(["ip", "link", "set", self.node(node).veth, "down"])

    def restore_link(self, node: str) -> None:
        _run(["ip", "link", "set", self.node(node).veth, "up"])

    def limit_installer_link(self, rate: str = "1gbit") -> None:
        """Shape what the host sends into the lab (the installer's own link),
        leaving node-to-node traffic on the bridge at full speed."""
        _run(["tc", "qdisc", "replace", "dev", self.bridge, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms"])

    def clear_installer_link(self) -> None:
        _run(["tc", "qdisc", "del", "dev", self.bridge, "root"], check=False)

    def small_disk(self, node: str, path: str, size: str = "8m") -> None:
        """Put a small tmpfs over `path` on the node: a disk that fills quickly."""
        self.run(node, ["mkdir", "-p", path])
        self.run(node, ["mount", "-t", "tmpfs", "-o", f"size={size}", "onsite-small-disk", path])

    def fill_disk(self, node: str, path: str) -> None:
        """Fill the file system under `path` to the last byte."""
        self.run(node, ["sh", "-c", 'dd if=/dev/zero of="$1/.onsite-fill" bs=64k 2>/dev/null; true', "fill", path])

    def release_disk(self, node: str, path: str) -> None:
        self.run(node, ["umount", path], check=False)
