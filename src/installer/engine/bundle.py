"""Offline bundles: a folder (or a .tar of one) with `manifest.yaml`.

    manifest.yaml   format, name, version, components, files (path, size,
                    sha256), steps (read by the runner)
    manifest.sig    optional: base64 ed25519 signature of manifest.yaml's bytes
    <files>         the payload, at the paths the manifest lists

`build` turns a source folder (with `bundle.yaml`: name, version, components,
steps) into a bundle; `verify` checks every size and hash and, given a
trusted public key (OpenSSH `ssh-ed25519 ...` line), the signature. Signing
keys are OpenSSH ed25519 private keys (`ssh-keygen -t ed25519`); the
`cryptography` package does the work (paramiko depends on it already).

`add_debs` collects Debian packages with their dependencies through apt for an
air-gapped Debian-family target. Essential packages (present on every Debian
system) are left out, so a bundle does not reinstall libc.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..model import yamlio
from ..model.i18n import m
from ..model.problems import Problem, ProblemError

MANIFEST = "manifest.yaml"
SIGNATURE = "manifest.sig"
SOURCE = "bundle.yaml"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
HASH_CHUNK = 4 << 20


@dataclasses.dataclass(frozen=True)
class BundleFile:
    path: str
    size: int
    sha256: str


@dataclasses.dataclass
class Bundle:
    root: Path
    name: str
    version: str
    components: list[str]
    files: list[BundleFile]
    steps: list[dict[str, Any]]
    signed: bool
    checks: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # `verify:` (installer.engine.verify)
    # `operations:` the day-2 operations' steps, by operation (installer.engine.day2)
    operations: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}-{self.version}"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def serves(self, components: set[str]) -> bool:
        """Does a node running `components` need this bundle?"""
        return not self.components or "*" in self.components or bool(components & set(self.components))


def _fail(message: str, hint: str = "", file: str | None = None) -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, file=file, code="bundle"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _safe_relpath(rel: str, where: str) -> str:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not rel or "\n" in rel or "\0" in rel:
        raise _fail(m("unsafe path {path} in the bundle", path=f"{rel!r}"), m("paths must stay inside the bundle"), where)
    return p.as_posix()


# A manifest lists every file of its bundle: the reference bundle with its
# Debian packages has about 270, more than an answer file's lists may hold.
MAX_BUNDLE_FILES = 4096


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yamlio.read_file(path, max_items=MAX_BUNDLE_FILES)
    except ProblemError:
        raise
    if not isinstance(doc.data, dict):
        raise _fail(m("expected `key: value` sections"), m("see the bundle format in installer/bundle.py"), str(path))
    return doc.data


def _check_header(data: dict[str, Any], where: str) -> tuple[str, str, list[str]]:
    name = data.get("name")
    version = str(data.get("version", ""))
    components = data.get("components") or []
    if not isinstance(name, str) or not NAME.match(name):
        raise _fail(m("bundle name {name} is missing or invalid", name=f"{name!r}"), m("lower-case letters, digits, '.', '_' and '-'"), where)
    if not NAME.match(version):
        raise _fail(m("bundle version {version} is missing or invalid", version=f"{version!r}"), m("e.g. 1.0.0"), where)
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        raise _fail(m("components must be a list of component names"), m("e.g. [web, db], or [\"*\"] for every node"), where)
    return name, version, components


# -- build ---------------------------------------------------------------------


def build(src: Path, out: Path, sign_key: Path | None = None) -> Bundle:
    src = Path(src)
    source = src / SOURCE
    if not source.is_file():
        raise _fail(m("{folder} has no {file}", folder=src, file=SOURCE), m("write {file} with name, version, components and steps", file=SOURCE), str(src))
    data = _read_yaml(source)
    name, version, components = _check_header(data, str(source))
    files: list[BundleFile] = []
    for path in sorted(p for p in src.rglob("*") if p.is_file() and p != source):
        rel = _safe_relpath(path.relative_to(src).as_posix(), str(src))
        files.append(BundleFile(rel, path.stat().st_size, sha256_file(path)))
    manifest = {
        "format": 1,
        "name": name,
        "version": version,
        "components": components,
        "files": [dataclasses.asdict(f) for f in files],
        "steps": data.get("steps") or [],
        "verify": data.get("verify") or [],
    }
    if _operations(data, str(source)):
        manifest["operations"] = data["operations"]
    as_tar = out.suffix == ".tar"
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent)) if as_tar else out
    if not as_tar:
        if out.exists():
            raise _fail(m("{path} already exists", path=out), m("remove it or choose another output"), str(out))
        out.mkdir(parents=True)
    try:
        for f in files:
            dst = staging / f.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            # A copy, not a hard link: a built (and signed) bundle must not change when
            # its source is edited afterwards (an editor writing in place would).
            shutil.copy2(src / f.path, dst)
        _write_manifest(staging, manifest, sign_key)
        if as_tar:
            with tarfile.open(out, "w") as tar:
                for p in sorted(staging.rglob("*")):
                    tar.add(p, arcname=p.relative_to(staging).as_posix(), recursive=False)
    finally:
        if as_tar:
            shutil.rmtree(staging, ignore_errors=True)
    return load(out) if not as_tar else Bundle(out, name, version, components, files, manifest["steps"], sign_key is not None,
                                               manifest["verify"], _operations(manifest, str(source)))


def _write_manifest(root: Path, manifest: dict[str, Any], sign_key: Path | None) -> None:
    text = yamlio.dump(manifest).encode()
    (root / MANIFEST).write_bytes(text)
    sig = root / SIGNATURE
    if sign_key is not None:
        sig.write_text(base64.b64encode(_load_private_key(sign_key).sign(text)).decode() + "\n")
    elif sig.exists():
        sig.unlink()


def _load_private_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(m("cannot read signing key {path}: {strerror}", path=path, strerror=exc.strerror), m("name an ed25519 private key (ssh-keygen -t ed25519)")) from None
    try:
        key = serialization.load_ssh_private_key(raw, password=None)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError):
            raise _fail(m("{path} is not an unencrypted ed25519 private key", path=path), m("make one with: ssh-keygen -t ed25519 -N '' -f KEY")) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _fail(m("{path} is not an ed25519 key", path=path), m("bundles are signed with ed25519 keys"))
    return key


def _load_public_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(m("cannot read public key {path}: {strerror}", path=path, strerror=exc.strerror), m("name the .pub file of the signing key")) from None
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = serialization.load_ssh_public_key(raw.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_public_key(raw)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise _fail(m("{path} is not an ed25519 public key (a private key, or another kind?)", path=path),
                        m("use the signing key's .pub file")) from None
    if not isinstance(key, Ed25519PublicKey):
        raise _fail(m("{path} is not an ed25519 public key", path=path), m("bundles are signed with ed25519 keys"))
    return key


# -- load and verify ------------------------------------------------------------


def load(root: Path) -> Bundle:
    """Read a bundle folder's manifest (no hashing)."""
    root = Path(root)
    mf = root / MANIFEST
    if not mf.is_file():
        raise _fail(m("{folder} is not a bundle: {file} is missing", folder=root, file=MANIFEST), m("build one with `onsite bundle build SRC -o OUT`"), str(root))
    data = _read_yaml(mf)
    name, version, components = _check_header(data, str(mf))
    files = []
    for i, f in enumerate(data.get("files") or []):
        try:
            files.append(BundleFile(_safe_relpath(str(f["path"]), str(mf)), int(f["size"]), str(f["sha256"])))
        except (KeyError, TypeError, ValueError):
            raise _fail(m("files[{index}] needs path, size and sha256", index=i), m("rebuild the bundle"), str(mf)) from None
    return Bundle(root, name, version, components, files, list(data.get("steps") or []), (root / SIGNATURE).exists(),
                  list(data.get("verify") or []), _operations(data, str(mf)))


def _operations(data: dict[str, Any], where: str) -> dict[str, Any]:
    ops = data.get("operations") or {}
    if not isinstance(ops, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in ops.items()):
        raise _fail(m("operations must map an operation's name to its list of steps"), m("fix bundle.yaml and rebuild"), where)
    return ops


def verify(path: Path, pubkey: Path | None = None) -> Bundle:
    """Check every file's size and hash, no unlisted files, and the signature
    (required when a trusted public key is given). Raises ProblemError."""
    path = Path(path)
    if path.is_file() and tarfile.is_tarfile(path):
        with tempfile.TemporaryDirectory() as tmp:
            _extract(path, Path(tmp))
            verify(Path(tmp), pubkey)
            return dataclasses.replace(load(Path(tmp)), root=path)
    bundle = load(path)
    problems: list[Problem] = []
    listed = {f.path for f in bundle.files}
    for f in bundle.files:
        p = path / f.path
        if not p.is_file():
            problems.append(Problem(message=m("{path} is missing", path=f.path), hint=m("the bundle is incomplete: copy it again"), file=str(path), code="bundle-missing"))
        elif p.stat().st_size != f.size:
            problems.append(Problem(message=m("{path} has {actual} bytes, the manifest says {size}", path=f.path, actual=p.stat().st_size, size=f.size),
                                    hint=m("the copy is damaged or truncated: copy it again"), file=str(path), code="bundle-size"))
        elif sha256_file(p) != f.sha256:
            problems.append(Problem(message=m("{path} does not match its sha256 in the manifest", path=f.path),
                                    hint=m("the copy is damaged or was changed: copy it again from the source"), file=str(path), code="bundle-hash"))
    for p in path.rglob("*"):
        rel = p.relative_to(path).as_posix()
        if p.is_file() and rel not in listed and rel not in (MANIFEST, SIGNATURE):
            problems.append(Problem(message=m("{rel} is not listed in the manifest", rel=rel), hint=m("remove it, or rebuild the bundle"),
                                    file=str(path), code="bundle-unlisted"))
    if pubkey is not None:
        sig = path / SIGNATURE
        if not sig.exists():
            problems.append(Problem(message=m("the bundle is not signed, but a trusted key was given"),
                                    hint=m("sign it: onsite bundle build SRC -o OUT --sign KEY"), file=str(path), code="bundle-unsigned"))
        else:
            from cryptography.exceptions import InvalidSignature

            try:
                _load_public_key(pubkey).verify(base64.b64decode(sig.read_text().strip()), (path / MANIFEST).read_bytes())
            except (InvalidSignature, ValueError):
                problems.append(Problem(message=m("the manifest's signature does not verify with the trusted key"),
                                        hint=m("the bundle was changed after signing, or signed with another key: do not install it"),
                                        file=str(path), code="bundle-signature"))
    if problems:
        raise ProblemError(problems)
    return bundle


def find(paths: list[Path] | None, answer_file: Path | None, pubkey: Path | None = None) -> list[Bundle]:
    """The bundles for an install, verified: `paths` when given, else every
    bundle folder in bundles/ next to the answer file. All problems at once."""
    if not paths:
        folder = Path(answer_file).resolve().parent / "bundles" if answer_file else None
        paths = sorted(p for p in folder.glob("*") if (p / MANIFEST).is_file()) if folder and folder.is_dir() else []
    out: list[Bundle] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            out.append(verify(Path(p), pubkey))
        except ProblemError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ProblemError(problems)
    return out


def _extract(tar_path: Path, dest: Path) -> None:
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            _safe_relpath(member.name, str(tar_path))
            if not (member.isfile() or member.isdir()):
                raise _fail(m("{name}: links and devices are not allowed in a bundle", name=member.name), m("rebuild the bundle"), str(tar_path))
        # Members are vetted above (plain files and folders, paths inside);
        # the "data" filter adds its checks where Python has it (3.11.4+).
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)


# -- Debian packages ----------------------------------------------------------------


def _apt(args: list[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=900)
    except FileNotFoundError:
        raise _fail(m("{command} is not available", command=args[0]), m("add-debs runs on a Debian-family machine with apt")) from None
    if proc.returncode != 0:
        raise _fail(m("`{command} ...` failed: {error}", command=' '.join(args[:3]), error=proc.stderr.strip()[-400:]), m("check the package names and `apt-get update`"))
    return proc.stdout


_DEPENDS = ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
            "--no-breaks", "--no-replaces", "--no-enhances"]


def _closure(packages: list[str]) -> set[str]:
    out = _apt([*_DEPENDS, *packages])
    return {line.strip() for line in out.splitlines() if line and not line.startswith((" ", "<"))}


def base_system() -> set[str]:
    """Packages every Debian system has: the essential and required ones and
    everything they depend on (libc6, for one, is neither itself)."""
    out = _apt(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"])
    base = [f[0] for f in (line.split("\t") for line in out.splitlines()) if len(f) == 3 and (f[1] == "yes" or f[2] == "required")]
    return _closure(base) if base else set()


def resolve_debs(packages: list[str]) -> list[str]:
    """The packages and their dependencies (recursively), minus the base
    system. A name apt does not know is an error: apt-cache passes over it
    silently when other names are known, and the bundle would lack it."""
    names = _closure(packages)
    unknown = [p for p in packages if p not in names]
    if unknown:
        raise ProblemError(Problem(message=m("apt knows no package {unknown}", unknown=', '.join(unknown)),
                                   hint=m("check the spelling (apt-cache search NAME), or refresh the package lists with apt-get update"), code="bundle"), exit_code=2)  # the command line is wrong
    base = base_system()
    return sorted(n for n in names if n in packages or n not in base)


def write_package_index(debs: Path) -> Path:
    """debs/Packages: the folder as an apt "flat" repository, so a node
    installs with `apt-get install` from it alone and apt resolves each
    node's dependencies against what the node already has."""
    entries = []
    for p in sorted(debs.glob("*.deb")):
        control = _apt(["dpkg-deb", "-f", str(p)]).rstrip("\n")
        entries.append(f"{control}\nFilename: ./{p.name}\nSize: {p.stat().st_size}\nSHA256: {sha256_file(p)}\n")
    index = debs / "Packages"
    index.write_text("\n".join(entries))
    return index


def add_debs(bundle_dir: Path, packages: list[str], sign_key: Path | None = None) -> list[str]:
    """Download packages with their dependencies into bundle_dir/debs and
    rewrite the manifest. Returns the package names added."""
    bundle = load(bundle_dir)
    names = resolve_debs(packages)
    debs = bundle_dir / "debs"
    debs.mkdir(exist_ok=True)
    _apt(["apt-get", "download", *names], cwd=debs)
    write_package_index(debs)
    data = yaml.safe_load((bundle_dir / MANIFEST).read_text())
    files = {f["path"]: f for f in data.get("files", [])}
    for p in sorted([*debs.glob("*.deb"), debs / "Packages"]):
        rel = p.relative_to(bundle_dir).as_posix()
        files[rel] = {"path": rel, "size": p.stat().st_size, "sha256": sha256_file(p)}
    data["files"] = sorted(files.values(), key=lambda f: f["path"])
    _write_manifest(bundle_dir, data, sign_key)
    del bundle
    return names
