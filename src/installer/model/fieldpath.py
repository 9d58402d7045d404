"""Field paths into answer-file data: `nodes[2].ssh.port` <-> ('nodes', 2, 'ssh', 'port').

The same notation the validator reports problems in (problems.format_path),
so a form field, its value and its problems share one address.
"""

from __future__ import annotations

import re
from typing import Any

from .problems import PathPart

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse(text: str) -> tuple[PathPart, ...]:
    parts: list[PathPart] = []
    for name, index in _TOKEN.findall(text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def get(data: Any, path: str | tuple[PathPart, ...], default: Any = None) -> Any:
    cur = data
    for part in parse(path) if isinstance(path, str) else path:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return default
    return cur


def set(data: Any, path: str | tuple[PathPart, ...], value: Any) -> None:  # noqa: A001 - mirrors get
    parts = parse(path) if isinstance(path, str) else path
    cur = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            cur = cur[part]
            continue
        if part not in cur or not isinstance(cur[part], (dict, list)):
            cur[part] = [] if isinstance(nxt, int) else {}
        cur = cur[part]
    last = parts[-1]
    if value is None and isinstance(cur, dict):
        cur.pop(last, None)
    else:
        cur[last] = value


def covers(field: tuple[PathPart, ...], problem: tuple[PathPart, ...]) -> bool:
    """Does a problem at `problem` belong under the field at `field`?"""
    return problem[: len(field)] == field
