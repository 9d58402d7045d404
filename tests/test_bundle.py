"""Bundles: build, verify, sign, tamper detection, package names (no network)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from installer.cli import main
from installer.engine import bundle
from installer.model.problems import ProblemError


@pytest.fixture
def src(tmp_path: Path) -> Path:
    s = tmp_path / "src"
    (s / "payload").mkdir(parents=True)
    (s / "payload" / "a.bin").write_bytes(b"A" * 10_000)
    (s / "payload" / "b c $(x).txt").write_text("b\n")
    (s / "bundle.yaml").write_text("name: demo\nversion: 1.2.0\ncomponents: [etcd]\nsteps: []\n")
    return s


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "sign"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, key.with_suffix(".pub")


def test_build_and_verify(src, tmp_path, keys):
    out = tmp_path / "out"
    b = bundle.build(src, out, keys[0])
    assert (b.id, len(b.files), b.total_bytes, b.signed) == ("demo-1.2.0", 2, 10_002, True)
    assert bundle.verify(out, keys[1]).id == "demo-1.2.0"
    assert b.serves({"etcd"}) and not b.serves({"redis"})


def test_a_bundle_of_hundreds_of_files_loads(tmp_path):
    # The reference bundle with its Debian packages has about 270 files: more
    # entries than an answer file's lists may hold, still a manifest.
    src = tmp_path / "src"
    (src / "debs").mkdir(parents=True)
    (src / "bundle.yaml").write_text("name: many\nversion: 1.0.0\ncomponents: ['*']\nsteps: []\n")
    for i in range(300):
        (src / "debs" / f"p{i:03}.deb").write_text(str(i))
    assert len(bundle.verify(bundle.build(src, tmp_path / "out").root).files) == 300


def test_tampered_file_is_caught(src, tmp_path):
    out = tmp_path / "out"
    bundle.build(src, out)
    (out / "payload" / "a.bin").write_bytes(b"B" * 10_000)
    with pytest.raises(ProblemError) as exc:
        bundle.verify(out)
    [p] = exc.value.problems
    assert p.code == "bundle-hash" and "payload/a.bin" in p.message


def test_truncated_missing_and_unlisted_files(src, tmp_path):
    out = tmp_path / "out"
    bundle.build(src, out)
    (out / "payload" / "a.bin").write_bytes(b"A" * 10)
    (out / "payload" / "b c $(x).txt").unlink()
    (out / "payload" / "extra").write_text("x")
    with pytest.raises(ProblemError) as exc:
        bundle.verify(out)
    assert sorted(p.code for p in exc.value.problems) == ["bundle-missing", "bundle-size", "bundle-unlisted"]


def test_signature_required_and_checked(src, tmp_path, keys):
    unsigned = tmp_path / "unsigned"
    bundle.build(src, unsigned)
    with pytest.raises(ProblemError, match="not signed"):
        bundle.verify(unsigned, keys[1])
    signed = tmp_path / "signed"
    bundle.build(src, signed, keys[0])
    mf = signed / "manifest.yaml"
    mf.write_text(mf.read_text().replace("components:\n  - etcd", "components:\n  - '*'"))
    with pytest.raises(ProblemError) as exc:
        bundle.verify(signed, keys[1])
    assert exc.value.problems.errors[0].code == "bundle-signature"
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    good = tmp_path / "good"
    bundle.build(src, good, keys[0])
    with pytest.raises(ProblemError, match="does not verify"):
        bundle.verify(good, other.with_suffix(".pub"))


def test_tar_bundle(src, tmp_path, keys):
    out = tmp_path / "demo.tar"
    bundle.build(src, out, keys[0])
    assert tarfile.is_tarfile(out)
    assert bundle.verify(out, keys[1]).id == "demo-1.2.0"


def test_tar_with_escaping_path_is_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "x"
    payload.write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(payload, arcname="../../etc/evil")
    with pytest.raises(ProblemError, match="unsafe path"):
        bundle.verify(evil)


def test_bad_source(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    assert main(["bundle", "build", str(tmp_path / "s"), "-o", str(tmp_path / "o")]) == 1
    assert "has no bundle.yaml" in capsys.readouterr().err
    (tmp_path / "s" / "bundle.yaml").write_text("name: Bad Name\nversion: 1\n")
    assert main(["bundle", "build", str(tmp_path / "s"), "-o", str(tmp_path / "o")]) == 1
    assert "bundle name 'Bad Name'" in capsys.readouterr().err


def test_cli_build_verify(src, tmp_path, keys, capsys):
    out = tmp_path / "o"
    assert main(["bundle", "build", str(src), "-o", str(out), "--sign", str(keys[0])]) == 0
    assert main(["bundle", "verify", str(out), "--pubkey", str(keys[1])]) == 0
    assert "signature verified" in capsys.readouterr().out


@pytest.mark.skipif(subprocess.run(["which", "apt-get"], capture_output=True).returncode != 0, reason="needs apt")
def test_resolve_debs_keeps_dependencies_and_drops_essentials():
    names = bundle.resolve_debs(["keepalived"])
    assert "keepalived" in names
    assert "libc6" not in names  # essential: on every Debian system
    assert any(n.startswith("libnl") for n in names)  # a real dependency


def test_add_debs_refuses_a_package_apt_does_not_know(src, tmp_path, capsys):
    """apt-cache passes over an unknown name when others are known: the
    bundle would silently lack it. (apt's lists only; nothing is downloaded.)"""
    out = tmp_path / "out"
    bundle.build(src, out)
    assert main(["bundle", "add-debs", str(out), "haproxy", "haproxx"]) == 2
    err = capsys.readouterr().err
    assert "apt knows no package haproxx" in err and "haproxy," not in err
    assert not (out / "debs").exists()


def test_a_private_key_given_as_the_public_key_is_named_not_a_crash(tmp_path, capsys):
    import subprocess

    key = tmp_path / "signing.key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    src = tmp_path / "src"
    src.mkdir()
    (src / "bundle.yaml").write_text('name: t\nversion: "1"\ncomponents: ["*"]\n')
    assert main(["bundle", "build", str(src), "-o", str(tmp_path / "out"), "--sign", str(key)]) == 0
    assert main(["bundle", "verify", str(tmp_path / "out"), "--pubkey", str(key)]) == 1
    err = capsys.readouterr().err
    assert "is not an ed25519 public key (a private key" in err and "internal error" not in err


def test_a_built_bundle_does_not_change_when_its_source_is_edited(tmp_path):
    src = tmp_path / "src"
    (src / "steps").mkdir(parents=True)
    (src / "bundle.yaml").write_text("name: edited\nversion: 1.0.0\ncomponents: ['*']\n")
    (src / "steps/a.sh").write_text("echo one\n")
    built = bundle.build(src, tmp_path / "out")
    with open(src / "steps/a.sh", "r+") as f:  # in place, as many editors write
        f.write("echo two\n")
    assert (built.root / "steps/a.sh").read_text() == "echo one\n"
    bundle.verify(built.root)  # raises ProblemError on a size or hash mismatch
