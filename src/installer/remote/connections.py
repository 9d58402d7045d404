"""One reused transport per node, opened on first use, from the plan (the
SSH transport opens further connections to the node itself when its sshd
limits the sessions of one).

The pool turns a plan node into an `Endpoint` (resolving secret references
at that moment) and hands it to a transport factory; the CLI and the wizard
pass the SSH factory, so the core never imports paramiko.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..model import secrets
from ..model.i18n import m
from ..model.plan import Plan
from ..model.problems import Problem, ProblemError
from .transport import Endpoint, Transport, TransportError

Factory = Callable[[Endpoint], Transport]


def transport_problem(exc: TransportError, step: str | None = None) -> Problem:
    return Problem(message=exc.message, hint=exc.hint, node=exc.node, step=step, code=f"ssh-{exc.kind}")


class Connections:
    def __init__(self, plan: Plan, factory: Factory, *, prompt: secrets.Prompt | None = None,
                 known_hosts: str | None = None) -> None:
        self.plan = plan
        self.factory = factory
        self.prompt = prompt
        self.known_hosts = known_hosts
        self._open: dict[str, Transport] = {}
        self._locks: dict[str, threading.Lock] = {n.name: threading.Lock() for n in plan.nodes}
        self._secret_lock = threading.Lock()
        self._secret_cache: dict[str, str] = {}

    def endpoint(self, name: str) -> Endpoint:
        node = self.plan.node(name)
        ssh = node.ssh
        return Endpoint(
            node=node.name,
            host=self.plan.address_of(node),
            port=ssh.port,
            user=ssh.user,
            auth=ssh.auth,
            key_path=ssh.key,
            password=self._secret(ssh.password, m("SSH password for {node}", node=f"{ssh.user}@{node.name}")) if ssh.auth == "password" else None,
            sudo_password=self._secret(ssh.sudo_password, m("sudo password for {node}", node=f"{ssh.user}@{node.name}")) if ssh.sudo_password else None,
            host_key=ssh.host_key,
            known_hosts=self.known_hosts,
        )

    def _secret(self, ref: str | None, label: str) -> str | None:
        if ref is None:
            return None
        with self._secret_lock:  # one prompt at a time; `prompt` asked once per reference
            key = ref if ref != "prompt" else f"prompt:{label}"
            if key not in self._secret_cache:
                try:
                    self._secret_cache[key] = secrets.resolve(ref, label, self.prompt)
                except secrets.SecretError as exc:
                    raise ProblemError(Problem(message=exc.message, hint=exc.hint, code="secret")) from None
            return self._secret_cache[key]

    def resolved_secrets(self) -> list[str]:
        """The SSH and sudo passwords resolved so far (for masking)."""
        with self._secret_lock:
            return list(self._secret_cache.values())

    def get(self, name: str) -> Transport:
        with self._locks[name]:
            if name not in self._open:
                self._open[name] = self.factory(self.endpoint(name))
            return self._open[name]

    def drop(self, name: str) -> None:
        """Forget a connection (after it failed), so the next get reconnects."""
        with self._locks[name]:
            t = self._open.pop(name, None)
        if t is not None:
            t.close()

    def close_all(self) -> None:
        for name in list(self._open):
            self.drop(name)

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc) -> None:
        self.close_all()
