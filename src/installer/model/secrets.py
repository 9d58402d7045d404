"""Secret references: `env:NAME`, `file:PATH` or `prompt`.

Answer files hold references only; values are resolved at the moment they are
needed, kept in memory, and never written to files, logs or argv.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from .i18n import m

Prompt = Callable[[str], str]

# Logs, events and reports mask every secret value onsite holds. A plan
# secret shorter than this could not be masked without blanking ordinary
# words (and is weak anyway): it is refused when resolved, with the reason.
MIN_SECRET_LENGTH = 8


class SecretError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def resolve(ref: str, label: str, prompt: Prompt | None = None) -> str:
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise SecretError(m("{label}: environment variable {name} is not set", label=label, name=name), m("export {name}=... before running onsite", name=name))
        return value
    if ref.startswith("file:"):
        path = Path(os.path.expanduser(ref[5:]))
        try:
            st = path.stat()
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise SecretError(m("{label}: {path} can be read by other users", label=label, path=path), m("chmod 600 {path}", path=path))
            return path.read_text().rstrip("\n")
        except FileNotFoundError:
            raise SecretError(m("{label}: secret file {path} does not exist", label=label, path=path), m("create it (mode 0600) or change the reference")) from None
        except OSError as exc:
            raise SecretError(m("{label}: cannot read {path}: {strerror}", label=label, path=path, strerror=exc.strerror), m("check the file's permissions")) from None
    if ref == "prompt":
        if prompt is None:
            raise SecretError(m("{label}: needs to be typed in, but there is no terminal to ask on", label=label),
                              m("use env:NAME or file:PATH for unattended runs"))
        return prompt(label)
    raise SecretError(m("{label}: {ref} is not a secret reference", label=label, ref=f"{ref!r}"), m("write env:NAME, file:PATH or prompt"))


def resolve_all(plan, profile, prompt: Prompt | None = None) -> dict[str, str]:
    """Every secret the plan references, resolved; all problems at once."""
    from .problems import Problem, ProblemError, Problems

    out: dict[str, str] = {}
    problems = Problems()
    for name, ref in sorted(plan.secrets.items()):
        try:
            value = resolve(ref, m("secret {name} ({title})", name=name, title=profile.secrets.get(name, name)), prompt)
            if len(value) < MIN_SECRET_LENGTH:
                raise SecretError(m("secret {name} has {length} characters: too short to mask in logs safely (at least {minimum})", name=name, length=len(value), minimum=MIN_SECRET_LENGTH), m("use a longer value for {name}", name=name))
            out[name] = value
        except SecretError as exc:
            problems.add(Problem(message=exc.message, hint=exc.hint, path=("secrets", name), code="secret"))
    if not problems.ok:
        raise ProblemError(problems)
    return out
