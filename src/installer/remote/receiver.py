"""The node side of a push. Push sends this module's source text to a node
(`python3 -c TEXT`), and a relay writes it into its folder on each node; the
installer itself uses only `encode_header` from it. There it reads bundle files from stdin, writes
each to `<dest>.part` while hashing what arrives (one pass, no re-read),
renames only a verified copy to `<dest>`, and, in a relay, passes the same
bytes on to the next node of the chain as they arrive.

It runs on the nodes: the standard library only, and Python 3.6 or newer
(the oldest python3 of the systems onsite installs onto): no walrus, no
dataclasses, no `from __future__ import annotations`.

stdin: the header's length in decimal and a newline, the header (JSON), then
the bytes of the header's files, back to back:

    {"node": "node1",                                   # who this receiver is
     "next": [{"node": "node2", "address": "10.0.0.12"}, ...],  # relay: the rest of the chain
     "files": [{"path": "base-1.0.0/debs/x.deb",        # under /var/lib/onsite/bundles
                "size": 1234, "offset": 0, "sha256": "...",
                "skip": ["node3"]}]}                    # nodes that have it: they only pass it on

For each file, bytes [offset, size) follow; its .part already holds
[0, offset) from an interrupted push, and is hashed first.

stdout: a line each, written in one write() so that the lines of every node
of a chain travel up it whole:

    progress NODE BYTES          about twice a second: bytes this node has taken in
    ok NODE INDEX                the file is verified and has its final name
    fail NODE INDEX KIND TEXT    damaged | nospace | write | unsafe
    fail NODE - KIND TEXT        header | path | relay-broken (NODE: the node not reached) | cut

Exit status: 0 when every file meant for this node is in place, else 1 (2:
the header is unusable and nothing was written).

Links: nothing is written through a symbolic link. Every folder under the
root is created (mkdir at its parent's descriptor, which does not follow a
link) and opened with O_NOFOLLOW one component at a time, from the root
(itself opened O_NOFOLLOW); the .part is opened O_NOFOLLOW at its folder's
descriptor and must be a regular file with one name; the rename happens
between descriptors and is refused when the final name is a link. A link
anywhere under the root fails that file as `unsafe`, naming the link.

Speed (measured per GiB on the 2-core lab machine, see bench/push.py): stdin
is read raw (unbuffered) into preallocated buffers, taken in turn, and
whatever arrived is handled at once; a second thread hashes what was written
while the next chunk is read (class Hashing). A fresh 1 MiB bytes object per read cost about 1 s of kernel
time in page faults, and io.BufferedReader.readinto about 1.4 s more than raw
reads; waiting for a full buffer before writing stalls the sender. stdin's
pipe is enlarged to 1 MiB so sshd and this process swap less often.

Durability: files are not fsync'ed. Every push hashes the final files again
before deciding what to send, so a copy a power cut damaged is sent again.
"""

import errno
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time

ROOT = "/var/lib/onsite/bundles"
CHUNK = 1 << 20
PROGRESS_EVERY = 0.5
MAX_HEADER = 64 << 20
F_SETPIPE_SZ = 1031  # Linux fcntl
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
IPV4 = re.compile(r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SSH_CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr"  # a hardened node: aes256 only


class Unsafe(Exception):
    """A path under the root that onsite will not write through."""


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _is_link(name, dir_fd):
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_folder(root, rel):
    """(descriptor of the folder holding `rel` under `root`, the file's name),
    each folder created or opened without following a link; Unsafe names the
    first link met. The root's own parents may be links; the root may not."""
    if not os.path.isdir(root) and not os.path.islink(root):
        os.makedirs(root, 0o755)
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(root):
            raise Unsafe(root + " is a symbolic link") from None
        raise
    parts = rel.split("/")
    try:
        for i, name in enumerate(parts[:-1]):
            try:
                os.mkdir(name, 0o755, dir_fd=fd)  # mkdirat: a link in the way is EEXIST, never followed
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
            try:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, fd):
                    raise Unsafe(root + "/" + "/".join(parts[:i + 1]) + " is a symbolic link") from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1]


def say(*words):
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode("utf-8", "replace"))


def dest_of(rel, root=ROOT):
    """The final path of a file, or ValueError when `rel` would leave the root."""
    if not isinstance(rel, str) or not rel or "\0" in rel or rel.startswith("/") \
            or any(p in ("", ".", "..") for p in rel.split("/")):
        raise ValueError("bad path: " + json.dumps(rel)[:100])
    return root + "/" + rel


def check_header(header, root=ROOT):
    """(me, next hops, files) from a parsed header; ValueError when unusable."""
    me = header.get("node") if isinstance(header, dict) else None
    if not isinstance(me, str) or not NAME.match(me):
        raise ValueError("bad node name")
    hops = header.get("next") or []
    if not isinstance(hops, list) or not all(
            isinstance(h, dict) and isinstance(h.get("node"), str) and NAME.match(h["node"])
            and isinstance(h.get("address"), str) and IPV4.match(h["address"]) for h in hops):
        raise ValueError("bad next hop")
    files = header.get("files")
    if not isinstance(files, list):
        raise ValueError("no file list")
    for f in files:
        if not isinstance(f, dict):
            raise ValueError("bad file entry")
        size, offset, sha = f.get("size"), f.get("offset", 0), f.get("sha256")
        if not (isinstance(size, int) and isinstance(offset, int) and 0 <= offset <= size):
            raise ValueError("bad size or offset")
        if not isinstance(sha, str) or not SHA256.match(sha):
            raise ValueError("bad sha256")
        if not isinstance(f.get("skip", []), list):
            raise ValueError("bad skip list")
        dest_of(f.get("path"), root)  # raises on a path outside the root
    return me, hops, files


def encode_header(node, files, hops=()):
    """The start of a receiver's stream: the header's length, a newline, the header."""
    body = json.dumps({"node": node, "next": list(hops), "files": list(files)}).encode("utf-8")
    return str(len(body)).encode() + b"\n" + body


def read_header(inp):
    """The parsed header from a raw stream (nothing read past it); ValueError."""
    digits = b""
    while not digits.endswith(b"\n"):
        c = inp.read(1)
        if not c or len(digits) > 12:
            raise ValueError("no header")
        digits += c
    if not digits[:-1].isdigit() or int(digits) > MAX_HEADER:
        raise ValueError("bad header length")
    want = int(digits)
    body = b""
    while len(body) < want:
        got = inp.read(want - len(body))
        if not got:
            raise ValueError("the header was cut")
        body += got
    return json.loads(body.decode("utf-8"))


def _enlarge_pipe(fd):
    try:
        import fcntl

        fcntl.fcntl(fd, F_SETPIPE_SZ, CHUNK)
    except (OSError, ImportError):
        pass  # not a pipe, or over /proc/sys/fs/pipe-max-size: the default works, a little slower


class Forward:
    """The next node of a relay: OpenSSH to it, fed the same bytes."""

    def __init__(self, here, hops, files):
        nxt = hops[0]
        self.node = nxt["node"]
        self.downstream = [h["node"] for h in hops]
        self.broken = None
        argv = ["ssh", "-T", "-i", os.path.join(here, "key"),
                "-o", "UserKnownHostsFile=" + os.path.join(here, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=2",
                "-o", "ServerAliveCountMax=2", "-o", "LogLevel=ERROR", "-c", SSH_CIPHERS,
                "root@" + nxt["address"], "onsite-relay"]
        try:
            # its stdout is ours: the lines of the nodes after it go up the chain as they come
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            self.proc = None
            self._break("cannot start ssh: " + str(exc))
            return
        _enlarge_pipe(self.proc.stdin.fileno())
        self.write(encode_header(self.node, files, hops[1:]))

    def _break(self, why):
        if self.broken is None:
            self.broken = why
            for n in self.downstream:
                say("fail", n, "-", "relay-broken", why)

    def write(self, data):
        if self.broken is not None:
            return
        try:
            view, done = memoryview(data), 0
            while done < len(view):
                done += self.proc.stdin.write(view[done:])
        except (OSError, ValueError) as exc:
            self._break(self._why("the link to " + self.node + " broke (" + type(exc).__name__ + ")"))

    def _why(self, default):
        """ssh's own words, when it has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            err = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
            if err:
                return default + ": " + err[-1][:200]
        return default

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        err = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        code = self.proc.wait()
        if code != 0 and self.broken is None:
            # the receivers down the chain said what they did; a failed ssh did not
            self._break("ssh to " + self.node + " exited " + str(code) + (": " + err[-1][:200] if err else ""))


NBUF = 4  # buffers in turn: one being read and written while others are hashed
HASH_THREAD_MIN = 8 << 20  # smaller files are hashed inline: a thread's start and join would cost more


class Hashing:
    """sha256 of a large file's chunks in a second thread, while the main
    thread reads and writes the next ones: hashlib releases the GIL, so on a
    node with a spare core the hash costs no time (measured on the lab: a
    512 MiB push 1.15 s -> 0.96 s). Chunk k's buffer is free again once
    hashed."""

    def __init__(self, h, free):
        self.h = h
        self.free = free
        self.cv = threading.Condition()
        self.items = []
        self.done = False
        self.t = threading.Thread(target=self._run)
        self.t.daemon = True
        self.t.start()

    def put(self, k, chunk):
        with self.cv:
            self.items.append((k, chunk))
            self.cv.notify()

    def _run(self):
        while True:
            with self.cv:
                while not self.items and not self.done:
                    self.cv.wait()
                if not self.items:
                    return
                batch, self.items = self.items, []
            for k, chunk in batch:
                self.h.update(chunk)
                self.free[k].release()

    def finish(self):
        with self.cv:
            self.done = True
            self.cv.notify()
        self.t.join()


class InlineHashing:
    """The same as Hashing, in the main thread."""

    def __init__(self, h, free):
        self.h = h
        self.free = free

    def put(self, k, chunk):
        self.h.update(chunk)
        self.free[k].release()

    def finish(self):
        pass


class Receiver:
    def __init__(self, me, files, inp, forward=None, root=ROOT, progress_every=PROGRESS_EVERY):
        self.me = me
        self.files = files
        self.inp = inp
        self.forward = forward
        self.root = root
        self.progress_every = progress_every
        self.buf = bytearray(CHUNK)
        self.view = memoryview(self.buf)
        self.views = [memoryview(bytearray(CHUNK)) for _ in range(NBUF)]
        self.free = [threading.Semaphore(1) for _ in range(NBUF)]
        self.cur = 0
        self.taken = 0
        self.last_progress = 0.0
        self.disk_full = None  # after ENOSPC nothing more is written here (a relay still passes bytes on)
        self.all_ok = True

    def _tick(self, final=False):
        now = time.monotonic()
        if final or now - self.last_progress >= self.progress_every:
            self.last_progress = now
            say("progress", self.me, self.taken)

    def _read(self, want):
        """What stdin has now, up to min(want, CHUNK) bytes (empty at its end),
        in the next of the buffers, once its last chunk has been hashed."""
        self.cur = (self.cur + 1) % NBUF
        self.free[self.cur].acquire()
        view = self.views[self.cur]
        n = self.inp.readinto(view[:min(want, CHUNK)])
        return view[:n or 0]

    def _fail(self, idx, kind, text):
        self.all_ok = False
        say("fail", self.me, idx, kind, text)

    def run(self):
        for idx, f in enumerate(self.files):
            if not self._one(idx, f):
                return False  # stdin ended early (the stream was cut), or the disk is full
            if self.disk_full is not None and self.forward is None:
                return False  # nothing more fits and nobody downstream needs the rest: stop the sender now
        self._tick(final=True)
        return self.all_ok

    def _one(self, idx, f):
        dest = dest_of(f["path"], self.root)
        part = dest + ".part"
        offset = f.get("offset", 0)
        h = hashlib.sha256()
        fd = None  # where this node writes the file; None: it only passes the bytes on
        folder = name = None  # the descriptor of its folder, its name there
        if self.me not in f.get("skip", []):
            if self.disk_full is not None:
                self._fail(idx, "nospace", self.disk_full)
            else:
                folder, name, fd = self._open_part(idx, f["path"], part, offset, h)
        try:
            return self._take(idx, f, dest, part, folder, name, fd, h)
        finally:
            if folder is not None:
                os.close(folder)

    def _take(self, idx, f, dest, part, folder, name, fd, h):
        size, offset = f["size"], f.get("offset", 0)
        left = size - offset
        hq = (Hashing if left >= HASH_THREAD_MIN else InlineHashing)(h, self.free)
        while left > 0:
            chunk = self._read(left)
            if not len(chunk):
                if fd is not None:
                    os.close(fd)  # the .part keeps what came: the next push resumes it
                hq.finish()
                say("fail", self.me, "-", "cut", "the stream ended " + str(left) + " bytes before the end of " + f["path"])
                self.all_ok = False
                return False
            if self.forward is not None:
                self.forward.write(chunk)
            if fd is not None:
                fd = self._write(idx, fd, part, chunk, folder, name)
                if fd is None and self.forward is None:
                    hq.finish()
                    return False  # see run()
                hq.put(self.cur, chunk)
            else:
                self.free[self.cur].release()
            left -= len(chunk)
            self.taken += len(chunk)
            self._tick()
        hq.finish()
        if fd is not None:
            os.close(fd)
            if h.hexdigest() != f["sha256"]:
                _unlink(name + ".part", folder)
                self._fail(idx, "damaged", "sha256 differs; the partial copy was removed")
            elif _is_link(name, folder):
                _unlink(name + ".part", folder)
                self._fail(idx, "unsafe", dest + " is a symbolic link; nothing was written through it")
            else:
                try:
                    os.replace(name + ".part", name, src_dir_fd=folder, dst_dir_fd=folder)  # renameat: links are not followed
                    say("ok", self.me, idx)
                except OSError as exc:
                    self._write_error(idx, part, exc, folder, name)
        return True

    def _open_part(self, idx, rel, part, offset, h):
        """(folder descriptor, name, .part descriptor), or Nones after a failure it reported."""
        fd = folder = None
        try:
            folder, name = open_folder(self.root, rel)
            try:
                fd = os.open(name + ".part", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                             | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=folder)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise Unsafe(part + " is a symbolic link") from None
                raise
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                os.close(fd)
                fd = None
                raise Unsafe(part + " is not a plain file" if not stat.S_ISREG(st.st_mode) else part + " has other hard links")
            if offset:
                left = offset
                while left > 0:
                    n = os.readv(fd, [self.view[:min(CHUNK, left)]])
                    if not n:
                        raise OSError(errno.EIO, "the partial copy is shorter than the installer saw")
                    h.update(self.view[:n])
                    left -= n
            if st.st_size != offset:
                # only when needed: ext4 flushes a file truncated to 0 when it is closed
                # (auto_da_alloc), which stalled a 1 GiB receive by a quarter of a second
                os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            return folder, name, fd
        except Unsafe as exc:
            if folder is not None:
                os.close(folder)
            self._fail(idx, "unsafe", str(exc) + "; nothing was written through it")
            return None, None, None
        except OSError as exc:
            if fd is not None:
                os.close(fd)
            self._write_error(idx, part, exc, folder, name if folder is not None else None)
            if folder is not None:
                os.close(folder)
            return None, None, None

    def _write(self, idx, fd, part, chunk, folder, name):
        try:
            done = 0
            while done < len(chunk):
                done += os.write(fd, chunk[done:])
            return fd
        except OSError as exc:
            os.close(fd)
            self._write_error(idx, part, exc, folder, name)
            return None

    def _write_error(self, idx, part, exc, folder=None, name=None):
        if folder is not None and name is not None:
            _unlink(name + ".part", folder)  # never leave a final-named or a misleading partial copy
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            self.disk_full = "the disk filled up (" + os.path.dirname(part) + ")"
            self._fail(idx, "nospace", self.disk_full)
        else:
            self._fail(idx, "write", (exc.strerror or str(exc)) + " (" + part + ")")


def _unlink(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def main(argv=None, stdin=None, root=ROOT):
    inp = stdin or sys.stdin.buffer.raw
    header = None
    try:
        header = read_header(inp)
        me, hops, files = check_header(header, root)
    except (ValueError, UnicodeDecodeError) as exc:
        who = header.get("node") if isinstance(header, dict) and isinstance(header.get("node"), str) else "?"
        say("fail", who if NAME.match(who) else "?", "-", "header", str(exc) or "not JSON")
        return 2
    if stdin is None:
        _enlarge_pipe(0)
    forward = None
    if hops:
        here = os.path.dirname(os.path.abspath(sys.argv[0] if argv is None else argv[0]))
        forward = Forward(here, hops, files)
    ok = Receiver(me, files, inp, forward, root).run()
    if forward is not None:
        forward.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
