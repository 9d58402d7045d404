"""Rewriting an answer file keeps the deployer's text.

A copy of the corpus base file gets comments in many places (whole-line
comments at every indentation, comments after values, blank lines, a quoted
value); onsite then pins host keys into it (the `pin` path of
`--accept-new-host-keys`, fed a fake set of keys; and on the lab, through
`onsite preflight --accept-new-host-keys` against real sshd) and the wizard
saves an edit into it (through Pilot). Every comment, blank line and
untouched line is still where it was; only the values that changed differ.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

import pytest

from installer.cli import common as cli_common
from installer.cli import main
from installer.model import answerfile, validate
from installer.model.plan import Plan
from installer.model.profile import load_profile
from installer.tui.app import OnsiteApp

BASE = (Path(__file__).parent / "corpus" / "base.yaml").read_text()
KEY1 = "SHA256:" + "A" * 43
KEY4 = "SHA256:" + "b" * 42 + "0"


def commented(base: str = BASE) -> str:
    out = ["# the deployer's own header\n", "# second line of it\n", "\n"]
    for i, line in enumerate(base.splitlines(keepends=True)):
        indent = " " * (len(line) - len(line.lstrip()))
        if i % 3 == 0:
            out.append(f"{indent}# note {i}: why this is so\n")
        if i % 4 == 1 and not line.rstrip().endswith(":"):
            line = line.rstrip("\n") + f"  # after {i}\n"
        if line == "  name: Campus North\n":
            line = "  name: 'Campus North'   # quoted on purpose\n"
        out.append(line)
        if i % 7 == 3:
            out.append("\n")
    out.append("# the end\n")
    return "".join(out)


def comments(text: str) -> list[tuple[int, str]]:
    """Every comment, with the number of content lines before it (a pinned
    host_key line, which onsite adds, is not counted)."""
    out, content = [], 0
    for line in text.splitlines():
        if re.match(r"\s*host_key: SHA256:", line):
            continue
        if "#" in line:
            out.append((content, line[line.index("#"):]))
        if line.strip() and not line.lstrip().startswith("#"):
            content += 1
    return out


def normalise(text: str) -> list[str]:
    """Lines with the values onsite changes taken out, and the space before a
    trailing comment made one (ruamel re-spaces a flow mapping it edits)."""
    text = re.sub(r", host_key: SHA256:[A-Za-z0-9+/]{43}", "", text)
    return [re.sub(r"\s+#", " #", line) for line in text.splitlines() if not re.match(r"\s*host_key: SHA256:", line)]


class _FakePinning:
    def __init__(self, keys: dict[str, str]) -> None:
        self.new_keys = keys


def test_pinning_host_keys_keeps_every_comment(tmp_path: Path, capsys):
    path = tmp_path / "site.yaml"
    original = commented()
    path.write_text(original)
    loaded = validate.validate_file(path)
    assert loaded.ok, [p.render() for p in loaded.problems]

    cli_common.pin(argparse.Namespace(file=str(path)), loaded, _FakePinning({"node1": KEY1, "escape": KEY4}))
    assert "host keys pinned" in capsys.readouterr().out

    text = path.read_text()
    assert (tmp_path / "site.yaml.bak").read_text() == original
    assert comments(text) == comments(original)
    assert normalise(text) == normalise(original)
    again = validate.validate_file(path)
    assert again.ok
    assert again.plan.node("node1").ssh.host_key == KEY1
    assert again.plan.node("escape").ssh.host_key == KEY4
    assert again.plan.node("node2").ssh.host_key is None


def test_the_wizard_saves_into_a_commented_file_keeping_every_comment(tmp_path: Path):
    path = tmp_path / "site.yaml"
    original = commented()
    path.write_text(original)

    async def go():
        app = OnsiteApp(path, autostart=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.state.set("site.name", "Campus South")
            app.state.set("vips[1].check.fall", 5)
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("enter")  # the dialog proposes the file's own path
            await pilot.pause()
            assert not app.state.dirty

    asyncio.run(go())
    text = path.read_text()
    expected = original.replace("  name: 'Campus North'   # quoted", "  name: 'Campus South'   # quoted").replace(
        "check: {interval: 10, fall: 6, rise: 2}", "check: {interval: 10, fall: 5, rise: 2}")
    assert normalise(text) == normalise(expected)
    assert comments(text) == comments(expected)
    result = validate.validate_file(path)
    assert result.ok and result.plan.site_name == "Campus South"


def test_pin_then_wizard_save_then_pin_again(tmp_path: Path):
    """Both rewrites, one after the other, on one file: nothing else moves."""
    path = tmp_path / "site.yaml"
    original = commented()
    path.write_text(original)
    loaded = validate.validate_file(path)
    cli_common.pin(argparse.Namespace(file=str(path)), loaded, _FakePinning({"node2": KEY1}))

    async def go():
        app = OnsiteApp(path, autostart=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.state.set("network.ntp", ["ntp.campus.example", "ntp2.campus.example"])
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()

    asyncio.run(go())
    text = path.read_text()
    assert comments(text) == comments(original)
    assert normalise(text) == normalise(original.replace("ntp: [ntp.campus.example]", "ntp: [ntp.campus.example, ntp2.campus.example]"))
    assert validate.validate_file(path).plan.node("node2").ssh.host_key == KEY1


def test_a_new_file_has_onsite_layout_and_a_rewrite_of_it_changes_one_line(tmp_path: Path):
    profile = load_profile("reference")
    plan = answerfile.starting_plan(profile, site="north", subnet="10.20.30.0/24")
    path = tmp_path / "new.yaml"
    answerfile.write(plan, path, profile)  # not there yet: onsite's own layout
    first = path.read_text()
    assert first == answerfile.render(plan, profile, name="new.yaml")
    answerfile.write(plan, path, profile)  # the same plan: not one byte changes
    assert path.read_text() == first
    plan.node("node3").nic = "ens192"
    answerfile.write(plan, path, profile)
    changed = [(a, b) for a, b in zip(first.splitlines(), path.read_text().splitlines(), strict=True) if a != b]
    assert changed == [("    nic: eth0", "    nic: ens192")]


def test_new_text_that_yaml_1_1_would_misread_is_quoted(tmp_path: Path):
    """ruamel writes YAML 1.2, where `no` is text; the reader (and YAML 1.1
    tools) would read it as false. A value onsite writes reads back as itself."""
    profile = load_profile("reference")
    path = tmp_path / "site.yaml"
    path.write_text(BASE)
    plan = validate.validate_file(path).plan
    assert isinstance(plan, Plan)
    plan.components["sentinel"] = {"master_name": "no"}
    plan.components["rocketmq-broker"]["brokerName"] = "0123"
    answerfile.write(plan, path, profile)
    again = validate.validate_file(path)
    assert again.ok, [p.render() for p in again.problems]
    assert again.plan.components["sentinel"]["master_name"] == "no"
    assert again.plan.components["rocketmq-broker"]["brokerName"] == "0123"


@pytest.mark.lab
def test_preflight_pins_host_keys_into_a_commented_file(lab, tmp_path: Path, capsys):
    """The real path: `onsite preflight --accept-new-host-keys` against the
    lab's sshd pins every node's key; the deployer's comments stay."""
    unpinned = re.sub(r"\n      host_key: SHA256:\S+", "", lab.answer_file.read_text())
    assert "host_key: SHA256" not in unpinned
    answer = tmp_path / "site.yaml"
    original = commented(unpinned)
    answer.write_text(original)
    code = main(["preflight", str(answer), "--accept-new-host-keys"])
    out = capsys.readouterr().out
    assert code in (0, 1), out  # a blocker on the lab is fine here; the keys are pinned either way
    assert "host keys pinned in" in out
    text = answer.read_text()
    for node in lab.nodes:
        assert f"host_key: {node.host_key}" in text
    assert comments(text) == comments(original)
    assert normalise(text) == normalise(original)
    assert main(["validate", str(answer)]) == 0


def test_windows_line_ends_and_a_bom_stay(tmp_path: Path):
    path = tmp_path / "site.yaml"
    original = "\ufeff" + commented().replace("\n", "\r\n")
    path.write_bytes(original.encode("utf-8"))
    loaded = validate.validate_file(path)
    assert loaded.ok
    loaded.plan.node("node3").ssh.host_key = KEY1
    answerfile.write(loaded.plan, path, loaded.profile)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == raw.count(b"\r\n") == original.count("\n")
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    assert comments(text) == comments(commented())
    assert normalise(text) == normalise(commented())
