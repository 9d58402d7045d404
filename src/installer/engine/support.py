"""The support bundle: one tarball the implementer carries out of the site
(the plan with secret references only, the journal, step logs, preflight and
verify results, versions). Used by `onsite support-bundle` and the wizard."""

from __future__ import annotations

import io
import json
import os
import platform
import tarfile
import time
from pathlib import Path

from .. import __version__
from ..model import answerfile
from ..model.plan import Plan
from ..model.profile import Profile
from . import journal as journal_mod


def write(plan: Plan, profile: Profile, journal_dir: Path, out: Path) -> Path:
    versions = {
        "onsite": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "profile": f"{profile.name} {profile.version}", "created": journal_mod.now(),
    }
    out = Path(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))

        # the plan as onsite writes it: secret references only, never values
        add_bytes("plan.yaml", answerfile.render(plan, profile).encode())
        add_bytes("versions.json", json.dumps(versions, indent=1).encode())
        folder = Path(journal_dir)
        if folder.is_dir():
            for p in sorted(folder.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    tar.add(p, arcname=f"journal/{p.relative_to(folder).as_posix()}")
    os.chmod(out, 0o600)
    return out


__all__ = ["write"]
