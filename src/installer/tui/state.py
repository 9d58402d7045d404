"""The wizard's state: the answer-file data being edited, and what the core
says about it. No Textual here: the pages read and write through this.

Every change re-validates the whole plan with the core validator (a few
milliseconds), so a message under a field is the same message `onsite
validate` prints, at the same field path.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from ..model import answerfile, fieldpath, ipplan, validate, yamlio
from ..model.i18n import m
from ..model.plan import SECRET_REF, Plan
from ..model.problems import Problem, ProblemError, Problems, format_path
from ..model.profile import Profile, load_profile
from ..model.resources import data_path

SECRET_FIELDS = ("password", "sudo_password")


@dataclasses.dataclass(frozen=True)
class FieldDef:
    path: str
    label: str
    kind: str = "text"
    help: str = ""
    optional: bool = False
    choices: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PageDef:
    id: str
    title: str
    help: str
    fields: tuple[FieldDef, ...] = ()
    node_fields: tuple[FieldDef, ...] = ()
    slots: bool = False


def load_pages() -> list[PageDef]:
    raw = yamlio.load_trusted(data_path("screens", "pages.yaml"))
    pages = []
    for p in raw["pages"]:
        def fields(key: str) -> tuple[FieldDef, ...]:
            return tuple(FieldDef(**{**f, "choices": tuple(f.get("choices", ()))}) for f in p.get(key, []))

        pages.append(PageDef(id=p["id"], title=p["title"], help=p.get("help", "").strip(), fields=fields("fields"),
                             node_fields=fields("node_fields"), slots=bool(p.get("slots"))))
    return pages


class WizardState:
    def __init__(self, data: dict[str, Any] | None = None, path: Path | None = None) -> None:
        profile = load_profile("reference")
        self.data: dict[str, Any] = data if data is not None else answerfile.starting_plan(profile).to_data()
        self.path = path
        self.dirty = False
        self.validation: validate.Validation = validate.validate_data(self.data, str(path) if path else None)
        self.network_findings: list[Problem] = []  # the last network check's, at their fields (engine.netcheck)
        self.revalidate()

    # -- loading ------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> WizardState:
        """Open an answer file, valid or not; raises ProblemError when it
        cannot even be read as YAML (the problem says where)."""
        doc = yamlio.read_file(path)
        if not isinstance(doc.data, dict):
            raise ProblemError(Problem(message=m("not an answer file (expected `key: value` sections)"), file=str(path),
                                       hint=m("open a file written by onsite init or the wizard")))
        return cls(doc.data, path)

    # -- what the core says ----------------------------------------------------------
    def revalidate(self) -> None:
        self.validation = validate.validate_data(self.data, str(self.path) if self.path else None)

    @property
    def problems(self) -> Problems:
        return self.validation.problems

    @property
    def profile(self) -> Profile:
        return self.validation.profile or load_profile("reference")

    @property
    def plan(self) -> Plan | None:
        return self.validation.plan if self.validation.ok else None

    def problems_at(self, path: str) -> list[Problem]:
        target = fieldpath.parse(path)
        return [p for p in self.problems.sorted() if p.path and fieldpath.covers(target, tuple(p.path))]

    def exact_problems(self, path: str) -> list[Problem]:
        """The problems at this field: the validator's first, then the last
        network check's."""
        target = fieldpath.parse(path)
        return [p for p in [*self.problems.sorted(), *self.network_findings] if tuple(p.path) == target]

    def set_network_findings(self, problems: list[Problem]) -> None:
        self.network_findings = list(problems)

    # -- editing --------------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        return fieldpath.get(self.data, path, default)

    def set(self, path: str, value: Any) -> None:
        old = fieldpath.get(self.data, path)
        if old == value:
            return
        fieldpath.set(self.data, path, value)
        parts = fieldpath.parse(path)
        # a network finding is about the value it probed: gone once the field (or the subnet) changes
        self.network_findings = [p for p in self.network_findings if tuple(p.path) != parts and parts != ("network", "subnet")]
        if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "name" and isinstance(old, str):
            self._rename_references(old, value)
        self.dirty = True
        self.revalidate()

    def _rename_references(self, old: str, new: Any) -> None:
        """A renamed node stays a member of its VIPs, with its priority."""
        if not isinstance(new, str):
            return  # (an empty name is carried too, so typing after clearing keeps the link)
        for vip in self.data.get("vips") or []:
            if not isinstance(vip, dict):
                continue
            members = vip.get("members")
            if isinstance(members, list):
                vip["members"] = [new if m == old else m for m in members]
            prios = vip.get("priorities")
            if isinstance(prios, dict) and old in prios:
                vip["priorities"] = {(new if k == old else k): v for k, v in prios.items()}

    def set_text(self, field: FieldDef, path: str, text: str) -> None:
        """Set a field from what was typed, by the field's kind."""
        text = text.strip()
        value: Any
        if field.kind == "int":
            value = int(text) if text.lstrip("-").isdigit() else text  # let the validator word the error
        elif field.kind == "list":
            value = [x.strip() for x in text.split(",") if x.strip()]
            if not value and field.optional:
                value = None
        else:
            value = text if text or not field.optional else None
        self.set(path, value)

    def text_of(self, field: FieldDef, path: str) -> str:
        value = self.get(path)
        if value is None:
            return ""
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value)

    def toggle_role(self, node_index: int, role: str) -> None:
        roles = list(self.get(f"nodes[{node_index}].roles", []) or [])
        if role in roles:
            roles.remove(role)
        else:
            roles.append(role)
        self.set(f"nodes[{node_index}].roles", roles)

    def suggest_ips(self) -> str:
        """Fill the IP sheet from the subnet; returns a sentence for the deployer."""
        subnet = self.get("network.subnet", "")
        gateway = self.get("network.gateway") or None
        servers = [x for x in (self.get("network.dns") or []) + (self.get("network.ntp") or [])
                   if isinstance(x, str) and x.count(".") == 3 and x.replace(".", "").isdigit()]
        try:
            ips = ipplan.propose(subnet, list(self.profile.slots), gateway=gateway, taken=servers)
        except (ipplan.IpPlanError, ValueError) as exc:
            return m("cannot suggest: {reason}", reason=str(exc))
        if not gateway:
            self.set("network.gateway", ipplan.default_gateway(subnet))
        self.set("ips", ips)
        return m("suggested {addresses}", addresses=", ".join(f"{k} {v}" for k, v in ips.items()))

    # -- saving ----------------------------------------------------------------------
    def save(self, path: Path) -> list[str]:
        """Write the answer file (a draft when it is not valid yet). Secret
        fields that hold anything but a reference are replaced by `prompt`:
        a password typed into the wizard never reaches the disk. Returns what
        was changed so."""
        data = copy.deepcopy(self.data)
        scrubbed = []
        for i, node in enumerate(data.get("nodes") or []):
            ssh = node.get("ssh") if isinstance(node, dict) else None
            if isinstance(ssh, dict):
                for key in SECRET_FIELDS:
                    if key in ssh and not (isinstance(ssh[key], str) and SECRET_REF.match(ssh[key])):
                        ssh[key] = "prompt"
                        scrubbed.append(format_path(("nodes", i, "ssh", key)))
        secrets = data.get("secrets")
        if isinstance(secrets, dict):
            for key, value in secrets.items():
                if not (isinstance(value, str) and SECRET_REF.match(value)):
                    secrets[key] = "prompt"
                    scrubbed.append(format_path(("secrets", key)))
        # An existing file is edited in place (the deployer's comments and
        # layout stay); a new one is written in onsite's layout, as a draft
        # when it is not valid yet.
        result = validate.validate_data(data)
        if result.ok:
            new_text = answerfile.render(result.plan, result.profile, name=path.name)
        else:
            new_text = "# onsite answer file: a DRAFT, not valid yet (onsite validate shows what is missing)\n" + yamlio.dump(data)
        answerfile.save_data(data, path, new_text)
        if scrubbed:
            fieldpath_set_all(self.data, scrubbed)
        self.path = path
        self.dirty = False
        self.revalidate()
        return scrubbed


def fieldpath_set_all(data: dict[str, Any], paths: list[str]) -> None:
    for p in paths:
        fieldpath.set(data, p, "prompt")


# Which page holds a problem's field: the first path component decides.
PAGE_OF = {"site": "site", "network": "network", "ips": "network", "vips": "network", "ports": "ports",
           "components": "ports", "secrets": "review", "version": "review"}


def page_of(problem: Problem) -> str:
    path = tuple(problem.path)
    if not path:
        return "review"
    if path[0] == "nodes":
        return "ssh" if len(path) > 2 and path[2] == "ssh" else "nodes"
    return PAGE_OF.get(str(path[0]), "review")
