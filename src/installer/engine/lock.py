"""One lifecycle at a time per site: a lock on the installer and on every node.

On the installer the lock is a file beside the site's journal folder
(`onsite-journal/<site>.lock`), held with flock(2) for as long as the
lifecycle runs and naming its holder (host, pid, command, start time). The
kernel drops the flock when the process ends in any way, kill -9 included, so:

- flock refused: another process on this machine holds it -> refused at once,
  naming the holder;
- flock granted but the file still names a holder: that process ended without
  unlocking (a crash, kill -9, a power cut) -> reported as stale, with the way
  to break it (--break-lock); nothing else is written by the refused run.

On the nodes the lock is `/var/lib/onsite/lock`, naming the same holder and a
lock id; while the lifecycle runs a heartbeat refreshes its time every
HEARTBEAT_S seconds. Another installer (a second laptop) finds it there and is
refused; a node lock whose heartbeat is older than STALE_S is stale and can be
broken the same way. A refused node lock releases the node locks already taken.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..model.i18n import m
from ..model.problems import Problem, ProblemError, show
from ..remote.connections import Connections
from ..remote.transport import TransportError

try:
    import fcntl
except ImportError:  # not on Windows; the laptop lock then relies on the file alone
    fcntl = None  # type: ignore[assignment]

NODE_LOCK = "/var/lib/onsite/lock"
HEARTBEAT_S = 15.0
STALE_S = 90.0
EXIT_LOCKED = 1


@dataclasses.dataclass
class Holder:
    host: str
    pid: int
    command: str
    started: str
    lock_id: str = ""
    site: str = ""
    machine: str = ""  # /etc/machine-id where there is one: two laptops may share a hostname

    @classmethod
    def me(cls, command: str, site: str) -> Holder:
        return cls(host=socket.gethostname(), pid=os.getpid(), command=command,
                   started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                   lock_id=f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}", site=site, machine=machine_id())

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        try:
            d = json.loads(text)
            return cls(host=str(d["host"]), pid=int(d["pid"]), command=str(d.get("command", "")),
                       started=str(d.get("started", "")), lock_id=str(d.get("lock_id", "")), site=str(d.get("site", "")),
                       machine=str(d.get("machine", "")))
        except (ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    def describe(self) -> str:
        return m("{command} (pid {pid} on {host}, since {started})", command=show(self.command, 80), pid=self.pid, host=show(self.host),
                 started=show(self.started))


def machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return socket.gethostname()


def _locked(message: str, hint: str, code: str) -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, code=code), exit_code=EXIT_LOCKED)


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as the holder's description shows it: the verb and the
    answer file, never an option's value (a value could be a secret)."""
    argv = list(sys.argv if argv is None else argv)
    words = ["onsite"]
    for a in argv[1:]:
        words.append(a if not a.startswith("-") or "=" not in a else a.split("=", 1)[0] + "=...")
    return " ".join(words)[:200]


class SiteLock:
    """The installer-side lock. `acquire()` raises ProblemError (exit 1) when
    refused; `release()` is safe to call twice."""

    def __init__(self, path: Path, holder: Holder) -> None:
        self.path = Path(path)
        self.holder = holder
        self._fd: int | None = None

    def acquire(self, break_lock: bool = False) -> Holder | None:
        """Take the lock; returns the stale holder that was broken, if any."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    other = Holder.from_json(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
                    raise _locked(m("another onsite is working on this site: {holder}", holder=other.describe() if other else m("unknown holder")),
                                  m("wait for it to finish, or stop it (Ctrl-C in its terminal); only one operation runs on a site at a time"), "locked") from None
            previous = os.pread(fd, 65536, 0).decode("utf-8", "replace").strip()
            stale = Holder.from_json(previous) if previous else None
            if previous and not break_lock:
                raise _locked(
                    m("a stale lock: {holder} ended without unlocking ({path})", holder=stale.describe() if stale else m("an unreadable holder"), path=self.path),
                    m("make sure that onsite no longer runs (it may have been killed or the laptop restarted), then run the same command with --break-lock"), "stale-lock")
            os.ftruncate(fd, 0)
            os.pwrite(fd, (self.holder.to_json() + "\n").encode(), 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return stale

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # an empty file: nobody holds it
            os.fsync(fd)
        finally:
            os.close(fd)  # drops the flock

    @staticmethod
    def read(path: Path) -> Holder | None:
        try:
            return Holder.from_json(Path(path).read_text(encoding="utf-8"))
        except OSError:
            return None


# The node lock, one remote command each. $1 lock file, $2 our lock id,
# $3 our holder JSON (the holder names host, pid and command: nothing secret),
# $4 stale seconds (0 with break: take it over), $5 break (1/0). Prints one
# verdict line.
_ACQUIRE = r'''
f=$1 id=$2 holder=$3 stale=$4 brk=$5 mid=$6
mkdir -p "$(dirname "$f")" || exit 3
umask 077
if ( set -C; printf '%s\n' "$holder" > "$f" ) 2>/dev/null; then echo "onsite-lock taken"; exit 0; fi
cur=$(cat "$f" 2>/dev/null)
case $cur in *"\"lock_id\": \"$id\""*) touch "$f"; echo "onsite-lock taken"; exit 0 ;; esac

age=$(( $(date +%s) - $(stat -c %Y "$f" 2>/dev/null || echo 0) ))
if [ "$age" -ge "$stale" ] && [ "$brk" = 1 ]; then
    printf '%s\n' "$holder" > "$f.new" && mv -f "$f.new" "$f" && echo "onsite-lock broken $age $cur"; exit 0
fi
if [ "$age" -ge "$stale" ]; then echo "onsite-lock stale $age $cur"; else echo "onsite-lock held $age $cur"; fi
'''
_HEARTBEAT = r'''grep -qF "\"lock_id\": \"$2\"" "$1" 2>/dev/null && touch "$1"; true'''
_RELEASE = r'''if grep -qF "\"lock_id\": \"$2\"" "$1" 2>/dev/null; then rm -f "$1"; fi; true'''


class NodeLocks:
    """The lock file on every node of the operation, with a heartbeat."""

    def __init__(self, conns: Connections, holder: Holder, nodes: Sequence[str]) -> None:
        self.conns, self.holder, self.nodes = conns, holder, list(nodes)
        self.taken: list[str] = []
        self.broken: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self, break_lock: bool = False) -> None:
        refused: list[Problem] = []
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(self.nodes))), thread_name_prefix="lock") as pool:
            for problem in pool.map(lambda n: self._acquire_one(n, break_lock), self.nodes):
                if problem is not None:
                    refused.append(problem)
        if refused:
            self.release()
            raise ProblemError(refused, exit_code=EXIT_LOCKED)
        self._beat = threading.Thread(target=self._heartbeat, name="onsite-lock-heartbeat", daemon=True)
        self._beat.start()

    def _acquire_one(self, node: str, break_lock: bool) -> Problem | None:
        """None when taken (the node joins self.taken), else why not."""
        try:
            verdict, rest = self._ask(node, STALE_S, break_lock)
            if verdict in ("held", "stale") and self._ended_here(Holder.from_json(rest.partition(" ")[2])):
                # left by an earlier run on this machine that has ended (a dropped
                # connection kept its unlock from the node): ours to take over
                verdict, rest = self._ask(node, 0, True)
        except TransportError as exc:
            return Problem(message=m("{node}: could not take the node lock: {message}", node=node, message=exc.message), hint=exc.hint,
                           code="node-lock", node=node)
        if verdict in ("taken", "broken"):
            with self._lock:
                self.taken.append(node)
                if verdict == "broken":
                    self.broken.append(node)
            return None
        age, _, cur = rest.partition(" ")
        other = Holder.from_json(cur)
        who = other.describe() if other else m("an unknown holder")
        if verdict == "stale":
            return Problem(message=m("{node}: a stale node lock of {who}: no heartbeat for {age} s", node=node, who=who, age=show(age)),
                           hint=m("make sure no other laptop works on this site, then run the same command with --break-lock"),
                           code="stale-lock", node=node)
        if verdict == "held":
            return Problem(message=m("{node}: another installer works on this site: {who} (heartbeat {age} s ago)", node=node, who=who, age=show(age)),
                           hint=m("wait for it to finish; only one operation runs on a site at a time"), code="locked",
                           node=node)
        return Problem(message=m("{node}: the node lock could not be taken", node=node), node=node, code="node-lock",
                       hint=m("check that {lock_file} can be written on the node", lock_file=NODE_LOCK))

    def _ask(self, node: str, stale: float, break_lock: bool) -> tuple[str, str]:
        res = self.conns.get(node).run(
            ["sh", "-c", _ACQUIRE, "onsite-lock", NODE_LOCK, self.holder.lock_id, self.holder.to_json(),
             str(int(stale)), "1" if break_lock else "0"], timeout=30)
        line = next((x for x in res.stdout.splitlines() if x.startswith("onsite-lock ")), "")
        verdict, _, rest = line[len("onsite-lock "):].partition(" ")
        return verdict, rest

    def _ended_here(self, other: Holder | None) -> bool:
        """Was the lock's holder a process of this machine that has ended?"""
        if other is None or not other.machine or other.machine != self.holder.machine:
            return False
        if other.pid == os.getpid():
            return True
        try:
            os.kill(other.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            for node in list(self.taken):
                try:
                    self.conns.get(node).run(["sh", "-c", _HEARTBEAT, "onsite-lock", NODE_LOCK, self.holder.lock_id],
                                             timeout=20)
                except TransportError:
                    pass  # the node's own work reports a lost node; the lock turns stale by itself

    def release(self) -> list[str]:
        """Remove our lock from every node that has it; returns the nodes
        where that failed (their lock goes stale and can be broken)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        left = []
        for node in self.taken:
            try:
                self.conns.get(node).run(["sh", "-c", _RELEASE, "onsite-lock", NODE_LOCK, self.holder.lock_id], timeout=20)
            except TransportError:
                left.append(node)
        self.taken = []
        return left


__all__ = ["SiteLock", "NodeLocks", "Holder", "NODE_LOCK", "command_line"]
