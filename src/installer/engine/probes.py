"""Network probes `onsite verify` sends from the installer's own machine, so
the proof covers the path a customer's devices use: a RADIUS Access-Request
(RFC 2865), a SOCKS5 CONNECT (RFC 1928), a TCP connect. Generic kinds: the
bundles' `verify:` entries say where to send them. Standard library only;
nothing here needs a tool on the laptop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import struct

from ..model.i18n import m

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
_CODES = {2: "Access-Accept", 3: "Access-Reject", 11: "Access-Challenge"}
PROBE_USER = "onsite-probe"


def probe_password(shared_secret: str, user: str = PROBE_USER) -> str:
    """A probe user's password, derived from the shared secret so that no
    second secret is needed: sha256("USER:SECRET"), the first 24 hex digits.
    A bundle that declares a radius probe creates its user the same way."""
    return hashlib.sha256(f"{user}:{shared_secret}".encode()).hexdigest()[:24]


def tcp_connect(address: str, port: int, *, timeout: float = 3.0) -> float:
    """Milliseconds to connect; raises ProbeError."""
    import time

    t0 = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return (time.monotonic() - t0) * 1000
    except OSError as exc:
        raise ProbeError(m("{address}:{port}/tcp: {error}", address=address, port=port, error=str(exc.strerror or exc))) from None


@dataclasses.dataclass
class RadiusAnswer:
    code: int
    source: str
    seconds: float

    @property
    def name(self) -> str:
        return _CODES.get(self.code, f"code {self.code}")


class ProbeError(Exception):
    """A probe failed; `message` is the m() message (shown translated)."""

    @property
    def message(self) -> str:
        return self.args[0] if self.args else ""


def _hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    padded = password + b"\0" * (-len(password) % 16 or (16 if not password else 0))
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], key, strict=True))
        out += block
        last = block
    return out


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!BB", kind, len(value) + 2) + value


def access_request(address: str, port: int, secret: str, user: str, password: str, *,
                   timeout: float = 3.0, tries: int = 3) -> RadiusAnswer:
    """Send an Access-Request; return the verified answer. Raises ProbeError
    when nothing answers or the answer's authenticator does not match the
    secret (a wrong secret or a forged reply)."""
    import time

    key = secret.encode()
    ident = os.urandom(1)[0]
    auth = os.urandom(16)
    attrs = _attr(1, user.encode()) + _attr(2, _hide_password(password.encode(), key, auth)) \
        + _attr(4, socket.inet_aton("127.0.0.1"))  # NAS-IP-Address: who asks does not matter here
    packet = struct.pack("!BBH", ACCESS_REQUEST, ident, 20 + len(attrs)) + auth + attrs
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        t0 = time.monotonic()
        for _ in range(tries):
            s.sendto(packet, (address, port))
            try:
                while True:
                    data, src = s.recvfrom(4096)
                    if len(data) >= 20 and data[1] == ident:
                        break
            except TimeoutError:
                continue
            code, _, length = struct.unpack("!BBH", data[:4])
            expect = hashlib.md5(data[:4] + auth + data[20:length] + key).digest()
            if data[4:20] != expect:
                raise ProbeError(m("the answer from {source} does not match the shared secret", source=src[0]))
            return RadiusAnswer(code=code, source=src[0], seconds=time.monotonic() - t0)
    raise ProbeError(m("no answer from {address}:{port}/udp after {tries} tries of {seconds} s", address=address, port=port, tries=tries, seconds=f"{timeout:g}"))


def socks5_connect(proxy: str, port: int, target: str, target_port: int, *, timeout: float = 5.0) -> bytes:
    """CONNECT through a SOCKS5 proxy (no authentication) and return the first
    bytes the target sends (an SSH banner, say). Raises ProbeError."""
    try:
        with socket.create_connection((proxy, port), timeout=timeout) as s:
            s.sendall(b"\x05\x01\x00")
            if _recv(s, 2) != b"\x05\x00":
                raise ProbeError(m("{proxy}:{port} refused the no-authentication method", proxy=proxy, port=port))
            s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(target) + struct.pack("!H", target_port))
            head = _recv(s, 4)
            if head[1] != 0:
                raise ProbeError(m("{proxy}:{port} answered CONNECT {target}:{target_port} with error {code}", proxy=proxy, port=port, target=target, target_port=target_port, code=head[1]))
            _recv(s, {1: 4, 4: 16}.get(head[3], 0) + 2 if head[3] != 3 else _recv(s, 1)[0] + 2)
            return s.recv(256)
    except OSError as exc:
        raise ProbeError(m("{proxy}:{port}: {error}", proxy=proxy, port=port, error=str(exc.strerror or exc))) from None


def _recv(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ProbeError(m("the proxy closed the connection"))
        out += chunk
    return out
