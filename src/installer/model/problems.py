"""Problems: errors and warnings as values, each with a place and a remedy.

Every front end (CLI, wizard) shows the same `Problem` the same way. A problem
names where it is (file:line:column and the field path inside the answer file,
or a node and a step) and what to do about it.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Iterator, Sequence

from .i18n import Msg, localized, t

PathPart = str | int


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


def format_path(path: Sequence[PathPart]) -> str:
    """`('nodes', 2, 'ssh', 'port')` -> `nodes[2].ssh.port`. Keys come from
    the file, so they pass the sanitiser (`clean`) and are shortened."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + clean(_shorten(str(part), 64))
    return out or "(top level)"


# The one sanitiser for text that reaches a terminal: C0 and C1 controls
# (ESC starts every escape sequence), DEL, line and paragraph separators,
# bidirectional marks, embeddings, overrides and isolates (they reorder what
# the reader sees), the BOM, and lone surrogates (no encoding can write them).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_UNPRINTABLE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def clean(text: str, *, keep_lines: bool = False) -> str:
    """`text` safe for a terminal: every control, bidi or unencodable
    character becomes a visible escape (\\x1b, \\u202e). With keep_lines, line
    breaks and tabs stay (multi-line messages). Every string from an answer
    file, a node or the command line passes here before it is printed:
    `show`, `format_path`, `Problem.render` and the CLI's own lines."""
    return (_UNPRINTABLE_KEEP_LINES if keep_lines else _UNPRINTABLE).sub(_escape, text)


def cleaned(text: str, *, keep_lines: bool = False) -> str:
    """`clean` for text that may be a message (m()): its values are cleaned
    and it stays a message, so a front end still shows it translated. For
    text from a node (a step's output, a check's verdict, a fact) where it
    enters an event."""
    if isinstance(text, Msg):
        return Msg(text.template, {k: cleaned(v, keep_lines=keep_lines) if isinstance(v, str) else v
                                   for k, v in text.args.items()})
    return clean(str(text), keep_lines=keep_lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: object, limit: int = 40) -> str:
    """A value as it may be echoed back to a terminal: quoted, sanitised
    (`clean`) and shortened."""
    text = value if isinstance(value, str) else repr(value)
    text = _shorten(clean(text[: limit * 8]), limit)
    return f"'{text}'" if isinstance(value, str) else text


@dataclasses.dataclass(frozen=True)
class Problem:
    message: str
    hint: str = ""
    path: tuple[PathPart, ...] = ()
    severity: Severity = Severity.ERROR
    code: str = "invalid"
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    node: str | None = None
    step: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def where(self) -> str:
        return self._where(localize=False)

    def _where(self, *, localize: bool) -> str:
        parts = []
        if self.file:
            loc = self.file
            if self.line is not None:
                loc += f":{self.line}"
                if self.column is not None:
                    loc += f":{self.column}"
            parts.append(loc)
        if self.node:
            parts.append(t("node {node}", node=self.node) if localize else f"node {self.node}")
        if self.step:
            parts.append(t("step {step}", step=self.step) if localize else f"step {self.step}")
        return " ".join(parts)

    def render(self, *, localize: bool = False) -> str:
        """The plain-text form shared by the CLI and logs; every part passes
        the sanitiser (file names and node names too). `localize`: message,
        hint and the words around them in the deployer's language (what the
        CLI prints to a person; logs and journals keep English)."""
        where = self._where(localize=localize)
        head = f"{clean(where)}: " if where else ""
        field = f"{format_path(self.path)}: " if self.path else ""
        severity = (t("error") if self.is_error else t("warning")) if localize else self.severity.value
        message = localized(self.message) if localize else self.message
        text = f"{head}{severity}: {field}{clean(message, keep_lines=True)}"
        if self.hint:
            hint = localized(self.hint) if localize else self.hint
            text += f"\n    {t('hint') if localize else 'hint'}: {clean(hint, keep_lines=True)}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": list(self.path),
            "field": format_path(self.path) if self.path else None,
            "node": self.node,
            "step": self.step,
        }


class Problems:
    """An ordered collection; errors and warnings kept apart for reporting."""

    def __init__(self, items: Iterable[Problem] = ()) -> None:
        self._items: list[Problem] = list(items)

    def add(self, problem: Problem) -> None:
        self._items.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self._items.extend(problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self._items if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self._items if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Problem]:
        """Errors first, then by position in the file."""
        return sorted(
            self._items,
            key=lambda p: (not p.is_error, p.line if p.line is not None else 1 << 30, p.column or 0),
        )


class ProblemError(Exception):
    """Raised by operations that cannot continue; carries the problems."""

    def __init__(self, problems: Iterable[Problem] | Problem, exit_code: int = 1) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = Problems(problems)
        self.exit_code = exit_code
        super().__init__("; ".join(p.message for p in self.problems))
