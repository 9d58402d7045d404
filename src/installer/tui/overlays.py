"""The wizard's overlays: F1 help on the focused field, the key list of the
page (F12, or ? outside a text field), and the preview of an IP sheet
import. Each fits 80x24 and scrolls when its text is longer.

Field help comes from the answer file's JSON Schema (schemas/): the field's
`description`, its constraint in words (from the schema's kind, enum,
minimum/maximum), the default, and an example (the page's own hint, or the
kind's). The IP sheet's slots take their titles from the profile.
"""

from __future__ import annotations

import functools
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from ..model import fieldpath, validate
from ..model.i18n import t
from .modals import ConfirmModal

# The constraint and an example per schema kind (`x-kind`), in words.
KINDS: dict[str, tuple[str, str]] = {
    "ipv4": ("an IPv4 address: four numbers 0-255 separated by dots", "10.20.30.1"),
    "hostname": ("lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit", "node1"),
    "host": ("an address or a host name", "ntp.example.com"),
    "nic": ("an interface name, at most 15 characters: letters, digits, '_', '.', '@', '-'", "eth0, ens192"),
    "port": ("a port number, 1-65535", "22"),
    "user": ("a user name: lower-case letters, digits, '_' and '-', starting with a letter or '_'", "root"),
    "secret-ref": ("a reference, never the secret: env:NAME, file:PATH or prompt", "env:NODE_PASSWORD"),
    "path": ("a file path on this machine", "~/.ssh/id_ed25519"),
    "fingerprint": ("SHA256: and 43 characters, as ssh-keygen -lf shows it", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"),
    "slot-ref": ("a slot of the IP sheet, IP1 ... IP99", "IP1"),
    "text": ("text", ""),
    "ident": ("a letter, then letters, digits, '_' or '-'", "k8s-api"),
    "profile": ("one of the installed product profiles (onsite --version lists them)", "reference"),
    "cidr": ("a network and its prefix length, /8 to /29", "10.20.30.0/24"),
}


@functools.cache
def _schema() -> dict[str, Any]:
    return validate.answer_file_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """The node with its $ref merged in (the node's own keys win)."""
    seen = 0
    while "$ref" in node and seen < 8:
        target = _schema()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def schema_of(path: str) -> dict[str, Any] | None:
    """The JSON Schema of the answer-file field at `path` (nodes[0].ssh.port)."""
    node: dict[str, Any] = _schema()
    for part in fieldpath.parse(path):
        node = _resolve(node)
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        else:
            return None
    return _resolve(node)


def field_help(path: str, label: str, hint: str = "", slot_title: str = "") -> tuple[str, str, str, str]:
    """(title, what it means, constraint, example) for the field at `path`."""
    s = schema_of(path) or {}
    kind = s.get("x-kind", "")
    if s.get("type") == "array":
        items = _resolve(s.get("items", {}))
        kind = items.get("x-kind", kind)
    meaning = s.get("description", "")
    if slot_title:
        meaning = t("{slot}: {title}. {meaning}", slot=label, title=slot_title, meaning=meaning).strip()
    words, example = KINDS.get(kind, ("", ""))
    if kind == "text":  # one line (text) or several (longtext), by the schema's limits
        words = t("text of at most {n} characters", n=s.get("maxLength", 64))
        if "\\x0b" not in s.get("pattern", "\\x0b"):
            words += t(", on one line")
    parts = [words] if words else []
    if "enum" in s:
        parts.append(t("one of: {values}", values=", ".join(map(str, s["enum"]))))
    if "minimum" in s or "maximum" in s:
        parts.append(t("from {lo} to {hi}", lo=s.get("minimum", "-"), hi=s.get("maximum", "-")))
    if s.get("type") == "array":
        parts.append(t("several: separate them with commas"))
    if "default" in s:
        parts.append(t("default: {value}", value=s["default"]))
    if hint and ("e.g." in hint or "," in hint or ":" in hint):
        example = hint.split("e.g.", 1)[-1].strip() if "e.g." in hint else example or hint
    return label, meaning or hint or t("(no description)"), "; ".join(p for p in parts if p) or t("any value"), example


class _Overlay(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close"), Binding("f1", "close", "Close"),
                Binding("f12", "close", "Close")]

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__(classes="modal overlay")
        self.title_text, self.body_text = title, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            with VerticalScroll(classes="overlay-body"):
                yield Static(self.body_text)
            with Horizontal():
                yield Button(t("Close"), id="close", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class FieldHelpModal(_Overlay):
    """F1 on a field: what it means, its constraint, an example."""

    def __init__(self, path: str, label: str, hint: str = "", slot_title: str = "") -> None:
        title, meaning, constraint, example = field_help(path, label, hint, slot_title)
        body = Text()
        body.append(meaning + "\n\n")
        body.append(t("Allowed: "), style="bold")
        body.append(constraint + "\n")
        if example:
            body.append(t("Example: "), style="bold")
            body.append(example + "\n")
        body.append(t("Field: "), style="bold")
        body.append(path, style="dim")
        super().__init__(title, body)


class KeysModal(_Overlay):
    """Every key binding of the page: (key, what it does) lines."""

    def __init__(self, page_title: str, keys: list[tuple[str, str]]) -> None:
        body = Text()
        width = max((len(k) for k, _ in keys), default=4) + 2
        for key, what in keys:
            body.append(f"{key:<{width}}", style="bold")
            body.append(what + "\n")
        super().__init__(t("Keys: {page}", page=page_title), body)


class PreviewModal(ConfirmModal):
    """What an import changes (old -> new, with the cell): apply or not."""

    BINDINGS = [Binding("escape", "no", "Cancel")]
    FOCUS = "#yes"

    def __init__(self, title: str, lines: list[str], note: str = "") -> None:
        super().__init__(title, "", t("Apply"), t("Cancel"), classes="modal overlay")
        self.lines, self.note = lines, note

    def body(self) -> ComposeResult:
        with VerticalScroll(classes="overlay-body"):
            yield Static(Text("\n".join(self.lines)))
        if self.note:
            yield Static(Text(self.note, style="yellow"))


__all__ = ["FieldHelpModal", "KeysModal", "PreviewModal", "field_help", "schema_of"]
