"""All YAML handling lives here.

Reading an answer file is strict and bounded, and never trusts the YAML
library with more than a flat stream of events:

- Limits come first: at most `MAX_ANSWER_FILE_BYTES`; UTF-8 only; no NUL
  bytes; only a regular file is opened (a FIFO or a device is refused after a
  `stat`, and the file is opened non-blocking and checked again), so nothing
  can make the reader wait for ever.
- The event stream (libyaml's parser when PyYAML has it, else PyYAML's own)
  is composed here, without recursion: nesting deeper than `MAX_DEPTH`, a
  collection of more than `MAX_ITEMS` entries, more than `MAX_VALUES` values
  in all, a value longer than `MAX_SCALAR_CHARS` or a key longer than
  `MAX_KEY_CHARS`, and reading for longer than `MAX_READ_SECONDS` are refused
  as soon as they are seen (PyYAML's own composer recurses once per level, so
  it would hit Python's recursion limit before any depth check).
- No aliases (no "billion laughs"), no merge keys, no duplicate keys (a dict
  lookup per key: linear), no keys that are not text, no tags but the plain
  ones, and no lone surrogates (half of a UTF-16 pair is not a character).
- Numbers: a plain scalar is an integer only when written the plain decimal
  way (`22`, `-5`, `0`), with at most `MAX_INT_DIGITS` digits. Anything else
  that YAML 1.1 or a spreadsheet would read as a number (`22.0`,
  `1.6443e+4`, zero-padded `051`, base-60 `22:22`, `0x1F`, `1_000`) stays the
  text it is, and `Document.number_notes` says what it looks like and what to
  write instead: where text is expected the deployer meant the text, where a
  whole number is expected the validator rejects it with that reason. A value
  is never silently changed. YAML 1.1 booleans (yes/no/on/off) stay booleans,
  with the word kept for a hint.

The reader returns plain data plus a map from field path to (line, column) so
that every later problem can point at the place in the file.

Writing a new file produces block-style YAML in a stable key order, so saved
answer files diff well. Rewriting an existing file keeps the deployer's text:
see `answerfile.write`, which edits the file in ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import yaml

from .i18n import m
from .problems import PathPart, Problem, ProblemError, show

try:  # libyaml's parser: the same events, twenty times faster
    from yaml import CSafeLoader as _EventSource
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _EventSource  # type: ignore[assignment]

MAX_ANSWER_FILE_BYTES = 1 << 20  # 1 MiB: a real plan is a few KiB
MAX_DEPTH = 32  # a real plan is 4 levels deep
MAX_ITEMS = 256  # entries of one list or section (a plan has at most 64 nodes, 99 addresses)
MAX_VALUES = 50_000  # keys and values in the whole file (a real plan has a few hundred)
MAX_SCALAR_CHARS = 65_536
MAX_KEY_CHARS = 1024
MAX_INT_DIGITS = 20  # beyond a 64-bit integer either way
MAX_READ_SECONDS = 5.0

Position = tuple[int, int]  # 1-based line, column


@dataclasses.dataclass
class Document:
    """Parsed YAML with the position of every field."""

    data: Any
    positions: dict[tuple[PathPart, ...], Position]
    file: str
    # Raw scalar text of YAML 1.1 booleans written as words (yes/no/on/off),
    # so a "you wrote `no`, YAML reads false" hint can be given.
    bool_words: dict[tuple[PathPart, ...], str] = dataclasses.field(default_factory=dict)
    # Where each mapping key itself is written (for "unknown key" and the like).
    key_positions: dict[tuple[PathPart, ...], Position] = dataclasses.field(default_factory=dict)
    # Text that looks like a number but is not a plain whole number: why, and
    # what to write instead (see the module docstring).
    number_notes: dict[tuple[PathPart, ...], str] = dataclasses.field(default_factory=dict)

    def position(self, path: tuple[PathPart, ...], *, key: bool = False) -> Position | None:
        """The position of `path` (its key with key=True), or of its nearest
        ancestor that exists."""
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = path[:-1]


def _problem(file: str, mark, message: str, hint: str, code: str) -> Problem:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return Problem(message=message, hint=hint, file=file, line=line, column=col, code=code)


# -- scalars: what a plain value is ---------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_BOOL_WORDS = {w: True for w in ("yes", "Yes", "YES", "on", "On", "ON")} | {w: False for w in ("no", "No", "NO", "off", "Off", "OFF")}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PADDED = re.compile(r"[-+]?0[0-9]+")
_UNDERSCORED = re.compile(r"[-+]?[0-9][0-9_]*")
_BASED = re.compile(r"[-+]?0(x[0-9a-fA-F_]+|o[0-7_]+|b[01_]+)")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.?[0-9_]*([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _whole(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and value == int(value) else ""


def number_note(text: str) -> str:
    """Why `text` is not a plain whole number although it looks like a number
    ('' when it does not look like one)."""
    t = text.strip()
    if not t or not any(c.isdigit() for c in t) and not _SPECIAL_FLOAT.fullmatch(t):
        return ""
    if _INT.fullmatch(t):
        digits = len(t.lstrip("+-"))
        return m("it has {digits} digits, more than any setting takes", digits=digits) if digits > MAX_INT_DIGITS else ""
    if len(t) > 64:
        return m("it is a very long number")
    if _PADDED.fullmatch(t):
        n = int(t)
        if set(t) <= set("+-01234567"):
            octal = int(t.lstrip("+-"), 8) * (-1 if t.startswith("-") else 1)
            return m("it has a leading zero, and YAML 1.1 tools read {text} as the octal number {octal}: write {number}, without the zero",
                     text=t, octal=octal, number=n)
        return m("it has a leading zero: write {number}", number=n)
    if _UNDERSCORED.fullmatch(t):
        return m("it has '_' between digits: write {number}", number=int(t.replace('_', '')))
    if _BASED.fullmatch(t):
        try:
            return m("it is written in base {base}: write {number}", base={'x': 16, 'o': 8, 'b': 2}[t.lstrip('+-')[1]],
                     number=int(t.replace('_', ''), 0))
        except ValueError:
            return m("it is written in another base: write a decimal number")
    if _SEXAGESIMAL.fullmatch(t):
        return m("YAML 1.1 reads {text} as a base-60 number (like a time): quote it if it is text, write the whole number if it is one",
                 text=t)
    if _SPECIAL_FLOAT.fullmatch(t):
        return m("it is a special decimal value (infinity or not-a-number), not a whole number")
    if _FLOAT.fullmatch(t) and any(c in t for c in ".eE"):
        try:
            value = float(t.replace("_", ""))
        except ValueError:
            return ""
        whole = _whole(value)
        return m("it is a decimal number: write {number}", number=whole) if whole else m("it is a decimal number with a fraction, not a whole number")
    return ""


class _Refused(Exception):
    """A located problem found while composing."""

    def __init__(self, mark, message: str, hint: str, code: str) -> None:
        self.mark, self.message, self.hint, self.code = mark, message, hint, code


def _check_text(text: str, mark, *, key: bool = False) -> None:
    limit = MAX_KEY_CHARS if key else MAX_SCALAR_CHARS
    if len(text) > limit:
        raise _Refused(mark, m("a {what} is longer than {limit} characters", what=m("key") if key else m("value"), limit=limit),
                       m("an answer file holds short values; check that this is the right file"), "too-long")
    bad = _SURROGATE.search(text)
    if bad:
        raise _Refused(mark, m("{what} holds \\u{code}, half of a UTF-16 pair, not a character", what=m("key") if key else m("value"), code=f"{ord(bad.group()):04x}"),
                       m("write the character itself (the file is UTF-8), or \\U0001F600 for one beyond U+FFFF"), "yaml-value")


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _scalar(event, path, doc: Document) -> Any:
    """The value of a scalar event, by the policy in the module docstring."""
    text: str = event.value
    _check_text(text, event.start_mark)
    tag = event.tag
    if tag in (None, "!"):
        if tag is None and event.implicit[0]:  # plain: resolve
            if text in _NULL:
                return None
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            if text in _BOOL_WORDS:
                doc.bool_words[path] = text
                return _BOOL_WORDS[text]
            if _INT.fullmatch(text) and len(text.lstrip("+-")) <= MAX_INT_DIGITS:
                return int(text)
            note = number_note(text)
            if note:
                doc.number_notes[path] = note
        return text
    kind = tag[len(_TAG):] if tag.startswith(_TAG) else None
    if kind == "str":
        return text
    if kind == "int":
        if _INT.fullmatch(text.strip()) and len(text.strip().lstrip("+-")) <= MAX_INT_DIGITS:
            return int(text)
        why = number_note(text) or m("it is not a whole number written in digits")
        raise _Refused(event.start_mark, m("the tag !!int does not fit {text}: {why}", text=show(text), why=why), m("remove the tag and write a whole number"), "yaml-tag")
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise _Refused(event.start_mark, m("the tag !!bool does not fit {text}", text=show(text)), m("remove the tag and write true or false"), "yaml-tag")
    if kind == "null":
        if text in _NULL:
            return None
        raise _Refused(event.start_mark, m("the tag !!null does not fit {text}", text=show(text)), m("remove the tag and the value"), "yaml-tag")
    raise _Refused(event.start_mark, m("YAML tag {tag} is not allowed", tag=show(_tag_text(tag))), m("remove the !tag; answer files hold plain values"), "yaml-tag")


# -- composing: events to data, without recursion -------------------------------------------


class _Frame:
    __slots__ = ("container", "path", "key", "key_mark", "seen")

    def __init__(self, container, path) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # mappings: the key waiting for its value
        self.key_mark = None
        self.seen: dict[str, int] = {}  # mappings: key -> line, for duplicates


def _compose(source, doc: Document, max_items: int = MAX_ITEMS) -> Any:
    """Build the data of the single document in `source` (an event source),
    checking every limit as the events arrive (lists: at most `max_items`)."""
    deadline = time.monotonic() + MAX_READ_SECONDS
    stack: list[_Frame] = []
    root: Any = None
    have_root = False
    values = 0
    while True:
        event = source.get_event()
        if event is None:
            break
        values += 1
        if values & 1023 == 0 and time.monotonic() > deadline:
            raise _Refused(event.start_mark, m("reading the file took longer than {seconds} s", seconds=f"{MAX_READ_SECONDS:g}"),
                           m("an answer file is read in milliseconds; check that this is the right file"), "too-slow")
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            continue
        if isinstance(event, yaml.DocumentStartEvent):
            if have_root:
                raise _Refused(event.start_mark, m("the file holds more than one YAML document (a second `---`)"),
                               m("keep one answer file per file"), "yaml-documents")
            continue
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, m("YAML aliases (*name) are not allowed in answer files"),
                           m("write the value out in full where it is needed"), "yaml-alias")
        if values > MAX_VALUES:
            raise _Refused(event.start_mark, m("the file holds more than {limit} keys and values; an answer file holds a few hundred", limit=MAX_VALUES),
                           m("check that this is the right file"), "too-many")
        parent = stack[-1] if stack else None
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            done = stack.pop()
            value = done.container
            parent = stack[-1] if stack else None
            path = done.path
        else:
            # A key, or a value at the next path.
            if parent is not None and isinstance(parent.container, dict) and parent.key is None:
                _take_key(event, parent, doc)
                continue
            if parent is None:
                path: tuple[PathPart, ...] = ()
            elif isinstance(parent.container, dict):
                path = parent.path + (parent.key,)
            else:
                path = parent.path + (len(parent.container),)
            doc.positions[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event, path, doc)
            else:
                kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
                if event.tag not in (None, "!", _TAG + kind):
                    raise _Refused(event.start_mark, m("YAML tag {tag} is not allowed", tag=show(_tag_text(event.tag))),
                                   m("remove the !tag; answer files hold plain values"), "yaml-tag")
                if len(stack) >= MAX_DEPTH:
                    raise _Refused(event.start_mark, m("the document nests too deeply (more than {limit} levels)", limit=MAX_DEPTH),
                                   m("an answer file is a few levels deep; check indentation"), "yaml-depth")
                stack.append(_Frame({} if kind == "map" else [], path))
                continue
        # `value` is complete: put it in its parent.
        if parent is None:
            root, have_root = value, True
        elif isinstance(parent.container, dict):
            parent.container[parent.key] = value
            parent.key = None
        else:
            if len(parent.container) >= max_items:
                raise _Refused(event.start_mark, m("a list has more than {limit} entries", limit=max_items),
                               m("an answer file's lists are short; check that this is the right file"), "too-many")
            parent.container.append(value)
    return root if have_root else _EMPTY


_EMPTY = object()


def _take_key(event, frame: _Frame, doc: Document) -> None:
    mark = event.start_mark
    if not isinstance(event, yaml.ScalarEvent):
        raise _Refused(mark, m("a key is a list or a section, not text"), m("keys are plain words before the colon"), "yaml-key")
    text = event.value
    _check_text(text, mark, key=True)
    plain = event.tag is None and event.implicit[0]
    if plain and text == "<<":
        raise _Refused(mark, m("YAML merge keys (<<) are not allowed in answer files"), m("write the keys out in full"), "yaml-merge")
    not_text = (event.tag not in (None, "!", _TAG + "str")) or (
        plain and (text in _NULL or text in _TRUE or text in _FALSE or text in _BOOL_WORDS or _INT.fullmatch(text) or number_note(text)))
    if not_text:
        raise _Refused(mark, m("key {text} is not text", text=show(text)),
                       m("put the key in quotes; keys such as yes/no/on/off or numbers need quotes"), "yaml-key")
    if text in frame.seen:
        raise _Refused(mark, m("key {key} appears twice in the same section (first on line {line})", key=show(text), line=frame.seen[text]),
                       m("keep one of them; YAML would silently use the last"), "yaml-duplicate-key")
    if len(frame.seen) >= MAX_ITEMS:
        raise _Refused(mark, m("a section has more than {limit} keys", limit=MAX_ITEMS),
                       m("an answer file's sections are short; check that this is the right file"), "too-many")
    frame.seen[text] = mark.line + 1
    frame.key = text
    doc.key_positions[frame.path + (text,)] = (mark.line + 1, mark.column + 1)


def _reader_position(text: str, exc: yaml.reader.ReaderError) -> tuple[int, int]:
    before = text[: exc.position]
    return before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1


def parse_text(text: str, file: str = "<text>", *, max_items: int = MAX_ITEMS) -> Document:
    """Parse YAML text strictly. Raises ProblemError with a located problem."""
    doc = Document(data=None, positions={}, file=file)
    source = _EventSource(text)
    try:
        try:
            data = _compose(source, doc, max_items)
        except _Refused as exc:
            raise ProblemError(_problem(file, exc.mark, exc.message, exc.hint, exc.code)) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = exc.problem or "not valid YAML"
            hint = ("write the character itself, or a whole escape (\\u00e9, \\U0001F600); half of a UTF-16 pair "
                    "(\\ud800) is not a character" if "escape" in what
                    else m("check indentation (spaces, not tabs) and that quotes and brackets are closed"))
            raise ProblemError(_problem(file, mark, m("not valid YAML: {what}", what=what), hint, "yaml-syntax")) from None
        except yaml.reader.ReaderError as exc:
            line, col = _reader_position(text, exc)
            raise ProblemError(
                Problem(message=m("not valid YAML: character {character} is a control character, not text", character=show(chr(exc.character)) if isinstance(exc.character, int) else ''),
                        hint=m("remove it; write escapes such as \\t only inside double quotes"), file=file, line=line, column=col,
                        code="yaml-syntax")
            ) from None
        except yaml.YAMLError as exc:  # anything else the parser raises
            raise ProblemError(
                Problem(message=m("not valid YAML: {error}", error=show(str(exc), 120)), hint=m("save the file as plain UTF-8 text"), file=file,
                        code="yaml-syntax")
            ) from None
    finally:
        source.dispose()
    if data is _EMPTY:
        raise ProblemError(
            Problem(message=m("the file is empty"), hint=m("run `onsite init -o FILE` to write a starting answer file"),
                    file=file, line=1, column=1, code="empty")
        )
    doc.data = data
    return doc


# -- files ------------------------------------------------------------------------------


def _refuse_special(st: os.stat_result, name: str) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise ProblemError(Problem(message=m("this is a folder, not an answer file"), hint=m("name the .yaml file"), file=name,
                                   code="not-a-file"))
    if not stat.S_ISREG(mode):
        what = (m("a named pipe (FIFO)") if stat.S_ISFIFO(mode) else m("a device") if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else m("a socket") if stat.S_ISSOCK(mode) else m("not a regular file"))
        raise ProblemError(Problem(message=m("this is {what}, not an answer file", what=what),
                                   hint=m("name a regular .yaml file; to read from a pipe, give `-` and redirect it to stdin"),
                                   file=name, code="not-a-file"))


def read_file(path: str | Path, display: str | None = None, *, max_items: int = MAX_ITEMS) -> Document:
    """Read and parse an answer file. Every failure is a located ProblemError.

    Only a regular file is read: the path is checked with stat() before it is
    opened, opened non-blocking (a FIFO swapped in meanwhile cannot block) and
    checked again on the open descriptor."""
    path = Path(path)
    name = display or str(path)
    try:
        _refuse_special(os.stat(path), name)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ProblemError(
            Problem(message=m("file not found"), hint=m("check the path, or run `onsite init -o FILE` to create one"), file=name,
                    code="not-found")
        ) from None
    except NotADirectoryError:
        raise ProblemError(Problem(message=m("file not found (a folder on the path is a file)"), hint=m("check the path"), file=name,
                                   code="not-found")) from None
    except OSError as exc:
        raise ProblemError(Problem(message=m("cannot read the file: {strerror}", strerror=exc.strerror), hint=m("check permissions"), file=name, code="unreadable")) from None
    try:
        _refuse_special(os.fstat(fd), name)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_ANSWER_FILE_BYTES + 1)
    except OSError as exc:
        raise ProblemError(Problem(message=m("cannot read the file: {strerror}", strerror=exc.strerror), hint=m("check permissions"), file=name, code="unreadable")) from None
    finally:
        os.close(fd)
    return read_bytes(raw, name, max_items=max_items)


def read_bytes(raw: bytes, name: str, *, max_items: int = MAX_ITEMS) -> Document:
    """Parse the bytes of an answer file (from a file or stdin); at most
    MAX_ANSWER_FILE_BYTES (+1 to tell that there was more)."""
    if len(raw) > MAX_ANSWER_FILE_BYTES:
        raise ProblemError(
            Problem(
                message=m("the file is larger than {limit} KiB; an answer file is a few KiB", limit=MAX_ANSWER_FILE_BYTES // 1024),
                hint=m("check that this is the right file"),
                file=name,
                code="too-large",
            )
        )
    if b"\x00" in raw:
        raise ProblemError(Problem(message=m("the file contains NUL bytes; it is not a text file"), hint=m("check that this is the right file"), file=name, code="binary"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProblemError(
            Problem(message=m("the file is not UTF-8 text"), hint=m("save it as UTF-8"), file=name, line=line, code="encoding")
        ) from None
    return parse_text(text, name, max_items=max_items)


def load_trusted(path: str | Path) -> Any:
    """Load a YAML file shipped with the installer (profiles, manifests)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class _BlockDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: D102
        # Indent list items under their key: easier to read and to diff.
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """Block-style YAML, keys in the order given (callers order them)."""
    return yaml.dump(
        data,
        Dumper=_BlockDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def dump_flow_list(items: list[Any]) -> str:
    """A short list on one line: `[a, b, c]`."""
    return yaml.dump(items, Dumper=_BlockDumper, default_flow_style=True, width=10_000).strip()
