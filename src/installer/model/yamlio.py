"""All YAML handling lives here.

Answer files are read strictly: a size limit, UTF-8 only, no aliases (no
"billion laughs"), no duplicate keys, no non-string keys, no custom tags. The
reader returns plain data plus a map from field path to (line, column) so that
every later problem can point at the place in the file.

Writing produces block-style YAML in a stable key order, so saved answer files
diff well.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .problems import PathPart, Problem, ProblemError, show

MAX_ANSWER_FILE_BYTES = 1 << 20  # 1 MiB: a real plan is a few KiB
MAX_DEPTH = 32

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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases at compose time (before expansion)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasFound(event.start_mark)
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    def __init__(self, mark) -> None:
        self.mark = mark


def _problem(file: str, mark, message: str, hint: str, code: str) -> Problem:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return Problem(message=message, hint=hint, file=file, line=line, column=col, code=code)


def parse_text(text: str, file: str = "<text>") -> Document:
    """Parse YAML text strictly. Raises ProblemError with a located problem."""
    loader = _StrictLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except _AliasFound as exc:
            raise ProblemError(
                _problem(
                    file,
                    exc.mark,
                    "YAML aliases (*name) are not allowed in answer files",
                    "write the value out in full where it is needed",
                    "yaml-alias",
                )
            ) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = exc.problem or "not valid YAML"
            raise ProblemError(
                _problem(
                    file,
                    mark,
                    f"not valid YAML: {what}",
                    "check indentation (spaces, not tabs) and that quotes and brackets are closed",
                    "yaml-syntax",
                )
            ) from None
        except yaml.YAMLError as exc:  # e.g. reader errors without marks
            raise ProblemError(
                Problem(
                    message=f"not valid YAML: {exc}",
                    hint="save the file as plain UTF-8 text",
                    file=file,
                    code="yaml-syntax",
                )
            ) from None
        if root is None:
            raise ProblemError(
                Problem(
                    message="the file is empty",
                    hint="run `onsite init -o FILE` to write a starting answer file",
                    file=file,
                    line=1,
                    column=1,
                    code="empty",
                )
            )
        doc = Document(data=None, positions={}, file=file)
        doc.data = _convert(loader, root, (), doc, 0)
        return doc
    finally:
        loader.dispose()


_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


def _convert(loader, node: Node, path, doc: Document, depth) -> Any:
    file = doc.file
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _PLAIN_TAGS:
        raise ProblemError(
            _problem(file, node.start_mark, f"YAML tag {show(node.tag)} is not allowed", "remove the !tag; answer files hold plain values", "yaml-tag")
        )
    if depth > MAX_DEPTH:
        raise ProblemError(
            _problem(file, node.start_mark, "the document nests too deeply", "an answer file is a few levels deep; check indentation", "yaml-depth")
        )
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ProblemError(
                    _problem(file, key_node.start_mark, "YAML merge keys (<<) are not allowed in answer files", "write the keys out in full", "yaml-merge")
                )
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raw = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                raise ProblemError(
                    _problem(
                        file,
                        key_node.start_mark,
                        f"key {show(raw)} is not text",
                        "put the key in quotes; keys such as yes/no/on/off or numbers need quotes",
                        "yaml-key",
                    )
                )
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise ProblemError(
                    _problem(
                        file,
                        key_node.start_mark,
                        f"key {show(key)} appears twice in the same section (first on line {first})",
                        "keep one of them; YAML would silently use the last",
                        "yaml-duplicate-key",
                    )
                )
            seen[key] = key_node
            doc.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(loader, value_node, path + (key,), doc, depth + 1)
        return out
    if isinstance(node, SequenceNode):
        return [
            _convert(loader, item, path + (i,), doc, depth + 1)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, ScalarNode)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ProblemError(
            _problem(file, node.start_mark, f"cannot read value {show(node.value)}: {getattr(exc, 'problem', exc)}", "put the value in quotes", "yaml-value")
        ) from None
    if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() in _BOOL_WORDS:
        doc.bool_words[path] = node.value
    if node.tag == "tag:yaml.org,2002:timestamp":
        value = node.value  # keep dates as the text written; the schema decides
    if isinstance(value, float) and value != value:  # .nan
        value = node.value
    return value


def read_file(path: str | Path, display: str | None = None) -> Document:
    """Read and parse an answer file. Every failure is a located ProblemError."""
    path = Path(path)
    name = display or str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_ANSWER_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ProblemError(
            Problem(message="file not found", hint="check the path, or run `onsite init -o FILE` to create one", file=name, code="not-found")
        ) from None
    except IsADirectoryError:
        raise ProblemError(Problem(message="this is a folder, not an answer file", hint="name the .yaml file", file=name, code="not-a-file")) from None
    except OSError as exc:
        raise ProblemError(Problem(message=f"cannot read the file: {exc.strerror}", hint="check permissions", file=name, code="unreadable")) from None
    if len(raw) > MAX_ANSWER_FILE_BYTES:
        raise ProblemError(
            Problem(
                message=f"the file is larger than {MAX_ANSWER_FILE_BYTES // 1024} KiB; an answer file is a few KiB",
                hint="check that this is the right file",
                file=name,
                code="too-large",
            )
        )
    if b"\x00" in raw:
        raise ProblemError(Problem(message="the file contains NUL bytes; it is not a text file", hint="check that this is the right file", file=name, code="binary"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProblemError(
            Problem(message="the file is not UTF-8 text", hint="save it as UTF-8", file=name, line=line, code="encoding")
        ) from None
    return parse_text(text, name)


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
