"""The wizard's pages. Forms are built from screens/pages.yaml; tables from the
profile. Pages hold no validation or install logic: they edit WizardState
(which asks the core validator) and run the core's preflight and install in
thread workers that talk back only through a queue the UI drains.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, ListItem, ListView, ProgressBar, RichLog, Select, Static

from ..engine import events
from ..model.problems import Problem
from .state import FieldDef, PageDef, page_of


class FieldRow(Vertical):
    """One form field: label and input on a line, its problems under it."""

    def __init__(self, field: FieldDef, path: str, state, **kw) -> None:
        super().__init__(classes="field", **kw)
        self.field = field
        self.path = path
        self.state = state

    def compose(self) -> ComposeResult:
        f = self.field
        with Horizontal(classes="field-row"):
            yield Label(f.label, classes="field-label")
            if f.kind == "choice":
                yield Select([(c, c) for c in f.choices], value=self.state.get(self.path, f.choices[0]), allow_blank=False,
                             compact=True, id=_wid(self.path))
            elif f.kind == "profile":
                from ..model.profile import available_profiles

                yield Select([(p, p) for p in available_profiles()], value=self.state.get(self.path, "reference"),
                             allow_blank=False, compact=True, id=_wid(self.path))
            elif f.kind == "secret":  # a reference shows; anything else typed is masked
                text = self.state.text_of(f, self.path)
                yield Input(text, placeholder=f.help, compact=True, id=_wid(self.path), password=not _is_ref(text))
            else:
                yield Input(self.state.text_of(f, self.path), placeholder=f.help, compact=True, id=_wid(self.path))
        yield Static("", classes="field-message")
        if f.help:
            yield Static(f.help, classes="field-help")

    def show_problems(self) -> None:
        problems = self.state.exact_problems(self.path)
        shown = (problems[0].message, problems[0].severity) if problems else None
        if shown == getattr(self, "_shown", False):
            return  # unchanged: no redraw (this runs for every field on every key)
        self._shown = shown
        msg = self.query_one(".field-message", Static)
        if problems:
            p = problems[0]
            text = f"{p.message}" + (f" — {p.hint}" if p.hint else "")
            msg.update(Text(text))
            msg.set_class(not p.is_error, "-warning")
        else:
            msg.update("")
        msg.set_class(bool(problems), "-show")


def _is_ref(text: str) -> bool:
    from ..model.plan import SECRET_REF

    return not text or bool(SECRET_REF.match(text))


def _wid(path: str) -> str:
    """A widget id from a field path: nodes[0].ssh.user -> f-nodes-0--ssh--user."""
    return "f-" + path.replace("[", "-").replace("]", "-").replace(".", "--")


class Page(Screen):
    """Common frame: title line, body, navigation, footer with keys."""

    AUTO_FOCUS = None  # pages choose their focus (focus_first), after Textual's own would

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        Binding("f1", "help", "Help"),
        Binding("f12", "keys", "Keys"),
        Binding("question_mark", "keys", "Keys", show=False),  # ? where no text field takes it
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+q", "app.quit", "Quit"),
    ]

    def __init__(self, page: PageDef, index: int, total: int, focus: str | None = None) -> None:
        super().__init__(name=page.id)
        self.page = page
        self.index = index
        self.total = total
        self.initial_focus = focus  # a field path to open on (a problem to fix)

    @property
    def wizard(self):  # the OnsiteApp (not imported: app.py imports this module)
        return self.app

    @property
    def state(self):
        return self.wizard.state

    def compose(self) -> ComposeResult:
        yield Static(f"onsite · {self.index}/{self.total} · {self.page.title}", id="page-title")
        with VerticalScroll(id="page-body", can_focus=False):
            yield from self.body()
        with Horizontal(id="nav"):
            if self.index > 1:
                yield Button("Back", id="back", compact=True)
            yield Button(self.next_label(), id="next", variant="primary", compact=True)
            yield Static("", classes="spacer")
            yield Static("", id="status")
        yield Footer(show_command_palette=False)  # room for the page's keys at 80 columns; F12 lists ^p

    def body(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return "Next"

    def on_mount(self) -> None:
        self.refresh_status()
        self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        """Keyboard first: the page opens with its first field focused (or
        the field of the problem it was opened for)."""
        if self.initial_focus and self.focus_path(self.initial_focus):
            return
        for widget in self.query_one("#page-body").query("Input, Select, DataTable, ListView, Button"):
            if widget.focusable and widget.display:
                widget.focus()
                return
        self.query_one("#next", Button).focus()

    def refresh_status(self) -> None:
        errors = [p for p in self.state.problems.errors if page_of(p) == self.page.id]
        total = len(self.state.problems.errors)
        found = self.query("#status")
        if not found:  # not composed (yet, or any more: the app is closing)
            return
        status = found.first(Static)
        if self.page.id in ("welcome", "preflight", "install", "done"):
            status.update("")
        else:
            status.update(Text(f"{len(errors)} here, {total} in all" if total else "plan valid",
                               style="red" if errors else ("yellow" if total else "green")))

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_next(self) -> None:
        self.wizard.go(self.index + 1)

    def action_back(self) -> None:
        if self.index > 1:
            self.wizard.go(self.index - 1)

    # -- the gate (OnsiteApp.go asks it for every page change) -----------------------
    def leave_reason(self, target: int) -> str | None:
        """Why this page cannot be left for page `target` now (None: it can)."""
        return None

    def refused(self, reason: str, target: int) -> None:
        self.notify(reason, severity="warning", timeout=8)

    def action_help(self) -> None:
        """F1: help on the focused field (what it means, its constraint, an
        example); on anything else, the page's help."""
        from .modals import MessageModal
        from .overlays import FieldHelpModal

        row = None
        for anc in (self.focused.ancestors_with_self if self.focused is not None else []):
            if isinstance(anc, FieldRow):
                row = anc
                break
        if row is not None:
            slot = self.state.profile.slots.get(row.path.removeprefix("ips.")) if row.path.startswith("ips.") else None
            self.app.push_screen(FieldHelpModal(row.path, row.field.label, row.field.help, slot.title if slot else ""))
            return
        self.app.push_screen(MessageModal(self.page.title, self.page.help + "\n\nF1 on a field: what it means. F12: every key."))

    def key_list(self) -> list[tuple[str, str]]:
        """Every key of this page: moving around, then its bindings."""
        keys = [("Tab / Shift+Tab", "next / previous field or button"),
                ("Enter", "next field; on a button, press it; from the last field, the next page")]
        seen = set()
        for key, active in self.active_bindings.items():
            b = active.binding
            if active.node not in (self, self.app):
                continue  # the focused widget's own keys (cursor moves in a text field) are not the page's
            action = b.action.removeprefix("app.")
            if action in seen or not b.description or key == "question_mark" or action.startswith("focus_"):
                continue  # (Tab and Shift+Tab are on the first line)
            seen.add(action)
            shown = self.app.get_key_display(b)
            if b.action == "keys":
                shown += " / ?"
            keys.append((shown, b.description))
        keys.append(("mouse", "click buttons and fields; the wheel scrolls"))
        return keys

    def action_keys(self) -> None:
        from .overlays import KeysModal

        self.app.push_screen(KeysModal(self.page.title, self.key_list()))

    def action_save(self) -> None:
        self.wizard.save_dialog()

    def focus_path(self, path: str) -> bool:
        try:
            widget = self.query_one(f"#{_wid(path)}")
        except Exception:  # noqa: BLE001 - no such field on this page: stay where we are
            return False
        widget.focus()
        widget.scroll_visible()
        return True


class FormPage(Page):
    """Pages made of fields (site, network) and per-node fields (ssh)."""

    def body(self) -> ComposeResult:
        for f in self.page.fields:
            yield FieldRow(f, f.path, self.state)
        if self.page.slots:
            yield from self.slot_fields()
        if self.page.node_fields:
            for i, node in enumerate(self.state.get("nodes", []) or []):
                name = node.get("name", f"node {i + 1}") if isinstance(node, dict) else f"node {i + 1}"
                with Vertical(classes="node-box") as box:
                    box.border_title = f"{name} ({node.get('address', '?') if isinstance(node, dict) else '?'})"
                    for f in self.page.node_fields:
                        yield FieldRow(f, f"nodes[{i}].{f.path}", self.state)
                    if self.page.id == "ssh":
                        yield Button("Test connection", id=f"test-{i}", compact=True)

    def slot_fields(self) -> ComposeResult:
        yield Static("The IP sheet", classes="section")
        with Horizontal(classes="actions"):
            yield Button("Suggest addresses", id="suggest", compact=True)
            yield Button("Import IP sheet (F2)", id="import-sheet", compact=True)
            yield Button("Check network (F3)", id="netcheck", compact=True)
        for slot in self.state.profile.slots.values():
            yield FieldRow(FieldDef(path=f"ips.{slot.name}", label=f"{slot.name}", help=slot.title), f"ips.{slot.name}", self.state)
        yield Static("VIPs: router id, check every N s, move after M failures", classes="section")
        for i, vip in enumerate(self.state.get("vips", []) or []):
            name = vip.get("name", "?") if isinstance(vip, dict) else "?"
            yield FieldRow(FieldDef(path=f"vips[{i}].router_id", label=f"{name} id", kind="int"), f"vips[{i}].router_id", self.state)
            yield FieldRow(FieldDef(path=f"vips[{i}].check.interval", label=f"{name} every", kind="int"),
                           f"vips[{i}].check.interval", self.state)
            yield FieldRow(FieldDef(path=f"vips[{i}].check.fall", label=f"{name} after", kind="int"),
                           f"vips[{i}].check.fall", self.state)
        yield Static("", id="drawing")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_all()

    def _show_all(self) -> None:
        for row in self.query(FieldRow):
            row.show_problems()
        if self.page.slots:
            self.query_one("#drawing", Static).update(plan_drawing(self.state))
        self.refresh_status()

    def _row_of(self, widget) -> FieldRow | None:
        for anc in widget.ancestors_with_self:
            if isinstance(anc, FieldRow):
                return anc
        return None

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        row = self._row_of(event.input)
        if row is not None:
            if row.field.kind == "secret":
                event.input.password = not _is_ref(event.value)
            self.state.set_text(row.field, row.path, event.value)
            self._show_all()

    @on(Select.Changed)
    def _selected(self, event: Select.Changed) -> None:
        row = self._row_of(event.select)
        if row is not None and event.value is not Select.BLANK:
            self.state.set(row.path, event.value)
            self._show_all()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = [w for w in self.query("Input, Select") if w.focusable]
        if event.input in inputs and inputs.index(event.input) < len(inputs) - 1:
            self.focus_next()
        else:
            self.action_next()

    @on(Button.Pressed, "#suggest")
    def _suggest(self) -> None:
        msg = self.state.suggest_ips()
        for row in self.query(FieldRow):
            if row.path.startswith(("ips.", "network.gateway")):
                self.query_one(f"#{_wid(row.path)}", Input).value = self.state.text_of(row.field, row.path)
        self._show_all()
        self.notify(msg)

    @on(Button.Pressed)
    def _test(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("test-"):
            self.wizard.test_connection(int(event.button.id[5:]))


def plan_drawing(state) -> Text:
    """The plan as text: nodes with their roles, which VIP floats over which nodes."""
    out = Text()
    ips = state.get("ips", {}) or {}
    nodes = [n for n in state.get("nodes", []) or [] if isinstance(n, dict)]
    for vip in state.get("vips", []) or []:
        if not isinstance(vip, dict):
            continue
        members = vip.get("members", [])
        out.append(f"  {vip.get('address', '?')} {ips.get(vip.get('address'), '?'):<15}", style="bold magenta")
        out.append(f" {vip.get('name', '?')} floats over: {' > '.join(members)}\n")
    for n in nodes:
        roles = n.get("roles", []) or []
        out.append(f"  [{n.get('address', '?')}] {ips.get(n.get('address'), '?'):<15} ", style="bold cyan")
        out.append(f"{n.get('name', '?')}: ", style="bold")
        shown = ", ".join(roles[:6]) + (f" +{len(roles) - 6}" if len(roles) > 6 else "")
        out.append(shown + "\n")
    return out


class NodesPage(FormPage):
    """Node names and NICs (a line per node), then the roles table: role x node."""

    BINDINGS = [Binding("space", "toggle", "Toggle role", show=True)]

    def body(self) -> ComposeResult:
        for i, node in enumerate(self.state.get("nodes", []) or []):
            slot = node.get("address", "?") if isinstance(node, dict) else "?"
            with Horizontal(classes="node-line"):
                yield Label(str(slot), classes="slot")
                for f in self.page.node_fields:
                    yield FieldRow(f, f"nodes[{i}].{f.path}", self.state)
        yield Static("Roles (space toggles)", classes="section")
        yield DataTable(id="roles", cursor_type="cell", zebra_stripes=True)
        yield Static("", id="role-problems", classes="field-message")

    def on_mount(self) -> None:
        super().on_mount()
        self._fill_roles()

    def _plan_nodes(self) -> list[dict]:
        return [n for n in self.state.get("nodes", []) or [] if isinstance(n, dict)]

    def _fill_roles(self) -> None:
        table = self.query_one("#roles", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        nodes = self._plan_nodes()
        table.add_column("role", key="role")
        for i, n in enumerate(nodes):
            table.add_column(str(n.get("name", f"node{i + 1}"))[:10], key=f"n{i}")
        table.add_column("count", key="count")
        for role in self.state.profile.roles.values():
            held = [role.name in (n.get("roles") or []) for n in nodes]
            ok = role.count.allows(sum(held))
            cells = [Text("●", style="green") if h else Text("·", style="dim") for h in held]
            count = Text(f"{sum(held)} ({role.count.describe()})", style="green" if ok else "bold red")
            table.add_row(role.name, *cells, count, key=role.name)
        if cursor.row < table.row_count:
            table.cursor_coordinate = cursor
        probs = [p for p in self.state.problems.errors if tuple(p.path[:1]) == ("nodes",) and p.code in ("role-count", "unknown-role")]
        self.query_one("#role-problems", Static).update("\n".join(p.message for p in probs[:4]))

    def action_toggle(self) -> None:
        table = self.query_one("#roles", DataTable)
        if not table.has_focus:
            return
        row, col = table.cursor_coordinate
        nodes = self._plan_nodes()
        if 1 <= col <= len(nodes):
            role = list(self.state.profile.roles)[row]
            self.state.toggle_role(col - 1, role)
            self._fill_roles()
            self._show_all()

    @on(DataTable.CellSelected, "#roles")
    def _cell(self, event: DataTable.CellSelected) -> None:
        self.action_toggle()


class PortsPage(Page):
    """Ports per component and node; a selected row takes a new number."""

    def body(self) -> ComposeResult:
        yield DataTable(id="ports", cursor_type="row", zebra_stripes=True)
        with Horizontal(classes="field-row"):
            yield Label("New port", classes="field-label")
            yield Input("", placeholder="select a row, type a port, Enter", compact=True, id="port-input", type="integer")
        yield Static("", id="port-problems", classes="field-message")

    def on_mount(self) -> None:
        super().on_mount()
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#ports", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns("component", "port", "proto", "number", "nodes")
        data_ports = self.state.get("ports", {}) or {}
        clashes = {tuple(p.path[1:3]) for p in self.state.problems.errors if p.code == "port-conflict" and p.path[:1] == ("ports",)}
        clash_text = " ".join(p.message for p in self.state.problems.errors if p.code == "port-conflict")
        for comp in self.state.profile.components.values():
            holders = [n.get("name", "?") for n in self.state.get("nodes", []) or []
                       if isinstance(n, dict) and set(n.get("roles") or []) & set(comp.roles)]
            for pname, spec in comp.ports.items():
                number = (data_ports.get(comp.name) or {}).get(pname, spec.port)
                bad = (comp.name, pname) in clashes or (f"{comp.name}.{pname} " in clash_text + " ")
                style = "bold red" if bad else ("cyan" if number != spec.port else "")
                table.add_row(comp.name, pname, spec.protocol, Text(str(number), style=style), ", ".join(holders)[:30],
                              key=f"{comp.name}/{pname}")
        if cursor < table.row_count:
            table.move_cursor(row=cursor)
        self.query_one("#port-problems", Static).update(
            "\n".join(f"{p.message}" for p in self.state.problems.errors if p.code in ("port-conflict", "range")
                      and p.path[:1] == ("ports",))[:400])
        self.refresh_status()

    @on(Input.Submitted, "#port-input")
    def _set_port(self, event: Input.Submitted) -> None:
        table = self.query_one("#ports", DataTable)
        if table.row_count == 0 or not event.value.strip():
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        comp, pname = key.split("/", 1)
        default = self.state.profile.components[comp].ports[pname].port
        value = int(event.value) if event.value.strip().isdigit() else event.value
        ports = dict(self.state.get("ports", {}) or {})
        per = dict(ports.get(comp, {}) or {})
        if value == default:
            per.pop(pname, None)
        else:
            per[pname] = value
        if per:
            ports[comp] = per
        else:
            ports.pop(comp, None)
        self.state.set("ports", ports or None)
        event.input.value = ""
        self._fill()
        table.focus()


class ReviewPage(Page):
    """The whole plan's problems; Enter jumps to the field. Save here."""

    def next_label(self) -> str:
        return "Save and check nodes"

    def body(self) -> ComposeResult:
        yield Static("", id="summary")
        yield ListView(id="problems")

    def on_mount(self) -> None:
        super().on_mount()
        self._fill()

    def on_screen_resume(self) -> None:
        self._fill()

    def _fill(self) -> None:
        problems = self.state.problems.sorted()
        lv = self.query_one("#problems", ListView)
        lv.clear()
        self._items: list[Problem] = []
        for p in problems:
            text = Text(("✗ " if p.is_error else "! ") + (f"{p.to_json()['field']}: " if p.path else "") + p.message,
                        style="red" if p.is_error else "yellow")
            if p.hint:
                text.append(f"\n    {p.hint}", style="dim")
            lv.append(ListItem(Static(text)))
            self._items.append(p)
        plan = self.state.plan
        if plan is not None:
            nodes = ", ".join(f"{n.name} {plan.address_of(n)}" for n in plan.nodes)
            vips = ", ".join(f"{v.name} {plan.ips.get(v.address)}" for v in plan.vips)
            where = str(self.state.path) if self.state.path else "not saved yet"
            self.query_one("#summary", Static).update(Text(f"{plan.site_name}: {nodes}\nVIPs: {vips}\nanswer file: {where}"))
        else:
            e = len(self.state.problems.errors)
            self.query_one("#summary", Static).update(Text(f"{e} problem{'s' * (e != 1)} to fix before the plan can be saved and used",
                                                           style="bold red"))
        self.query_one("#next", Button).disabled = plan is None

    @on(ListView.Selected, "#problems")
    def _jump(self, event: ListView.Selected) -> None:
        idx = self.query_one("#problems", ListView).index
        if idx is not None and idx < len(self._items):
            self.wizard.jump_to(self._items[idx])

    def action_next(self) -> None:
        if self.state.plan is None:
            self.notify("fix the problems first (Enter on one jumps to it)", severity="error")
            return
        if self.state.path is None or self.state.dirty:
            self.wizard.save_dialog(then=lambda: self.wizard.go(self.index + 1))
        else:
            self.wizard.go(self.index + 1)


class _EventDrain:
    """Core events from worker threads into a queue; the UI drains it on a
    timer, so bursts coalesce into one update (the UI never stalls)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def __call__(self, event) -> None:
        self.queue.put(event)

    def drain(self, limit: int = 5000) -> list:
        out = []
        try:
            while len(out) < limit:
                out.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return out


class PreflightPage(Page):
    def next_label(self) -> str:
        return "Install"

    def body(self) -> ComposeResult:
        yield Static("checking every node...", id="pf-summary")
        yield DataTable(id="preflight", cursor_type="row", zebra_stripes=True)
        yield Static("", id="pf-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.drain = _EventDrain()
        self.results: list[events.CheckResult] = []  # by row: the highlighted one is shown whole below the table
        table = self.query_one("#preflight", DataTable)
        table.add_columns("node", "check", "result", "detail")
        self.query_one("#next", Button).disabled = True
        self.report = None
        self.checking = False
        self.set_interval(0.1, self._pump)
        if self.wizard.autostart:
            self.run_preflight()

    def leave_reason(self, target: int) -> str | None:
        """Forwards only with every check passed; backwards (to fix the plan)
        at any time but while the checks run."""
        if self.checking:
            return "preflight is still checking the nodes"
        if target < self.index:
            return None
        if self.report is None:
            return "preflight has not checked the nodes: go back and forward to run it"
        b = len(self.report.blockers)
        if b:
            return f"{b} blocker{'s' * (b != 1)}: fix {'it' if b == 1 else 'them'} before installing (the remedy is under the table)"
        return None

    @work(thread=True, exclusive=True, group="preflight")
    def run_preflight(self) -> None:
        self.checking = True
        try:
            _outcome, report = self.wizard.backend.preflight(self.drain)
        finally:
            self.checking = False
        self.app.call_from_thread(self._finished, report)

    def _pump(self) -> None:
        batch = self.drain.drain()
        if not batch:
            return
        table = self.query_one("#preflight", DataTable)
        for ev in batch:
            if isinstance(ev, events.CheckResult):
                style = {"ok": "green", "warn": "yellow", "fail": "bold red"}[ev.status]
                table.add_row(ev.node, ev.check, Text(ev.status, style=style), ev.detail[:80])
                self.results.append(ev)
        self._show(table.cursor_row)

    @on(DataTable.RowHighlighted, "#preflight")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, row: int) -> None:
        """The highlighted result whole, with its remedy: the table's column is narrow."""
        detail = self.query_one("#pf-detail", Static)
        if not 0 <= row < len(self.results):
            detail.update("")
            return
        r = self.results[row]
        text = Text(f"{r.node} {r.check}: ", style="bold")
        text.append(r.detail)
        if r.hint and r.status != "ok":
            text.append(f"\n→ {r.hint}", style="yellow" if r.status == "warn" else "bold")
        detail.update(text)

    def _finished(self, report) -> None:
        self._pump()
        self.report = report
        summary = self.query_one("#pf-summary", Static)
        if report is None:
            summary.update(Text("could not check the nodes (see the notification)", style="bold red"))
            return
        b = len(report.blockers)
        summary.update(Text(f"{b} blocker{'s' * (b != 1)}: fix {'it' if b == 1 else 'them'}, then go back and forward "
                            "to check again" if b else "ready to install",
                            style="bold red" if b else "bold green"))
        self.query_one("#next", Button).disabled = b > 0
        if not b:
            self.query_one("#next", Button).focus()
        else:  # land on the first blocker, with its remedy shown below the table
            table = self.query_one("#preflight", DataTable)
            table.move_cursor(row=next(i for i, r in enumerate(self.results) if r.status == "fail"))
            table.focus()


class InstallPage(Page):
    BINDINGS = [Binding("p", "pause", "Pause"), Binding("a", "abort", "Abort")]

    def next_label(self) -> str:
        return "Done"

    def body(self) -> ComposeResult:
        yield Static("", id="inst-summary")
        yield Vertical(id="transfers")
        yield DataTable(id="matrix", cursor_type="cell")
        yield RichLog(id="install-log", max_lines=2000, markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.drain = _EventDrain()
        self.state_of: dict[str, str] = {}
        self.took: dict[str, float] = {}
        self.lines: dict[str, list[str]] = {}
        self.bars: dict[str, ProgressBar] = {}
        self.clock = time.monotonic  # replaceable, for pictures that must not depend on time
        self.t0 = self.clock()
        self.query_one("#next", Button).disabled = True
        self.set_interval(0.1, self._pump)
        self.outcome = None
        self.phase = ""
        self.starting = False
        if self.wizard.autostart:
            self.run_install()

    @property
    def busy(self) -> bool:
        return self.starting or self.wizard.backend.running.is_set()

    def leave_reason(self, target: int) -> str | None:
        if self.busy:
            return "the install is running"
        if target > self.index and not (self.outcome is not None and self.outcome.ok):
            return "the install has not completed"
        return None

    def refused(self, reason: str, target: int) -> None:
        if not self.busy:
            super().refused(reason, target)
            return
        from .modals import ChoiceModal

        def chosen(choice: str | None) -> None:
            if choice == "pause":
                self.action_pause()
            elif choice == "abort":
                self._abort_now()

        self.app.push_screen(ChoiceModal(
            "The install is running", "This page stays open while it runs. Pause: running steps finish, nothing new "
            "starts. Abort: running steps are stopped and marked unknown. Either can be resumed later.",
            [("pause", "Pause"), ("abort", "Abort"), ("keep", "Keep going")]), chosen)

    def setup_matrix(self, nodes: list[str], steps: list[str], keys: set[str]) -> None:
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        table.add_column("step", key="step")
        for n in nodes:
            table.add_column(n[:10], key=n)
        self.nodes, self.steps, self.keys = nodes, steps, keys
        for s in steps:
            table.add_row(s, *[Text("·", style="dim") if f"{n}/{s}" in keys else "" for n in nodes], key=s)
        transfers = self.query_one("#transfers", Vertical)
        for n in nodes:
            bar = ProgressBar(total=None, show_eta=True, id=f"bar-{n}")
            self.bars[n] = bar
            transfers.mount(Horizontal(Label(f"{n[:10]:<11}"), bar, classes="field-row"))

    @work(thread=True, exclusive=True, group="install")
    def run_install(self) -> None:
        self.starting = True
        try:
            outcome = self.wizard.backend.install(self.drain,
                                                  on_ready=lambda *a: self.app.call_from_thread(self.setup_matrix, *a))
        finally:
            self.starting = False
        self.app.call_from_thread(self._finished, outcome)

    def _pump(self) -> None:
        from ..engine.events import PhaseFinished, PhaseStarted, StepFinished, StepOutput, StepStarted, VerifyResult

        batch = self.drain.drain()
        table = self.query_one("#matrix", DataTable)
        log = self.query_one("#install-log", RichLog)
        selected = self._selected_key()
        new_lines = []
        for ev in batch:
            if isinstance(ev, events.TransferPlanned) and ev.node in self.bars:
                self.bars[ev.node].update(total=max(ev.total_bytes, 1), progress=0)
            elif isinstance(ev, events.TransferProgress) and ev.node in self.bars:
                self.bars[ev.node].update(total=max(ev.total_bytes, 1), progress=ev.done_bytes)
            elif isinstance(ev, events.TransferDone) and ev.node in self.bars:
                bar = self.bars[ev.node]
                bar.update(progress=bar.total or 1)
            elif isinstance(ev, StepStarted):
                key = f"{ev.node}/{ev.step}"
                self.state_of[key] = "running"
                self._cell(table, ev.node, ev.step, Text("▶", style="bold cyan"))
            elif isinstance(ev, StepFinished):
                key = f"{ev.node}/{ev.step}"
                self.state_of[key] = "skipped" if ev.skipped else ev.status
                mark, style = events.mark(ev.status), events.colour(ev.status)
                if ev.skipped:
                    mark = "="
                self._cell(table, ev.node, ev.step, Text(f"{mark}{ev.seconds:.0f}s", style=style))
            elif isinstance(ev, PhaseStarted):
                self.phase = ev.title
            elif isinstance(ev, PhaseFinished) and ev.status not in ("done", "skipped"):
                new_lines.append(f"{ev.title}: {ev.status}" + (f": {ev.note}" if ev.note else ""))
            elif isinstance(ev, events.CheckResult) and ev.status == "fail":
                new_lines.append(f"preflight {ev.node} {ev.check}: {ev.detail}" + (f" → {ev.hint}" if ev.hint else ""))
            elif isinstance(ev, VerifyResult):
                new_lines.append(f"verify {events.mark(ev.status)} {ev.name}: {ev.summary}")
            elif isinstance(ev, events.Notice):
                new_lines.append(ev.text)
            elif isinstance(ev, StepOutput):
                key = f"{ev.node}/{ev.step}"
                lines = self.lines.setdefault(key, [])
                lines.append(ev.line)
                del lines[:-500]
                if selected is None or key == selected:
                    new_lines.append(f"{key}: {ev.line}" if selected is None else ev.line)
        if new_lines:
            log.write("\n".join(new_lines[-200:]))
        done = sum(1 for s in self.state_of.values() if s in ("done", "skipped"))
        total = len(getattr(self, "keys", ())) or 1
        phase = f"{self.phase} · " if self.phase and self.busy else ""
        self.query_one("#inst-summary", Static).update(
            f"{phase}{done}/{total} steps · {self.clock() - self.t0:.0f} s · p pause, a abort")

    def _cell(self, table: DataTable, node: str, step: str, value) -> None:
        try:
            table.update_cell(step, node, value)
        except Exception:  # noqa: BLE001 - a step outside the matrix (e.g. --only): nothing to draw
            pass

    def _selected_key(self) -> str | None:
        table = self.query_one("#matrix", DataTable)
        if not table.has_focus or table.row_count == 0:
            return None
        row, col = table.cursor_coordinate
        if col == 0 or col > len(self.nodes):
            return None
        return f"{self.nodes[col - 1]}/{self.steps[row]}"

    @on(DataTable.CellHighlighted, "#matrix")
    def _highlight(self, event: DataTable.CellHighlighted) -> None:
        key = self._selected_key()
        log = self.query_one("#install-log", RichLog)
        log.clear()
        if key:
            log.write(Text(f"── {key} ──", style="bold"))
            for line in self.lines.get(key, [])[-200:]:
                log.write(line)

    def action_pause(self) -> None:
        if self.wizard.backend.pause():
            self.notify("pausing: running work finishes at a safe point, nothing new starts")

    def _abort_now(self) -> None:
        if self.wizard.backend.abort():
            self.notify("aborting: running steps are stopped and marked unknown", severity="warning")

    def action_abort(self) -> None:
        from .modals import ConfirmModal

        def decided(yes: bool | None) -> None:
            if yes:
                self._abort_now()

        self.app.push_screen(ConfirmModal("Abort the install?", "Running steps are stopped and marked unknown. "
                                          "The install can be resumed later."), decided)

    def _finished(self, outcome) -> None:
        self._pump()
        self.outcome = outcome
        summary = self.query_one("#inst-summary", Static)
        if outcome is None:
            summary.update(Text("the install could not start (see the notification)", style="bold red"))
            return
        if outcome.ok:
            run = self.wizard.backend.outcome
            summary.update(Text(f"install complete: {run.ran} steps ran, {run.skipped} already in place" if run
                                else "install complete", style="bold green"))
            self.query_one("#next", Button).disabled = False
            self.wizard.go(self.index + 1)
            return
        log = self.query_one("#install-log", RichLog)
        run = self.wizard.backend.outcome
        for f in (run.failures if run is not None else []):
            log.write(Text(f"FAILED: step {f.step} on node {f.node}: {f.message}\nlog: {f.log}", style="bold red"))
            for line in f.tail:
                log.write(f"  | {line}")
        if run is None or not run.failures:
            for p in outcome.problems.sorted()[:20]:
                log.write(Text(p.message + (f"\n  → {p.hint}" if p.hint else ""), style="bold red"))
        what = {"interrupted": "stopped", "invalid": "refused", "failed": "failed"}.get(outcome.status, outcome.status)
        summary.update(Text(f"install {what} at {outcome.phase}: fix the cause, then resume (Welcome → resume install)",
                            style="bold red"))


class DonePage(Page):
    def next_label(self) -> str:
        return "Quit"

    def body(self) -> ComposeResult:
        yield Static(self._summary(), id="done-text")
        yield Button("Write support bundle", id="support", compact=True)

    def _summary(self) -> Text:
        plan = self.state.plan
        lines = Text()
        outcome = self.wizard.backend.outcome
        if outcome is not None:
            lines.append(f"Installed: {outcome.ran} steps ran, {outcome.skipped} already in place.\n", style="bold green")
        report = self.wizard.backend.verify_report
        if report is not None:
            from ..engine.verify import MARK, OK, SKIPPED

            checked = [c for c in report.checks if c.status != SKIPPED]
            if not checked:
                lines.append("Verify: these bundles install nothing verify checks.\n")
            else:
                lines.append("Verify: " + ("PASSED" if report.ok else "FAILED") + "\n",
                             style="bold green" if report.ok else "bold red")
                for c in checked:
                    lines.append(f"  {MARK[c.status]:<4} {c.name:<13} {c.summary}"[:76] + "\n",
                                 style="" if c.status == OK else "red")
        if outcome is not None or report is not None:
            lines.append("\n")
        if plan is not None:
            lines.append("Addresses to use\n", style="bold")
            for v in plan.vips:
                lines.append(f"  {v.address} {plan.ips.get(v.address)}  {v.name}\n")
            for n in plan.nodes:
                lines.append(f"  {n.address} {plan.address_of(n)}  {n.name}\n")
        if self.wizard.backend.journal_dir is not None:
            lines.append(f"\nJournal and step logs: {self.wizard.backend.journal_dir}\n")
        lines.append(f"Answer file: {self.state.path}\n")
        return lines

    def action_next(self) -> None:
        self.app.exit(0)

    @on(Button.Pressed, "#support")
    def _support(self) -> None:
        path = self.wizard.backend.support_bundle()
        self.notify(f"wrote {path}")


class WelcomePage(Page):
    def body(self) -> ComposeResult:
        yield Static(Text("Plan, check and install a site.\n", style="bold"))
        yield Button("New plan", id="new", classes="welcome-choice")
        with Horizontal(classes="field-row"):
            yield Label("Answer file", classes="field-label")
            yield Input(str(self.state.path or ""), placeholder="path/to/site.yaml", compact=True, id="open-path")
        yield Button("Open answer file", id="open", classes="welcome-choice")
        yield Button("Resume install", id="resume", classes="welcome-choice")
        yield Static("", id="welcome-message", classes="field-message")

    def on_mount(self) -> None:
        super().on_mount()
        unfinished = self.wizard.backend.unfinished_install(self.state)
        self.query_one("#resume", Button).display = unfinished
        self.query_one("#next", Button).display = False
        self.unfinished = unfinished

    def focus_first(self) -> None:
        if self.state.path is not None and self.state.path.exists():
            # started on a file: opening it (or resuming its install) is the likely intent
            self.query_one("#resume" if self.unfinished else "#open", Button).focus()
        else:
            super().focus_first()

    @on(Button.Pressed, "#new")
    def _new(self) -> None:
        self.wizard.new_plan()

    @on(Button.Pressed, "#open")
    @on(Input.Submitted, "#open-path")
    def _open(self) -> None:
        path = self.query_one("#open-path", Input).value.strip()
        problem = self.wizard.open_file(Path(path)) if path else "type the path of an answer file"
        if problem:
            self.query_one("#welcome-message", Static).update(Text(problem))

    @on(Button.Pressed, "#resume")
    def _resume(self) -> None:
        self.wizard.resume_install()


class NetworkPage(FormPage):
    """The network and the IP sheet, with its two actions: import the
    network team's sheet (F2: a path, a preview of what changes, apply) and
    check the plan against the LAN (F3). Both read or probe in thread
    workers; the UI thread only shows results."""

    BINDINGS = [Binding("f2", "import_sheet", "Import sheet", show=False),  # on their buttons; the footer is full
                Binding("f3", "netcheck", "Check network", show=False)]

    @on(Button.Pressed, "#import-sheet")
    def action_import_sheet(self) -> None:
        from .modals import InputModal

        def chosen(value: str | None) -> None:
            if value and value.strip():
                self._read_sheet(value.strip())  # a sheet reads in well under a second: the preview is the answer

        start = str(self.state.path.parent) + "/" if self.state.path else ""
        self.app.push_screen(InputModal("Import IP sheet", "The network team's sheet, .xlsx or .csv: the first sheet with "
                                        "a header such as IP地址 / IP address, or PATH#SHEET for another.", start), chosen)

    @work(thread=True, exclusive=True, group="ip-sheet")
    def _read_sheet(self, path: str) -> None:
        from ..model import ipsheet
        from ..model.problems import ProblemError

        file, name = Path(path).expanduser(), None
        if "#" in path and not file.exists():  # PATH#SHEET: a workbook's sheet by name
            base, _, name = path.rpartition("#")
            file = Path(base).expanduser()
        try:
            sheet = ipsheet.read(file, name or None)
        except ProblemError as exc:
            self.app.call_from_thread(self._sheet_refused, path, list(exc.problems))
            return
        self.app.call_from_thread(self._sheet_read, sheet)

    def _sheet_refused(self, path: str, problems: list[Problem]) -> None:
        from .modals import MessageModal

        text = "\n".join(f"{p.message}" + (f"\n  {p.hint}" if p.hint else "") for p in problems[:12])
        more = len(problems) - 12
        self.app.push_screen(MessageModal(f"Not imported: {path}", text + (f"\n... and {more} more" if more > 0 else "")))

    def _sheet_read(self, sheet) -> None:
        from ..model import ipsheet
        from .overlays import PreviewModal

        if not sheet.ok:
            self._sheet_refused(sheet.file, sheet.problems.sorted())
            return
        items = ipsheet.changes(self.state.data, sheet)
        if not items:
            self.notify("nothing to change: the plan already says what the sheet says")
            return
        missing = ipsheet.missing_slots(sheet, self.state.profile.slots)
        note = "; ".join([f"{w.message}" for w in sheet.problems.warnings][:3]
                         + ([f"the sheet lacks {', '.join(missing)}: kept as they are"] if missing else []))

        def decided(yes: bool | None) -> None:
            if yes:
                for c in items:
                    self.state.set(c.path, c.new)
                self.notify(f"applied {len(items)} changes from {Path(sheet.file).name}; save (Ctrl+S) to keep them")
                self.wizard.go(self.index)  # the page again, every field showing its new value

        self.app.push_screen(PreviewModal(f"{Path(sheet.file).name} · {sheet.sheet}: {len(items)} changes",
                                          ipsheet.render_preview(items), note), decided)

    @on(Button.Pressed, "#netcheck")
    def action_netcheck(self) -> None:
        self.notify("checking the plan's addresses on the LAN ...", timeout=3)
        self._netcheck()

    @work(thread=True, exclusive=True, group="netcheck")
    def _netcheck(self) -> None:
        import copy

        from ..engine import netcheck

        data = self.app.call_from_thread(copy.deepcopy, self.state.data)  # a copy taken on the UI thread
        profile = self.state.profile
        report = netcheck.check(data, profile.node_slots, profile.vip_slots)
        self.app.call_from_thread(self._netchecked, report)

    def _netchecked(self, report) -> None:
        from ..engine import netcheck

        self.state.set_network_findings(list(report.problems))
        self._show_all()
        severity = "information" if report.ok else ("warning" if report.skipped or report.problems.ok else "error")
        self.notify(netcheck.summary(report), severity=severity, timeout=10)


PAGE_CLASSES: dict[str, type[Page]] = {
    "welcome": WelcomePage, "site": FormPage, "network": NetworkPage, "nodes": NodesPage, "ports": PortsPage,
    "ssh": FormPage, "review": ReviewPage, "preflight": PreflightPage, "install": InstallPage, "done": DonePage,
}

__all__ = ["PAGE_CLASSES", "Page", "threading", "Any"]
