"""Push meets symbolic links in a node's bundle folder: it names the link and
writes nothing through it. Runs the real push code against this machine, with
a transport that runs each command here and moves the node's bundle root
(/var/lib/onsite/bundles) into a temporary folder. The lab tests (test_push)
run the same code over SSH."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from installer.engine import bundle, push
from installer.engine.events import ignore
from installer.remote.transport import RunResult


class LocalTransport:
    """Transport: commands run here, the remote root moved to `root`."""

    def __init__(self, root: Path) -> None:
        self.node, self.root, self.commands = "n1", str(root), []

    def _argv(self, argv):
        out = [str(a).replace(push.REMOTE_ROOT, self.root) for a in argv]
        self.commands.append(out)
        return out

    def run(self, argv, *, stdin=None, timeout=300, on_stdout=None, on_stderr=None, sudo=True):
        res = subprocess.run(self._argv(argv), input=stdin, capture_output=True, timeout=timeout)
        return RunResult(res.returncode, res.stdout.decode(), res.stderr.decode())

    def put_stream(self, argv, segments, *, progress=None, on_stdout=None):
        data = b"".join(s.data if s.path is None else s.path.read_bytes()[s.offset:s.offset + s.length] for s in segments)
        res = subprocess.run(self._argv(argv), input=data, capture_output=True, timeout=60)
        if progress is not None:
            progress(len(data))
        return RunResult(res.returncode, res.stdout.decode(), res.stderr.decode())


class Conns:
    def __init__(self, t):
        self.t = t

    def get(self, name):
        return self.t

    def drop(self, name):
        pass


@pytest.fixture
def made(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "bundle.yaml").write_text("name: bun\nversion: 1.0.0\ncomponents: ['*']\n")
    (src / "a.txt").write_text("a\n")
    (src / "sub/b.txt").write_text("b\n")
    b = bundle.build(src, tmp_path / "out")
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    return b, root, outside


def _push(b, root):
    result = push.NodeResult("n1")
    t = LocalTransport(root)
    push._push_node(Conns(t), "n1", [b], result, ignore, threading.Event())
    return result, t


def test_a_plain_push_arrives(made):
    b, root, _ = made
    result, _ = _push(b, root)
    assert result.problem is None and result.files_sent == 2
    assert (root / f"{b.id}/sub/b.txt").read_text() == "b\n"


@pytest.mark.parametrize("kind", ["folder", "file", "dangling", "part", "bundle", "root"])
def test_a_link_in_the_bundle_folder_is_named_and_nothing_is_written_through_it(made, kind):
    b, root, outside = made
    bdir = root / b.id
    bdir.mkdir(parents=True)
    links = {"folder": bdir / "sub", "file": bdir / "a.txt", "dangling": bdir / "a.txt", "part": bdir / "a.txt.part",
             "bundle": bdir, "root": root}
    link = links[kind]
    if kind in ("bundle", "root"):
        bdir.rmdir()
        if kind == "root":
            root.rmdir()
    if kind == "dangling":
        link.symlink_to(outside / "nothing-yet")
    elif kind in ("file", "part"):
        (outside / "target").write_text("outside\n")
        link.symlink_to(outside / "target")
    else:
        link.symlink_to(outside)
    before = sorted((p, p.read_bytes() if p.is_file() else None) for p in outside.rglob("*"))
    result, t = _push(b, root)
    assert result.problem is not None and result.problem.code == "push-symlink"
    assert str(link) in result.problem.message and "symbolic link" in result.problem.message
    assert "remove it" in result.problem.hint
    assert sorted((p, p.read_bytes() if p.is_file() else None) for p in outside.rglob("*")) == before
    assert not any(c[0] in ("mkdir", "python3") for c in t.commands)  # refused before anything was made or sent


def test_a_link_planted_after_the_state_check_is_caught_by_the_receiver(made, monkeypatch):
    """The window between the state check and the stream: the receiver itself
    refuses (O_NOFOLLOW), and push names the link."""
    b, root, outside = made
    real = push.node_state

    def then_plant(t, node, paths):
        out = real(t, node, paths)
        (root / b.id).mkdir(parents=True, exist_ok=True)
        (root / b.id / "sub").symlink_to(outside)
        return out

    monkeypatch.setattr(push, "node_state", then_plant)
    result, _ = _push(b, root)
    assert result.problem is not None and result.problem.code == "push-symlink"
    assert f"{root}/{b.id}/sub is a symbolic link" in result.problem.message
    assert list(outside.iterdir()) == []
