"""Words on screen in the deployer's language (English, Simplified Chinese).

Two ways to mark a string for translation, one way to show it:

- ``t("Next")`` / ``t("{n} nodes", n=4)``: front ends, translated at once
  into the chosen language.
- ``m("{node}: no answer on port {port}", node=..., port=...)``: messages
  made below the front ends (validation, preflight, the engine). The result
  *is* the English text (a ``str``: JSON output, logs and journals stay in
  English with their stable codes) and carries its template and values so a
  front end can show it translated with ``localized(text)``.

The catalogue machinery (language choice from ``--lang``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``; the Chinese catalogue) lives here too.
"""

from __future__ import annotations

from typing import Any


class Msg(str):
    """English text that remembers its template and values."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, args: dict[str, Any]) -> Msg:
        self = super().__new__(cls, template.format(**args) if args else template)
        self.template = template
        self.args = args
        return self


def m(template: str, /, **args: Any) -> Msg:
    return Msg(template, args)


def t(template: str, /, **args: Any) -> str:
    return template.format(**args) if args else template


def localized(text: str) -> str:
    if isinstance(text, Msg):
        return t(text.template, **text.args)
    return str(text)
