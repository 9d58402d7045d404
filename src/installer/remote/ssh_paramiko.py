"""The SSH transport, over paramiko. The only module that imports paramiko.

- Connects with separate timeouts for TCP connect, banner/handshake and auth,
  and maps every failure to one readable `TransportError` kind.
- Verifies the host key: the fingerprint pinned in the answer file, else the
  site's known_hosts; an unknown key is refused unless the caller accepts new
  keys (and then pins what `seen_host_key` reports); a changed key always
  stops, naming both fingerprints.
- Keeps the connection under watch: a keepalive request every few seconds; no
  answer for `dead_after` seconds closes the connection, so a cut cable ends
  in a clear error instead of a hang.
- Runs commands as root: directly, or through `sudo -n` (no password), or
  `sudo -S` with the password sent on stdin, never in argv. Every command runs
  under coreutils `timeout` on the node as well as a local deadline.
- Streams files over an exec channel (`cat >> part`) with a large window and
  AES-GCM preferred: about twice paramiko's SFTP put in throughput.
"""

from __future__ import annotations

import errno
import logging
import math
import select
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paramiko

from .hostkeys import fingerprint_of_blob
from .transport import Endpoint, LineCallback, LocalFileError, ProgressCallback, RunResult, Segment, TransportError, sh_join

# paramiko logs failures (with tracebacks) at ERROR; with no logging set up,
# Python would print them on the user's terminal. Every failure becomes a
# TransportError with a readable message instead.
_paramiko_log = logging.getLogger("paramiko")
_paramiko_log.addHandler(logging.NullHandler())
_paramiko_log.propagate = False

PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
PREFERRED_KEYS = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
WINDOW = 8 << 20
EOF_GRACE = 2.0
CHUNK = 1 << 20
SUDO_REFUSED = ("a password is required", "is not in the sudoers", "incorrect password", "Sorry, try again",
                "may not run sudo", "sudo: command not found", "sudo: not found")


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
        self.seen_host_key: str | None = None
        self.host_key_was_new = False
        self._t: paramiko.Transport | None = None
        self._dead: str | None = None
        self._closed = threading.Event()

    # -- connecting --------------------------------------------------------------
    def _err(self, kind: str, message: str, hint: str = "", **details: str) -> TransportError:
        return TransportError(kind, self.node, message, hint, **details)

    def connect(self) -> SshTransport:
        ep = self.endpoint
        where = f"{ep.host}:{ep.port}"
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=self.connect_timeout)
        except ConnectionRefusedError:
            raise self._err("refused", f"{where} refused the connection: nothing listens there",
                            "check that sshd runs on the node and that the SSH port is right") from None
        except TimeoutError:
            raise self._err("timeout", f"no answer from {where} within {self.connect_timeout:.0f} s",
                            "check the address, the cable or VLAN, and firewalls between here and the node") from None
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
                raise self._err("unreachable", f"{ep.host} is unreachable ({exc.strerror})",
                                "check that this machine is on the nodes' network and the address is right") from None
            raise self._err("unreachable", f"cannot connect to {where}: {exc.strerror}", "check the address") from None
        try:
            t = paramiko.Transport(sock, default_window_size=WINDOW)
            t.banner_timeout = self.banner_timeout
            t.handshake_timeout = self.banner_timeout
            opts = t.get_security_options()
            opts.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in opts.ciphers) + tuple(
                c for c in opts.ciphers if c not in PREFERRED_CIPHERS)
            opts.key_types = tuple(k for k in PREFERRED_KEYS if k in opts.key_types) + tuple(
                k for k in opts.key_types if k not in PREFERRED_KEYS)
            # start_client returns quietly when *its* timeout runs out, so give
            # it longer than the banner timeout and check the outcome below.
            t.start_client(timeout=self.banner_timeout * 2 + 5)
            if not t.is_active() or t.host_key is None:
                raise paramiko.SSHException(str(t.get_exception() or "Error reading SSH protocol banner"))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            sock.close()
            text = str(exc)
            if "banner" in text.lower():
                raise self._err("banner-timeout", f"{where} accepted the connection but sent no SSH banner within {self.banner_timeout:.0f} s",
                                "is this port really sshd? is the node overloaded?") from None
            raise self._err("protocol", f"SSH handshake with {where} failed: {text or type(exc).__name__}",
                            "check that the port is sshd and that it offers modern algorithms") from None
        self._t = t
        try:
            self._check_host_key(t.get_remote_server_key())
            self._authenticate(t)
        except BaseException:
            t.close()
            raise
        t.set_keepalive(int(self.keepalive))
        threading.Thread(target=self._watchdog, name=f"ssh-watchdog-{self.node}", daemon=True).start()
        return self

    def _check_host_key(self, key: paramiko.PKey) -> None:
        ep = self.endpoint
        fp = fingerprint_of_blob(key.asbytes())
        self.seen_host_key = fp
        pinned = ep.host_key
        if pinned is None and ep.known_hosts:
            pinned = self._known_hosts_fingerprint(key.get_name())
        if pinned is None:
            if self.accept_new_host_key:
                self.host_key_was_new = True
                return
            raise self._err(
                "host-key-unknown",
                f"{ep.host} presents host key {fp} ({key.get_name()}), which is not pinned",
                "compare it with the node's own (on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), "
                "then run again with --accept-new-host-keys to pin it, or write it as the node's ssh.host_key",
                seen=fp,
            )
        if fp != pinned:
            raise self._err(
                "host-key-changed",
                f"the host key of {ep.host} has CHANGED: pinned {pinned}, the node now presents {fp}",
                "stop if you did not reinstall this node: another machine may be answering in its place. If it was "
                f"reinstalled, confirm the new key on its console and replace ssh.host_key of node {self.node} in the answer file",
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
                    raise self._err("auth-failed", "no SSH agent with keys is running here", "start ssh-agent and ssh-add the key, or use auth: key")
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
            raise self._err("auth-failed", f"{ep.host} does not accept {ep.auth} login for {ep.user} (it allows: {', '.join(exc.allowed_types)})",
                            "change ssh.auth for this node") from None
        except paramiko.AuthenticationException:
            what = {"password": "the password", "agent": "the agent's keys"}.get(ep.auth, f"the key {ep.key_path}")
            raise self._err("auth-failed", f"{ep.host} refused {what} for user {ep.user}",
                            "check the user and the credential; onsite does not retry, so the account is not locked out") from None
        except paramiko.SSHException as exc:
            raise self._err("auth-failed", f"login to {ep.host} failed: {exc}", "check the node's sshd") from None

    def _load_key(self) -> paramiko.PKey:
        path = self.endpoint.key_path
        if not path:
            raise self._err("auth-failed", "no key file is named", "set ssh.key for this node")
        expanded = Path(path).expanduser()
        try:
            return paramiko.PKey.from_path(expanded)
        except FileNotFoundError:
            raise self._err("auth-failed", f"key file {path} does not exist", "check ssh.key for this node") from None
        except paramiko.PasswordRequiredException:
            raise self._err("auth-failed", f"key file {path} is protected by a passphrase",
                            "load it into ssh-agent and use auth: agent") from None
        except (paramiko.SSHException, ValueError, OSError) as exc:
            raise self._err("auth-failed", f"cannot read key file {path}: {exc}", "use an OpenSSH private key file") from None

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
                self._dead = f"the node stopped answering (no reply for {self.dead_after:.0f} s)"
                t.close()
                return

    def _dropped(self, doing: str) -> TransportError:
        why = self._dead or "the connection was closed"
        return self._err("dropped", f"connection lost while {doing}: {why}",
                         "check the node and the network, then run the same command again: it resumes")

    # -- running commands ----------------------------------------------------------
    def _wrap(self, argv: Sequence[str], timeout: float | None, sudo: bool) -> tuple[str, bytes]:
        full = list(argv)
        if timeout:
            full = ["timeout", "-k", "5", str(math.ceil(timeout)), *full]
        prefix = b""
        if sudo and self.endpoint.user != "root":
            if self.endpoint.sudo_password is not None:
                full = ["sudo", "-S", "-p", "", "--", *full]
                prefix = self.endpoint.sudo_password.encode() + b"\n"
            else:
                full = ["sudo", "-n", "--", *full]
        return sh_join(full), prefix

    def _open(self, doing: str) -> paramiko.Channel:
        t = self._t
        if t is None or not t.is_active():
            raise self._dropped(doing)
        delay = 0.1
        while True:
            try:
                return t.open_session(timeout=self.stall_timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if not t.is_active():
                    raise self._dropped(doing) from None
                # the connection lives; the node refused this one session (sshd's
                # MaxSessions while other steps hold theirs): wait a little
                if delay > 3:
                    raise self._err("protocol", f"the node refused a new session while {doing}: {type(exc).__name__}: {exc}",
                                    "the node's sshd limits sessions (MaxSessions); run again") from None
                time.sleep(delay)
                delay *= 2

    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = 300,
            on_stdout: LineCallback | None = None, on_stderr: LineCallback | None = None, sudo: bool = True) -> RunResult:
        command, prefix = self._wrap(argv, timeout, sudo)
        doing = f"running {argv[0]}"
        chan = self._open(doing)
        out = _Lines(on_stdout)
        err = _Lines(on_stderr)
        started = time.monotonic()
        try:
            chan.exec_command(command)
            if prefix or stdin:
                chan.settimeout(self.stall_timeout)
                chan.sendall(prefix + (stdin or b""))
            chan.shutdown_write()
            status = self._collect(chan, out, err, doing, started + timeout + 15 if timeout else None,
                                   f"{argv[0]} ran longer than {timeout:.0f} s and was stopped")
        except (TimeoutError, paramiko.SSHException, EOFError, OSError):
            raise self._dropped(doing) from None
        finally:
            _close_quietly(chan)
        result = RunResult(status, out.finish(), err.finish())
        # 124 is `timeout`'s "stopped it" only if the time is up; before that it
        # is the command's own exit status (a check that ran its own timeout).
        if timeout and status == 124 and time.monotonic() - started >= timeout - 0.5:
            raise self._err("command-timeout", f"{argv[0]} ran longer than {timeout:.0f} s and was stopped on the node",
                            "the node may be overloaded or the step hung; see its log")
        if sudo and self.endpoint.user != "root" and status == 1 and any(s in result.stderr for s in SUDO_REFUSED):
            raise self._err("sudo-refused", f"sudo refused user {self.endpoint.user}: {result.stderr.strip()[:200]}",
                            "give the user sudo rights on the node, or set ssh.sudo_password (a secret reference)")
        return result

    def _collect(self, chan: paramiko.Channel, out: _Lines, err: _Lines, doing: str, deadline: float | None,
                 too_long: str) -> int:
        """Read stdout and stderr until the command's end; its exit status.

        sshd may send the exit status before the last output: the output is
        complete at EOF. A daemon the command started may hold the stream
        open, so EOF gets a short grace period after the exit status."""
        chan.setblocking(False)
        exited_at = 0.0
        while True:
            if chan.recv_ready():
                out.feed(chan.recv(65536))
                continue
            if chan.recv_stderr_ready():
                err.feed(chan.recv_stderr(65536))
                continue
            if chan.exit_status_ready():
                if chan.eof_received or chan.closed:
                    break
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > EOF_GRACE:
                    break
            if chan.closed and not chan.exit_status_ready():
                raise self._dropped(doing)
            if deadline and time.monotonic() > deadline:
                raise self._err("command-timeout", too_long, "the node may be overloaded or the step hung; see its log")
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
        command, prefix = self._wrap(argv, None, True)
        names = [seg.path.name for seg in segments if seg.path is not None]
        doing = f"sending {names[0] if len(names) == 1 else f'{len(names)} files'}"
        chan = self._open(doing)
        out = _Lines(on_stdout)
        err = _Lines(None)
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        sent = 0

        def send(data: memoryview) -> None:
            _send_all(chan, data)
            while chan.recv_ready():  # keep the command's reports flowing (progress lines)
                out.feed(chan.recv(65536))

        try:
            chan.exec_command(command)
            chan.settimeout(self.stall_timeout)  # no window for this long: the link is dead
            try:
                if prefix:
                    send(memoryview(prefix))
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
            if not chan.exit_status_ready():
                chan.shutdown_write()
            status = self._collect(chan, out, err, doing, time.monotonic() + self.stall_timeout + 60,
                                   f"the node did not finish {doing} within {self.stall_timeout + 60:.0f} s of the last byte")
            return RunResult(status, out.finish(), err.finish())
        except TimeoutError:
            self._dead = self._dead or f"no progress for {self.stall_timeout:.0f} s"
            raise self._dropped(doing) from None
        except (paramiko.SSHException, EOFError, OSError):
            raise self._dropped(doing) from None
        finally:
            _close_quietly(chan)

    def get(self, remote: str, local: Path) -> None:
        """Copy a file from the node, byte for byte (written to local.part,
        renamed when complete)."""
        command, prefix = self._wrap(["cat", "--", remote], None, True)
        doing = f"reading {remote}"
        chan = self._open(doing)
        part = local.with_name(local.name + ".part")
        try:
            chan.exec_command(command)
            chan.settimeout(self.stall_timeout)
            if prefix:
                chan.sendall(prefix)
            chan.shutdown_write()
            with open(part, "wb") as out:
                while chunk := chan.recv(CHUNK):
                    out.write(chunk)
            stderr = b""
            while chan.recv_stderr_ready():
                stderr += chan.recv_stderr(65536)
            status = chan.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, EOFError, OSError):
            part.unlink(missing_ok=True)
            raise self._dropped(doing) from None
        finally:
            _close_quietly(chan)
        if status != 0:
            part.unlink(missing_ok=True)
            if status == -1:
                raise self._dropped(doing)
            raise self._err("protocol", f"cannot read {remote}: {stderr.decode('utf-8', 'replace').strip()}",
                            "check the path on the node")
        part.replace(local)

    def close(self) -> None:
        self._closed.set()
        if self._t is not None:
            self._t.close()


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
