"""Clients of the reference system that keep working while a day-2
operation runs, as the customer's applications would, from this machine
(the lab's host, on the nodes' subnet):

- a writer: one numbered row at a time into PostgreSQL through whichever
  node leads now (libpq multi-host, target_session_attrs=read-write), a new
  connection per row, every ~0.1 s. A row is *acknowledged* when psql
  exits 0 after its INSERT (the commit returned).
- a RADIUS client: an Access-Request for the bundle's probe user to the
  service VIP (IP6) every ~0.2 s.

After the block, `report` says how many rows were acknowledged, which of
them are missing now (`lost`: must be empty), and each client's longest
gap between two successes (the outage the customer saw).

    with ClientLoop(lab, answer) as loop:
        ...  # the operation
    print(loop.report.describe())
    assert not loop.report.lost
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from installer.engine import probes
from installer.model import validate

TABLE = "onsite_client_probe"


@dataclasses.dataclass
class ClientReport:
    acked: int = 0
    failed: int = 0
    lost: list[int] = dataclasses.field(default_factory=list)
    longest_gap: dict[str, float] = dataclasses.field(default_factory=dict)
    radius_ok: int = 0
    radius_failed: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        gaps = ", ".join(f"{k} {v:.1f} s" for k, v in self.longest_gap.items())
        return (f"clients over {self.seconds:.0f} s: {self.acked} rows acknowledged ({self.failed} attempts failed), "
                f"{len(self.lost)} lost; RADIUS {self.radius_ok} answered, {self.radius_failed} not; "
                f"longest gap: {gaps}")


class ClientLoop:
    def __init__(self, lab, answer: Path, *, interval: float = 0.1, radius_interval: float = 0.2) -> None:
        loaded = validate.validate_file(answer)
        plan, profile = loaded.plan, loaded.profile
        self.lab = lab
        self.hosts = [plan.address_of(n) for n in plan.nodes_with_role("postgres")]
        self.port = plan.port(profile, "patroni", "postgres")
        self.radius = (plan.ips["IP6"], plan.port(profile, "radius", "auth"))
        self.radius_secret = lab.secret_file("radius_shared_secret").read_text().strip()
        self.interval, self.radius_interval = interval, radius_interval
        self._dir = tempfile.TemporaryDirectory(prefix="onsite-clients-")
        passfile = Path(self._dir.name) / "pgpass"
        password = lab.secret_file("postgres_superuser").read_text().strip().replace("\\", "\\\\").replace(":", "\\:")
        passfile.write_text("".join(f"{h}:{self.port}:*:postgres:{password}\n" for h in self.hosts))
        passfile.chmod(0o600)
        self.env = {**os.environ, "PGPASSFILE": str(passfile), "PGCONNECT_TIMEOUT": "2"}
        self.dsn = (f"host={','.join(self.hosts)} port={self.port} user=postgres dbname=postgres "
                    "target_session_attrs=read-write connect_timeout=2")
        self.report = ClientReport()
        self._stop = threading.Event()
        self._acked: list[int] = []
        self._ok_times: dict[str, list[float]] = {"postgres": [], "radius": []}
        self._threads: list[threading.Thread] = []
        self._t0 = 0.0

    def psql(self, sql: str, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", self.dsn, "-c", sql], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    # -- the clients ---------------------------------------------------------------
    def _writer(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                res = self.psql(f"insert into {TABLE} (n) values ({n})", timeout=10)
                ok = res.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False  # unknown: not acknowledged
            if ok:
                self._acked.append(n)
                self._ok_times["postgres"].append(time.monotonic())
            else:
                self.report.failed += 1
            self._stop.wait(self.interval)

    def _radius(self) -> None:
        password = probes.probe_password(self.radius_secret, probes.PROBE_USER)
        while not self._stop.is_set():
            try:
                answer = probes.access_request(*self.radius, self.radius_secret, probes.PROBE_USER, password,
                                               timeout=1.0, tries=1)
                ok = answer.code == probes.ACCESS_ACCEPT
            except probes.ProbeError:
                ok = False
            if ok:
                self.report.radius_ok += 1
                self._ok_times["radius"].append(time.monotonic())
            else:
                self.report.radius_failed += 1
            self._stop.wait(self.radius_interval)

    # -- start, stop, check -----------------------------------------------------------
    def __enter__(self) -> ClientLoop:
        res = self.psql(f"create table if not exists {TABLE} (n int primary key, at timestamptz default now()); "
                        f"truncate {TABLE}", timeout=30)
        if res.returncode != 0:
            raise AssertionError(f"the client cannot reach PostgreSQL: {res.stderr.strip()}")
        self._t0 = time.monotonic()
        for target in (self._writer, self._radius):
            t = threading.Thread(target=target, daemon=True, name=f"client-{target.__name__}")
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        end = time.monotonic()
        self.report.seconds = end - self._t0
        self.report.acked = len(self._acked)
        for name, times in self._ok_times.items():
            marks = [self._t0, *times, end]
            self.report.longest_gap[name] = max(b - a for a, b in zip(marks, marks[1:], strict=False))
        if exc[0] is None:
            self.report.lost = self.missing()
        self._dir.cleanup()

    def missing(self, timeout: float = 120) -> list[int]:
        """Acknowledged rows not in the table now, asked of the current
        leader (waiting for one while the cluster settles)."""
        deadline = time.monotonic() + timeout
        while True:
            res = self.psql(f"select n from {TABLE}", timeout=30)
            if res.returncode == 0:
                present = {int(x) for x in res.stdout.split()}
                return [n for n in self._acked if n not in present]
            if time.monotonic() > deadline:
                raise AssertionError(f"no PostgreSQL leader answers after the operation: {res.stderr.strip()}")
            time.sleep(1)


__all__ = ["ClientLoop", "ClientReport"]
