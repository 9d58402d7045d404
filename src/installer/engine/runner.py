"""The runner: the step graph over the nodes, with a journal.

- Instances (step, node) start when every instance of their dependencies is
  done; `parallel` steps run on their nodes at once, `serial` ones one node at
  a time; at most `parallel` instances run overall.
- Before a step its `check` runs: passing means the result is in place and
  the step is not run. After the step the check must pass.
- On a failure nothing new starts; running steps finish; the failed step is
  reported with the tail of its log.
- The journal is written through before and after every step.
- `request_stop()` (first Ctrl-C): nothing new starts, running steps finish.
  `abort()` (second Ctrl-C): connections are closed, running steps become
  `unknown`. `--resume` re-checks done steps with their check, and runs
  unknown, failed and pending ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from ..model.i18n import Msg, m
from ..model.plan import Plan
from ..model.problems import clean
from ..model.profile import Profile
from ..remote.connections import Connections
from ..remote.transport import Transport, TransportError
from . import envfile
from .events import Listener, Notice, StepFinished, StepOutput, StepStarted, ignore
from .journal import DONE, FAILED, PENDING, RUNNING, UNKNOWN, Journal, now
from .push import REMOTE_ROOT
from .steps import Instance, Step

RUN_DIR = "/var/lib/onsite/run"
LOG_TAIL = 15

# Values arrive only through the node's env file (the plan, no secret) and
# stdin (the secrets this step's component needs, nothing else); the script
# runs from its bundle with an empty stdin. coreutils `timeout` (which wraps
# every command) leads its own process group: the step records that group,
# so an abort can stop the whole step on the node.
_RUN_STEP = ('read -r _ _ _ _ pgid _ < /proc/$$/stat; echo "$pgid" > "$1.$4.pgid"; '
             'set -a; . "$1"; . /dev/stdin; set +a; export ONSITE_STEP="$4"; cd "$2" && exec bash "$3" </dev/null')
_CHECK_STEP = 'set -a; . "$1"; . /dev/stdin; set +a; export ONSITE_STEP="$4"; cd "$2" && exec bash "$3" </dev/null'
_KILL_STEP = 'if [ -f "$1" ]; then kill -s TERM -- "-$(cat "$1")" 2>/dev/null; rm -f -- "$1"; fi; true'  # dash: -s TERM, not -TERM
_WRITE_ENV = 'umask 077; mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv -f "$1.tmp" "$1"'


@dataclasses.dataclass
class Failure:
    node: str
    step: str
    message: str
    log: Path
    tail: list[str]


@dataclasses.dataclass
class RunOutcome:
    ran: int = 0
    skipped: int = 0
    failures: list[Failure] = dataclasses.field(default_factory=list)
    stopped: bool = False
    aborted: bool = False
    pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stopped and not self.aborted and self.pending == 0


class Masker:
    """Replaces every secret value onsite holds: the plan's secrets, values
    derived from them, and (read when called, as they are resolved on
    connecting) the SSH and sudo passwords."""

    def __init__(self, secrets: Sequence[str], more: Callable[[], Sequence[str]] | None = None) -> None:
        self.fixed = [s for s in secrets if s]
        self.more = more
        self._seen: tuple[str, ...] | None = None
        self._order: list[str] = []

    def __call__(self, text: str) -> str:
        # every output line passes here: the longest-first order is worked out
        # again only when a password was resolved since the last line
        more = tuple(self.more()) if self.more else ()
        if more != self._seen:
            self._seen = more
            self._order = sorted({s for s in (*self.fixed, *more) if s}, key=len, reverse=True)
        if isinstance(text, Msg):  # a message stays one (shown translated): its values are masked
            masked = Msg(text.template, {k: self(v) if isinstance(v, str) else v for k, v in text.args.items()})
            if not any(s in masked for s in self._order):
                return masked
        for s in self._order:
            text = text.replace(s, "********")
        return text


class Runner:
    def __init__(self, plan: Plan, profile: Profile, instances: Sequence[Instance],
                 conns: Connections, journal: Journal, *, secrets: dict[str, str] | None = None,
                 listener: Listener = ignore, parallel: int = 8, resume: bool = False,
                 assume_done: Sequence[str] = (), extra_env: dict[str, str] | None = None) -> None:
        self.plan = plan
        self.extra_env = dict(extra_env or {})  # a day-2 operation's parameters (ONSITE_OP_*), never secrets
        self.profile = profile
        self.instances = list(instances)
        self.conns = conns
        self.journal = journal
        self.secrets = dict(secrets or {})
        self.mask = Masker(masked_values(self.secrets), conns.resolved_secrets)
        self.listener = listener
        self.parallel = max(1, parallel)
        self.resume = resume
        self.assume_done = set(assume_done)  # instance keys treated as done (--from)
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._env_written: set[str] = set()
        self._env_lock = threading.Lock()
        self._node_locks: dict[str, threading.Lock] = {}

    # -- control -------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def abort(self) -> None:
        """Stop now: the schedule loop kills the running steps on their nodes
        and closes the connections (not here: this runs in a signal handler)."""
        self._stop.set()
        self._abort.set()

    def _kill_running(self, running: Sequence[Instance]) -> None:
        for inst in running:
            try:
                self.conns.get(inst.node).run(["sh", "-c", _KILL_STEP, "onsite", f"{self.env_path}.{inst.step.id}.pgid"],
                                              timeout=15)
            except TransportError:
                pass  # unreachable: the step's own timeout ends it on the node
        self.conns.close_all()

    @property
    def env_path(self) -> str:
        from .journal import site_slug

        return f"{RUN_DIR}/{site_slug(self.plan.site_name)}.env"

    # -- the schedule -----------------------------------------------------------
    def run(self) -> RunOutcome:
        outcome = RunOutcome()
        state: dict[str, str] = {}
        recheck: set[str] = set()
        for inst in self.instances:
            rec = self.journal.status(inst.key)
            if inst.key in self.assume_done:
                state[inst.key] = DONE
            elif rec == DONE and self.resume and inst.step.check is None:
                state[inst.key] = DONE  # nothing to re-check it with: trust the record
                outcome.skipped += 1
            else:
                state[inst.key] = PENDING
                if rec == DONE:
                    recheck.add(inst.key)
        by_step: dict[str, list[Instance]] = {}
        for inst in self.instances:
            by_step.setdefault(inst.step.id, []).append(inst)

        def deps_done(inst: Instance) -> bool:
            for d in inst.step.depends_on:
                for other in by_step.get(d, []):
                    if state[other.key] != DONE:
                        return False
                if d not in by_step and self.journal.data["steps"] and not self._dep_done_elsewhere(d):
                    return False
            return True

        running: dict[Future, Instance] = {}
        ordered: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="step") as pool:
            try:
                while True:
                    if not self._stop.is_set() and not outcome.failures:
                        for sid, insts in by_step.items():
                            if (insts[0].step.leader and insts[0].step.mode == "serial" and sid not in ordered
                                    and any(state[i.key] == PENDING and deps_done(i) for i in insts)):
                                ordered.add(sid)
                                self._leader_last(insts)
                        busy_serial = {i.step.id for i in running.values() if i.step.mode == "serial"}
                        for inst in self.instances:
                            if len(running) >= self.parallel:
                                break
                            if state[inst.key] != PENDING or not deps_done(inst):
                                continue
                            if inst.step.mode == "serial" and inst.step.id in busy_serial:
                                continue
                            state[inst.key] = RUNNING
                            if inst.step.mode == "serial":
                                busy_serial.add(inst.step.id)
                            running[pool.submit(self._run_instance, inst)] = inst
                    if not running:
                        break
                    done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
                    for fut in done:
                        inst = running.pop(fut)
                        status, skipped, failure = fut.result()
                        state[inst.key] = status
                        if skipped:
                            outcome.skipped += 1
                        elif status == DONE:
                            outcome.ran += 1
                        if failure is not None:
                            outcome.failures.append(failure)
                    if self._abort.is_set():
                        self._kill_running(list(running.values()))
                        # give running steps a moment to notice
                        wait(list(running), timeout=5)
                        for fut, inst in list(running.items()):
                            if fut.done():
                                status, _, failure = fut.result()
                                state[inst.key] = status
                        break
            finally:
                if self._abort.is_set():
                    self.journal.mark_running_unknown()
                    pool.shutdown(wait=False, cancel_futures=True)
        outcome.stopped = self._stop.is_set() and not self._abort.is_set()
        outcome.aborted = self._abort.is_set()
        outcome.pending = sum(1 for k, s in state.items() if s in (PENDING, RUNNING))
        if not self._abort.is_set():
            self._remove_env_files()
        done_all = all(s == DONE for s in state.values())
        if done_all and self.journal.complete:
            self.journal.data["finished"] = now()
            self.journal.save()
        return outcome

    def _leader_last(self, insts: Sequence[Instance]) -> None:
        """A serial step with a `leader` script: the node(s) where it exits 0
        (the service's leader now) go last, so replicas go first. Asked when
        the step is about to start, as the leader may have moved since."""
        leaders: list[Instance] = []
        for inst in insts:
            try:
                t = self.conns.get(inst.node)
                self._ensure_env(inst.node, t)
                res = t.run(["bash", "-c", _CHECK_STEP, "onsite", self.env_path, f"{REMOTE_ROOT}/{inst.step.bundle}",
                             inst.step.leader, inst.step.id], stdin=self._secrets_of(inst.step), timeout=60)
            except TransportError:
                continue  # unreachable: its own run fails with the reason
            if res.ok:
                leaders.append(inst)
        for inst in leaders:
            self.instances.remove(inst)
            self.instances.append(inst)
        if leaders:
            self.listener(Notice(m("{step}: {nodes} leads now and goes last", step=inst.step.id, nodes=', '.join(i.node for i in leaders)), "steps"))

    def _dep_done_elsewhere(self, step_id: str) -> bool:
        """A dependency outside this run (--only): done per the journal."""
        recs = [r for k, r in self.journal.data["steps"].items() if k.endswith(f"/{step_id}")]
        return all(r.get("status") == DONE for r in recs)

    # -- one instance -------------------------------------------------------------
    def _run_instance(self, inst: Instance) -> tuple[str, bool, Failure | None]:
        key = inst.key
        step = inst.step
        log_path = self.journal.log_path(inst.node, step.id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(log_path, "a", encoding="utf-8") as log:
            def write(stream: str, line: str) -> None:
                line = self.mask(line)
                stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
                log.write(f"{stamp} [{stream}] {line}\n")
                log.flush()
                if stream in ("out", "err"):  # the log keeps the line as the node printed it; a terminal sees it clean
                    self.listener(StepOutput(inst.node, step.id, stream, clean(line)))

            try:
                t = self.conns.get(inst.node)
                self._ensure_env(inst.node, t)
                bdir = f"{REMOTE_ROOT}/{step.bundle}"
                if step.check and self._check(t, bdir, step, write):
                    write("onsite", f"check {step.check} passes: the result is in place, step not run")
                    self.journal.update(key, status=DONE, checked=now(), message=m("in place (check passed)"))
                    self.listener(StepFinished(inst.node, step.id, DONE, time.monotonic() - t0, None, m("in place"), True))
                    return DONE, True, None
                attempts = self.journal.record(key).get("attempts", 0)
                last_exit: int | None = None
                for attempt in range(1, step.retries + 2):
                    attempts += 1
                    self.journal.update(key, status=RUNNING, started=now(), ended=None, exit_code=None,
                                        attempts=attempts, message="")
                    self.listener(StepStarted(inst.node, step.id, step.title, attempt))
                    write("onsite", f"running {step.script} (attempt {attempt}, timeout {step.timeout} s)")
                    res = t.run(["bash", "-c", _RUN_STEP, "onsite", self.env_path, bdir, step.script, step.id],
                                stdin=self._secrets_of(step), timeout=step.timeout,
                                on_stdout=lambda line: write("out", line), on_stderr=lambda line: write("err", line))
                    last_exit = res.exit_status
                    for line in res.noise.splitlines():  # what the login shell printed around it
                        write("noise", line)
                    write("onsite", f"exit status {res.exit_status}")
                    if self._abort.is_set():
                        raise TransportError("dropped", inst.node, m("aborted while it ran"))
                    if res.ok:
                        break
                    if attempt <= step.retries and not self._stop.is_set():
                        write("onsite", "the step is idempotent: trying again")
                        continue
                    return self._failed(inst, t0, log_path, m("exited with status {status}", status=res.exit_status), res.exit_status)
                if step.check and not self._check(t, bdir, step, write):
                    return self._failed(inst, t0, log_path, m("finished, but its check {check} does not pass", check=step.check), last_exit)
                self.journal.update(key, status=DONE, ended=now(), exit_code=last_exit, message="")
                self.listener(StepFinished(inst.node, step.id, DONE, time.monotonic() - t0, last_exit))
                return DONE, False, None
            except TransportError as exc:
                if exc.kind == "command-timeout":
                    write("onsite", exc.message)
                    return self._failed(inst, t0, log_path, m("timed out after {seconds} s and was stopped", seconds=step.timeout), None)
                if exc.kind == "dropped":
                    self.conns.drop(inst.node)  # dead: the next use reconnects (a live one is shared by other steps)
                msg = (m("aborted while it ran") if self._abort.is_set()
                       else m("{error}; the step may or may not have finished", error=exc.message))
                write("onsite", msg)
                status = UNKNOWN if self.journal.status(key) == RUNNING else FAILED
                self.journal.update(key, status=status, ended=now(), message=msg)
                self.listener(StepFinished(inst.node, step.id, status, time.monotonic() - t0, None, msg))
                failure = None if self._abort.is_set() else Failure(inst.node, step.id, msg, log_path, self._tail(log_path))
                return status, False, failure

    def _check(self, t: Transport, bdir: str, step: Step, write) -> bool:
        res = t.run(["bash", "-c", _CHECK_STEP, "onsite", self.env_path, bdir, step.check, step.id],
                    stdin=self._secrets_of(step), timeout=min(step.timeout, 300), on_stderr=lambda line: write("check", line))
        return res.ok

    def _secrets_of(self, step: Step) -> bytes:
        """Need to know: the secrets of the step's component(s) as the profile
        declares them, plus the step's own `secrets:`; no other step, and no
        daemon a step starts, sees the rest."""
        return envfile.render(envfile.secret_variables(step_secrets(self.profile, step, self.secrets))).encode()

    def _failed(self, inst: Instance, t0: float, log_path: Path, message: str, exit_code: int | None):
        self.journal.update(inst.key, status=FAILED, ended=now(), exit_code=exit_code, message=message)
        self.listener(StepFinished(inst.node, inst.step.id, FAILED, time.monotonic() - t0, exit_code, message))
        return FAILED, False, Failure(inst.node, inst.step.id, message, log_path, self._tail(log_path))

    @staticmethod
    def _tail(path: Path) -> list[str]:
        try:
            return [clean(line) for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL:]]
        except OSError:
            return []

    # -- the env file ---------------------------------------------------------------
    def _ensure_env(self, node: str, t: Transport) -> None:
        with self._env_lock:
            lock = self._node_locks.setdefault(node, threading.Lock())
        with lock:
            if node in self._env_written:
                return
            text = envfile.render(envfile.variables(self.plan, self.profile, node, {}) | self.extra_env)  # no secret in it
            res = t.run(["sh", "-c", _WRITE_ENV, "onsite", self.env_path], stdin=text.encode(), timeout=60)
            if not res.ok:
                raise TransportError("protocol", node, m("cannot write {path}: {error}", path=self.env_path, error=res.stderr.strip()),
                                     m("check the node's disk under /var/lib/onsite"))
            self._env_written.add(node)

    def _remove_env_files(self) -> None:
        for node in sorted(self._env_written):
            try:
                self.conns.get(node).run(["sh", "-c", 'rm -f -- "$1" "$1".*.pgid', "onsite", self.env_path], timeout=30)
            except TransportError:
                pass  # unreachable now; the next run overwrites and removes it


def masked_values(secrets: dict[str, str]) -> list[str]:
    """The plan's secrets and what a bundle derives from them where onsite
    knows how (the RADIUS probe password of installer.engine.probes)."""
    from .probes import PROBE_USER, probe_password

    values = list(secrets.values())
    values += [probe_password(v, PROBE_USER) for v in secrets.values()]
    return values


def step_secrets(profile: Profile, step: Step, resolved: dict[str, str]) -> dict[str, str]:
    names = {s for c in (step.component, *step.provides) if c and c in profile.components
             for s in profile.components[c].secrets} | set(step.secrets)
    return {n: resolved[n] for n in sorted(names) if n in resolved}


__all__ = ["step_secrets", "Runner", "RunOutcome", "StepStarted", "StepOutput", "StepFinished", "Failure", "PENDING", "RUNNING", "DONE",
           "FAILED", "UNKNOWN"]
