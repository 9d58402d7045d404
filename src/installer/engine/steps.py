"""Install steps, as bundles declare them, and the graph they form.

A step in a bundle manifest:

    - id: etcd-config             # unique across all bundles
      title: Write the etcd configuration
      roles: [etcd]               # runs on nodes holding any of these roles ("*": every node)
      depends_on: [base]          # waits until every instance of these steps is done
      scope: node                 # node: once per node; cluster: once, on the first such node
      mode: parallel              # parallel or serial across nodes
      script: steps/etcd-config.sh
      check: steps/etcd-config.check.sh   # exit 0: the result is in place
      timeout: 300                # seconds
      idempotent: false
      retries: 0                  # only for idempotent steps
      component: mongodb          # optional: skipped where the plan marks it external
      payload: [payload/mongodb.tar.gz]   # vendor files the step needs in its bundle

`check` runs before the step (passing: skip it) and after it (failing: the
step failed). Steps run in the order of the graph; instances are the
(step, node) pairs the plan gives.

Day-2 operations (installer.engine.day2) are step lists of the same form
under `operations: {NAME: [...]}` in bundle.yaml, with two more fields:

      nodes: all                  # all: every node with the roles (the default)
                                  # target: only the operation's node (ONSITE_OP_NODE)
                                  # others: every node with the roles but that one
                                  # one-other: the first of the others (a survivor
                                  #            to work through)
                                  # target-or-all: the operation's node when it
                                  #            names one, else every node with the
                                  #            roles (uninstall [--only NODE])
      leader: steps/x.leader.sh   # exit 0 on the node that leads the service now:
                                  # a serial step runs there last (replicas first)
      what: [postgres, "vip:*"]   # the values of the operation's WHAT argument the
                                  # step serves (shell patterns); none: every WHAT

`leader:` is allowed on install steps too: a serial install step (and every
node-scope step while a changed plan is applied, installer.engine.change)
runs on the leading node last.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Collection, Sequence

from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, ProblemError
from .bundle import Bundle

STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEFAULT_TIMEOUT = 600
_KNOWN = {"id", "title", "component", "roles", "depends_on", "scope", "mode", "script", "check", "timeout",
          "idempotent", "retries", "payload", "provides", "secrets", "leader"}
_KNOWN_DAY2 = _KNOWN | {"nodes", "what"}
NODE_SELECTORS = ("all", "target", "others", "one-other", "target-or-all")


@dataclasses.dataclass(frozen=True)
class Step:
    id: str
    title: str
    bundle: str  # bundle id
    roles: tuple[str, ...]
    depends_on: tuple[str, ...]
    scope: str
    mode: str
    script: str
    check: str | None
    timeout: int
    idempotent: bool
    retries: int
    component: str | None = None
    payload: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()  # further components this step installs (kubelet with the control plane)
    secrets: tuple[str, ...] = ()  # secrets beyond its components' (need to know: nothing else reaches it)
    nodes: str = "all"  # day-2 steps: all | target | others | one-other
    leader: str | None = None  # a script that exits 0 on the node leading the service (serial: it goes last)
    what: tuple[str, ...] = ()  # day-2 steps: the WHAT values (shell patterns) it serves; () = every one


@dataclasses.dataclass(frozen=True)
class Instance:
    step: Step
    node: str

    @property
    def key(self) -> str:
        return f"{self.node}/{self.step.id}"


def _bad(bundle: Bundle, where: str, message: str, hint: str = "") -> Problem:
    return Problem(message=m("{where}: {message}", where=where, message=message), hint=hint or m("fix the step in the bundle's bundle.yaml and rebuild it"),
                   file=str(bundle.root / "manifest.yaml"), code="step")


def load_steps(bundles: Sequence[Bundle], role_names: set[str] | None = None,
               operation: str | None = None, also_known: Collection[str] = ()) -> list[Step]:
    """All steps of the bundles (the install's, or one day-2 operation's),
    checked: fields, scripts in the bundle, ids unique, dependencies known
    (or in `also_known`: an operation that runs the install's steps too may
    depend on them), no cycles. Raises ProblemError with all."""
    problems: list[Problem] = []
    steps: list[Step] = []
    seen: dict[str, str] = {}
    known = _KNOWN if operation is None else _KNOWN_DAY2
    for b in bundles:
        files = {f.path for f in b.files}
        section = b.steps if operation is None else b.operations.get(operation, [])
        for i, raw in enumerate(section):
            where = f"steps[{i}]" if operation is None else f"operations.{operation}[{i}]"
            if not isinstance(raw, dict):
                problems.append(_bad(b, where, m("a step is a set of `key: value` fields")))
                continue
            sid = raw.get("id")
            where = f"step {sid!r}" if isinstance(sid, str) else where
            unknown = set(raw) - known
            if unknown:
                problems.append(_bad(b, where, m("unknown field(s) {fields}", fields=', '.join(sorted(unknown))), m("known: {fields}", fields=', '.join(sorted(known)))))
            if not isinstance(sid, str) or not STEP_ID.match(sid):
                problems.append(_bad(b, where, m("id must be lower-case letters, digits and '-'")))
                continue
            if sid in seen:
                problems.append(_bad(b, where, m("id is also used in bundle {bundle}", bundle=seen[sid]), m("step ids are unique across bundles")))
                continue
            seen[sid] = b.id
            roles = raw.get("roles") or ["*"]
            deps = raw.get("depends_on") or []
            scope = raw.get("scope", "node")
            mode = raw.get("mode", "parallel")
            script = raw.get("script")
            check = raw.get("check")
            timeout = raw.get("timeout", DEFAULT_TIMEOUT)
            idempotent = raw.get("idempotent", False)
            retries = raw.get("retries", 0)
            payload = raw.get("payload") or []
            component = raw.get("component")
            provides = raw.get("provides") or []
            wanted = raw.get("secrets") or []
            selector = raw.get("nodes", "all")
            leader = raw.get("leader")
            what = raw.get("what") or []
            ok = True
            if not (isinstance(what, list) and all(isinstance(x, str) and x for x in what)):
                problems.append(_bad(b, where, m("what must be a list of the operation's WHAT values (shell patterns)")))
                ok = False
            if selector not in NODE_SELECTORS:
                problems.append(_bad(b, where, m("nodes {selector} is not one of {choices}", selector=f"{selector!r}", choices=', '.join(NODE_SELECTORS))))
                ok = False
            if leader is not None and (not isinstance(leader, str) or leader not in files):
                problems.append(_bad(b, where, m("leader {leader} is not a file of the bundle", leader=f"{leader!r}"), m("put the script in the bundle's folder")))
                ok = False
            if not (isinstance(wanted, list) and all(isinstance(x, str) and x for x in wanted)):
                problems.append(_bad(b, where, m("secrets must be a list of secret names")))
                ok = False
            if not (isinstance(provides, list) and all(isinstance(x, str) and x for x in provides)):
                problems.append(_bad(b, where, m("provides must be a list of component names")))
                ok = False
            if not (isinstance(payload, list) and all(isinstance(x, str) and x for x in payload)):
                problems.append(_bad(b, where, m("payload must be a list of file paths in the bundle")))
                ok = False
            if component is not None and not isinstance(component, str):
                problems.append(_bad(b, where, m("component must be a component name")))
                ok = False
            if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
                problems.append(_bad(b, where, m("roles must be a list of role names")))
                ok = False
            elif role_names is not None:
                for r in roles:
                    if r != "*" and r not in role_names:
                        problems.append(_bad(b, where, m("unknown role {role}", role=f"{r!r}"), m("roles of the profile: {roles}", roles=', '.join(sorted(role_names)))))
                        ok = False
            if not (isinstance(deps, list) and all(isinstance(d, str) for d in deps)):
                problems.append(_bad(b, where, m("depends_on must be a list of step ids")))
                ok = False
            if scope not in ("node", "cluster"):
                problems.append(_bad(b, where, m("scope {scope} is not node or cluster", scope=f"{scope!r}")))
                ok = False
            if mode not in ("parallel", "serial"):
                problems.append(_bad(b, where, m("mode {mode} is not parallel or serial", mode=f"{mode!r}")))
                ok = False
            for name, value in (("script", script), ("check", check)):
                if value is None and name == "check":
                    continue
                if not isinstance(value, str) or value not in files:
                    problems.append(_bad(b, where, m("{field} {value} is not a file of the bundle", field=name, value=f"{value!r}"), m("put the script in the bundle's folder")))
                    ok = False
            if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 86400:
                problems.append(_bad(b, where, m("timeout must be 1 to 86400 seconds")))
                ok = False
            if not isinstance(idempotent, bool):
                problems.append(_bad(b, where, m("idempotent must be true or false")))
                ok = False
            if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
                problems.append(_bad(b, where, m("retries must be 0 to 10")))
                ok = False
            elif retries and not idempotent:
                problems.append(_bad(b, where, m("retries are only allowed for steps declared idempotent"),
                                     m("a step that is not idempotent could do its work twice")))
                ok = False
            if ok:
                steps.append(Step(id=sid, title=str(raw.get("title", sid)), bundle=b.id, roles=tuple(roles),
                                  depends_on=tuple(deps), scope=scope, mode=mode, script=script, check=check,
                                  timeout=timeout, idempotent=idempotent, retries=retries, component=component,
                                  payload=tuple(payload), provides=tuple(provides), secrets=tuple(wanted),
                                  nodes=selector, leader=leader, what=tuple(what)))
    ids = {s.id for s in steps}
    for s in steps:
        for d in s.depends_on:
            if d not in ids and d not in seen and d not in also_known:
                problems.append(Problem(message=m("step {step} depends on unknown step {dependency}", step=f"{s.id!r}", dependency=f"{d!r}"), hint=m("check depends_on"),
                                        code="step"))
    if not problems:
        cycle = _find_cycle(steps)
        if cycle:
            problems.append(Problem(message=m("steps depend on each other in a circle: {cycle}", cycle=' -> '.join(cycle)),
                                    hint=m("remove one of these depends_on"), code="step-cycle"))
    if problems:
        raise ProblemError(problems)
    return topological(steps)


def _find_cycle(steps: Sequence[Step]) -> list[str] | None:
    graph = {s.id: s.depends_on for s in steps}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in graph.get(n, ()):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for s in steps:
        if s.id not in state:
            found = visit(s.id)
            if found:
                return found
    return None


def topological(steps: Sequence[Step]) -> list[Step]:
    """Dependencies first; otherwise the order the bundles declare."""
    order: list[Step] = []
    done: set[str] = set()
    by_id = {s.id: s for s in steps}

    def add(s: Step) -> None:
        if s.id in done:
            return
        done.add(s.id)
        for d in s.depends_on:
            if d in by_id:  # else: a step outside this list (load_steps' also_known)
                add(by_id[d])
        order.append(s)

    for s in steps:
        add(s)
    return order


def missing_payloads(bundles: Sequence[Bundle], insts: Sequence[Instance]) -> list[Problem]:
    """Vendor payload files that steps about to run need and their bundle
    lacks: one problem per missing file, naming the component, the steps and
    nodes, and both remedies (add the file, or mark the component external)."""
    by_id = {b.id: b for b in bundles}
    need: dict[tuple[str, str], dict[str, object]] = {}
    for i in insts:
        b = by_id.get(i.step.bundle)
        have = {f.path for f in b.files} if b else set()
        for path in i.step.payload:
            if path in have:
                continue
            entry = need.setdefault((i.step.bundle, path), {"component": i.step.component or i.step.id,
                                                            "steps": [], "nodes": [], "root": b.root if b else None})
            for key, value in (("steps", i.step.id), ("nodes", i.node)):
                if value not in entry[key]:  # type: ignore[operator]
                    entry[key].append(value)  # type: ignore[union-attr]
    problems = []
    for (bundle_id, path), e in need.items():
        comp = e["component"]
        problems.append(Problem(
            message=m("the vendor payload {path} for {component} is missing from bundle {bundle_id} (steps {steps} on {nodes})", path=path, component=comp, bundle_id=bundle_id, steps=', '.join(e['steps']), nodes=', '.join(e['nodes'])),  # type: ignore[arg-type]
            hint=m("put the vendor's file at {path} in the bundle's source folder and build the bundle again (this one is {root}); or, if {component} is provided outside this install, set `{component}: {{external: true}}` under `components:` in the answer file", path=path, root=e['root'], component=comp),
            path=("components", str(comp)), code="payload-missing"))
    return problems


def serves(step: Step, what: str | None) -> bool:
    """Does a day-2 step serve the operation's WHAT (its `what:` patterns)?"""
    return not step.what or (what is not None and any(fnmatch.fnmatchcase(what, w) for w in step.what))


def offered(steps: Sequence[Step]) -> list[str]:
    """The WHAT values the steps declare, in their order (patterns as written)."""
    return list(dict.fromkeys(w for s in steps for w in s.what))


def instances(plan: Plan, steps: Sequence[Step], target: str | None = None) -> list[Instance]:
    """(step, node) pairs; `target` is a day-2 operation's node, for the
    steps' `nodes:` selector."""
    out: list[Instance] = []
    for s in steps:
        nodes = [n.name for n in plan.nodes if "*" in s.roles or set(s.roles) & set(n.roles)]
        if s.component and plan.is_external(s.component):
            nodes = []
        if s.nodes == "target" or (s.nodes == "target-or-all" and target is not None):
            nodes = [n for n in nodes if n == target]
        elif s.nodes in ("others", "one-other"):
            nodes = [n for n in nodes if n != target][: 1 if s.nodes == "one-other" else None]
        if s.scope == "cluster":
            nodes = nodes[:1]
        out.extend(Instance(s, n) for n in nodes)
    return out

