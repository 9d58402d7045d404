"""The layers hold: checked on the code itself, not on a list kept by hand.

- import-linter's contracts (pyproject.toml) run in scripts/test.sh; these
  tests add what a contract cannot say: no import cycle anywhere in src/, no
  module reaching into another's underscore names, the headless packages
  really headless at run time, and no product name in engine code.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "installer"

# Packages whose modules import neither textual, rich nor paramiko. The
# paramiko implementation of the transport is the one module of remote/
# allowed to.
HEADLESS = ("model", "remote", "engine", "lab")
PARAMIKO_ONLY = "installer.remote.ssh_paramiko"


def _modules(package: str) -> list[str]:
    return sorted(
        "installer." + ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for p in (SRC / package).rglob("*.py"))


HEADLESS_MODULES = [m for pkg in HEADLESS for m in _modules(pkg) if m != PARAMIKO_ONLY]


def test_the_layers_are_packages():
    for pkg in ("model", "remote", "engine", "cli", "tui", "lab"):
        assert (SRC / pkg / "__init__.py").is_file(), pkg
    loose = sorted(p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == [], f"modules outside the layers: {loose}"


def _graph():
    return grimp.build_graph("installer", cache_dir=None)


def test_no_import_cycles():
    graph = _graph()
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                cycles.append(sorted(comp))

    for m in modules:
        if m not in index:
            visit(m)
    # a package's __init__ re-exporting its own modules is not a cycle of design
    cycles = [c for c in cycles if not all(x.rsplit(".", 1)[0] == c[0].rsplit(".", 1)[0] or x == c[0] for x in c)
              or len(c) > 2]
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _imports(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield node


def test_no_module_imports_anothers_underscore_names():
    bad = []
    for path in SRC.rglob("*.py"):
        for node in _imports(path):
            if node.level == 0 and not (node.module or "").startswith("installer"):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno}: {alias.name}")
    assert bad == []


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_headless_modules_import_no_ui_and_no_paramiko(module):
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'paramiko')); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"


def test_the_contract_names_every_headless_package():
    import tomllib

    contracts = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    forbidden = next(c for c in contracts if c["type"] == "forbidden")
    assert set(forbidden["forbidden_modules"]) >= {"textual", "rich", "paramiko"}
    covered = set(forbidden["source_modules"])
    for m in HEADLESS_MODULES:
        assert any(m == s or m.startswith(s + ".") for s in covered), f"{m} is outside the headless contract"
    layers = next(c for c in contracts if c["type"] == "layers")
    named = {x.strip() for layer in layers["layers"] for x in layer.split("|")}
    assert named == {f"installer.{p}" for p in ("cli", "tui", "lab", "engine", "remote", "model")}


# The product lives in the profile and the bundles. Engine and front-end code
# may name generic probe kinds (RADIUS, SOCKS5, HTTP), never a component.
PRODUCT_NAMES = re.compile(r"etcd|patroni|sentinel|redis|keepalived|postgres", re.I)


def _code_only(path: Path) -> list[tuple[int, str]]:
    """(line, text) of string constants and names, docstrings and comments left out."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.append((node.lineno, node.name))
    return out


def test_no_component_of_the_reference_system_is_named_in_code():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for line, text in _code_only(path):
            if PRODUCT_NAMES.search(text):
                bad.append(f"{path.relative_to(SRC)}:{line}: {text[:60]!r}")
    assert bad == [], "\n".join(bad)
