"""The Textual wizard: `onsite` with no arguments, or `onsite wizard [FILE]`.

Pages (screens/pages.yaml): welcome, site, network and IP plan, nodes and
roles, ports, SSH access, review, preflight, install, done. The wizard edits
the same answer-file data the CLI reads, validates it with the same core
validator, and runs the same core preflight and install (installer.install)
in thread workers. Secrets typed here stay in memory; files get references.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..engine import bundle as bundle_mod
from ..engine import journal as journal_mod
from ..engine.install import Install, InstallOptions
from ..model import crashlog
from ..model import secrets as secrets_mod
from ..model.problems import Problem, ProblemError
from ..model.resources import data_path
from ..remote.connections import Connections, transport_problem
from ..remote.transport import Endpoint, TransportError
from .pages import PAGE_CLASSES, Page
from .state import WizardState, load_pages, page_of


# -- modals ---------------------------------------------------------------------------
class MessageModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(classes="modal")
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            with Horizontal():
                yield Button("Close", id="close", variant="primary", compact=True)

    @on(Button.Pressed)
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "no", "No")]

    def __init__(self, title: str, text: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal")
        self.title_text, self.text, self.yes, self.no = title, text, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            with Horizontal():
                yield Button(self.yes, id="yes", variant="warning", compact=True)
                yield Button(self.no, id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class InputModal(ModalScreen[str | None]):
    """Ask for one value: a path to save to, or a secret (password=True)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, text: str, value: str = "", password: bool = False) -> None:
        super().__init__(classes="modal")
        self.title_text, self.text, self.value, self.password = title, text, value, password

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.text)
            yield Input(self.value, password=self.password, id="value")
            with Horizontal():
                yield Button("OK", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#value", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# -- the backend: core calls, run from thread workers -----------------------------------
class Backend:
    def __init__(self, app: OnsiteApp, bundles: list[Path] | None) -> None:
        self.app = app
        self.bundle_paths = bundles
        self.runner = None
        self.push_stop = threading.Event()  # set by pause/abort while the bundles are on their way
        self.outcome = None
        self.verify_report = None
        self.journal_dir: Path | None = None
        self.conns: Connections | None = None

    def _bundles(self) -> list[bundle_mod.Bundle]:
        return bundle_mod.find(self.bundle_paths, self.app.state.path)

    def _install(self, resume: bool = False) -> Install:
        state = self.app.state
        plan = state.plan
        if plan is None or state.path is None:
            raise ProblemError(Problem(message="the plan is not valid or not saved", hint="go to Review", code="plan"))
        self.journal_dir = journal_mod.default_dir(state.path, plan)
        return Install(plan, state.profile, self._bundles(), self.journal_dir, InstallOptions(resume=resume))

    def unfinished_install(self, state: WizardState) -> bool:
        if state.plan is None or state.path is None:
            return False
        return journal_mod.unfinished(journal_mod.default_dir(state.path, state.plan), state.plan)

    def _connections(self) -> Connections:
        from ..remote.ssh_paramiko import connect

        self.conns = Connections(self.app.state.plan, lambda ep: connect(ep), prompt=self.app.ask_secret_blocking)
        return self.conns

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, ProblemError):
            text = "\n".join(p.message + (f" ({p.hint})" if p.hint else "") for p in exc.problems)
        elif isinstance(exc, TransportError):
            text = f"{exc.message} ({exc.hint})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self.app.notify, text, severity="error", timeout=15)

    def preflight(self, listener):
        try:
            job = self._install()
            job.resuming = False
            with self._connections() as conns:
                from ..engine import preflight

                return preflight.run(job.plan, job.profile, conns, listener=listener, missing_payloads=job.missing_payloads)
        except Exception as exc:  # noqa: BLE001 - shown to the deployer, never a traceback
            self._report(exc)
            return None

    def install(self, listener, on_ready: Callable) -> object:
        # pause/abort reach the push until this run's runner exists (not a former run's)
        self.runner = None
        self.push_stop = threading.Event()
        try:
            job = self._install(resume=self.app.resume_requested)
            job.open_journal()
            on_ready(job.nodes, [s.id for s in job.steps], {i.key for i in job.instances})
            secrets = secrets_mod.resolve_all(job.plan, job.profile, self.app.ask_secret_blocking)
            with self._connections() as conns:
                if job.bundles:
                    pushed = job.push(conns, listener, self.push_stop)
                    if self.push_stop.is_set():
                        raise ProblemError(Problem(message="the push was stopped; no step ran",
                                                   hint="resume the install later (Welcome → resume install): what "
                                                        "arrived on the nodes is kept", code="push-interrupted"))
                    if not pushed.ok:
                        raise ProblemError(pushed.problems)
                self.runner = job.runner(conns, secrets, listener)
                self.outcome = self.runner.run()
                if self.outcome.ok and self.journal_dir is not None:
                    # The same proof as `onsite install` ends with (installer.verify).
                    from ..engine import verify

                    installed = {s.component for s in job.steps if s.component}
                    report = verify.Verifier(job.plan, job.profile, conns, secrets, installed).run()
                    verify.write(report, job.plan, job.profile, self.journal_dir)
                    self.verify_report = report
                return self.outcome
        except Exception as exc:  # noqa: BLE001 - shown to the deployer, never a traceback
            self._report(exc)
            return None

    def support_bundle(self) -> Path:
        from ..cli.main import main

        out = (self.app.state.path.parent if self.app.state.path else Path.cwd()) / "onsite-support.tar.gz"
        main(["support-bundle", str(self.app.state.path), "-o", str(out)])
        return out


# -- the app ----------------------------------------------------------------------------
class OnsiteApp(App):
    CSS_PATH = str(data_path("screens", "onsite.tcss"))
    TITLE = "onsite"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, path: Path | None = None, bundles: list[Path] | None = None, autostart: bool = True) -> None:
        super().__init__()
        self.pages = load_pages()
        self.state = WizardState()
        self.start_path = path
        self.backend = Backend(self, bundles)
        self.autostart = autostart  # pages that run things start at once (tests may turn it off)
        self.resume_requested = False
        self.current = 1

    def _fatal_error(self) -> None:
        # Textual would print a traceback with every frame's locals: values
        # from the answer file on the screen. A crash log without values
        # instead (model.crashlog), named in one line.
        exc = self._exception or sys.exc_info()[1]
        if exc is None:
            super()._fatal_error()
            return
        from .. import __version__

        path = crashlog.write(exc, __version__)
        self.bell()
        self._exit_renderables.append(Text(f"onsite: internal error: {type(exc).__name__}. This is a bug; the details are in {path}"))
        self._close_messages_no_wait()

    def on_mount(self) -> None:
        if self.start_path is not None and self.start_path.exists():
            self.state = WizardState.open(self.start_path) if self._readable(self.start_path) else WizardState(path=self.start_path)
        elif self.start_path is not None:
            self.state = WizardState(path=self.start_path)
        self.go(1)

    def _readable(self, path: Path) -> bool:
        try:
            WizardState.open(path)
            return True
        except ProblemError:
            return False

    def page_index(self, page_id: str) -> int:
        return next(i for i, p in enumerate(self.pages, start=1) if p.id == page_id)

    def go(self, index: int, focus: str | None = None) -> None:
        index = max(1, min(index, len(self.pages)))
        page = self.pages[index - 1]
        self.current = index
        screen = PAGE_CLASSES[page.id](page, index, len(self.pages), focus)
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    # -- actions the pages call ------------------------------------------------------------
    def new_plan(self) -> None:
        self.state = WizardState(path=self.state.path)
        self.go(2)

    def open_file(self, path: Path) -> str | None:
        """Open an answer file; land on its first problem. Returns a problem
        sentence when it cannot be opened at all."""
        try:
            self.state = WizardState.open(path)
        except ProblemError as exc:
            return "\n".join(p.render() for p in exc.problems)
        errors = self.state.problems.errors
        if errors:
            self.jump_to(errors[0])
        else:
            self.go(self.page_index("review"))
        return None

    def jump_to(self, problem: Problem) -> None:
        from ..model.problems import format_path

        self.go(self.page_index(page_of(problem)), focus=format_path(problem.path) if problem.path else None)

    def resume_install(self) -> None:
        self.resume_requested = True
        self.go(self.page_index("install"))

    def save_dialog(self, then: Callable[[], None] | None = None) -> None:
        default = str(self.state.path or Path.cwd() / "site.yaml")

        def chosen(value: str | None) -> None:
            if not value:
                return
            path = Path(value).expanduser()
            try:
                scrubbed = self.state.save(path)
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror}", severity="error")
                return
            kind = "saved" if self.state.plan is not None else "saved a draft (not valid yet)"
            self.notify(f"{kind}: {path}" + (f"; secrets replaced by 'prompt' at {', '.join(scrubbed)}" if scrubbed else ""))
            if isinstance(self.screen, Page):
                self.screen.refresh_status()
            if then is not None:
                then()

        self.push_screen(InputModal("Save the answer file", "Where to? Secrets are never written, only references.", default), chosen)

    def ask_secret_blocking(self, label: str) -> str:
        """For worker threads: ask in a modal, wait for the answer."""
        done = threading.Event()
        box: list[str | None] = [None]

        def answered(value: str | None) -> None:
            box[0] = value
            done.set()

        self.call_from_thread(self.push_screen, InputModal(label, "Typed here, kept in memory only.", password=True), answered)
        done.wait()
        if box[0] is None:
            raise secrets_mod.SecretError(f"{label}: not given", "type it, or use env:NAME / file:PATH in the answer file")
        return box[0]

    @work(thread=True, group="test-connection")
    def test_connection(self, index: int) -> None:
        from ..remote.ssh_paramiko import connect

        state = self.state
        node = state.get(f"nodes[{index}]", {}) or {}
        ssh = node.get("ssh", {}) or {}
        host = (state.get("ips", {}) or {}).get(node.get("address"))
        name = node.get("name", f"node {index + 1}")
        if not host:
            self.call_from_thread(self.notify, f"{name}: its address is not on the IP sheet yet", severity="error")
            return
        try:
            password = None
            if ssh.get("auth") == "password" and ssh.get("password"):
                password = secrets_mod.resolve(ssh["password"], f"SSH password for {name}", self.ask_secret_blocking)
            ep = Endpoint(node=name, host=host, port=int(ssh.get("port", 22)), user=ssh.get("user", "root"),
                          auth=ssh.get("auth", "key"), key_path=ssh.get("key"), password=password, host_key=ssh.get("host_key"))
            t = connect(ep, connect_timeout=5)
            t.close()
            self.call_from_thread(self.notify, f"{name}: connected as {ep.user}, host key verified")
        except TransportError as exc:
            if exc.kind == "host-key-unknown":
                seen = exc.details.get("seen", "")
                self.call_from_thread(self._ask_pin, index, name, host, seen)
            else:
                p = transport_problem(exc)
                self.call_from_thread(self.notify, f"{p.message} ({p.hint})", severity="error", timeout=12)
        except secrets_mod.SecretError as exc:
            self.call_from_thread(self.notify, f"{exc.message} ({exc.hint})", severity="error")

    def _ask_pin(self, index: int, name: str, host: str, fingerprint: str) -> None:
        def decided(yes: bool | None) -> None:
            if yes:
                self.state.set(f"nodes[{index}].ssh.host_key", fingerprint)
                self.notify(f"pinned the host key of {name}; save (Ctrl+S) to keep it")

        self.push_screen(ConfirmModal(
            f"Unknown host key: {name} ({host})",
            f"The node presents\n\n  {fingerprint}\n\nCompare it with the node's own, on its console:\n"
            "  ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\nPin it only if they are the same.",
            yes="Same: pin it", no="Different: do not connect"), decided)


def run(path: Path | None = None, bundles: list[Path] | None = None) -> int:
    app = OnsiteApp(path, bundles)
    result = app.run()
    return int(result or 0)
