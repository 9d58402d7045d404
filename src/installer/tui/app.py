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
from textual import work
from textual.app import App
from textual.binding import Binding

from ..engine import events, support
from ..engine import journal as journal_mod
from ..engine.events import PhaseStarted
from ..engine.install import InstallOperation, InstallOptions, install_lifecycle, preflight_lifecycle
from ..engine.lifecycle import Lifecycle, Outcome
from ..model import crashlog
from ..model import secrets as secrets_mod
from ..model.i18n import localized, m, set_language, t
from ..model.problems import Problem, ProblemError
from ..model.resources import data_path
from ..remote.connections import transport_problem
from ..remote.transport import Endpoint, TransportError
from .modals import ConfirmModal, InputModal
from .pages import PAGE_CLASSES, Page
from .state import WizardState, load_pages, page_of
from .words import localize_bindings


# -- the backend: the engine's lifecycles, run from thread workers --------------------
class Backend:
    """The wizard's side of the engine: the same lifecycles `onsite
    preflight` and `onsite install` run (installer.engine.install), in
    worker threads; their events reach the pages through a listener."""

    def __init__(self, app: OnsiteApp, bundles: list[Path] | None) -> None:
        self.app = app
        self.bundle_paths = bundles
        self.lifecycle: Lifecycle | None = None  # the one running, for pause and abort
        self.running = threading.Event()
        self.outcome = None  # the steps' RunOutcome of the last install
        self.install_outcome: Outcome | None = None
        self.verify_report = None
        self.journal_dir: Path | None = None
        self.link_rate = None  # engine.link.LinkRate measured by Test connection, for the Review's estimate

    def _operation(self, listener, resume: bool = False, only: list[str] | None = None) -> InstallOperation:
        from ..remote.ssh_paramiko import connect

        state = self.app.state
        plan = state.plan
        if plan is None or state.path is None:
            raise ProblemError(Problem(message=m("the plan is not valid or not saved"), hint=m("go to Review"), code="plan"))
        self.journal_dir = journal_mod.default_dir(state.path, plan)
        return InstallOperation(plan, state.profile, answer_file=state.path, problems=state.problems,
                                bundle_paths=self.bundle_paths, journal_dir=self.journal_dir,
                                options=InstallOptions(resume=resume, only=only), connect=lambda ep: connect(ep),
                                prompt=self.app.ask_secret_blocking, command="onsite wizard", listener=listener)

    def review(self, plan):
        """The Review page's data (engine.review.build): reads and hashes the
        bundles, so it runs in the page's worker, never on the UI thread.
        None after a failure, which is notified."""
        from ..engine import review as review_mod

        state = self.app.state
        try:
            jdir = journal_mod.default_dir(state.path, plan) if state.path is not None else None
            return review_mod.build(plan, state.profile, answer_file=state.path, bundle_paths=self.bundle_paths,
                                    journal_dir=jdir, link=self.link_rate)
        except Exception as exc:  # noqa: BLE001 - shown to the deployer, never a traceback
            self._report(exc)
            return None

    def unfinished_install(self, state: WizardState) -> bool:
        if state.plan is None or state.path is None:
            return False
        return journal_mod.unfinished(journal_mod.default_dir(state.path, state.plan), state.plan)

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, ProblemError):
            text = "\n".join(localized(p.message) + (f" ({localized(p.hint)})" if p.hint else "") for p in exc.problems)
        elif isinstance(exc, TransportError):
            text = f"{localized(exc.message)} ({localized(exc.hint)})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self.app.notify, text, severity="error", timeout=15)

    def _drive(self, lifecycle: Lifecycle, op: InstallOperation) -> Outcome | None:
        if self.running.is_set():
            raise ProblemError(Problem(message=m("another operation runs in this wizard"), code="locked"))
        self.lifecycle = lifecycle
        self.running.set()
        try:
            return lifecycle.run(op)
        finally:
            self.running.clear()
            self.lifecycle = None

    def preflight(self, listener, only: list[str] | None = None) -> tuple[Outcome | None, object]:
        """(outcome, preflight report); blockers make the outcome fail.
        `only`: these nodes (a run again for one node)."""
        try:
            op = self._operation(listener, only=only)
            outcome = self._drive(preflight_lifecycle(), op)
            return outcome, op.preflight
        except Exception as exc:  # noqa: BLE001 - shown to the deployer, never a traceback
            self._report(exc)
            return None, None

    def install(self, listener, on_ready: Callable) -> Outcome | None:
        def relay_events(ev) -> None:
            if isinstance(ev, PhaseStarted) and ev.phase == "deliver":
                on_ready(op.nodes, [s.id for s in op.steps], {i.key for i in op.instances})
            listener(ev)

        try:
            op = self._operation(relay_events, resume=self.app.resume_requested)
            outcome = self._drive(install_lifecycle(), op)
            self.outcome, self.verify_report, self.install_outcome = op.run_outcome, op.verify_report, outcome
            return outcome
        except Exception as exc:  # noqa: BLE001 - shown to the deployer, never a traceback
            self._report(exc)
            return None

    def pause(self) -> bool:
        if self.lifecycle is None:
            return False
        self.lifecycle.request_stop()
        return True

    def abort(self) -> bool:
        if self.lifecycle is None:
            return False
        self.lifecycle.abort()
        return True

    def support_bundle(self) -> Path:
        state = self.app.state
        out = (state.path.parent if state.path else Path.cwd()) / "onsite-support.tar.gz"
        return support.write(state.plan, state.profile, self.journal_dir or journal_mod.default_dir(state.path, state.plan),
                             out)


# -- the app ----------------------------------------------------------------------------
class OnsiteApp(App):
    CSS_PATH = str(data_path("screens", "onsite.tcss"))
    TITLE = "onsite"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, path: Path | None = None, bundles: list[Path] | None = None, autostart: bool = True,
                 lang: str | None = None) -> None:
        if lang is not None:
            set_language(lang)
        super().__init__()
        localize_bindings(self)
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
        # instead (model.crashlog), named in one line; the wizard exits 70.
        exc = self._exception or sys.exc_info()[1]
        if exc is None:
            super()._fatal_error()
            return
        from .. import __version__

        journal = self.backend.journal_dir
        path = crashlog.write(exc, __version__, journal / "crash" if journal is not None else None)
        self.crashed = path
        inner = getattr(exc, "error", None)  # a worker's failure wraps the real one
        kind = type(inner if isinstance(inner, BaseException) else exc).__name__
        self.crash_message = t("onsite: internal error: {kind}. This is a bug; the details are in {path}", kind=kind, path=path)
        self.bell()
        self._exit_renderables.append(Text(self.crash_message))
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

    def go(self, index: int, focus: str | None = None) -> bool:
        """Every way to change pages (buttons, Ctrl+N, Esc, mouse, a jump to
        a problem) comes here and passes the page's gate: Preflight is not
        left forwards with a blocker or before it finished, Install not at
        all while it runs. Returns whether the page changed."""
        index = max(1, min(index, len(self.pages)))
        here = self.screen if isinstance(self.screen, Page) else None
        if here is not None and index != self.current:
            reason = here.leave_reason(index)
            if reason:
                here.refused(reason, index)
                return False
        page = self.pages[index - 1]
        self.current = index
        screen = PAGE_CLASSES[page.id](page, index, len(self.pages), focus)
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        return True

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
            return "\n".join(p.render(localize=True) for p in exc.problems)
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
                self.notify(t("cannot write {path}: {reason}", path=path, reason=exc.strerror), severity="error")
                return
            said = (t("saved: {path}", path=path) if self.state.plan is not None
                    else t("saved a draft (not valid yet): {path}", path=path))
            if scrubbed:
                said += t("; secrets replaced by 'prompt' at {fields}", fields=", ".join(scrubbed))
            self.notify(said)
            if isinstance(self.screen, Page):
                self.screen.refresh_status()
            if then is not None:
                then()

        self.push_screen(InputModal(t("Save the answer file"), t("Where to? Secrets are never written, only references."), default),
                         chosen)

    def ask_secret_blocking(self, label: str) -> str:
        """For worker threads: ask in a modal, wait for the answer."""
        done = threading.Event()
        box: list[str | None] = [None]

        def answered(value: str | None) -> None:
            box[0] = value
            done.set()

        self.call_from_thread(self.push_screen, InputModal(localized(label), t("Typed here, kept in memory only."), password=True),
                              answered)
        done.wait()
        if box[0] is None:
            raise secrets_mod.SecretError(m("{label}: not given", label=label), m("type it, or use env:NAME / file:PATH in the answer file"))
        return box[0]

    @work(thread=True, group="test-connection")
    def test_connection(self, index: int) -> None:
        from ..remote.ssh_paramiko import connect

        state = self.state
        node = state.get(f"nodes[{index}]", {}) or {}
        ssh = node.get("ssh", {}) or {}
        host = (state.get("ips", {}) or {}).get(node.get("address"))
        name = node.get("name", t("node {n}", n=index + 1))
        if not host:
            self.call_from_thread(self.notify, t("{node}: its address is not on the IP sheet yet", node=name), severity="error")
            return
        try:
            password = None
            if ssh.get("auth") == "password" and ssh.get("password"):
                password = secrets_mod.resolve(ssh["password"], m("SSH password for {node}", node=name), self.ask_secret_blocking)
            port = ssh.get("port", 22)
            if not isinstance(port, int) or isinstance(port, bool):
                self.call_from_thread(self.notify, t("{node}: the SSH port must be a number (1-65535)", node=name), severity="error")
                return
            ep = Endpoint(node=name, host=host, port=port, user=ssh.get("user", "root"),
                          auth=ssh.get("auth", "key"), key_path=ssh.get("key"), password=password, host_key=ssh.get("host_key"))
            conn = connect(ep, connect_timeout=5)
            self.call_from_thread(self.notify, t("{node}: connected as {user}, host key verified; measuring the link...", node=name,
                                                 user=ep.user))
            try:  # the link rate, for the Review's time estimate (the answer above does not wait for it)
                from ..engine import link

                rate = link.measure(conn, name)
                self.backend.link_rate = rate
                self.call_from_thread(self.notify, t("{node}: {rate}/s from here ({sent} sent); the Review's estimate uses it", node=name,
                                                     rate=events.human_bytes(rate.rate), sent=events.human_bytes(link.PROBE_BYTES)))
            except TransportError as exc:
                self.call_from_thread(self.notify, t("{node}: the link was not measured ({reason})", node=name, reason=exc.message),
                                      severity="warning")
            finally:
                conn.close()
        except TransportError as exc:
            if exc.kind == "host-key-unknown":
                seen = exc.details.get("seen", "")
                self.call_from_thread(self._ask_pin, index, name, host, seen)
            else:
                p = transport_problem(exc)
                self.call_from_thread(self.notify, f"{localized(p.message)} ({localized(p.hint)})", severity="error", timeout=12)
        except secrets_mod.SecretError as exc:
            self.call_from_thread(self.notify, f"{localized(exc.message)} ({localized(exc.hint)})", severity="error")

    def _ask_pin(self, index: int, name: str, host: str, fingerprint: str) -> None:
        def decided(yes: bool | None) -> None:
            if yes:
                self.state.set(f"nodes[{index}].ssh.host_key", fingerprint)
                self.notify(t("pinned the host key of {node}; save (Ctrl+S) to keep it", node=name))

        self.push_screen(ConfirmModal(
            t("Unknown host key: {node} ({host})", node=name, host=host),
            t("The node presents\n\n  {fingerprint}\n\nCompare it with the node's own, on its console:\n"
              "  ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\nPin it only if they are the same.", fingerprint=fingerprint),
            yes=t("Same: pin it"), no=t("Different: do not connect")), decided)


def run(path: Path | None = None, bundles: list[Path] | None = None, lang: str | None = None) -> int:
    """The wizard's exit code: what it exited with, 70 after a crash."""
    app = OnsiteApp(path, bundles, lang=lang)
    result = app.run()
    if getattr(app, "crashed", None) or app.return_code not in (None, 0):
        return 70
    return int(result or 0)
