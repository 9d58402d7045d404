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
from ..model.i18n import localized, t
from ..model.problems import Problem
from .state import FieldDef, PageDef, page_of
from .words import localize_bindings


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
            yield Label(t(f.label), classes="field-label")
            if f.kind == "choice":
                yield Select([(c, c) for c in f.choices], value=self.state.get(self.path, f.choices[0]), allow_blank=False,
                             compact=True, id=_wid(self.path))
            elif f.kind == "profile":
                from ..model.profile import available_profiles

                yield Select([(p, p) for p in available_profiles()], value=self.state.get(self.path, "reference"),
                             allow_blank=False, compact=True, id=_wid(self.path))
            elif f.kind == "secret":  # a reference shows; anything else typed is masked
                text = self.state.text_of(f, self.path)
                yield Input(text, placeholder=t(f.help) if f.help else "", compact=True, id=_wid(self.path),
                            password=not _is_ref(text))
            else:
                yield Input(self.state.text_of(f, self.path), placeholder=t(f.help) if f.help else "", compact=True,
                            id=_wid(self.path))
        yield Static("", classes="field-message")
        if f.help:
            yield Static(t(f.help), classes="field-help")

    def show_problems(self) -> None:
        problems = self.state.exact_problems(self.path)
        shown = (problems[0].message, problems[0].severity) if problems else None
        if shown == getattr(self, "_shown", False):
            return  # unchanged: no redraw (this runs for every field on every key)
        self._shown = shown
        msg = self.query_one(".field-message", Static)
        if problems:
            p = problems[0]
            text = localized(p.message) + (f" — {localized(p.hint)}" if p.hint else "")
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
        localize_bindings(self)
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
        yield Static(f"onsite · {self.index}/{self.total} · {t(self.page.title)}", id="page-title")
        with VerticalScroll(id="page-body", can_focus=False):
            yield from self.body()
        with Horizontal(id="nav"):
            if self.index > 1:
                yield Button(t("Back"), id="back", compact=True)
            yield Button(self.next_label(), id="next", variant="primary", compact=True)
            yield Static("", classes="spacer")
            yield Static("", id="status")
        yield Footer(show_command_palette=False)  # room for the page's keys at 80 columns; F12 lists ^p

    def body(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return t("Next")

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
            status.update(Text(t("{here} here, {total} in all", here=len(errors), total=total) if total else t("plan valid"),
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
            self.app.push_screen(FieldHelpModal(row.path, t(row.field.label), row.field.help, slot.title if slot else ""))
            return
        self.app.push_screen(MessageModal(t(self.page.title), t(self.page.help) + "\n\n" + t("F1 on a field: what it means. F12: every key.")))

    def key_list(self) -> list[tuple[str, str]]:
        """Every key of this page: moving around, then its bindings."""
        keys = [("Tab / Shift+Tab", t("next / previous field or button")),
                ("Enter", t("next field; on a button, press it; from the last field, the next page"))]
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
        keys.append((t("mouse"), t("click buttons and fields; the wheel scrolls")))
        return keys

    def action_keys(self) -> None:
        from .overlays import KeysModal

        self.app.push_screen(KeysModal(t(self.page.title), self.key_list()))

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
                unnamed = t("node {n}", n=i + 1)
                name = node.get("name", unnamed) if isinstance(node, dict) else unnamed
                with Vertical(classes="node-box") as box:
                    box.border_title = f"{name} ({node.get('address', '?') if isinstance(node, dict) else '?'})"
                    for f in self.page.node_fields:
                        yield FieldRow(f, f"nodes[{i}].{f.path}", self.state)
                    if self.page.id == "ssh":
                        yield Button(t("Test connection"), id=f"test-{i}", compact=True)

    def slot_fields(self) -> ComposeResult:
        yield Static(t("The IP sheet"), classes="section")
        with Horizontal(classes="actions"):
            yield Button(t("Suggest addresses"), id="suggest", compact=True)
            yield Button(t("Import IP sheet (F2)"), id="import-sheet", compact=True)
            yield Button(t("Check network (F3)"), id="netcheck", compact=True)
        for slot in self.state.profile.slots.values():
            yield FieldRow(FieldDef(path=f"ips.{slot.name}", label=f"{slot.name}", help=slot.title), f"ips.{slot.name}", self.state)
        yield Static(t("VIPs: router id, check every N s, move after M failures"), classes="section")
        for i, vip in enumerate(self.state.get("vips", []) or []):
            name = vip.get("name", "?") if isinstance(vip, dict) else "?"
            yield FieldRow(FieldDef(path=f"vips[{i}].router_id", label=t("{name} id", name=name), kind="int"), f"vips[{i}].router_id", self.state)
            yield FieldRow(FieldDef(path=f"vips[{i}].check.interval", label=t("{name} every", name=name), kind="int"),
                           f"vips[{i}].check.interval", self.state)
            yield FieldRow(FieldDef(path=f"vips[{i}].check.fall", label=t("{name} after", name=name), kind="int"),
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
        self.notify(localized(msg))

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
        out.append(" " + t("{vip} floats over: {members}", vip=vip.get('name', '?'), members=' > '.join(members)) + "\n")
    for n in nodes:
        roles = n.get("roles", []) or []
        out.append(f"  [{n.get('address', '?')}] {ips.get(n.get('address'), '?'):<15} ", style="bold cyan")
        out.append(f"{n.get('name', '?')}: ", style="bold")
        shown = ", ".join(roles[:6]) + (f" +{len(roles) - 6}" if len(roles) > 6 else "")
        out.append(shown + "\n")
    return out


class NodesPage(FormPage):
    """Node names and NICs (a line per node), then the roles table: role x node."""

    BINDINGS = [Binding("space", "toggle", "Toggle role", show=True)]  # t() by localize_bindings

    def body(self) -> ComposeResult:
        for i, node in enumerate(self.state.get("nodes", []) or []):
            slot = node.get("address", "?") if isinstance(node, dict) else "?"
            with Horizontal(classes="node-line"):
                yield Label(str(slot), classes="slot")
                for f in self.page.node_fields:
                    yield FieldRow(f, f"nodes[{i}].{f.path}", self.state)
        yield Static(t("Roles (space toggles)"), classes="section")
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
        table.add_column(t("role"), key="role")
        for i, n in enumerate(nodes):
            table.add_column(str(n.get("name", f"node{i + 1}"))[:10], key=f"n{i}")
        table.add_column(t("count"), key="count")
        for role in self.state.profile.roles.values():
            held = [role.name in (n.get("roles") or []) for n in nodes]
            ok = role.count.allows(sum(held))
            cells = [Text("●", style="green") if h else Text("·", style="dim") for h in held]
            count = Text(f"{sum(held)} ({localized(role.count.describe())})", style="green" if ok else "bold red")
            table.add_row(role.name, *cells, count, key=role.name)
        if cursor.row < table.row_count:
            table.cursor_coordinate = cursor
        probs = [p for p in self.state.problems.errors if tuple(p.path[:1]) == ("nodes",) and p.code in ("role-count", "unknown-role")]
        self.query_one("#role-problems", Static).update("\n".join(localized(p.message) for p in probs[:4]))

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
            yield Label(t("New port"), classes="field-label")
            yield Input("", placeholder=t("select a row, type a port, Enter"), compact=True, id="port-input", type="integer")
        yield Static("", id="port-problems", classes="field-message")

    def on_mount(self) -> None:
        super().on_mount()
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#ports", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(t("component"), t("port"), t("proto"), t("number"), t("nodes"))
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
            "\n".join(localized(p.message) for p in self.state.problems.errors if p.code in ("port-conflict", "range")
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
    """The whole plan before anything connects (engine.review, the data
    `onsite plan` prints): what to fix first (Enter jumps to the field), then
    per node its roles, VIPs with priority, ports and what it gets; the
    bundles with their sizes; the steps in order; the time estimate with what
    it rests on. Resolving the bundles hashes them (hundreds of MB): a worker
    does it, the page says so meanwhile. The body scrolls (Tab reaches it;
    arrows, PgUp/PgDn) so it reads at 80x24. Save here."""

    # key descriptions are plain: the footer's words are translated where the other pages' are
    BINDINGS = [Binding("r", "refresh_review", "Re-read bundles")]

    def next_label(self) -> str:
        return t("Save and check nodes")

    def body(self) -> ComposeResult:
        yield Static("", id="summary")
        yield Static("", id="rv-estimate")
        yield Static(t("To fix"), classes="section", id="rv-problems-title")
        yield ListView(id="problems")
        yield Static(t("Nodes"), classes="section")
        yield Static("", id="rv-nodes")
        yield Static(t("Bundles"), classes="section")
        yield Static("", id="rv-bundles")
        yield Static(t("Steps in order"), classes="section")
        yield Static("", id="rv-steps")
        yield Static("", id="rv-installed")

    def on_mount(self) -> None:
        super().on_mount()
        self.review = None  # engine.review.Review, once the worker has it
        self.query_one("#page-body").can_focus = True  # the page scrolls by keyboard too
        self._fill()
        self.action_refresh_review()

    def on_screen_resume(self) -> None:
        self._fill()

    def action_refresh_review(self) -> None:
        if self.state.plan is None:
            return
        self.query_one("#rv-estimate", Static).update(Text(t("reading and checking the bundles..."), style="dim"))
        self._build_review(self.state.plan)

    @work(thread=True, exclusive=True, group="review")
    def _build_review(self, plan) -> None:
        rv = self.wizard.backend.review(plan)
        self.app.call_from_thread(self._reviewed, plan, rv)

    def _reviewed(self, plan, rv) -> None:
        if not self.is_attached:  # the deployer left the page while the bundles were read
            return
        if plan is not self.state.plan:  # the plan changed meanwhile (another page): read again
            self.action_refresh_review()
            return
        self.review = rv
        if rv is None:
            self.query_one("#rv-estimate", Static).update(Text(t("could not read the bundles (see the notification); "
                                                                 "r reads them again"), style="bold red"))
            return
        self._fill()

    def _fill(self) -> None:
        from ..engine.review import duration

        problems = self.state.problems.sorted() + (list(self.review.problems) if self.review is not None else [])
        lv = self.query_one("#problems", ListView)
        index = lv.index
        shown = lv.display
        lv.clear()
        self._items: list[Problem] = []
        missing = [p for p in problems if p.code == "component-missing"]
        if len(missing) > 2:  # one entry for them all (each is a line of `onsite plan`): the page stays readable at 80x24
            problems = [p for p in problems if p.code != "component-missing"]
        for p in problems:
            text = Text(("✗ " if p.is_error else "! ") + (f"{p.to_json()['field']}: " if p.path else "") + localized(p.message),
                        style="red" if p.is_error else "yellow")
            if p.hint:
                text.append(f"\n    {localized(p.hint)}", style="dim")
            lv.append(ListItem(Static(text)))
            self._items.append(p)
        if len(missing) > 2:
            names = ", ".join(str(p.path[1]) for p in missing)
            text = Text("✗ " + t("components: no bundle installs {n} components the plan puts on nodes: {names}",
                                 n=len(missing), names=names), style="red")
            text.append("\n    " + t("add the bundles that install them (bundles/ next to the answer file, or --bundle), "
                                      "or mark each `{example}` under components: (Enter: the first)",
                                      example="NAME: {external: true}"),
                        style="dim")
            lv.append(ListItem(Static(text)))
            self._items.append(missing[0])
            problems = problems + missing
        if problems:  # highlighted from the start: Enter on the first problem jumps at once
            keep = min(index or 0, len(self._items) - 1)
            self.call_after_refresh(setattr, lv, "index", keep)
        lv.display = bool(problems)
        # The focus does not depend on whether the worker's problems arrive before or after the page
        # took its first focus: what to fix comes first when there is any, else Next; never the
        # hidden list (Textual's auto focus can pick it before it is hidden).
        focused = self.focused
        if problems and (focused is None or focused.id == "next" or (focused is lv and not shown)):
            lv.focus()
        elif not problems and focused is lv:
            self.query_one("#next", Button).focus()
        self.query_one("#rv-problems-title", Static).update(
            t("To fix or know ({n}): Enter goes to the field", n=len(problems)) if problems else t("Nothing to fix"))
        plan = self.state.plan
        summary = self.query_one("#summary", Static)
        if plan is None:
            e = len(self.state.problems.errors)
            summary.update(Text(t("problems to fix before the plan can be saved and used: {n}", n=e), style="bold red"))
            for part in ("#rv-nodes", "#rv-bundles", "#rv-steps", "#rv-estimate"):
                self.query_one(part, Static).update("")
        else:
            where = str(self.state.path) if self.state.path else t("not saved yet")
            vips = ", ".join(f"{v.name} {v.address} {plan.ips.get(v.address)}" for v in plan.vips)
            summary.update(Text(t("{site} · {n} nodes · VIPs {vips}", site=plan.site_name, n=len(plan.nodes), vips=vips)
                                + "\n" + t("answer file: {path}", path=where)))
            rv = self.review
            self.query_one("#rv-nodes", Static).update(self._nodes_table(plan, rv))
            if rv is not None:
                e = rv.estimate
                line = Text(t("Time:") + " ", style="bold")
                if e.seconds is not None:
                    head = t("about {time}", time=duration(e.seconds))
                elif e.send_seconds is not None:
                    head = t("sending about {time}; the steps unknown until a first install", time=duration(e.send_seconds))
                else:
                    head = t("unknown until measured")
                line.append(head, style="bold green" if e.seconds is not None else "bold yellow")
                for b in e.basis:
                    line.append(f"\n  {localized(b)}", style="dim")
                self.query_one("#rv-estimate", Static).update(line)
                self.query_one("#rv-bundles", Static).update(self._bundles_table(rv))
                self.query_one("#rv-steps", Static).update(self._steps_text(rv))
                self.show_installed_changes(rv.installed_changes, rv.change)
        self.query_one("#next", Button).disabled = plan is None

    def _nodes_table(self, plan, rv):
        from rich.table import Table

        from ..engine.events import human_bytes
        from ..model.planner import node_views

        per = {n.name: n for n in rv.nodes} if rv is not None else {}
        table = Table(box=None, show_edge=False, pad_edge=False, expand=True, header_style="bold")
        table.add_column(t("node"), no_wrap=True, max_width=15)
        table.add_column(t("roles"), ratio=3, overflow="fold")
        table.add_column(t("VIPs (priority)"), ratio=2, overflow="fold")
        table.add_column(t("ports (u: udp)"), ratio=3, overflow="fold")
        table.add_column(t("gets"), ratio=2, overflow="fold")
        for v in (n.view for n in rv.nodes) if rv is not None else node_views(plan, self.state.profile):
            vips = "\n".join(f"{h.slot} {h.vip} {h.priority}{' ' + t('backup') if h.backup else ''}" for h in v.vips) or "-"
            ports = " ".join(f"{p.port}{'u' if p.protocol == 'udp' else ''}" for p in v.ports) or (
                "- " + t("(external)") if v.external else "-")
            got = per.get(v.name)
            gets = ("\n".join(got.bundles) + "\n" + t("{size}, {n} steps", size=human_bytes(got.bytes), n=len(got.steps))
                    if got is not None and got.bundles else "..." if rv is None else t("nothing"))
            table.add_row(Text(f"{v.name[:15]}\n{v.slot} {v.nic}\n{v.address}", style="bold"), ", ".join(v.roles), vips,
                          ports, gets)
            table.add_row()
        return table

    @staticmethod
    def _bundles_table(rv):
        from rich.table import Table

        from ..engine.events import human_bytes

        if not rv.bundles:
            return Text(t("none found ({where})", where=rv.bundles_from), style="yellow")
        table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
        table.add_column(t("bundle"), no_wrap=True)
        table.add_column(t("size"), justify="right", no_wrap=True)
        table.add_column(t("files"), justify="right")
        table.add_column(t("to"))
        for b in rv.bundles:
            table.add_row(b.id, human_bytes(b.bytes), str(b.files), ", ".join(b.nodes) or t("no node"))
        table.add_row(Text(t("to send"), style="bold"), human_bytes(rv.estimate.send_bytes), "", t("(each node's copy)"))
        return table

    @staticmethod
    def _steps_text(rv) -> Text:
        if not rv.steps:
            return Text(t("none (no bundles)"), style="yellow")
        every = {n.name for n in rv.nodes}
        out = Text()
        for k, s in enumerate(rv.steps, 1):
            if s.scope == "cluster":
                where = t("once, on {node}", node=s.nodes[0])
            else:
                where = t("every node") if set(s.nodes) == every else ", ".join(s.nodes)
                if s.mode == "serial" and len(s.nodes) > 1:
                    where += t(", one at a time")
            out.append(f"{k:>3}. {s.id:<20} ", style="bold" if s.scope == "cluster" else "")
            out.append(f"{where}\n", style="cyan" if s.scope == "cluster" else "")
        return out

    def show_installed_changes(self, changes: list[str] | None, change=None) -> None:
        """For a site that is already installed: the change of this plan
        against the installed one (engine.change through engine.review):
        the fields old -> new, the steps concerned in their order (rolling,
        the leader last) or why it cannot be applied in place. None: never
        installed from this answer file."""
        box = self.query_one("#rv-installed", Static)
        if changes is None and change is None:
            box.update("")
        elif change is not None:
            ok = change.ok
            text = Text("\n" + (t("Change against the installed site (Install applies it after a confirmation):") if ok
                                else t("This change cannot be applied in place:")) + "\n",
                        style="bold yellow" if ok else "bold red")
            for line in change.lines():
                text.append(f"  {localized(line)}\n")
            box.update(text)
        elif not changes:
            box.update(Text("\n" + t("Installed already with this same plan: an install re-checks every step."), style="green"))
        else:
            text = Text("\n" + t("Changed since this site was installed:") + "\n", style="bold yellow")
            for c in changes[:40]:
                text.append(f"  {c}\n")
            box.update(text)

    @on(ListView.Selected, "#problems")
    def _jump(self, event: ListView.Selected) -> None:
        idx = self.query_one("#problems", ListView).index
        if idx is not None and idx < len(self._items):
            self.wizard.jump_to(self._items[idx])

    def action_next(self) -> None:
        if self.state.plan is None:
            self.notify(t("fix the problems first (Enter on one jumps to it)"), severity="error")
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
    """Summary first: a node x check matrix of marks (the checks are whatever
    CheckResult events arrive, a column per check name with a short header),
    the blockers with their remedies under it, and the highlighted cell's
    whole detail. Run again: everything (r) or the highlighted node (n).
    Next stays disabled while a blocker is left; a finished run lands on the
    first blocker."""

    BINDINGS = [Binding("r", "rerun_all", "Run again"), Binding("n", "rerun_node", "Again: this node")]

    def next_label(self) -> str:
        return t("Install")

    def body(self) -> ComposeResult:
        yield Static(t("checking every node..."), id="pf-summary")
        yield DataTable(id="preflight", cursor_type="cell", cell_padding=0, zebra_stripes=True)
        yield Static("", id="pf-legend")
        yield Static("", id="pf-detail")
        yield Static("", id="pf-blockers")
        with Horizontal(classes="field-row"):
            yield Button(t("Run again"), id="pf-rerun", compact=True)
            yield Static(" ", classes="gap")
            yield Button(t("Again: this node"), id="pf-rerun-node", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.drain = _EventDrain()
        self.cells: dict[tuple[str, str], events.CheckResult] = {}  # (node, check) -> the latest result
        self.checks: list[str] = []  # columns, in the order results arrived
        self.rows: list[str] = []  # nodes, in plan order (and "bundles" when the bundles have a check)
        self.checking_nodes: set[str] = set()
        self.query_one("#next", Button).disabled = True
        self.report = None
        self.checking = False
        self._shape: tuple = ()
        self.set_interval(0.1, self._pump)
        if self.wizard.autostart:
            self.run_preflight()

    @property
    def results(self) -> list[events.CheckResult]:
        return list(self.cells.values())

    @property
    def blockers(self) -> list[events.CheckResult]:
        return [r for r in self.cells.values() if r.status == "fail"]

    def leave_reason(self, target: int) -> str | None:
        """Forwards only with every check passed; backwards (to fix the plan)
        at any time but while the checks run."""
        if self.checking:
            return t("preflight is still checking the nodes")
        if target < self.index:
            return None
        if self.report is None:
            return t("preflight has not checked the nodes: r runs it")
        b = len(self.blockers)
        if b:
            return t("blockers: {n}; fix them before installing (each remedy is under the matrix)", n=b)
        return None

    # -- running ------------------------------------------------------------------------
    def _start(self, node: str | None) -> None:
        if self.checking or self.wizard.backend.running.is_set():
            self.notify(t("preflight is still checking the nodes"), severity="warning")
            return
        plan = self.state.plan
        if node is None:
            self.cells.clear()
            self.checks.clear()
        else:
            self.cells = {k: v for k, v in self.cells.items() if k[0] != node}
        self.checking_nodes = {node} if node else {n.name for n in plan.nodes} if plan else set()
        self.report = None
        self.query_one("#next", Button).disabled = True
        self.query_one("#pf-summary", Static).update(t("checking {node}...", node=node) if node else t("checking every node..."))
        self._redraw()
        self.run_preflight(node)

    def action_rerun_all(self) -> None:
        self._start(None)

    def action_rerun_node(self) -> None:
        node = self._cursor_node()
        if node is None or node not in {n.name for n in (self.state.plan.nodes if self.state.plan else [])}:
            self.notify(t("highlight a node's row first (the bundles row is checked with every run)"), severity="warning")
            return
        self._start(node)

    @on(Button.Pressed, "#pf-rerun")
    def _rerun_pressed(self) -> None:
        self.action_rerun_all()

    @on(Button.Pressed, "#pf-rerun-node")
    def _rerun_node_pressed(self) -> None:
        self.action_rerun_node()

    @work(thread=True, exclusive=True, group="preflight")
    def run_preflight(self, node: str | None = None) -> None:
        self.checking = True
        if node is None and self.state.plan is not None:
            self.checking_nodes = {n.name for n in self.state.plan.nodes}
        try:
            _outcome, report = self.wizard.backend.preflight(self.drain, only=[node] if node else None)
        finally:
            self.checking = False
        self.app.call_from_thread(self._finished, report)

    def _pump(self) -> None:
        batch = self.drain.drain()
        if not batch:
            return
        for ev in batch:
            if isinstance(ev, events.CheckResult):
                self.cells[(ev.node, ev.check)] = ev
                if ev.check not in self.checks:
                    self.checks.append(ev.check)
        self._redraw()

    # -- drawing ----------------------------------------------------------------------------
    def _node_order(self) -> list[str]:
        plan = self.state.plan
        names = [n.name for n in plan.nodes] if plan else []
        extra = [n for n, _ in self.cells if n not in names]
        return [n for n in names if n in self.checking_nodes or any(k[0] == n for k in self.cells)] + sorted(set(extra))

    def _redraw(self) -> None:
        table = self.query_one("#preflight", DataTable)
        rows = self._node_order()
        # the width inside the page (its padding and scrollbar off); a column
        # is its header (3 to 5 characters) and a space, the node names give
        # way first (the detail line names the node whole)
        body = self.query_one("#page-body")
        total = max(body.scrollable_content_region.width or self.size.width - 2, 30)
        count = max(len(self.checks), 1)
        name_w = min(10, max([len(r) for r in rows] + [4]), max(4, total - 4 * count))
        width = max(3, min(5, (total - name_w) // count - 1))
        shorts = events.short_names(self.checks, width)
        shape = (tuple(rows), tuple(self.checks), width)
        cursor = table.cursor_coordinate
        if shape != self._shape:
            table.clear(columns=True)
            table.add_column(Text(t("node")[:name_w], style="bold"), key="node", width=name_w)
            for c in self.checks:
                table.add_column(Text(shorts[c], justify="center"), key=c, width=width + 1)
            for n in rows:
                table.add_row(Text(n[:name_w], style="bold"), *[self._mark(n, c) for c in self.checks], key=n)
            self._shape = shape
            self.rows = rows
            if cursor.row < table.row_count and cursor.column < len(self.checks) + 1:
                table.cursor_coordinate = cursor
        else:
            for n in rows:
                for c in self.checks:
                    table.update_cell(n, c, self._mark(n, c))
        legend = [f"{shorts[c]} {c}" for c in self.checks if shorts[c] != c]
        self.query_one("#pf-legend", Static).update(Text("  ".join(legend), style="dim") if legend else "")
        blockers = self.blockers
        text = Text()
        for r in blockers[:12]:
            text.append("✗ ", style="bold red")
            text.append(f"{r.node} {r.check}: ", style="bold")
            text.append(localized(r.detail))
            if r.hint:
                text.append(f"\n    → {localized(r.hint)}", style="yellow")
            text.append("\n")
        if len(blockers) > 12:
            text.append(t("... and {n} more (highlight their cells)", n=len(blockers) - 12) + "\n")
        self.query_one("#pf-blockers", Static).update(text)
        self._show()

    def _mark(self, node: str, check: str) -> Text:
        r = self.cells.get((node, check))
        if r is None:
            pending = self.checking and node in self.checking_nodes
            return Text("·" if pending else " ", style="dim", justify="center")
        return Text(events.mark(r.status), style="bold " + events.colour(r.status), justify="center")

    def _cursor_node(self) -> str | None:
        table = self.query_one("#preflight", DataTable)
        row = table.cursor_coordinate.row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _cursor_result(self) -> tuple[str | None, str | None]:
        table = self.query_one("#preflight", DataTable)
        row, col = table.cursor_coordinate
        node = self.rows[row] if 0 <= row < len(self.rows) else None
        check = self.checks[col - 1] if 1 <= col <= len(self.checks) else None
        return node, check

    @on(DataTable.CellHighlighted, "#preflight")
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show()

    def _show(self) -> None:
        """The highlighted cell whole, with its remedy; on the node column,
        that node's counts."""
        detail = self.query_one("#pf-detail", Static)
        node, check = self._cursor_result()
        if node is None:
            detail.update("")
            return
        if check is None:
            mine = [r for (n, _), r in self.cells.items() if n == node]
            counts = {s: sum(r.status == s for r in mine) for s in ("ok", "warn", "fail")}
            detail.update(Text(t("{node}: {ok} passed, {warn} warnings, {fail} blockers (→ to a check; n checks this "
                                 "node again)", node=node, ok=counts["ok"], warn=counts["warn"], fail=counts["fail"])))
            return
        r = self.cells.get((node, check))
        if r is None:
            detail.update(Text(f"{node} {check}: " + (t("not checked yet") if self.checking else t("not checked on this node")),
                               style="dim"))
            return
        text = Text(f"{node} {check}: ", style="bold")
        text.append(f"{r.status} ", style=events.colour(r.status))
        text.append(localized(r.detail))
        if r.hint and r.status != "ok":
            text.append(f"\n→ {localized(r.hint)}", style="yellow" if r.status == "warn" else "bold")
        detail.update(text)

    def _finished(self, report) -> None:
        self._pump()
        self.report = report
        self.checking_nodes = set()
        self._redraw()
        summary = self.query_one("#pf-summary", Static)
        if report is None:
            summary.update(Text(t("could not check the nodes (see the notification); r runs it again"), style="bold red"))
            return
        blockers = self.blockers
        b = len(blockers)
        w = sum(r.status == "warn" for r in self.cells.values())
        nodes = len({r.node for r in blockers})
        summary.update(Text(t("blockers: {n} on {nodes} node(s) · fix, then r: check all again, n: this node",
                              n=b, nodes=nodes) if b else
                            t("ready to install ({n} checks passed, {w} warnings)", n=len(self.cells), w=w) if w else
                            t("ready to install ({n} checks passed)", n=len(self.cells)),
                            style="bold red" if b else "bold green"))
        self.query_one("#next", Button).disabled = b > 0
        if not b:
            self.query_one("#next", Button).focus()
        else:  # land on the first blocker, its remedy under the matrix
            first = blockers[0]
            table = self.query_one("#preflight", DataTable)
            table.move_cursor(row=self.rows.index(first.node), column=self.checks.index(first.check) + 1)
            table.focus()
            self._show()


class InstallPage(Page):
    BINDINGS = [Binding("p", "pause", "Pause"), Binding("a", "abort", "Abort")]

    def next_label(self) -> str:
        return t("Done")

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
            return t("the install is running")
        if target > self.index and not (self.outcome is not None and self.outcome.ok):
            return t("the install has not completed")
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
            t("The install is running"), t("This page stays open while it runs. Pause: running steps finish, nothing new "
                                           "starts. Abort: running steps are stopped and marked unknown. Either can be "
                                           "resumed later."),
            [("pause", t("Pause")), ("abort", t("Abort")), ("keep", t("Keep going"))]), chosen)

    def setup_matrix(self, nodes: list[str], steps: list[str], keys: set[str]) -> None:
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        table.add_column(t("step"), key="step")
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
                new_lines.append(f"{localized(ev.title)}: {t(ev.status)}" + (f": {localized(ev.note)}" if ev.note else ""))
            elif isinstance(ev, events.CheckResult) and ev.status == "fail":
                new_lines.append(t("preflight {node} {check}: {detail}", node=ev.node, check=ev.check, detail=ev.detail)
                                 + (f" → {localized(ev.hint)}" if ev.hint else ""))
            elif isinstance(ev, VerifyResult):
                new_lines.append(t("verify {mark} {name}: {summary}", mark=events.mark(ev.status), name=ev.name, summary=ev.summary))
            elif isinstance(ev, events.Notice):
                new_lines.append(localized(ev.text))
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
        phase = f"{localized(self.phase)} · " if self.phase and self.busy else ""
        self.query_one("#inst-summary", Static).update(
            phase + t("{done}/{total} steps · {seconds} s · p pause, a abort", done=done, total=total,
                      seconds=f"{self.clock() - self.t0:.0f}"))

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
            self.notify(t("pausing: running work finishes at a safe point, nothing new starts"))

    def _abort_now(self) -> None:
        if self.wizard.backend.abort():
            self.notify(t("aborting: running steps are stopped and marked unknown"), severity="warning")

    def action_abort(self) -> None:
        from .modals import ConfirmModal

        def decided(yes: bool | None) -> None:
            if yes:
                self._abort_now()

        self.app.push_screen(ConfirmModal(t("Abort the install?"), t("Running steps are stopped and marked unknown. "
                                                                     "The install can be resumed later."),
                                          yes=t("Yes"), no=t("No")), decided)

    def _finished(self, outcome) -> None:
        self._pump()
        self.outcome = outcome
        summary = self.query_one("#inst-summary", Static)
        if outcome is None:
            summary.update(Text(t("the install could not start (see the notification)"), style="bold red"))
            return
        if outcome.ok:
            run = self.wizard.backend.outcome
            summary.update(Text(t("install complete: {ran} steps ran, {skipped} already in place", ran=run.ran, skipped=run.skipped)
                                if run else t("install complete"), style="bold green"))
            self.query_one("#next", Button).disabled = False
            self.wizard.go(self.index + 1)
            return
        log = self.query_one("#install-log", RichLog)
        run = self.wizard.backend.outcome
        for f in (run.failures if run is not None else []):
            log.write(Text(t("FAILED: step {step} on node {node}: {message}", step=f.step, node=f.node, message=f.message)
                           + "\n" + t("log: {log}", log=f.log), style="bold red"))
            for line in f.tail:
                log.write(f"  | {line}")
        if run is None or not run.failures:
            for p in outcome.problems.sorted()[:20]:
                log.write(Text(localized(p.message) + (f"\n  → {localized(p.hint)}" if p.hint else ""), style="bold red"))
        what = {"interrupted": t("stopped"), "invalid": t("refused"), "failed": t("failed")}.get(outcome.status, outcome.status)
        summary.update(Text(t("install {what} at {phase}: fix the cause, then resume (Welcome → resume install)", what=what,
                              phase=localized(outcome.phase)),
                            style="bold red"))


class DonePage(Page):
    def next_label(self) -> str:
        return t("Quit")

    def body(self) -> ComposeResult:
        yield Static(self._summary(), id="done-text")
        yield Button(t("Write support bundle"), id="support", compact=True)

    def _summary(self) -> Text:
        plan = self.state.plan
        lines = Text()
        outcome = self.wizard.backend.outcome
        if outcome is not None:
            lines.append(t("Installed: {ran} steps ran, {skipped} already in place.", ran=outcome.ran, skipped=outcome.skipped) + "\n",
                         style="bold green")
        report = self.wizard.backend.verify_report
        if report is not None:
            from ..engine.verify import MARK, OK, SKIPPED

            checked = [c for c in report.checks if c.status != SKIPPED]
            if not checked:
                lines.append(t("Verify: these bundles install nothing verify checks.") + "\n")
            else:
                lines.append((t("Verify: PASSED") if report.ok else t("Verify: FAILED")) + "\n",
                             style="bold green" if report.ok else "bold red")
                for c in checked:
                    lines.append(f"  {MARK[c.status]:<4} {c.name:<13} {localized(c.summary)}"[:76] + "\n",
                                 style="" if c.status == OK else "red")
        if outcome is not None or report is not None:
            lines.append("\n")
        if plan is not None:
            lines.append(t("Addresses to use") + "\n", style="bold")
            for v in plan.vips:
                lines.append(f"  {v.address} {plan.ips.get(v.address)}  {v.name}\n")
            for n in plan.nodes:
                lines.append(f"  {n.address} {plan.address_of(n)}  {n.name}\n")
        if self.wizard.backend.journal_dir is not None:
            lines.append("\n" + t("Journal and step logs: {path}", path=self.wizard.backend.journal_dir) + "\n")
        lines.append(t("Answer file: {path}", path=self.state.path) + "\n")
        return lines

    def action_next(self) -> None:
        self.app.exit(0)

    @on(Button.Pressed, "#support")
    def _support(self) -> None:
        path = self.wizard.backend.support_bundle()
        self.notify(t("wrote {path}", path=path))


class WelcomePage(Page):
    def body(self) -> ComposeResult:
        yield Static(Text(t("Plan, check and install a site.") + "\n", style="bold"))
        yield Button(t("New plan"), id="new", classes="welcome-choice")
        with Horizontal(classes="field-row"):
            yield Label(t("Answer file"), classes="field-label")
            yield Input(str(self.state.path or ""), placeholder=t("path/to/site.yaml"), compact=True, id="open-path")
        yield Button(t("Open answer file"), id="open", classes="welcome-choice")
        yield Button(t("Resume install"), id="resume", classes="welcome-choice")
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
        problem = self.wizard.open_file(Path(path)) if path else t("type the path of an answer file")
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
        self.app.push_screen(InputModal(t("Import IP sheet"), t("The network team's sheet, .xlsx or .csv: the first sheet with "
                                                                "a header such as IP地址 / IP address, or PATH#SHEET for another."),
                                        start), chosen)

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

        text = "\n".join(localized(p.message) + (f"\n  {localized(p.hint)}" if p.hint else "") for p in problems[:12])
        more = len(problems) - 12
        self.app.push_screen(MessageModal(t("Not imported: {path}", path=path),
                                          text + ("\n" + t("... and {n} more", n=more) if more > 0 else "")))

    def _sheet_read(self, sheet) -> None:
        from ..model import ipsheet
        from .overlays import PreviewModal

        if not sheet.ok:
            self._sheet_refused(sheet.file, sheet.problems.sorted())
            return
        items = ipsheet.changes(self.state.data, sheet)
        if not items:
            self.notify(t("nothing to change: the plan already says what the sheet says"))
            return
        missing = ipsheet.missing_slots(sheet, self.state.profile.slots)
        note = "; ".join([localized(w.message) for w in sheet.problems.warnings][:3]
                         + ([t("the sheet lacks {slots}: kept as they are", slots=", ".join(missing))] if missing else []))

        def decided(yes: bool | None) -> None:
            if yes:
                for c in items:
                    self.state.set(c.path, c.new)
                self.notify(t("applied {n} changes from {file}; save (Ctrl+S) to keep them", n=len(items), file=Path(sheet.file).name))
                self.wizard.go(self.index)  # the page again, every field showing its new value

        self.app.push_screen(PreviewModal(t("{file} · {sheet}: {n} changes", file=Path(sheet.file).name, sheet=sheet.sheet, n=len(items)),
                                          ipsheet.render_preview(items), note), decided)

    @on(Button.Pressed, "#netcheck")
    def action_netcheck(self) -> None:
        self.notify(t("checking the plan's addresses on the LAN ..."), timeout=3)
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
        self.notify(localized(netcheck.summary(report)), severity=severity, timeout=10)


PAGE_CLASSES: dict[str, type[Page]] = {
    "welcome": WelcomePage, "site": FormPage, "network": NetworkPage, "nodes": NodesPage, "ports": PortsPage,
    "ssh": FormPage, "review": ReviewPage, "preflight": PreflightPage, "install": InstallPage, "done": DonePage,
}

__all__ = ["PAGE_CLASSES", "Page", "threading", "Any"]
