"""The wizard's words in the deployer's language (installer.model.i18n).

Key descriptions in the footer come from class-level BINDINGS, made when the
module is imported, before `--lang` is read: `localize_bindings(node)` gives a
screen or widget its own copy with the descriptions translated, in its
__init__, so a language chosen later (or changed between tests) shows.
"""

from __future__ import annotations

import dataclasses

from ..model.i18n import t


def localize_bindings(node) -> None:
    bindings = getattr(node, "_bindings", None)  # Textual's per-node BindingsMap (a copy of the class's)
    table = getattr(bindings, "key_to_bindings", None)
    if not isinstance(table, dict):
        return
    for key, items in table.items():
        table[key] = [dataclasses.replace(b, description=t(b.description)) if b.description else b for b in items]


__all__ = ["localize_bindings"]
