"""The CLI as an interface automation builds on: every subcommand and option
has help and an example, completion scripts load, and the JSON of every
command (and every --events line) validates against its documented schema
(schemas/cli/, printed by `onsite schema --output COMMAND`)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import pytest

from installer.cli import main
from installer.cli.main import build_parser
from installer.engine import bundle

from .conftest import repo_root, runner_site

SCHEMAS = repo_root() / "schemas" / "cli"


def _subparsers(parser: argparse.ArgumentParser, path: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                yield f"{path}{name}", sp
                yield from _subparsers(sp, f"{path}{name} ")


def test_every_subcommand_has_a_description_an_example_and_help_on_every_option():
    seen = []
    for path, sp in _subparsers(build_parser()):
        seen.append(path)
        text = sp.format_help()
        assert sp.description, path
        assert "\nexample:\n  onsite " in text, path
        for action in sp._actions:
            assert action.help, f"onsite {path}: {action.option_strings or action.dest} has no help"
    assert {"install", "preflight", "verify", "push", "status", "bundle build", "lab up", "completion"} <= set(seen)
    top = build_parser().format_help()
    assert "exit codes:" in top and "example:" in top


def test_completion_scripts_are_generated_and_bash_loads_them(tmp_path, capsys):
    for shell in ("bash", "zsh", "fish"):
        assert main(["completion", shell]) == 0
        text = capsys.readouterr().out
        assert "onsite" in text and "install" in text and "preflight" in text, shell
        (tmp_path / shell).write_text(text)
    out = subprocess.run(["bash", "-c", f"source {tmp_path / 'bash'} && complete -p onsite"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "onsite" in out.stdout
    if shutil.which("fish"):
        assert subprocess.run(["fish", "-n", str(tmp_path / "fish")]).returncode == 0


def test_every_output_schema_is_printed_and_is_a_valid_schema(capsys):
    for name in ("install", "preflight", "verify", "push", "status", "events"):
        assert main(["schema", "--output", name]) == 0
        schema = json.loads(capsys.readouterr().out)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema == json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def _validate(name: str, doc) -> None:
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text())).validate(doc)


@pytest.mark.lab
def test_json_of_every_command_validates_against_its_schema(lab, tmp_path, capsys):
    for n in lab.nodes:
        lab.run(n.name, "rm -rf /var/lib/onsite-test /var/lib/onsite/run /var/lib/onsite/lock", check=False)
    site = runner_site(lab, tmp_path / "site.yaml")
    built = bundle.build(repo_root() / "tests/bundles/runner", tmp_path / "runner-test").root

    assert main(["preflight", str(site), "--bundle", str(built), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _validate("preflight", doc)
    assert doc["outcome"]["status"] == "ok" and {r["check"] for r in doc["preflight"]} >= {"ssh", "vips"}

    assert main(["install", str(site), "--bundle", str(built), "--events", "jsonl", "-v"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    for line in lines:
        _validate("events", line)
    assert lines[-1]["event"] == "Outcome" and lines[-1]["exit_code"] == 0
    kinds = {x["event"] for x in lines}
    assert {"PhaseStarted", "PhaseFinished", "CheckResult", "StepFinished", "TransferDone", "VerifyResult"} <= kinds
    assert "host key SHA256:" in captured.err  # -v: what onsite sees, on stderr
    [folder] = [p for p in (tmp_path / "onsite-journal").iterdir() if p.is_dir()]
    [runlog] = (folder / "runs").glob("*-install.log")
    text = runlog.read_text()
    assert "host key SHA256:" in text and "phase deliver took" in text and "install ended ok" in text
    assert oct(runlog.stat().st_mode & 0o777) == "0o600"

    assert main(["install", str(site), "--bundle", str(built), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _validate("install", doc)
    assert doc["steps"]["ran"] == 0 and doc["verify"]["ok"] is True

    assert main(["verify", str(site), "--bundle", str(built), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _validate("verify", doc)
    assert {c["name"] for c in doc["verify"]["checks"]} >= {f"marks:{n.name}" for n in lab.nodes}

    assert main(["push", str(site), "--bundle", str(built), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _validate("push", doc)
    assert doc["ok"] and len(doc["nodes"]) == len(lab.nodes)

    assert main(["status", str(site), "--format", "json"]) == 0
    _validate("status", json.loads(capsys.readouterr().out))

    # a refused install is a JSON document too, with the problems and exit code 2
    bad = tmp_path / "nobundles" / "site.yaml"
    bad.parent.mkdir()
    bad.write_text(lab.answer_file.read_text())
    assert main(["install", str(bad), "--format", "json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    _validate("install", doc)
    assert doc["outcome"]["phase"] == "bundles" and doc["outcome"]["problems"][0]["code"] == "component-missing"


def test_machine_output_keeps_stdout_json_only(tmp_path):
    """--format json on an invalid answer file: stdout is still one JSON document."""
    bad = tmp_path / "site.yaml"
    bad.write_text("version: 1\nsite: {name: x}\n")
    env = {**os.environ, "PYTHONPATH": str(repo_root() / "src")}
    out = subprocess.run([sys.executable, "-m", "installer", "preflight", str(bad), "--format", "json"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert json.loads(out.stdout)["ok"] is False


def test_verbose_log_follows_the_current_stderr_and_each_call_sets_it_anew(monkeypatch):
    """main() runs many times in one process (tests, scripts): -v's handler once
    kept the first call's stderr, and every later record became a logging error."""
    import io
    import logging

    from installer.cli.common import configure_logging

    log = logging.getLogger("onsite")
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(1)
    log.info("one")
    assert "onsite: one" in first.getvalue()
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    configure_logging(1)
    log.info("two")
    assert "onsite: two" in second.getvalue() and "Logging error" not in second.getvalue()
    assert sum(getattr(h, "onsite_console", False) for h in log.handlers) == 1
    configure_logging(0)
    log.info("three")
    assert "three" not in second.getvalue()


def test_status_table_is_in_the_chosen_language_and_shows_names_as_text(tmp_path, capsys, monkeypatch):
    """`onsite status` words (complete, done, pending, unknown) follow --lang; a step's name is
    printed as it is, never read as rich markup."""
    from installer.engine.journal import Journal
    from installer.model import validate

    monkeypatch.setenv("COLUMNS", "120")
    site = tmp_path / "site.yaml"
    shutil.copy(repo_root() / "tests" / "corpus" / "base.yaml", site)
    plan = validate.validate_file(site).plan
    folder = tmp_path / "journal"
    keys = ["node1/etcd", "node2/etcd", "node1/[red]x[/]"]
    jr = Journal.create(folder, plan, {}, keys)
    jr.update("node1/etcd", status="done")
    jr.update("node2/etcd", status="unknown")
    assert main(["--lang", "en", "status", str(site), "--journal-dir", str(folder)]) == 1  # incomplete
    out = capsys.readouterr().out
    assert ": not complete" in out and "✓ done" in out and "? unknown" in out and "· pending" in out
    assert "[red]x[/]" in out
    assert main(["--lang", "zh_CN", "status", str(site), "--journal-dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "未完成" in out and "✓ 完成" in out and "? 状态不明" in out and "· 待执行" in out and "[red]x[/]" in out
