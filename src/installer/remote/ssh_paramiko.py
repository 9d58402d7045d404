"""The SSH transport, over paramiko. The only module that imports paramiko.

- Connects with separate timeouts for TCP connect, banner/handshake and auth,
  and maps every failure to one readable `TransportError` kind. When the node
  and onsite share no algorithm (a hardened sshd), the error names what the
  node offers and what onsite supports.
- Verifies the host key: the fingerprint pinned in the answer file, else the
  site's known_hosts; ed25519, ECDSA and RSA keys alike (a pin of another of
  the node's keys than the one first offered is found by asking for that
  type); an unknown key is refused unless the caller accepts new keys (and
  then pins what `seen_host_key` reports); a changed key always stops,
  naming both fingerprints.
- Keeps the connection under watch: a keepalive request every few seconds; no
  answer for `dead_after` seconds closes the connection, so a cut cable ends
  in a clear error instead of a hang.
- Session limits: each connection has a budget of channels. A channel the
  server refuses on a live connection (sshd's MaxSessions) sets that budget
  to what is open; the work then goes over another connection to the node
  (opened when needed, up to MAX_LINKS; sshd limits sessions per connection,
  not connections) or waits for a free channel. A refused session never
  fails a command.
- Framing: every command runs inside a small sh wrapper that prints markers
  of its own (random per command) around the command's output, so whatever
  the login shell prints (.bashrc, /etc/profile.d) is kept apart as `noise`
  and never parsed as the command's output.
- Runs commands as root: directly, or through `sudo -S -p PROMPT` with a
  unique prompt. The password is sent only when that prompt appears, so a
  NOPASSWD user never receives it; a sudo that refuses without a terminal
  (`Defaults requiretty`, whatever language it says it in) is tried once on
  a pty, switched to raw mode before any byte of the command's stdin is sent.
  Every command runs under coreutils `timeout` on the node as well as a
  local deadline.
- Streams files over an exec channel with a large window and the fastest
  cipher both sides allow (AES-GCM first): about twice paramiko's SFTP put.
"""

from __future__ import annotations

import errno
import logging
import math
import secrets
import select
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paramiko

from ..model.i18n import m
from .hostkeys import fingerprint_of_blob
from .transport import (
    Endpoint,
    LineCallback,
    LocalFileError,
    ProgressCallback,
    RunResult,
    Segment,
    ServerFacts,
    TransportError,
    sh_join,
)

# paramiko logs failures (with tracebacks) at ERROR; with no logging set up,
# Python would print them on the user's terminal. Every failure becomes a
# TransportError with a readable message instead.
_paramiko_log = logging.getLogger("paramiko")
_paramiko_log.addHandler(logging.NullHandler())
_paramiko_log.propagate = False

# Fastest first (measured with paramiko on this machine: GCM needs no
# separate MAC pass; 128-bit keys take fewer AES rounds).
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
PREFERRED_KEYS = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
KEY_FAMILIES = {"ed25519": ("ssh-ed25519",), "ecdsa": ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"),
                "rsa": ("rsa-sha2-512", "rsa-sha2-256")}
WINDOW = 8 << 20
EOF_GRACE = 2.0
CHUNK = 1 << 20
MAX_LINKS = 4  # connections per node when the server limits sessions per connection
PROBE_SESSIONS = 16  # preflight's probe of the session limit stops here (Debian: 10)
REFUSED_IDLE_S = 8.0  # a session refused on a connection with none open: sshd still freeing the last ones
NOISE_KEEP = 64 << 10

# The wrapper every command runs in: $1 begin marker, $2 end marker, then the
# command. Markers go to both streams; the exit status is the command's.
_FRAME = ('b=$1 e=$2; shift 2; printf "%s\\n" "$b"; printf "%s\\n" "$b" >&2; "$@"; s=$?; '
          'printf "%s" "$e"; printf "%s" "$e" >&2; exit "$s"')
# The same on a pty (sudo's requiretty): stdout and stderr are one stream;
# raw mode first, so the command's bytes pass unchanged both ways; $3 is the
# length of its stdin ("-": none), as a terminal has no end of file.
_FRAME_TTY = ('b=$1 e=$2 n=$3; shift 3; stty raw -echo -iexten 2>/dev/null; printf "%s\\n" "$b"; '
              'if [ "$n" = - ]; then "$@" </dev/null; else head -c "$n" | "$@"; fi; s=$?; printf "%s" "$e"; exit "$s"')
_NEEDS_TTY = ("must have a tty", "a terminal is required", "no tty present")


class _Link:
    """One SSH connection to the node and its channel budget."""

    def __init__(self, t: paramiko.Transport) -> None:
        self.t = t
        self.open = 0
        self.budget: int | None = None  # None: the server has refused nothing yet


class _KexCapture(paramiko.Transport):
    """paramiko's Transport, remembering what the server offered."""

    offered: dict | None = None

    def _really_parse_kex_init(self, m):  # noqa: ANN001 - paramiko's signature
        parsed = super()._really_parse_kex_init(m)
        self.offered = {k: list(v) if isinstance(v, list) else v for k, v in parsed.items()}
        return parsed


class _Framed:
    """One output stream of a framed command, split into zones by markers:
    noise the login shell printed | the shell's own mark | sudo's talk | the
    command's output (to `sink`) | noise after its end."""

    def __init__(self, marks: Sequence[bytes], sink) -> None:
        self.marks = list(marks)  # shell mark, begin, end
        self.sink = sink
        self.zone = 0
        self.pending = bytearray()  # zones 0 and 1: kept to search the next mark
        self.noise = bytearray()
        self.sudo = bytearray()
        self.hold = b""

    @property
    def started(self) -> bool:
        return self.zone >= 2

    @property
    def ended(self) -> bool:
        return self.zone >= 3

    def feed(self, data: bytes) -> None:
        while data:
            if self.zone < 2:
                self.pending += data
                data = b""
                i = self.pending.find(self.marks[self.zone])
                if i < 0:
                    if len(self.pending) > NOISE_KEEP:  # a shell printing without end: keep its tail
                        keep = len(self.marks[self.zone])
                        self._zone_text(bytes(self.pending[:-keep]))
                        del self.pending[:-keep]
                    return
                self._zone_text(bytes(self.pending[:i]))
                data = bytes(self.pending[i + len(self.marks[self.zone]):])
                self.pending.clear()
                self.zone += 1
            elif self.zone == 2:
                buf = self.hold + data if self.hold else data
                data = b""
                end = self.marks[2]
                j = buf.find(end)
                if j >= 0:
                    self.sink(buf[:j])
                    self.hold = b""
                    self.zone = 3
                    data = buf[j + len(end):]
                    continue
                safe = len(buf) - (len(end) - 1)
                if safe > 0:
                    self.sink(buf[:safe] if safe < len(buf) else buf)
                    self.hold = bytes(buf[safe:])
                else:
                    self.hold = bytes(buf)
            else:
                if len(self.noise) < NOISE_KEEP:
                    self.noise += data[: NOISE_KEEP - len(self.noise)]
                return

    def _zone_text(self, data: bytes) -> None:
        target = self.noise if self.zone == 0 else self.sudo
        if len(target) < NOISE_KEEP:
            target += data[: NOISE_KEEP - len(target)]

    def finish(self) -> None:
        """The stream ended: what was held back (no end mark came) is output."""
        if self.zone == 2 and self.hold:
            self.sink(self.hold)
            self.hold = b""
        elif self.zone < 2 and self.pending:
            self._zone_text(bytes(self.pending))
            self.pending.clear()

    def sudo_text(self) -> str:
        return _text(bytes(self.sudo) + (bytes(self.pending) if self.zone == 1 else b""))

    def noise_text(self) -> str:
        return _text(bytes(self.noise) + (bytes(self.pending) if self.zone == 0 else b""))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r", "")


class _Command:
    """One framed command on a channel: its markers and its two streams."""

    def __init__(self, out: _Lines, err: _Lines, pty: bool) -> None:
        nonce = secrets.token_hex(8)
        self.shell_mark = f"-=onsite-{nonce}-shell=-".encode()
        self.begin = f"-=onsite-{nonce}-begin=-".encode()
        self.end = f"-=onsite-{nonce}-end=-".encode()
        self.prompt = f"[onsite-{nonce} sudo password]"
        self.pty = pty
        self.out_lines, self.err_lines = out, err
        self.out = _Framed([self.shell_mark, self.begin + b"\n", self.end], out.feed)
        self.err = _Framed([self.shell_mark, self.begin + b"\n", self.end], err.feed)
        self.answered = 0

    def prompts(self) -> int:
        p = self.prompt.encode()
        return self.out.sudo_text().encode().count(p) + self.err.sudo_text().encode().count(p)

    def done(self) -> bool:
        """Both streams carried their end mark: the output is complete."""
        return self.out.ended and (self.pty or self.err.ended)

    def finish(self) -> None:
        self.out.finish()
        self.err.finish()

    def noise(self) -> str:
        parts = [self.out.noise_text(), self.err.noise_text()]
        return "".join(p if p.endswith("\n") or not p else p + "\n" for p in parts)

    def sudo_said(self) -> str:
        text = self.out.sudo_text() + self.err.sudo_text()
        return " ".join(line.replace(self.prompt, "").strip() for line in text.splitlines()
                        if line.replace(self.prompt, "").strip())


class SshTransport:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        accept_new_host_key: bool = False,
        connect_timeout: float = 10,
        banner_timeout: float = 15,
        auth_timeout: float = 20,
        keepalive: float = 5,
        dead_after: float = 30,
        stall_timeout: float = 30,
        max_links: int = MAX_LINKS,
    ) -> None:
        self.endpoint = endpoint
        self.node = endpoint.node
        self.accept_new_host_key = accept_new_host_key
        self.connect_timeout = connect_timeout
        self.banner_timeout = banner_timeout
        self.auth_timeout = auth_timeout
        self.keepalive = keepalive
        self.dead_after = dead_after
        self.stall_timeout = stall_timeout
        self.max_links = max(1, max_links)
        self.seen_host_key: str | None = None
        self.host_key_was_new = False
        self.facts = ServerFacts()
        self._t: paramiko.Transport | None = None  # the first connection, under the watchdog
        self._links: list[_Link] = []
        self._cv = threading.Condition()
        self._connecting = False
        self._no_more_links = False
        self._key_types: tuple[str, ...] | None = None  # host key types to ask for (a pin of another of its keys)
        self._pty = False  # sudo needs a terminal (requiretty)
        self._pty_tried = False
        self._pty_worked = False
        self._refused_without_pty: str | None = None
        self._dead: str | None = None
        self._closed = threading.Event()

    # -- connecting --------------------------------------------------------------
    def _err(self, kind: str, message: str, hint: str = "", **details: str) -> TransportError:
        return TransportError(kind, self.node, message, hint, **details)

    def connect(self) -> SshTransport:
        t = self._handshake()
        try:
            try:
                self._check_host_key(t.get_remote_server_key())
            except TransportError as exc:
                if exc.kind != "host-key-changed":
                    raise
                t = self._find_pinned_key(t, exc)
            self._authenticate(t)
        except BaseException:
            t.close()
            raise
        self._record_algorithms(t)
        self._t = t
        self._links = [_Link(t)]
        t.set_keepalive(int(self.keepalive))
        threading.Thread(target=self._watchdog, name=f"ssh-watchdog-{self.node}", daemon=True).start()
        return self

    def _handshake(self, key_types: Sequence[str] | None = None) -> _KexCapture:
        ep = self.endpoint
        where = f"{ep.host}:{ep.port}"
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=self.connect_timeout)
        except ConnectionRefusedError:
            raise self._err("refused", m("{where} refused the connection: nothing listens there", where=where),
                            m("check that sshd runs on the node and that the SSH port is right")) from None
        except TimeoutError:
            raise self._err("timeout", m("no answer from {where} within {seconds} s", where=where, seconds=f"{self.connect_timeout:.0f}"),
                            m("check the address, the cable or VLAN, and firewalls between here and the node")) from None
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
                raise self._err("unreachable", m("{host} is unreachable ({reason})", host=ep.host, reason=exc.strerror),
                                m("check that this machine is on the nodes' network and the address is right")) from None
            raise self._err("unreachable", m("cannot connect to {where}: {reason}", where=where, reason=exc.strerror),
                            m("check the address")) from None
        t = _KexCapture(sock, default_window_size=WINDOW)
        try:
            t.banner_timeout = self.banner_timeout
            t.handshake_timeout = self.banner_timeout
            opts = t.get_security_options()
            opts.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in opts.ciphers) + tuple(
                c for c in opts.ciphers if c not in PREFERRED_CIPHERS)
            key_types = key_types or self._key_types
            if key_types:
                opts.key_types = tuple(k for k in key_types if k in opts.key_types)
            else:
                opts.key_types = tuple(k for k in PREFERRED_KEYS if k in opts.key_types) + tuple(
                    k for k in opts.key_types if k not in PREFERRED_KEYS)
            # start_client returns quietly when *its* timeout runs out, so give
            # it longer than the banner timeout and check the outcome below.
            t.start_client(timeout=self.banner_timeout * 2 + 5)
            if not t.is_active() or t.host_key is None:
                raise paramiko.SSHException(str(t.get_exception() or "Error reading SSH protocol banner"))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            t.close()
            sock.close()
            text = str(exc)
            if t.offered is not None:
                mismatch = self._no_common_algorithm(t)
                if mismatch:
                    raise mismatch from None
            if "banner" in text.lower():
                raise self._err("banner-timeout", m("{where} accepted the connection but sent no SSH banner within {seconds} s", where=where, seconds=f"{self.banner_timeout:.0f}"),
                                m("is this port really sshd? is the node overloaded?")) from None
            raise self._err("protocol", m("SSH handshake with {where} failed: {error}", where=where, error=text or type(exc).__name__),
                            m("check that the port is sshd and that it offers modern algorithms")) from None
        return t

    def _no_common_algorithm(self, t: _KexCapture) -> TransportError | None:
        """The first kind of algorithm the node and onsite do not share, named."""
        offered = t.offered or {}
        opts = t.get_security_options()
        kinds = ((m("key exchange"), "kex_algo_list", opts.kex, "KexAlgorithms"),
                 (m("host key type"), "server_key_algo_list", opts.key_types, "HostKeyAlgorithms (and HostKey)"),
                 (m("cipher"), "server_encrypt_algo_list", opts.ciphers, "Ciphers"),
                 ("MAC", "server_mac_algo_list", opts.digests, "MACs"))
        for what, field, ours, option in kinds:
            theirs = [a for a in offered.get(field) or [] if not a.startswith(("ext-info-", "kex-strict-"))]
            if what == "MAC" and all(c.endswith("-gcm@openssh.com") for c in offered.get("server_encrypt_algo_list") or []
                                     if c in opts.ciphers) and set(offered.get("server_encrypt_algo_list") or []) & set(opts.ciphers):
                continue  # an AEAD cipher needs no MAC
            if theirs and not set(theirs) & set(ours):
                return self._err("protocol", m("{host} and onsite share no {what}: the node offers {theirs}; onsite supports {ours}", host=self.endpoint.host, what=what, theirs=', '.join(theirs), ours=', '.join(ours)),
                                 m("allow one of onsite's in the node's sshd_config ({option}), or ask its administrators to", option=option),
                                 offered=",".join(theirs), supported=",".join(ours))
        return None

    def _record_algorithms(self, t: _KexCapture) -> None:
        offered = t.offered or {}
        opts = t.get_security_options()
        kex = next((k for k in opts.kex if k in (offered.get("kex_algo_list") or [])), "")
        self.facts.kex = kex
        self.facts.host_key_type = t.host_key_type or ""
        self.facts.cipher = t.local_cipher or ""
        self.facts.mac = "" if (t.local_cipher or "").endswith("-gcm@openssh.com") else (t.local_mac or "")
        self.facts.server_ciphers = tuple(offered.get("server_encrypt_algo_list") or ())

    def _find_pinned_key(self, t: _KexCapture, changed: TransportError) -> _KexCapture:
        """The pin may be another of the node's host keys (its RSA key, say,
        where it also has ed25519): ask for each other type it offers."""
        offered = set((t.offered or {}).get("server_key_algo_list") or [])
        first = t.host_key_type
        t.close()
        for family in KEY_FAMILIES.values():
            if first in family:
                continue
            types = tuple(k for k in family if k in offered)
            if not types:
                continue
            other = self._handshake(types)
            try:
                self._check_host_key(other.get_remote_server_key())
            except TransportError:
                other.close()
                continue
            self._key_types = types
            return other
        raise changed

    def _new_link(self) -> _Link:
        t = self._handshake()
        try:
            fp = fingerprint_of_blob(t.get_remote_server_key().asbytes())
            if fp != self.seen_host_key:
                raise self._err("host-key-changed", m("a second connection to {host} met host key {seen}, the first {first}", host=self.endpoint.host, seen=fp, first=self.seen_host_key), m("stop: another machine may answer in the node's place"),
                                pinned=self.seen_host_key or "", seen=fp)
            self._authenticate(t)
        except BaseException:
            t.close()
            raise
        t.set_keepalive(int(self.keepalive))
        return _Link(t)

    def _check_host_key(self, key: paramiko.PKey) -> None:
        ep = self.endpoint
        fp = fingerprint_of_blob(key.asbytes())
        self.seen_host_key = fp
        pinned = ep.host_key
        if pinned is None and ep.known_hosts:
            pinned = self._known_hosts_fingerprint(key.get_name())
        kind = key.get_name().replace("ssh-", "").split("-")[0]
        if pinned is None:
            if self.accept_new_host_key:
                self.host_key_was_new = True
                return
            raise self._err(
                "host-key-unknown",
                m("{host} presents host key {fingerprint} ({type}), which is not pinned", host=ep.host, fingerprint=fp, type=key.get_name()),
                m("compare it with the node's own (on its console: ssh-keygen -lf /etc/ssh/ssh_host_{kind}_key.pub), "
                  "then run again with --accept-new-host-keys to pin it, or write it as the node's ssh.host_key", kind=kind),
                seen=fp,
            )
        if fp != pinned:
            raise self._err(
                "host-key-changed",
                m("the host key of {host} has CHANGED: pinned {pinned}, the node now presents {fingerprint}", host=ep.host, pinned=pinned,
                  fingerprint=fp),
                m("stop if you did not reinstall this node: another machine may be answering in its place. If it was "
                  "reinstalled, confirm the new key on its console and replace ssh.host_key of node {node} in the answer file", node=self.node),
                pinned=pinned, seen=fp,
            )

    def _known_hosts_fingerprint(self, key_type: str) -> str | None:
        ep = self.endpoint
        try:
            hk = paramiko.HostKeys(ep.known_hosts)
        except (OSError, paramiko.SSHException):
            return None
        name = ep.host if ep.port == 22 else f"[{ep.host}]:{ep.port}"
        entry = hk.lookup(name)
        if not entry:
            return None
        key = entry.get(key_type) or next(iter(entry.values()), None)
        return fingerprint_of_blob(key.asbytes()) if key is not None else None

    def _authenticate(self, t: paramiko.Transport) -> None:
        ep = self.endpoint
        t.auth_timeout = self.auth_timeout
        try:
            if ep.auth == "password":
                t.auth_password(ep.user, ep.password or "")
            elif ep.auth == "agent":
                keys = paramiko.Agent().get_keys()
                if not keys:
                    raise self._err("auth-failed", m("no SSH agent with keys is running here"), m("start ssh-agent and ssh-add the key, or use auth: key"))
                for k in keys:
                    try:
                        t.auth_publickey(ep.user, k)
                        break
                    except paramiko.AuthenticationException:
                        continue
                else:
                    raise paramiko.AuthenticationException()
            else:
                t.auth_publickey(ep.user, self._load_key())
        except paramiko.BadAuthenticationType as exc:
            raise self._err("auth-failed", m("{host} does not accept {auth} login for {user} (it allows: {allowed})", host=ep.host,
                                             auth=ep.auth, user=ep.user, allowed=", ".join(exc.allowed_types)),
                            m("change ssh.auth for this node")) from None
        except paramiko.AuthenticationException:
            what = {"password": m("the password"), "agent": m("the agent's keys")}.get(ep.auth, m("the key {path}", path=ep.key_path))
            raise self._err("auth-failed", m("{host} refused {what} for user {user}", host=ep.host, what=what, user=ep.user),
                            m("check the user and the credential; onsite does not retry, so the account is not locked out")) from None
        except paramiko.SSHException as exc:
            raise self._err("auth-failed", m("login to {host} failed: {error}", host=ep.host, error=str(exc)), m("check the node's sshd")) from None

    def _load_key(self) -> paramiko.PKey:
        path = self.endpoint.key_path
        if not path:
            raise self._err("auth-failed", m("no key file is named"), m("set ssh.key for this node"))
        expanded = Path(path).expanduser()
        try:
            return paramiko.PKey.from_path(expanded)
        except FileNotFoundError:
            raise self._err("auth-failed", m("key file {path} does not exist", path=path), m("check ssh.key for this node")) from None
        except paramiko.PasswordRequiredException:
            raise self._err("auth-failed", m("key file {path} is protected by a passphrase", path=path),
                            m("load it into ssh-agent and use auth: agent")) from None
        except (paramiko.SSHException, ValueError, OSError) as exc:
            raise self._err("auth-failed", m("cannot read key file {path}: {error}", path=path, error=str(exc)), m("use an OpenSSH private key file")) from None

    def _watchdog(self) -> None:
        while not self._closed.wait(self.keepalive):
            t = self._t
            if t is None or not t.is_active():
                return
            answered = threading.Event()

            def ping() -> None:
                try:
                    t.global_request("keepalive@openssh.com", wait=True)
                except Exception:  # noqa: BLE001 - any failure means no answer
                    pass
                answered.set()

            threading.Thread(target=ping, daemon=True).start()
            if not answered.wait(self.dead_after) and not self._closed.is_set():
                self._dead = m("the node stopped answering (no reply for {seconds} s)", seconds=f"{self.dead_after:.0f}")
                t.close()
                return

    def _dropped(self, doing: str) -> TransportError:
        why = self._dead or m("the connection was closed")
        return self._err("dropped", m("connection lost while {doing}: {why}", doing=doing, why=why),
                         m("check the node and the network, then run the same command again: it resumes"))


    # -- channels: a budget per connection ------------------------------------------
    def _open(self, doing: str) -> tuple[paramiko.Channel, _Link]:
        """A new session channel on a connection with room for it: another
        connection is opened when every one is at its budget, and the caller
        waits when the server takes no more connections."""
        refused_idle_since: float | None = None
        delay = 0.05
        while True:
            create = False
            with self._cv:
                if self._closed.is_set() or self._t is None or not self._t.is_active() or self._dead:
                    raise self._dropped(doing)
                link = next((k for k in self._links if k.t.is_active() and (k.budget is None or k.open < k.budget)), None)
                if link is not None:
                    link.open += 1
                elif not self._connecting and not self._no_more_links and len(self._links) < self.max_links:
                    self._connecting = create = True
                else:
                    self._cv.wait(0.5)
                    continue
            if create:
                new: _Link | None = None
                try:
                    new = self._new_link()
                except TransportError as exc:
                    if exc.kind.startswith("host-key"):
                        with self._cv:
                            self._connecting = False
                            self._cv.notify_all()
                        raise
                with self._cv:
                    self._connecting = False
                    if new is None:
                        self._no_more_links = True  # the server takes no more connections: wait for a channel
                    else:
                        self._links.append(new)
                        self.facts.connections = sum(1 for k in self._links if k.t.is_active())
                    self._cv.notify_all()
                continue
            try:
                return link.t.open_session(timeout=self.stall_timeout), link
            except (paramiko.SSHException, EOFError, OSError) as exc:
                with self._cv:
                    link.open -= 1
                    others = link.open
                    if link.t.is_active() and others > 0:
                        # sshd's MaxSessions: this connection holds what it can
                        link.budget = others if link.budget is None else min(link.budget, others)
                        self.facts.session_limit = min(k.budget for k in self._links if k.budget is not None)
                    self._cv.notify_all()
                if not link.t.is_active():
                    if link.t is self._t:
                        raise self._dropped(doing) from None
                    continue  # a second connection died: the others go on
                if others > 0:
                    continue
                # refused with nothing open on this connection: sshd is still
                # freeing the sessions that were just closed
                refused_idle_since = refused_idle_since or time.monotonic()
                if time.monotonic() - refused_idle_since > REFUSED_IDLE_S:
                    raise self._err("protocol", m("the node refuses every new session while {doing}: {kind}: {error}", doing=doing, kind=type(exc).__name__, error=str(exc)),
                                    m("check the node's sshd: MaxSessions must be at least 1")) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _release(self, chan: paramiko.Channel | None, link: _Link) -> None:
        if chan is not None:
            _close_quietly(chan)
        with self._cv:
            link.open -= 1
            self._cv.notify_all()

    def probe_sessions(self) -> ServerFacts:
        """The server's session limit per connection (tried up to
        PROBE_SESSIONS channels at once, counting what else runs), and what
        else is known about the server: for preflight."""
        if self.facts.session_limit is None and self._links and not self.facts.sessions_probed:
            link = self._links[0]
            chans = []
            try:
                for _ in range(PROBE_SESSIONS):
                    with self._cv:
                        if link.budget is not None and link.open >= link.budget:
                            break
                        link.open += 1
                    try:
                        chans.append(link.t.open_session(timeout=self.stall_timeout))
                    except (paramiko.SSHException, EOFError, OSError):
                        with self._cv:
                            link.open -= 1
                            if link.t.is_active() and link.open > 0:
                                link.budget = link.open if link.budget is None else min(link.budget, link.open)
                                self.facts.session_limit = link.budget
                            self._cv.notify_all()
                        break
            finally:
                for c in chans:
                    self._release(c, link)
            self.facts.sessions_probed = PROBE_SESSIONS
        return self.facts

    # -- running commands ----------------------------------------------------------
    def _command(self, argv: Sequence[str], timeout: float | None, via_sudo: bool, stdin_len: int, cmd: _Command) -> str:
        full = list(argv)
        if timeout:
            full = ["timeout", "-k", "5", str(math.ceil(timeout)), *full]
        if cmd.pty:
            inner = ["sh", "-c", _FRAME_TTY, "onsite", cmd.begin.decode(), cmd.end.decode(), str(stdin_len) if stdin_len else "-", *full]
        else:
            inner = ["sh", "-c", _FRAME, "onsite", cmd.begin.decode(), cmd.end.decode(), *full]
        if via_sudo:
            inner = ["sudo", *(() if cmd.pty else ("-S",)), "-p", cmd.prompt, "--", *inner]
        mark = sh_join(["printf", "%s", cmd.shell_mark.decode()])
        # run by the login shell, whatever it is: simple commands only
        return f"{mark}; {'' if cmd.pty else mark + ' >&2; '}exec {sh_join(inner)}"

    def _pump(self, chan: paramiko.Channel, cmd: _Command) -> bool:
        got = False
        while chan.recv_ready():
            cmd.out.feed(chan.recv(65536))
            got = True
        while chan.recv_stderr_ready():
            cmd.err.feed(chan.recv_stderr(65536))
            got = True
        return got

    def _start(self, chan: paramiko.Channel, command: str, cmd: _Command, doing: str, via_sudo: bool) -> bool:
        """Start the command; through sudo, answer its prompt (only when it
        asks) and wait until the command itself runs. False: sudo needs a
        terminal, run it again with one."""
        if cmd.pty:
            chan.get_pty(term="dumb", width=500, height=50)
        chan.exec_command(command)
        if not via_sudo:
            return True
        user = self.endpoint.user
        chan.setblocking(False)
        deadline = time.monotonic() + self.stall_timeout + 30
        while not cmd.out.started:
            if self._pump(chan, cmd):
                asked = cmd.prompts()
                if asked > cmd.answered:
                    if self.endpoint.sudo_password is None:
                        raise self._err("sudo-refused", m("sudo asks user {user} for a password on {host}", user=user, host=self.endpoint.host),
                                        m("set ssh.sudo_password for this node (a secret reference), or give the user NOPASSWD"))
                    if cmd.answered:
                        raise self._err("sudo-refused", m("sudo refused the password of user {user}", user=user),
                                        m("check ssh.sudo_password for this node (onsite tried once: the account is not locked out)"))
                    chan.settimeout(self.stall_timeout)
                    chan.sendall(self.endpoint.sudo_password.encode() + b"\n")  # on stdin, never in argv
                    chan.setblocking(False)
                    cmd.answered = asked
                    self.facts.sudo = "password+tty" if cmd.pty else "password"
                continue
            if chan.exit_status_ready() or chan.closed:
                while self._pump(chan, cmd):
                    pass
                if cmd.out.started:
                    break
                said = cmd.sudo_said() or cmd.noise().strip() or f"exit status {chan.recv_exit_status()}"
                if not cmd.pty and not self._pty_tried:
                    # sudo may want a terminal (requiretty), and may say so in
                    # the node's language: try once with one before giving up
                    self._pty_tried = True
                    self._refused_without_pty = said
                    return False
                if cmd.pty and not self._pty_worked:
                    self._pty = False  # a terminal did not help: back to none, and the first answer counts
                    said = self._refused_without_pty or said
                if any(s in said for s in _NEEDS_TTY):
                    raise self._err("sudo-refused", m("sudo on {host} needs a terminal and refused it too: {said}", host=self.endpoint.host, said=said[:200]),
                                    m("remove `Defaults requiretty` for {user} (visudo), or log in as root", user=user))
                raise self._err("sudo-refused", m("sudo refused user {user}: {said}", user=user, said=said[:200]),
                                m("give the user sudo rights on the node, or set ssh.sudo_password (a secret reference)"))
            if time.monotonic() > deadline:
                raise self._err("sudo-refused", m("sudo did not start the command within {seconds} s", seconds=f"{self.stall_timeout + 30:.0f}"),
                                m("check sudo on the node (a slow directory service?)"))
            if self._dead:
                raise self._dropped(doing)
            select.select([chan], [], [], 0.2)
        if cmd.pty:
            self._pty_worked = True
        if not cmd.answered and not self.facts.sudo:
            self.facts.sudo = "nopasswd+tty" if cmd.pty else "nopasswd"
        return True

    def _finish(self, cmd: _Command) -> str:
        cmd.finish()
        noise = cmd.noise()
        if self.facts.noise is None and noise.strip():
            self.facts.noise = next(line for line in noise.splitlines() if line.strip())[:200]
        return noise

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = 300,
            on_stdout: LineCallback | None = None, on_stderr: LineCallback | None = None, sudo: bool = True) -> RunResult:
        doing = m("running {command}", command=argv[0])
        via_sudo = sudo and self.endpoint.user != "root"
        if not via_sudo and self.facts.sudo == "" and self.endpoint.user == "root":
            self.facts.sudo = "root"
        while True:
            out = _Lines(on_stdout)
            err = _Lines(on_stderr)
            cmd = _Command(out, err, via_sudo and self._pty)
            command = self._command(argv, timeout, via_sudo, len(stdin or b""), cmd)
            chan, link = self._open(doing)
            started = time.monotonic()
            try:
                if not self._start(chan, command, cmd, doing, via_sudo):
                    self._pty = True
                    continue
                if stdin:
                    chan.settimeout(self.stall_timeout)
                    chan.sendall(stdin)
                if not cmd.pty:
                    chan.shutdown_write()
                status = self._collect(chan, cmd, doing, started + timeout + 15 if timeout else None,
                                       m("{command} ran longer than {timeout} s and was stopped", command=argv[0], timeout=f"{timeout:.0f}"))
            except (TimeoutError, paramiko.SSHException, EOFError, OSError):
                raise self._dropped(doing) from None
            finally:
                self._release(chan, link)
            break
        noise = self._finish(cmd)
        result = RunResult(status, out.finish(), err.finish(), noise)
        # 124 is `timeout`'s "stopped it" only if the time is up; before that it
        # is the command's own exit status (a check that ran its own timeout).
        if timeout and status == 124 and time.monotonic() - started >= timeout - 0.5:
            raise self._err("command-timeout", m("{command} ran longer than {timeout} s and was stopped on the node", command=argv[0], timeout=f"{timeout:.0f}"),
                            m("the node may be overloaded or the step hung; see its log"))
        return result

    def _collect(self, chan: paramiko.Channel, cmd: _Command, doing: str, deadline: float | None, too_long: str) -> int:
        """Read stdout and stderr until the command's end; its exit status.

        The output is complete when both end marks came (or at EOF): sshd may
        send the exit status before the last output, and a daemon the command
        started may hold the stream open, so without the marks EOF gets a
        short grace period after the exit status."""
        chan.setblocking(False)
        exited_at = 0.0
        while True:
            if self._pump(chan, cmd):
                continue
            if chan.exit_status_ready():
                if chan.eof_received or chan.closed or cmd.done():
                    break
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > EOF_GRACE:
                    break
            if chan.closed and not chan.exit_status_ready():
                raise self._dropped(doing)
            if deadline and time.monotonic() > deadline:
                raise self._err("command-timeout", too_long, m("the node may be overloaded or the step hung; see its log"))
            if self._dead:
                raise self._dropped(doing)
            select.select([chan], [], [], 0.2)
        status = chan.recv_exit_status()
        if status == -1:  # paramiko's value for "closed without an exit status"
            raise self._dropped(doing)
        return status

    def put_stream(self, argv: Sequence[str], segments: Sequence[Segment], *,
                   progress: ProgressCallback | None = None, on_stdout: LineCallback | None = None) -> RunResult:
        """Stream the segments into the stdin of `argv` on the node (as root);
        stdout lines reach `on_stdout` while the stream is under way.

        Files are read into one reused buffer (no allocation per chunk) and
        sent through `_send_all`; a command that stops reading (a full disk)
        ends the sending, and its exit status and output are returned."""
        names = [seg.path.name for seg in segments if seg.path is not None]
        doing = (m("sending {file}", file=names[0]) if len(names) == 1 else m("sending {count} files", count=len(names)))
        via_sudo = self.endpoint.user != "root"
        total = sum(len(seg.data) if seg.path is None else seg.length for seg in segments)
        while True:
            out = _Lines(on_stdout)
            err = _Lines(None)
            cmd = _Command(out, err, via_sudo and self._pty)
            command = self._command(argv, None, via_sudo, total, cmd)
            chan, link = self._open(doing)
            try:
                if not self._start(chan, command, cmd, doing, via_sudo):
                    self._pty = True
                    continue
                status = self._stream(chan, cmd, segments, progress, doing)
            except TimeoutError:
                self._dead = self._dead or m("no progress for {seconds} s", seconds=f"{self.stall_timeout:.0f}")
                raise self._dropped(doing) from None
            except (paramiko.SSHException, EOFError, OSError):
                raise self._dropped(doing) from None
            finally:
                self._release(chan, link)
            noise = self._finish(cmd)
            return RunResult(status, out.finish(), err.finish(), noise)

    def _stream(self, chan: paramiko.Channel, cmd: _Command, segments: Sequence[Segment], progress: ProgressCallback | None,
                doing: str) -> int:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        sent = 0

        def send(data: memoryview) -> None:
            _send_all(chan, data)
            while chan.recv_ready():  # keep the command's reports flowing (progress lines)
                cmd.out.feed(chan.recv(65536))

        chan.settimeout(self.stall_timeout)  # no window for this long: the link is dead
        try:
            for seg in segments:
                if seg.path is None:
                    send(memoryview(seg.data))
                    continue
                with _open_local(seg.path) as fh:
                    fh.seek(seg.offset)
                    left = seg.length
                    while left > 0:
                        n = _local_read(fh, view[:min(CHUNK, left)])
                        send(view[:n])
                        left -= n
                        sent += n
                        if progress:
                            progress(sent)
        except (OSError, EOFError, paramiko.SSHException):
            if not chan.exit_status_ready():
                raise
            # the command stopped reading (a full disk...): report its status and words
        if not chan.exit_status_ready() and not cmd.pty:
            chan.shutdown_write()
        return self._collect(chan, cmd, doing, time.monotonic() + self.stall_timeout + 60,
                             m("the node did not finish {doing} within {seconds} s of the last byte", doing=doing,
                               seconds=f"{self.stall_timeout + 60:.0f}"))

    def get(self, remote: str, local: Path) -> None:
        """Copy a file from the node, byte for byte (written to local.part,
        renamed when complete)."""
        doing = m("reading {path}", path=remote)
        via_sudo = self.endpoint.user != "root"
        part = local.with_name(local.name + ".part")
        while True:
            err = _Lines(None)
            with open(part, "wb") as fh:
                cmd = _Command(_Sink(fh.write), err, via_sudo and self._pty)
                command = self._command(["cat", "--", remote], None, via_sudo, 0, cmd)
                chan, link = self._open(doing)
                try:
                    if not self._start(chan, command, cmd, doing, via_sudo):
                        self._pty = True
                        continue
                    if not cmd.pty:
                        chan.shutdown_write()
                    status = self._collect(chan, cmd, doing, None, "")
                    self._finish(cmd)
                except (TimeoutError, paramiko.SSHException, EOFError, OSError, TransportError) as exc:
                    fh.close()
                    part.unlink(missing_ok=True)
                    if isinstance(exc, TransportError):
                        raise
                    raise self._dropped(doing) from None
                finally:
                    self._release(chan, link)
            break
        if status != 0:
            part.unlink(missing_ok=True)
            raise self._err("protocol", m("cannot read {path}: {error}", path=remote, error=err.finish().strip()), m("check the path on the node"))
        part.replace(local)

    def close(self) -> None:
        self._closed.set()
        with self._cv:
            links = list(self._links)
            self._cv.notify_all()
        for k in links:
            k.t.close()
        if self._t is not None and not links:
            self._t.close()


class _Sink:
    def __init__(self, write) -> None:
        self.feed = write


def _open_local(path: Path):
    """A bundle file to send, unbuffered (it is read into put_stream's buffer)."""
    try:
        return open(path, "rb", buffering=0)
    except OSError as exc:
        raise LocalFileError(f"cannot read {path}: {exc.strerror}") from None


def _local_read(fh, view: memoryview) -> int:
    try:
        n = fh.readinto(view)
    except OSError as exc:
        raise LocalFileError(f"cannot read {fh.name}: {exc.strerror}") from None
    if not n:
        raise LocalFileError(f"{fh.name} is shorter than the bundle's manifest says: it changed since the bundle was checked")
    return n


def _close_quietly(chan: paramiko.Channel) -> None:
    """Closing a channel of a dead connection raises (EOFError, socket
    errors); that must never replace the TransportError being raised."""
    try:
        chan.close()
    except (EOFError, OSError, paramiko.SSHException):
        pass


def _send_all(chan: paramiko.Channel, data: bytes) -> None:
    """Channel.sendall without its copy of the remaining buffer after every
    32 KiB packet (quadratic in the chunk size): slices of a memoryview are
    free, and paramiko passes them through to the packet as they are."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        sent = chan.send(view[pos:])
        if sent == 0:
            raise EOFError("channel closed")
        pos += sent


class _Lines:
    """Split a byte stream into lines for a callback; keep the bytes (capped)
    exactly as they came for the result."""

    MAX_KEEP = 4 << 20

    def __init__(self, callback: LineCallback | None) -> None:
        self.callback = callback
        self.partial = b""
        self.raw = bytearray()

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if len(self.raw) < self.MAX_KEEP:
            self.raw += data[: self.MAX_KEEP - len(self.raw)]
        if self.callback is None:
            return
        self.partial += data
        *lines, self.partial = self.partial.split(b"\n")
        for line in lines:
            self.callback(line.decode("utf-8", "replace"))

    def finish(self) -> str:
        if self.partial and self.callback is not None:
            self.callback(self.partial.decode("utf-8", "replace"))
            self.partial = b""
        return self.raw.decode("utf-8", "replace")


def connect(endpoint: Endpoint, **options) -> SshTransport:
    return SshTransport(endpoint, **options).connect()
