"""The node-side receiver (installer/remote/receiver.py) run here on a folder of its
own: framing, one-pass verification, resume, skip, refusals. The lab tests
(test_push, test_relay) run the same program on real nodes over SSH."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys

import pytest

from installer.remote import receiver


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stream(node: str, files: list[dict], payloads: list[bytes]) -> io.BytesIO:
    return io.BytesIO(receiver.encode_header(node, files) + b"".join(payloads))


def framed(header: bytes) -> io.BytesIO:
    return io.BytesIO(str(len(header)).encode() + b"\n" + header)


def run(root, node, files, payloads, capfd):
    code = receiver.main(["receiver"], stream(node, files, payloads), str(root))
    lines = capfd.readouterr().out.splitlines()
    return code, [x for x in lines if not x.startswith("progress ")], lines


def test_files_arrive_verified_under_their_final_names(tmp_path, capfd):
    a, b = os.urandom(3 * receiver.CHUNK + 17), b"small\n"
    files = [{"path": "bun-1/a.bin", "size": len(a), "offset": 0, "sha256": sha(a)},
             {"path": "bun-1/dir/b c.txt", "size": len(b), "offset": 0, "sha256": sha(b)}]
    code, verdicts, lines = run(tmp_path, "node1", files, [a, b], capfd)
    assert code == 0 and verdicts == ["ok node1 0", "ok node1 1"]
    assert (tmp_path / "bun-1/a.bin").read_bytes() == a and (tmp_path / "bun-1/dir/b c.txt").read_bytes() == b
    assert not list(tmp_path.rglob("*.part"))
    assert lines[-1] == f"progress node1 {len(a) + len(b)}"  # the last progress line counts everything


def test_a_resumed_file_hashes_its_prefix_and_appends(tmp_path, capfd):
    data = os.urandom(2 * receiver.CHUNK + 5)
    (tmp_path / "bun-1").mkdir()
    (tmp_path / "bun-1/a.bin.part").write_bytes(data[:1000] + b"garbage past the offset")
    files = [{"path": "bun-1/a.bin", "size": len(data), "offset": 1000, "sha256": sha(data)}]
    code, verdicts, _ = run(tmp_path, "n1", files, [data[1000:]], capfd)
    assert code == 0 and verdicts == ["ok n1 0"]
    assert (tmp_path / "bun-1/a.bin").read_bytes() == data


def test_large_files_are_hashed_in_a_second_thread_resumed_or_damaged(tmp_path, capfd):
    big = os.urandom(receiver.HASH_THREAD_MIN + 3 * receiver.CHUNK + 17)
    (tmp_path / "bun-1").mkdir()
    (tmp_path / "bun-1/r.bin.part").write_bytes(big[:5000])
    damaged = bytearray(big)
    damaged[-1] ^= 1
    files = [{"path": "bun-1/a.bin", "size": len(big), "offset": 0, "sha256": sha(big)},
             {"path": "bun-1/r.bin", "size": len(big), "offset": 5000, "sha256": sha(big)},
             {"path": "bun-1/d.bin", "size": len(big), "offset": 0, "sha256": sha(big)}]
    code, verdicts, _ = run(tmp_path, "n1", files, [big, big[5000:], bytes(damaged)], capfd)
    assert code == 1 and verdicts[:2] == ["ok n1 0", "ok n1 1"] and verdicts[2].startswith("fail n1 2 damaged")
    assert (tmp_path / "bun-1/a.bin").read_bytes() == big == (tmp_path / "bun-1/r.bin").read_bytes()
    assert not (tmp_path / "bun-1/d.bin").exists() and not list(tmp_path.rglob("*.part"))


def test_a_damaged_file_is_removed_and_the_next_one_still_arrives(tmp_path, capfd):
    good = b"good"
    files = [{"path": "b/x", "size": 3, "offset": 0, "sha256": sha(b"abc")},
             {"path": "b/y", "size": 4, "offset": 0, "sha256": sha(good)}]
    code, verdicts, _ = run(tmp_path, "n1", files, [b"abd", good], capfd)
    assert code == 1
    assert verdicts == ["fail n1 0 damaged sha256 differs; the partial copy was removed", "ok n1 1"]
    assert not (tmp_path / "b/x").exists() and not (tmp_path / "b/x.part").exists()
    assert (tmp_path / "b/y").read_bytes() == good


def test_a_cut_stream_keeps_the_part_for_the_next_push(tmp_path, capfd):
    data = os.urandom(receiver.CHUNK + 100)
    files = [{"path": "b/big", "size": len(data), "offset": 0, "sha256": sha(data)}]
    code, verdicts, _ = run(tmp_path, "n1", files, [data[:5000]], capfd)
    assert code == 1 and verdicts[0].startswith("fail n1 - cut the stream ended")
    assert not (tmp_path / "b/big").exists()
    assert (tmp_path / "b/big.part").read_bytes() == data[:5000]


def test_skipped_files_are_read_past_not_written(tmp_path, capfd):
    files = [{"path": "b/x", "size": 3, "offset": 0, "sha256": sha(b"xxx"), "skip": ["n1"]},
             {"path": "b/y", "size": 3, "offset": 0, "sha256": sha(b"yyy"), "skip": ["n2"]}]
    code, verdicts, _ = run(tmp_path, "n1", files, [b"xxx", b"yyy"], capfd)
    assert code == 0 and verdicts == ["ok n1 1"]
    assert not (tmp_path / "b/x").exists() and (tmp_path / "b/y").read_bytes() == b"yyy"


def test_a_write_error_is_named_and_leaves_nothing(tmp_path, capfd):
    (tmp_path / "b").write_text("a file where a folder should be")
    files = [{"path": "b/x", "size": 3, "offset": 0, "sha256": sha(b"xxx")}]
    code, verdicts, _ = run(tmp_path, "n1", files, [b"xxx"], capfd)
    assert code == 1 and verdicts[0].startswith("fail n1 0 write Not a directory (") and verdicts[0].endswith("/b/x.part)")
    assert (tmp_path / "b").read_text() == "a file where a folder should be"


# -- links: nothing is written through a symbolic link under the root ---------

def _plant(root, outside, kind):
    """A link under `root` of the given kind; returns the path that names it."""
    (root / "bun-1").mkdir(parents=True, exist_ok=True)
    if kind == "file":  # the final name links to a file outside
        (outside / "target").write_text("outside\n")
        (root / "bun-1/x").symlink_to(outside / "target")
        return root / "bun-1/x"
    if kind == "part":  # the .part links to a file outside (a resume would append to it)
        (outside / "target").write_text("outside\n")
        (root / "bun-1/x.part").symlink_to(outside / "target")
        return root / "bun-1/x.part"
    if kind == "dir":  # the file's folder links to a folder outside
        (root / "bun-1/d").symlink_to(outside)
        return root / "bun-1/d"
    if kind == "parent":  # a folder further up links outside
        (root / "bun-1").rmdir()
        (root / "bun-1").symlink_to(outside)
        return root / "bun-1"
    if kind == "dangling":  # the final name links to nothing (open(O_CREAT) would create the target)
        (root / "bun-1/x").symlink_to(outside / "created-through-the-link")
        return root / "bun-1/x"
    if kind == "dangling-dir":  # a folder links to nothing (mkdir -p would create the target)
        (root / "bun-1/d").symlink_to(outside / "made")
        return root / "bun-1/d"
    raise AssertionError(kind)


LINKS = {"file": "bun-1/x", "part": "bun-1/x", "dir": "bun-1/d/x", "parent": "bun-1/d/x", "dangling": "bun-1/x",
         "dangling-dir": "bun-1/d/x"}


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("offset", [0, 3])
def test_nothing_is_written_through_a_link_and_the_link_is_named(tmp_path, capfd, kind, offset):
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    link = _plant(root, outside, kind)
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    data, other = b"payload\n", b"other\n"
    files = [{"path": LINKS[kind], "size": len(data), "offset": offset if kind == "part" else 0, "sha256": sha(data)},
             {"path": "bun-2/y", "size": len(other), "offset": 0, "sha256": sha(other)}]
    payload = data[files[0]["offset"]:]
    code, verdicts, _ = run(root, "n1", files, [payload, other], capfd)
    assert code == 1
    assert verdicts[0].startswith(f"fail n1 0 unsafe {link} is a symbolic link"), verdicts
    assert verdicts[1] == "ok n1 1"  # the next file still arrives
    assert (root / "bun-2/y").read_bytes() == other
    # nothing outside changed, nothing new appeared there
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before
    assert sorted(outside.rglob("*")) == sorted(before)
    assert link.is_symlink()  # left for a person to look at


def test_a_link_as_the_root_is_refused(tmp_path, capfd):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root").symlink_to(outside)
    data = b"x"
    code, verdicts, _ = run(tmp_path / "root", "n1", [{"path": "b/x", "size": 1, "offset": 0, "sha256": sha(data)}], [data], capfd)
    assert code == 1 and verdicts[0].startswith(f"fail n1 0 unsafe {tmp_path / 'root'} is a symbolic link")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("what", ["fifo", "hardlink"])
def test_a_part_that_is_not_a_plain_file_of_its_own_is_refused(tmp_path, capfd, what):
    (tmp_path / "b").mkdir()
    if what == "fifo":
        os.mkfifo(tmp_path / "b/x.part")  # opening it for writing would block
    else:
        (tmp_path / "elsewhere").write_bytes(b"abc")
        os.link(tmp_path / "elsewhere", tmp_path / "b/x.part")
    data = b"abcdef"
    code, verdicts, _ = run(tmp_path, "n1", [{"path": "b/x", "size": 6, "offset": 3, "sha256": sha(data)}], [data[3:]], capfd)
    assert code == 1 and verdicts[0].startswith("fail n1 0 unsafe ") and "/b/x.part " in verdicts[0]
    if what == "hardlink":
        assert (tmp_path / "elsewhere").read_bytes() == b"abc"


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../x", "a//b", "./a", "a/./b", "", "a\0b", 7])
def test_paths_outside_the_root_are_refused_before_anything_is_written(tmp_path, capfd, path):
    files = [{"path": "ok/first", "size": 1, "offset": 0, "sha256": sha(b"1")},
             {"path": path, "size": 1, "offset": 0, "sha256": sha(b"2")}]
    code, verdicts, _ = run(tmp_path, "n1", files, [b"1", b"2"], capfd)
    assert code == 2 and verdicts[0].startswith("fail n1 - header bad path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("start", [b"", b"12", b"x\n{}", b"99999999999999\n", b"10\n{}"])
def test_a_missing_or_cut_header_is_refused(tmp_path, capfd, start):
    code = receiver.main(["receiver"], io.BytesIO(start), str(tmp_path))
    assert code == 2 and capfd.readouterr().out.startswith("fail ? - header ")


@pytest.mark.parametrize("header, why", [
    (b"not json", "fail ? - header"),
    (b'{"node": "Bad Name", "files": []}', "fail ? - header bad node name"),
    (b'{"node": "n1", "files": [{"path": "a", "size": 1, "offset": 2, "sha256": "' + b"0" * 64 + b'"}]}',
     "fail n1 - header bad size or offset"),
    (b'{"node": "n1", "files": [{"path": "a", "size": 1, "sha256": "xyz"}]}', "fail n1 - header bad sha256"),
    (b'{"node": "n1", "next": [{"node": "n2", "address": "-oProxyCommand=x"}], "files": []}',
     "fail n1 - header bad next hop"),
    (b'{"node": "n1", "next": [{"node": "n2", "address": "10.0.0.256"}], "files": []}', "fail n1 - header bad next hop"),
])
def test_unusable_headers_are_refused(tmp_path, capfd, header, why):
    code = receiver.main(["receiver"], framed(header), str(tmp_path))
    assert code == 2 and capfd.readouterr().out.startswith(why)


def test_it_runs_as_python3_c_with_the_oldest_syntax_it_promises():
    """The text push sends runs as a program (python3 -c), and parses as
    Python 3.6 grammar: no walrus, no positional-only parameters."""
    import ast

    source = open(receiver.__file__, encoding="utf-8").read()
    ast.parse(source, feature_version=(3, 6))
    res = subprocess.run([sys.executable, "-c", source], input=b"2\n{}", capture_output=True, timeout=30)
    assert res.returncode == 2 and res.stdout.startswith(b"fail ? - header bad node name")
