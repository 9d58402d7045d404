"""node replace without a lab: its step graph (the operation's steps that
depend on an install step run after the node's install, the others before
it; the install's steps run on the operation's node only; ids may not
clash) and its words in the Chinese catalogue."""

from __future__ import annotations

import pytest

from installer.engine.replace import merge_with_install
from installer.engine.steps import Step
from installer.model.problems import ProblemError

from .conftest import repo_root


def step(sid: str, deps: tuple[str, ...] = (), nodes: str = "all") -> Step:
    return Step(id=sid, title=sid, bundle="b", roles=("*",), depends_on=deps, scope="node", mode="parallel",
                script="s.sh", check=None, timeout=60, idempotent=True, retries=0, nodes=nodes)


def test_operation_steps_before_and_after_the_nodes_install():
    install = [step("packages"), step("db", ("packages",)), step("db-ready", ("db",))]
    ops = [step("check", nodes="one-other"), step("remove", ("check",), "one-other"),
           step("join", ("remove",), "target"), step("sweep", ("db-ready",)), step("after-sweep", ("sweep",))]
    merged = merge_with_install(install, ops)
    order = [s.id for s in merged]
    assert order.index("join") < order.index("packages")
    assert order.index("remove") < order.index("packages") < order.index("db") < order.index("db-ready")
    assert order.index("db-ready") < order.index("sweep") < order.index("after-sweep")
    by_id = {s.id: s for s in merged}
    # the install's steps: on the target only, after every "before" step
    assert by_id["packages"].nodes == "target" and set(by_id["packages"].depends_on) >= {"check", "remove", "join"}
    assert by_id["db"].depends_on[0] == "packages"
    # the operation's own steps keep their selectors and dependencies
    assert by_id["remove"].nodes == "one-other" and by_id["sweep"].depends_on == ("db-ready",)


def test_an_operation_step_may_not_reuse_an_install_step_id():
    with pytest.raises(ProblemError) as err:
        merge_with_install([step("db")], [step("db", nodes="target")])
    assert "install step ids too" in str(err.value)


def test_every_node_replace_word_has_its_chinese_entry():
    import ast
    import re

    po = (repo_root() / "src/installer/locale/zh_CN.po").read_text(encoding="utf-8")
    entries = dict(re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"', po, re.M))
    wanted = []
    for path in ("src/installer/cli/node.py", "src/installer/engine/replace.py"):
        for node in ast.walk(ast.parse((repo_root() / path).read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "m")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                wanted.append(node.args[0].value)
    assert len(wanted) > 20
    for template in wanted:
        key = template.replace("\\", "\\\\").replace('"', '\\"')
        assert entries.get(key), template
        names = sorted(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", template))
        assert sorted(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", entries[key])) == names, template
