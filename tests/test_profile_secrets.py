"""Every secret a bundle script uses is declared by the component of its step
in the profile (`components.*.secrets`): a step receives only its
component's secrets, so an undeclared one would arrive empty.

A script uses a secret when its text names ONSITE_SECRET_<NAME>, or calls a
helper of lib/*.sh that does (radius_probe, probe_password), or runs a render
script that does (`bash render/X.sh`, and a vendor step's renderers named in
lib/vendor.sh).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from installer.model.profile import load_profile

from .conftest import repo_root

BUNDLES = repo_root() / "bundles"
SECRET = re.compile(r"ONSITE_SECRET_([A-Z0-9_]+)")
FUNC = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{", re.M)


def _functions(bundle: Path) -> dict[str, str]:
    """name -> body of every function of the bundle's lib/*.sh."""
    out: dict[str, str] = {}
    for lib in sorted((bundle / "lib").glob("*.sh")):
        text = lib.read_text()
        starts = list(FUNC.finditer(text))
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            out[m.group(1)] = text[m.start():end]
    return out


def _without_functions(text: str) -> str:
    """A lib file's text outside its function bodies (what sourcing it runs)."""
    starts = list(FUNC.finditer(text))
    return text[:starts[0].start()] if starts else text


def _vendor_renderers(bundle: Path, step_id: str) -> list[str]:
    lib = bundle / "lib/vendor.sh"
    if not lib.exists():
        return []
    for line in lib.read_text().splitlines():
        if line.strip().startswith(f"{step_id})"):
            return re.findall(r'"([a-z0-9-]+\.sh):', line)
    return []


def secrets_used(bundle: Path, script: str, step_id: str = "", seen: set[str] | None = None) -> set[str]:
    """The profile secret names (lower case) SCRIPT and what it runs use."""
    seen = set() if seen is None else seen
    if script in seen:
        return set()
    seen.add(script)
    text = (bundle / script).read_text()
    funcs = _functions(bundle)
    used = set(SECRET.findall(text))
    for src in re.findall(r"^\s*\.\s+(lib/[a-z0-9-]+\.sh)", text, re.M):
        used |= set(SECRET.findall(_without_functions((bundle / src).read_text())))
    # helpers called, and the helpers they call
    todo, called = [text], set()
    while todo:
        body = todo.pop()
        for name, fbody in funcs.items():
            if name not in called and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])(?!\(\))", body):
                called.add(name)
                used |= set(SECRET.findall(fbody))
                todo.append(fbody)
    renders = re.findall(r"bash\s+(render/[a-z0-9-]+\.sh)", text)
    if "lib/vendor.sh" in text:
        renders += [f"render/{r}" for r in _vendor_renderers(bundle, step_id)]
    for r in renders:
        used |= secrets_used(bundle, r, step_id, seen)
    return {u.lower() for u in used}


def _entries():
    for bdir in sorted(p for p in BUNDLES.iterdir() if (p / "bundle.yaml").exists()):
        manifest = yaml.safe_load((bdir / "bundle.yaml").read_text())
        for kind in ("steps", "verify"):
            for entry in manifest.get(kind) or []:
                for key in ("script", "check"):
                    if entry.get(key):
                        yield pytest.param(bdir, kind, entry, entry[key], id=f"{bdir.name}:{entry['id']}:{key}")


@pytest.mark.parametrize(("bundle", "kind", "entry", "script"), list(_entries()))
def test_each_script_uses_only_the_secrets_of_its_component(bundle, kind, entry, script):
    profile = load_profile("reference")
    used = secrets_used(bundle, script, entry["id"])
    comp = profile.components.get(entry.get("component", ""))
    declared = set(comp.secrets) if comp is not None else set()
    if kind == "verify" and entry.get("secrets") is not None:
        declared = set(entry["secrets"])  # a verify entry may name its own
    assert used <= declared, (
        f"{bundle.name}/{script} (step {entry['id']}, component {entry.get('component', '-')}) uses "
        f"{sorted(used - declared)}, which the profile does not declare for that component")


def test_the_scan_sees_secrets_through_helpers_and_renderers():
    ref = BUNDLES / "reference"
    assert secrets_used(ref, "steps/keepalived.sh") == {"radius_shared_secret"}  # probe_password, health file
    assert secrets_used(ref, "steps/service-vip-ready.sh") == {"radius_shared_secret"}  # radius_probe
    assert secrets_used(ref, "steps/patroni-ready.sh") == {"postgres_superuser"}  # lib/patroni.sh
    assert secrets_used(ref, "steps/sentinel.sh") == {"redis_password"}  # render/sentinel.sh
    assert secrets_used(ref, "steps/etcd.sh") == set()
    assert secrets_used(ref, "steps/packages.sh") == set()


def test_every_declared_secret_exists_in_the_profile():
    profile = load_profile("reference")
    for comp in profile.components.values():
        assert set(comp.secrets) <= set(profile.secrets), comp.name
