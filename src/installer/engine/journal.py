"""The install journal: what ran where, written before and after every step.

One folder per site, next to the answer file by default:
    <answer file's folder>/onsite-journal/<site>/
        journal.json      plan hash and plan (references only, no secrets),
                          bundle versions, per node and step: status, times,
                          exit code, attempts, message
        logs/<node>/<step>.log   timestamped stdout/stderr, secrets masked
        preflight.json    the last preflight's results

Every write goes to a temporary file that is fsync'ed and renamed over the
journal, then the folder is fsync'ed: a crash or a power cut leaves the old
or the new journal, never half of one.

Statuses: pending, running, done, failed, unknown (was running when the
installer stopped hard: the step may or may not have finished).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..model.plan import Plan

PENDING, RUNNING, DONE, FAILED, UNKNOWN = "pending", "running", "done", "failed", "unknown"
FORMAT = 1


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def site_slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "site"
    return slug[:64]


def default_dir(answer_file: Path, plan: Plan) -> Path:
    return Path(answer_file).resolve().parent / "onsite-journal" / site_slug(plan.site_name)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def plan_changes(old: Any, new: Any, path: str = "") -> list[str]:
    """Field paths that differ between two plans' data."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.append(f"{sub} (added)")
            elif k not in new:
                out.append(f"{sub} (removed)")
            else:
                out.extend(plan_changes(old[k], new[k], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in plan_changes(a, b, f"{path}[{i}]")]
    return [] if old == new else [path or "(top level)"]


def unfinished(folder: Path, plan: Plan) -> bool:
    """Is there an earlier install of this plan that stopped before the end?"""
    if not Journal.exists(folder):
        return False
    j = Journal.load(folder)
    return not j.complete and j.data.get("plan_hash") == plan.fingerprint()


class Journal:
    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.data = data
        self.lock = threading.Lock()

    @property
    def file(self) -> Path:
        return self.folder / "journal.json"

    def log_path(self, node: str, step: str) -> Path:
        return self.folder / "logs" / node / f"{step}.log"

    @classmethod
    def exists(cls, folder: Path) -> bool:
        return (Path(folder) / "journal.json").is_file()

    @classmethod
    def load(cls, folder: Path) -> Journal:
        with open(Path(folder) / "journal.json", encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != FORMAT:
            raise ValueError(f"journal format {data.get('format')!r} is not {FORMAT}")
        return cls(folder, data)

    @classmethod
    def create(cls, folder: Path, plan: Plan, bundles: dict[str, str], keys: list[str]) -> Journal:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        data = {
            "format": FORMAT,
            "site": plan.site_name,
            "plan_hash": plan.fingerprint(),
            "plan": plan.to_data(),
            "bundles": bundles,
            "created": now(),
            "updated": now(),
            "finished": None,
            "steps": {k: {"status": PENDING} for k in keys},
        }
        j = cls(folder, data)
        j.save()
        return j

    def save(self) -> None:
        self.data["updated"] = now()
        write_json_atomic(self.file, self.data)

    def record(self, key: str) -> dict[str, Any]:
        return self.data["steps"].setdefault(key, {"status": PENDING})

    def status(self, key: str) -> str:
        return self.record(key).get("status", PENDING)

    def update(self, key: str, **fields: Any) -> None:
        """Change one step's record and write the journal through to disk."""
        with self.lock:
            self.record(key).update(fields)
            self.save()

    def ensure_steps(self, keys: list[str]) -> None:
        with self.lock:
            for k in keys:
                self.record(k)
            self.save()

    def mark_running_unknown(self) -> list[str]:
        """After a hard stop: steps that were running may or may not have finished."""
        with self.lock:
            changed = [k for k, r in self.data["steps"].items() if r.get("status") == RUNNING]
            for k in changed:
                self.data["steps"][k].update(status=UNKNOWN, message="the installer stopped while it ran")
            if changed:
                self.save()
            return changed

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.data["steps"].values():
            out[r.get("status", PENDING)] = out.get(r.get("status", PENDING), 0) + 1
        return out

    @property
    def complete(self) -> bool:
        return all(r.get("status") == DONE for r in self.data["steps"].values())
