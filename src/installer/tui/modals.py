"""The wizard's modal screens: a message, a yes/no question, a choice among
buttons, one value to type. Each returns its answer with dismiss()."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..model.i18n import t
from .words import localize_bindings


class MessageModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(classes="modal")
        localize_bindings(self)
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            with Horizontal():
                yield Button(t("Close"), id="close", variant="primary", compact=True)

    @on(Button.Pressed)
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question. Esc and the no button answer False; subclasses change the body
    (`body()`), the CSS classes and which button has the focus first."""

    BINDINGS = [Binding("escape", "no", "No")]
    FOCUS = "#no"

    def __init__(self, title: str, text: str, yes: str | None = None, no: str | None = None, *,
                 classes: str = "modal") -> None:
        super().__init__(classes=classes)
        localize_bindings(self)
        self.title_text, self.text, self.yes, self.no = title, text, yes or t("Yes"), no or t("No")

    def body(self) -> ComposeResult:
        yield Static(self.text)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield from self.body()
            with Horizontal():
                yield Button(self.yes, id="yes", variant="warning", compact=True)
                yield Button(self.no, id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(self.FOCUS, Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class InputModal(ModalScreen[str | None]):
    """Ask for one value: a path to save to, or a secret (password=True)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, text: str, value: str = "", password: bool = False) -> None:
        super().__init__(classes="modal")
        localize_bindings(self)
        self.title_text, self.text, self.value, self.password = title, text, value, password

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            yield Input(self.value, password=self.password, id="value")
            with Horizontal():
                yield Button(t("OK"), id="ok", variant="primary", compact=True)
                yield Button(t("Cancel"), id="cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#value", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)



class ChoiceModal(ModalScreen[str | None]):
    """Buttons (id, label); Esc answers None. The last choice is focused."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, text: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(classes="modal")
        localize_bindings(self)
        self.title_text, self.text, self.choices = title, text, choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            with Horizontal():
                for cid, label in self.choices:
                    yield Button(label, id=f"choice-{cid}", compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.choices[-1][0]}", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["MessageModal", "ConfirmModal", "InputModal", "ChoiceModal"]
