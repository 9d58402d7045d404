#!/usr/bin/env python3
"""The words the installer shows, and whether the Chinese catalogue has them.

    .venv/bin/python scripts/i18n_messages.py          # list what zh_CN.po lacks, as PO entries to fill
    .venv/bin/python scripts/i18n_messages.py --all    # every msgid in use

Where the words come from (tests/test_i18n.py checks the same):
- t("...") and m("...") with a literal template, found by an AST walk of src/installer;
  counted(n, "{n} thing", "{n} things") in the CLI;
- Binding(key, action, "Description"): the footer's key names;
- screens/pages.yaml: page titles, help, field labels and field help;
- schemas/answer-file.v1.schema.json: the descriptions (a missing field's hint);
- DYNAMIC below: words passed to t() through a variable (a status, a verb).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "installer"

# t(variable) with these values: preflight statuses, phase outcomes (both front ends show
# t(PhaseFinished.status)), step statuses (`onsite status`), the Ctrl-C "what", the footer key Textual adds.
DYNAMIC = ("ok", "warn", "fail", "skipped", "failed", "invalid", "interrupted", "done", "pending", "running", "unknown",
           "the operation", "the install", "the preflight", "the verify", "the push",
           "palette")  # the last: the command palette key, added by Textual


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def code_msgids(root: Path = SRC) -> dict[str, str]:
    """msgid -> where it is first used (file:line)."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name in ("t", "m") and node.args:
                picks = node.args[:1]
            elif name == "counted" and len(node.args) == 3:
                picks = node.args[1:]
            elif name == "Binding" and len(node.args) >= 3:
                picks = node.args[2:3]
            else:
                continue
            for arg in picks:
                text = _literal(arg)
                if text:
                    found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def pages_msgids() -> dict[str, str]:
    import yaml

    found: dict[str, str] = {}
    raw = yaml.safe_load((ROOT / "screens" / "pages.yaml").read_text(encoding="utf-8"))
    for page in raw["pages"]:
        where = f"screens/pages.yaml:{page['id']}"
        found.setdefault(page["title"], where)
        if page.get("help", "").strip():
            found.setdefault(page["help"].strip(), where)
        for f in page.get("fields", []) + page.get("node_fields", []):
            found.setdefault(f["label"], where)
            if f.get("help"):
                found.setdefault(f["help"], where)
    return found


def schema_msgids() -> dict[str, str]:
    """The answer-file schema's descriptions: the hint of a missing field
    (model/validate.py shows a required property's description). One with
    braces ({component: {...}}) is no template and belongs to no required
    field: left out (it stays English where `onsite schema` shows it)."""
    import json

    found: dict[str, str] = {}

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "description" and isinstance(value, str) and "{" not in value:
                    found.setdefault(value, where)
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    name = "schemas/answer-file.v1.schema.json"
    walk(json.loads((ROOT / name).read_text(encoding="utf-8")), name)
    return found


def all_msgids() -> dict[str, str]:
    return {**{d: "scripts/i18n_messages.py:DYNAMIC" for d in DYNAMIC}, **pages_msgids(), **schema_msgids(), **code_msgids()}


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from installer.model.i18n import catalogue

    have = catalogue("zh_CN")
    for msgid, where in all_msgids().items():
        if "--all" in argv or msgid not in have:
            print(f"#: {where}\nmsgid {_po_string(msgid)}\nmsgstr \"\"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
