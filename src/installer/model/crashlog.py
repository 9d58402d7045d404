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


def report(exc: BaseException, version: str = "") -> str:
    """The text of a crash log for `exc` and the exceptions it was chained to
    (`version`: onsite's, given by the front end)."""
    lines = [f"onsite {version}", f"python {sys.version.split()[0]}"]
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
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


def write(exc: BaseException, version: str = "") -> str:
    """Write the crash log of `exc` to a new file in the temp folder; its path."""
    fd, path = tempfile.mkstemp(prefix="onsite-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(report(exc, version))
    return path
