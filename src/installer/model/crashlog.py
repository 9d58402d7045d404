"""Crash logs that hold no values: what a front end writes when it meets a bug.

A crash log is sent around (to the vendor, into a ticket), and an answer
file's values (a site name, a literal secret the validator was about to
refuse) can sit in an exception's message, its arguments or any frame's
locals. So a crash log holds the exception's type and, per frame, the file,
line, function and the source line of the installer's own code: never the
message, never a variable. Both front ends (the CLI's `main`, the wizard's
fatal-error handler) write through here; neither prints a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path


def report(exc: BaseException, version: str = "") -> str:
    """The text of a crash log for `exc` and the exceptions it was chained to
    (`version`: onsite's, given by the front end)."""
    lines = [f"onsite {version}", f"python {sys.version.split()[0]} on {sys.platform}", "versions: " + _versions()]
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        wrapped = getattr(cur, "error", None)  # a worker's failure wraps the real one (Textual's WorkerFailed)
        cur = cur.__cause__ or cur.__context__ or (wrapped if isinstance(wrapped, BaseException) else None)
    for i, e in enumerate(reversed(chain)):
        if i:
            lines.append("during the handling of the above, another exception:")
        lines.append("Traceback (most recent call last; values left out):")
        for fs in traceback.extract_tb(e.__traceback__):
            lines.append(f"  {fs.filename}:{fs.lineno} in {fs.name}")
            if fs.line:
                lines.append(f"    {fs.line.strip()}")
        lines.append(f"{type(e).__module__}.{type(e).__qualname__} (message left out: it may hold values from the answer file)")
    return "\n".join(lines) + "\n"


def _versions() -> str:
    from importlib import metadata

    out = []
    for dist in ("textual", "rich", "paramiko", "cryptography", "PyYAML", "ruamel.yaml", "jsonschema", "shtab"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} -")
    return ", ".join(out)


def user_folder() -> Path:
    """Where crash logs go when no site's journal folder is known: the
    user's state folder ($XDG_STATE_HOME/onsite/crash, ~/.local/state/...)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "onsite" / "crash"


def write(exc: BaseException, version: str = "", folder: Path | None = None) -> str:
    """Write the crash log of `exc` (mode 0600) into `folder` (a site's
    journal folder's crash/, where the support bundle picks it up), else the
    user's state folder, else the temp folder; returns its path."""
    text = report(exc, version)
    for where in (folder, user_folder(), Path(tempfile.gettempdir())):
        if where is None:
            continue
        try:
            Path(where).mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, path = tempfile.mkstemp(prefix="onsite-crash-", suffix=".log", dir=where)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        return path
    return "(no folder could take the crash log)"
