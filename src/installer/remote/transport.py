"""The transport interface: how the core talks to a node.

The core (push, preflight, runner) sees only `Transport`; the one
implementation over SSH lives in `ssh_paramiko.py`, the only module that
imports paramiko. Commands are argv lists, quoted here, never strings glued
together from values: `sh_join(["cat", path])` is safe for any `path`.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from ..model.problems import cleaned

LineCallback = Callable[[str], None]
ProgressCallback = Callable[[int], None]  # file bytes sent so far in this stream


@dataclasses.dataclass(frozen=True)
class Segment:
    """A piece of a stream: `data` as it is, or `length` bytes of the local
    file `path` from `offset` (read as it is sent, never all in memory)."""

    data: bytes = b""
    path: Path | None = None
    offset: int = 0
    length: int = 0


def sh_join(argv: Sequence[str]) -> str:
    """Quote every word for a POSIX shell."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def sh_script(script: str, *args: str) -> list[str]:
    """argv that runs `script` with `args` as $1, $2...: values never enter the
    script's text."""
    return ["sh", "-c", script, "onsite", *args]


class TransportError(Exception):
    """A connection-level failure, with its kind and what to do about it.

    kinds: unreachable, refused, timeout, banner-timeout, auth-failed,
    host-key-unknown, host-key-changed, sudo-refused, dropped, command-timeout,
    protocol.
    """

    def __init__(self, kind: str, node: str, message: str, hint: str = "", **details: str) -> None:
        super().__init__(f"{node}: {message}")
        self.kind = kind
        self.node = node
        # what a server or a node said may be part of it (sudo's reply, a banner): shown, never obeyed
        self.message = cleaned(message, keep_lines=True)
        self.hint = cleaned(hint, keep_lines=True)
        self.details = details


class LocalFileError(Exception):
    """A file to send could not be read here (gone, shorter, unreadable):
    not the connection's fault, so not a TransportError."""


@dataclasses.dataclass
class RunResult:
    """stdout and stderr are the command's own output: the transport frames
    every command between markers it chose, so whatever the node's login
    shell prints around it (a noisy .bashrc, /etc/profile.d) lands in
    `noise` instead, never in what the engine parses."""

    exit_status: int
    stdout: str
    stderr: str
    noise: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class Transport(Protocol):
    node: str

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = 300,
        on_stdout: LineCallback | None = None,
        on_stderr: LineCallback | None = None,
        sudo: bool = True,
    ) -> RunResult:
        """Run argv on the node (as root: through sudo for other users).
        The result's stdout/stderr are the command's own (framed; what the
        login shell printed around it is `noise`). Waits for a free session
        where the server limits them. Raises TransportError(command-timeout)
        when it runs past `timeout`."""
        ...

    def put_stream(self, argv: Sequence[str], segments: Sequence[Segment], *,
                   progress: ProgressCallback | None = None, on_stdout: LineCallback | None = None) -> RunResult:
        """Stream the segments, in order, into the stdin of `argv` on the node
        (as root), passing its stdout lines to `on_stdout` as they come. The
        result carries its exit status, stdout and stderr, also when the
        command stopped reading early (a full disk). Raises TransportError
        (dropped) when the connection dies, LocalFileError when a local file
        cannot be read to its length."""
        ...

    def get(self, remote: str, local: Path) -> None: ...

    def close(self) -> None: ...


@dataclasses.dataclass
class ServerFacts:
    """What a transport found out about the node's SSH server and login, for
    preflight (None: not known yet)."""

    session_limit: int | None = None  # channels per connection the server allows (None: none refused)
    sessions_probed: int = 0  # how many were tried when the limit was probed
    connections: int = 1  # connections in use to the node
    kex: str = ""
    host_key_type: str = ""
    cipher: str = ""
    mac: str = ""
    server_ciphers: tuple[str, ...] = ()
    noise: str | None = None  # the first line the login shell printed around a command
    sudo: str = ""  # root | nopasswd | password | password+tty


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Everything needed to reach one node; secrets already resolved."""

    node: str
    host: str
    port: int = 22
    user: str = "root"
    auth: str = "key"  # key | password | agent
    key_path: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    sudo_password: str | None = dataclasses.field(default=None, repr=False)
    host_key: str | None = None  # pinned SHA256:...
    known_hosts: str | None = None
