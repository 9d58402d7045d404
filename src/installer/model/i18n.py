"""Words on screen in the deployer's language (English, Simplified Chinese).

Two ways to mark a string for translation, one way to show it:

- ``t("Next")`` / ``t("{n} nodes", n=4)``: front ends, translated at once
  into the chosen language.
- ``m("{node}: no answer on port {port}", node=..., port=...)``: messages
  made below the front ends (validation, preflight, the engine). The result
  *is* the English text (a ``str``: JSON output, logs and journals stay in
  English with their stable codes) and carries its template and values so a
  front end can show it translated with ``localized(text)``. A value that is
  itself a ``Msg`` is localized too (a message built from message parts).

The language (``language()``): ``set_language()`` (the ``--lang en|zh_CN``
option of ``onsite`` and of the wizard) wins; else the first of ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` that is set and not empty, as the C library reads
them. ``zh``, ``zh_CN``, ``zh_SG`` and ``zh_Hans`` (with any encoding or
modifier: ``zh_CN.UTF-8``, ``zh_Hans_CN``) choose Simplified Chinese; anything
else (``C``, ``POSIX``, ``en_US.UTF-8``, Traditional ``zh_TW``/``zh_HK``/``zh_Hant``)
English. ``LANGUAGE`` is not read: it is a GNU list of preferences a desktop
sets, and on a server it would override an explicit ``LANG`` surprisingly.

The catalogue: ``installer/locale/zh_CN.po`` (GNU gettext PO, shipped inside
the package, so in the wheel), read by the small PO reader below rather than
compiled to .mo for the stdlib ``gettext`` module: there is no build step and
no generated binary to keep in sync, and the reader is about forty lines that
the tests run over the shipped file. Entries marked ``#, fuzzy`` are skipped
(as ``msgfmt`` does) and an empty ``msgstr`` means "not translated": both fall
back to English, as does a template the catalogue lacks. A catalogue that
cannot be read is a bug in the release; the error names file and line.
"""

from __future__ import annotations

import ast
import os
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh_CN")
ENGLISH = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"  # model/ -> installer/locale

_chosen: list[str] = []  # set_language(): the --lang choice, over the environment


class Msg(str):
    """English text that remembers its template and values."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, args: dict[str, Any]) -> Msg:
        self = super().__new__(cls, template.format(**args) if args else template)
        self.template = template
        self.args = args
        return self

    def __reduce__(self):  # copy, deepcopy and pickle keep template and values
        return (Msg, (self.template, self.args))


def m(template: str, /, **args: Any) -> Msg:
    return Msg(template, args)


def joined(separator: str, parts: list[str]) -> Msg:
    """Messages joined by `separator` ("; "), each localized when shown."""
    keys = [f"p{i}" for i in range(len(parts))]
    return Msg(separator.replace("{", "{{").replace("}", "}}").join("{" + k + "}" for k in keys), dict(zip(keys, parts, strict=True)))


# -- the language ---------------------------------------------------------------------

def language_of(tag: str | None) -> str:
    """A locale name (zh_CN.UTF-8, zh-Hans, en_US, C) -> "zh_CN" or "en"."""
    if not tag:
        return ENGLISH
    base = tag.split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    parts = base.split("_")
    if parts[0] != "zh":
        return ENGLISH
    rest = parts[1:]
    if not rest or rest[0] in ("cn", "sg", "hans"):
        return "zh_CN"
    return ENGLISH  # zh_TW, zh_HK, zh_MO, zh_Hant: Traditional, not shipped


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return language_of(value)
    return ENGLISH


def set_language(lang: str | None) -> str:
    """Choose the language for this process: "en", "zh_CN", or None to
    follow the environment again. Returns the language now in use."""
    _chosen.clear()
    if lang is not None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
        _chosen.append(lang)
    return language()


def language() -> str:
    return _chosen[0] if _chosen else language_from_environment()


# -- the catalogue ----------------------------------------------------------------------

class CatalogueError(ValueError):
    pass


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise CatalogueError(f"{where}: expected a \"quoted string\", found {text[:40]!r}")
    try:
        value = ast.literal_eval(text)  # PO escapes are C's: \n \t \" \\ (a Python string literal reads them)
    except (SyntaxError, ValueError) as exc:
        raise CatalogueError(f"{where}: bad string {text[:40]!r}") from exc
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: bad string {text[:40]!r}")
    return value


def parse_po(text: str, name: str = "<po>") -> dict[str, str]:
    """A PO file's translations: msgid -> msgstr, without the header, fuzzy
    and untranslated entries. Contexts and plurals are refused (not used)."""
    out: dict[str, str] = {}
    entry: dict[str, str] = {}
    flags: set[str] = set()
    key: str | None = None
    start = 0

    def finish() -> None:
        nonlocal entry, flags, key
        if entry:
            if "msgid" not in entry or "msgstr" not in entry:
                raise CatalogueError(f"{name}:{start}: an entry needs both msgid and msgstr")
            msgid, msgstr = entry["msgid"], entry["msgstr"]
            if msgid in out:
                raise CatalogueError(f"{name}:{start}: msgid {msgid[:40]!r} is in the catalogue twice")
            if msgid and msgstr and "fuzzy" not in flags:
                out[msgid] = msgstr
        entry, flags, key = {}, set(), None

    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{name}:{no}"
        if not line:
            finish()
        elif line.startswith("#,"):
            if entry:
                finish()
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            if entry and "msgstr" in entry:
                finish()
        elif line.startswith('"'):
            if key is None:
                raise CatalogueError(f"{where}: a continued string with no msgid or msgstr before it")
            entry[key] += _unquote(line, where)
        else:
            word, _, rest = line.partition(" ")
            if word not in ("msgid", "msgstr"):
                raise CatalogueError(f"{where}: {word!r} is not supported here (only msgid and msgstr)")
            if word == "msgid" and entry:
                finish()
            if not entry:
                start = no
            if word in entry:
                raise CatalogueError(f"{where}: a second {word} in one entry")
            key = word
            entry[word] = _unquote(rest, where)
    finish()
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of `lang` (empty for English)."""
    if lang == ENGLISH:
        return {}
    path = LOCALE_DIR / f"{lang}.po"
    return parse_po(path.read_text(encoding="utf-8"), str(path))


def placeholders(template: str) -> set[str]:
    """The {names} a template fills in."""
    try:
        return {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError:
        return set()


def translate(template: str, lang: str | None = None) -> str:
    """The template in `lang` (default: the language in use), English when
    the catalogue lacks it."""
    return catalogue(lang or language()).get(template, template)


def t(template: str, /, **args: Any) -> str:
    text = translate(template)
    if not args:
        return text
    args = {k: localized(v) if isinstance(v, Msg) else v for k, v in args.items()}
    try:
        return text.format(**args)
    except (KeyError, IndexError, ValueError):  # a broken translation: English rather than nothing
        return template.format(**args)


def localized(text: str) -> str:
    if isinstance(text, Msg):
        return t(text.template, **text.args)
    return str(text)
