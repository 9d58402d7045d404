"""Words in the deployer's language: the catalogue covers every word the code
shows, placeholders match, the PO reader reads what GNU msgfmt reads, the
language follows --lang, then LC_ALL / LC_MESSAGES / LANG, and the CLI's
human output is Chinese while its JSON stays English with stable codes."""

from __future__ import annotations

import copy
import gettext
import json
import os
import pickle
import re
import shutil
import subprocess
import sys

import pytest

from installer.cli import main
from installer.model import validate
from installer.model.i18n import (
    LOCALE_DIR,
    CatalogueError,
    Msg,
    catalogue,
    joined,
    language,
    language_from_environment,
    language_of,
    localized,
    m,
    parse_po,
    placeholders,
    set_language,
    t,
)

from .conftest import repo_root

sys.path.insert(0, str(repo_root() / "scripts"))
import i18n_messages  # noqa: E402

PO = LOCALE_DIR / "zh_CN.po"
BASE = (repo_root() / "tests" / "corpus" / "base.yaml").read_text()


# -- the catalogue ----------------------------------------------------------------------

def test_every_word_the_code_shows_has_a_chinese_entry():
    """t("...") / m("...") literals (AST walk of src/installer), counted(...)
    forms, footer key names, pages.yaml titles, help and labels."""
    used = i18n_messages.all_msgids()
    assert len(used) > 300  # the walk finds the code's words (a broken walk finds none)
    assert "Suggest addresses" in used and "{value} is not an IPv4 address" in used and "Toggle role" in used
    zh = catalogue("zh_CN")
    missing = {k: where for k, where in used.items() if k not in zh}
    assert not missing, "no zh_CN entry (run scripts/i18n_messages.py):\n" + "\n".join(f"{w}: {k!r}" for k, w in missing.items())


def test_placeholders_match_between_msgid_and_msgstr():
    zh = catalogue("zh_CN")
    bad = {k: v for k, v in zh.items() if placeholders(k) != placeholders(v)}
    assert not bad
    # and every translation formats with the values its English takes
    for k, v in zh.items():
        for value in (1, "x"):  # a number for {n:.1f}, text for {name}
            try:
                values = {p: value for p in placeholders(k)}
                k.format(**values)
            except (ValueError, TypeError):
                continue
            assert v.format(**values) if values else v
            break


def test_the_catalogue_has_no_stale_entries():
    """An entry no code uses any more is a translation nobody sees."""
    stale = set(catalogue("zh_CN")) - set(i18n_messages.all_msgids())
    assert not stale, sorted(stale)


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="GNU gettext's msgfmt is not installed")
def test_the_po_reader_reads_what_msgfmt_and_stdlib_gettext_read(tmp_path):
    """The shipped catalogue through GNU msgfmt --check and Python's own
    gettext (the .mo route) gives exactly what parse_po gives."""
    mo = tmp_path / "zh_CN.mo"
    res = subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(PO)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    with mo.open("rb") as f:
        trans = gettext.GNUTranslations(f)
    ours = catalogue("zh_CN")
    theirs = {k: v for k, v in trans._catalog.items() if k}  # type: ignore[attr-defined]
    assert theirs == ours


def test_po_reader_escapes_continuations_fuzzy_and_untranslated():
    text = r'''
# a comment
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\n"

#: here.py:1
msgid "two\n"
"lines \"quoted\" {n}"
msgstr "两行\n"
"“引号” {n}"

#, fuzzy
msgid "guessed"
msgstr "猜的"

msgid "not yet"
msgstr ""

msgid "tab\there"
msgstr "制表\t符"
'''
    cat = parse_po(text, "t.po")
    assert cat == {'two\nlines "quoted" {n}': "两行\n“引号” {n}", "tab\there": "制表\t符"}


@pytest.mark.parametrize("text, where", [
    ('msgid "a"\nmsgstr "b"\nmsgid "a"\nmsgstr "c"\n', "t.po:3"),
    ('msgid "a"\nmsgstr b\n', "t.po:2"),
    ('msgctxt "x"\nmsgid "a"\nmsgstr "b"\n', "t.po:1"),
    ('"stray"\n', "t.po:1"),
    ('msgid "a"\n\n', "t.po:1"),
])
def test_a_broken_catalogue_names_file_and_line(text, where):
    with pytest.raises(CatalogueError, match=where):
        parse_po(text, "t.po")


# -- choosing the language ----------------------------------------------------------------

@pytest.mark.parametrize("tag, lang", [
    ("zh_CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("zh_CN.GB18030", "zh_CN"), ("zh_SG", "zh_CN"), ("zh_Hans", "zh_CN"),
    ("zh-Hans-CN", "zh_CN"), ("zh", "zh_CN"), ("zh_CN.utf8@pinyin", "zh_CN"),
    ("zh_TW.UTF-8", "en"), ("zh_HK", "en"), ("zh_Hant", "en"), ("en_US.UTF-8", "en"), ("C", "en"), ("POSIX", "en"),
    ("C.UTF-8", "en"), ("de_DE", "en"), ("", "en"), (None, "en"),
])
def test_locale_names(tag, lang):
    assert language_of(tag) == lang


@pytest.mark.parametrize("env, lang", [
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LC_ALL": "zh_SG.UTF-8", "LANG": "en_US"}, "zh_CN"),
    ({"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN"}, "zh_CN"),  # empty counts as unset, as in libc
    ({"LANGUAGE": "zh_CN"}, "en"),  # LANGUAGE is not read (module docstring)
    ({}, "en"),
])
def test_the_environment_chooses_in_libc_order(env, lang):
    assert language_from_environment(env) == lang


def test_set_language_overrides_the_environment_and_none_follows_it_again(monkeypatch):
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    set_language(None)
    assert language() == "zh_CN" and t("Next") == "下一步"
    set_language("en")
    assert t("Next") == "Next"
    with pytest.raises(ValueError, match="zh_CN"):
        set_language("fr")


# -- messages made below the front ends -----------------------------------------------------

def test_a_message_is_english_text_that_a_front_end_shows_translated():
    msg = m("{slot} ({address}) is outside the subnet {subnet}", slot="IP3", address="10.9.9.9", subnet="10.20.30.0/24")
    assert msg == "IP3 (10.9.9.9) is outside the subnet 10.20.30.0/24" and isinstance(msg, str)
    assert json.dumps(msg) == json.dumps(str(msg))
    set_language("zh_CN")
    assert localized(msg) == "IP3（10.9.9.9）不在子网 10.20.30.0/24 内"
    assert str(msg) == "IP3 (10.9.9.9) is outside the subnet 10.20.30.0/24"  # the value itself stays English
    # nested parts are localized too, joined lists part by part, plain text passes as it is
    rng = m("{value} is out of range: {what} is {range}", value="70000", what=m("a port"), range=m("{lo} to {hi}", lo=1, hi=65535))
    assert localized(rng) == "70000 超出范围：端口应为 1 到 65535"
    assert localized(joined("; ", [m("{count} ports free", count=3), "raw {text}"])) == "3 个端口空闲; raw {text}"
    assert localized("node1") == "node1"
    # copies (the wizard deep-copies state) keep template and values
    for clone in (copy.deepcopy(msg), pickle.loads(pickle.dumps(msg))):
        assert isinstance(clone, Msg) and localized(clone) == localized(msg)


def test_a_missing_entry_falls_back_to_english():
    set_language("zh_CN")
    assert t("no such words {x}", x=1) == "no such words 1"
    assert localized(m("no such words either")) == "no such words either"


def test_validation_problems_are_english_and_localize_to_chinese():
    """The common problems a deployer meets first, through the real validator."""
    text = (BASE.replace("gateway: 10.20.30.1", "gateway: 10.20.31.1").replace("IP3: 10.20.30.13", "IP3: 10.20.30.300")
            .replace("IP4: 10.20.30.14", "IP4: 10.20.30.12"))
    problems = validate.validate_text(text, "site.yaml").problems
    set_language("zh_CN")
    shown = {p.code: (p.message, localized(p.message)) for p in problems}
    assert shown["pattern"] == ("'10.20.30.300' is not an IPv4 address", "'10.20.30.300' 不是 IPv4 地址")
    text = BASE.replace("gateway: 10.20.30.1", "gateway: 10.20.31.1").replace("IP4: 10.20.30.14", "IP4: 10.20.30.12")
    problems = validate.validate_text(text, "site.yaml").problems
    shown = {p.code: (p.message, localized(p.message), localized(p.hint)) for p in problems}
    assert shown["gateway-outside"][:2] == ("gateway 10.20.31.1 is outside the subnet 10.20.30.0/24", "网关 10.20.31.1 不在子网 10.20.30.0/24 内")
    assert shown["duplicate-address"][1] == "IP4 与 IP2 的地址相同（10.20.30.12）"
    assert shown["duplicate-address"][2] == "每个命名地址都必须不同"
    # the answer file as text: YAML, types
    [empty] = validate.validate_text("", "site.yaml").problems
    assert (empty.message, localized(empty.message)) == ("the file is empty", "文件为空")
    [dup] = validate.validate_text(BASE.replace("site:\n", "site:\n  name: A\n", 1), "site.yaml").problems
    assert localized(dup.message) == "键 'name' 在同一段落中出现了两次（第一次在第 3 行）" and dup.line == 4
    typed = validate.validate_text(BASE.replace("dns: [10.20.30.2]", "dns: {a: 1}"), "site.yaml").problems
    assert [localized(p.message) for p in typed] == ["应为列表，实际为段落"], [p.message for p in typed]


# -- the CLI ----------------------------------------------------------------------------------

def _bad_file(tmp_path, port: bool = False):
    path = tmp_path / ("port.yaml" if port else "site.yaml")
    path.write_text(BASE.replace("port: 22, auth: agent}", "port: 70000, auth: agent}", 1) if port
                    else BASE.replace("IP3: 10.20.30.13", "IP3: 10.20.99.13"))
    return path


def test_cli_human_output_follows_lang_and_json_stays_english(tmp_path, capsys):
    path = _bad_file(tmp_path)
    assert main(["--lang", "zh_CN", "validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "错误: ips.IP3: IP3（10.20.99.13）不在子网 10.20.30.0/24 内" in out
    assert "    提示: 六个地址都必须在节点所在的子网内" in out
    assert "1 个错误, 0 个警告" in out
    assert main(["--lang", "zh_CN", "validate", str(_bad_file(tmp_path, port=True))]) == 2
    out = capsys.readouterr().out
    assert "port.yaml:22:29: 错误: nodes[0].ssh.port: 70000 超出范围：端口应为 1 到 65535\n    提示: 请填写 1 到 65535 之间的数字" in out
    assert main(["--lang", "zh_CN", "validate", str(path), "--format", "json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert {(p["code"], p["message"]) for p in doc["problems"]} >= {("outside-subnet", "IP3 (10.20.99.13) is outside the subnet 10.20.30.0/24")}
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in json.dumps(doc, ensure_ascii=False))
    assert main(["--lang", "en", "validate", str(path)]) == 2
    assert "error: ips.IP3: IP3 (10.20.99.13) is outside the subnet 10.20.30.0/24" in capsys.readouterr().out


def test_cli_reads_lang_from_the_environment_and_a_valid_file_says_so(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(BASE)
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    env["PYTHONPATH"] = str(repo_root() / "src")
    run = subprocess.run([sys.executable, "-m", "installer", "validate", str(good)], capture_output=True, text=True,
                         env={**env, "LANG": "zh_CN.UTF-8"})
    assert run.returncode == 0 and run.stdout.strip() == f"{good}：校验通过", run
    run = subprocess.run([sys.executable, "-m", "installer", "validate", str(_bad_file(tmp_path))], capture_output=True,
                         text=True, env={**env, "LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"})
    assert run.returncode == 2 and "不在子网" in run.stderr + run.stdout, run
    run = subprocess.run([sys.executable, "-m", "installer", "--lang", "en", "validate", str(good)], capture_output=True,
                         text=True, env={**env, "LANG": "zh_CN.UTF-8"})
    assert run.stdout.strip() == f"{good}: valid", run
    # --lang is a global option and an option of the wizard; anything else is refused with the choices
    run = subprocess.run([sys.executable, "-m", "installer", "--lang", "fr", "validate", str(good)], capture_output=True,
                         text=True, env=env)
    assert run.returncode == 2 and "zh_CN" in run.stderr and "Traceback" not in run.stderr


# -- the layout with double-width characters ------------------------------------------------

LABEL_CELLS = 15  # .field-label: width 16, one cell of padding (screens/onsite.tcss)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_field_label_fits_its_fixed_width_column(lang):
    """A label wider than its column is cut (Textual measures cells: a
    Chinese character takes two). Field labels of pages.yaml, the VIP rows of
    the Network page for the profile's VIPs, and the Welcome page's label."""
    from rich.cells import cell_len

    from installer.model.profile import load_profile
    from installer.tui.state import load_pages

    set_language(lang)
    labels = [t(f.label) for p in load_pages() for f in (*p.fields, *p.node_fields) if p.id != "nodes"]
    labels += [t(form, name=v) for v in load_profile("reference").vips for form in ("{name} id", "{name} every", "{name} after")]
    labels += [t("Answer file"), t("New port")]
    wide = [(label, cell_len(label)) for label in labels if cell_len(label) > LABEL_CELLS]
    assert not wide


def test_an_ssh_failure_is_english_and_localizes_to_chinese():
    """A real refused connection (a port nothing listens on) through the real transport."""
    import socket

    from installer.remote.connections import transport_problem
    from installer.remote.ssh_paramiko import connect
    from installer.remote.transport import Endpoint, TransportError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError) as caught:
        connect(Endpoint(node="node1", host="127.0.0.1", port=port, auth="agent"), connect_timeout=5)
    p = transport_problem(caught.value)
    assert (p.code, p.message) == ("ssh-refused", f"127.0.0.1:{port} refused the connection: nothing listens there")
    set_language("zh_CN")
    assert p.render(localize=True) == (f"节点 node1: 错误: 127.0.0.1:{port} 拒绝连接：该端口没有服务在监听\n"
                                       "    提示: 请检查节点上 sshd 是否在运行，以及 SSH 端口是否正确")


def test_the_chinese_pictures_at_80x24_show_every_footer_key_whole():
    """The footer does not wrap: at 80 columns too many or too long key names
    cut the last one. The committed pictures (tests/__snapshots__, compared
    with the app by test_wizard_snapshots.py) end their footer, on every page,
    with a whole key description."""
    import html
    import re

    set_language("zh_CN")
    descriptions = {t(d) for d, where in i18n_messages.code_msgids().items() if "Binding" in _line(where)}
    assert {"返回", "退出", "重查本节点"} <= descriptions
    folder = repo_root() / "tests" / "__snapshots__" / "test_wizard_snapshots"
    pictures = sorted(folder.glob("test_page_snapshot_zh_cn[[]*-80x24[]].svg"))
    assert len(pictures) == 10
    for svg in pictures:
        rows: dict[int, list[tuple[float, str]]] = {}
        for x, line, text in re.findall(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                                        r'clip-path="url\(#terminal-line-(\d+)\)">([^<]*)</text>', svg.read_text(encoding="utf-8")):
            rows.setdefault(int(line), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
        footer = "".join(text for _, text in sorted(rows[23])).strip()
        assert footer.startswith("esc 返回  ^n 下一步  f1 帮助"), (svg.name, footer)
        last = footer.rsplit("  ", 1)[-1].split(" ", 1)[-1]
        assert last in descriptions, (svg.name, footer)


def _line(where: str) -> str:
    """The source line a msgid was found on (file:line)."""
    path, _, line = where.rpartition(":")
    return (repo_root() / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]


# -- the commonest errors, end to end -----------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
# Three English words in a row: a sentence left untranslated. What may stay English is taken
# out first: `code`, 'quoted values', paths and the command lines a hint names.
_SENTENCE = re.compile(r"\b[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}\b")
_KEEP = re.compile(r"`[^`]*`|'[^']*'|(?:/[\w.*-]+)+/?|onsite [a-z-]+(?: [A-Z]+)?(?: --[a-z-]+)*")


def _said(out: str) -> list[str]:
    """The message and hint lines of human output, without the file:line: prefix."""
    lines = []
    for line in out.splitlines():
        for mark in ("错误: ", "提示: ", "error: ", "hint: "):
            if mark in line:
                lines.append(line.split(mark, 1)[1])
    return lines


def _common_errors(tmp_path):
    """(name, argv, English message, English hint) of the errors a deployer meets first."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "missing.yaml").write_text(BASE.replace("  gateway: 10.20.30.1\n", ""))
    (site / "outside.yaml").write_text(BASE.replace("IP3: 10.20.30.13", "IP3: 10.20.99.13"))
    (site / "port.yaml").write_text(BASE.replace("  haproxy: {frontend: 16443}\n", "  haproxy: {frontend: 6443}\n"))
    (site / "site.yaml").write_text(BASE)
    locked = tmp_path / "locked"
    (locked / "onsite-journal").mkdir(parents=True)
    (locked / "site.yaml").write_text(BASE)
    (locked / "onsite-journal" / "Campus-North.lock").write_text(json.dumps(
        {"host": "laptop-b", "pid": 4242, "command": "onsite install site.yaml", "started": "2026-11-24T01:00:00+00:00"}) + "\n")
    return [
        ("device", ["validate", "/dev/null"], "this is a device, not an answer file",
         "name a regular .yaml file; to read from a pipe, give `-` and redirect it to stdin"),
        ("missing field", ["validate", str(site / "missing.yaml")], "network: `gateway` is missing",
         "The default gateway of the subnet: an address inside it that no node or VIP uses."),
        ("outside the subnet", ["validate", str(site / "outside.yaml")], "ips.IP3: IP3 (10.20.99.13) is outside the subnet 10.20.30.0/24",
         "all six addresses are in the nodes' subnet"),
        ("duplicate port", ["validate", str(site / "port.yaml")],
         "ports.haproxy.frontend: on node node1, haproxy.frontend and kube-apiserver.api both use 6443/tcp",
         "give one of them another port under `ports:` (e.g. ports: {haproxy: {frontend: N}})"),
        ("locked site", ["install", str(locked / "site.yaml"), "--yes"],
         f"a stale lock: 'onsite install site.yaml' (pid 4242 on 'laptop-b', since '2026-11-24T01:00:00+00:00') ended without "
         f"unlocking ({locked / 'onsite-journal' / 'Campus-North.lock'})",
         "make sure that onsite no longer runs (it may have been killed or the laptop restarted), then run the same command with "
         "--break-lock"),
        ("missing bundle", ["install", str(site / "site.yaml"), "--yes"],
         f"components.etcd: no bundle installs etcd, which the plan puts on node1, node2, node3 (bundles looked for in "
         f"{site / 'bundles'}/*; found: none)",
         "copy the bundle that installs etcd next to the answer file (bundles/), name it with --bundle, or mark it "
         "`etcd: {external: true}` under components: if it is provided outside this install"),
    ]


def test_the_commonest_errors_read_in_chinese_and_stay_exact_in_english(tmp_path, capsys, monkeypatch):
    """A device, a missing field, an address outside the subnet, a port used twice, a locked
    site and a missing bundle, through the real CLI: in Chinese every message and hint is
    Chinese with no English sentence left; in English they are the exact English words."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    for name, argv, message, hint in _common_errors(tmp_path):
        assert main(["--lang", "en", *argv]) != 0, name
        out = capsys.readouterr()
        said = _said(out.out + out.err)
        assert message in said and hint in said, (name, said)
        assert not _CJK.search(out.out + out.err), name

        assert main(["--lang", "zh_CN", *argv]) != 0, name
        out = capsys.readouterr()
        said = _said(out.out + out.err)
        assert len(said) >= 2 and message not in said and hint not in said, (name, said)
        for line in said:
            assert _CJK.search(line), (name, line)
            rest = _KEEP.sub(" ", line)
            assert not _SENTENCE.search(rest), (name, line, _SENTENCE.search(rest))


def test_the_commonest_errors_stay_english_in_json(tmp_path, capsys):
    """--format json keeps the English words and the stable codes whatever the language."""
    for name, argv, message, _hint in _common_errors(tmp_path):
        if argv[0] != "validate":
            continue
        main(["--lang", "zh_CN", *argv, "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        assert not _CJK.search(json.dumps(doc, ensure_ascii=False)), name
        assert any(message.endswith(p["message"]) for p in doc["problems"]), (name, doc["problems"])


def test_text_from_a_node_is_cleaned_and_masked_and_a_message_stays_translatable():
    """What a node prints enters events through cleaned() and the Masker: a message (m()) keeps
    its template, so the Chinese front end still translates it, with its values escaped/masked."""
    from installer.engine.runner import Masker
    from installer.model.problems import cleaned

    msg = m("{node}: the check exited {status} without a verdict: {output}", node="node1", status=3,
            output="\x1b]0;owned\x07 pw=hunter22")
    safe = Masker(["hunter22"])(cleaned(msg))
    assert isinstance(safe, Msg) and str(safe) == r"node1: the check exited 3 without a verdict: \x1b]0;owned\x07 pw=********"
    set_language("zh_CN")
    shown = localized(safe)
    assert shown != str(safe) and "********" in shown and "\x1b" not in shown and "hunter22" not in shown
    # plain text: cleaned and masked as text; a secret not in any value of a message is still masked
    assert Masker(["s3cret!"])(cleaned("a\u202eb s3cret!")) == r"a\u202eb ********"
    odd = Msg("value {a}{b}", {"a": "s3c", "b": "ret!"})  # a secret split across two values
    assert "s3cret!" not in Masker(["s3cret!"])(odd)
    # what a server says inside a transport error (sudo's reply, a banner) is cleaned the same way
    from installer.remote.transport import TransportError

    err = TransportError("sudo-refused", "node1", m("sudo refused user {user}: {said}", user="ops", said="no\x1b[2J"), "hint\u202e")
    assert isinstance(err.message, Msg) and str(err.message) == r"sudo refused user ops: no\x1b[2J" and err.hint == r"hint\u202e"


def test_install_progress_reads_in_chinese_in_a_pipe_and_on_a_terminal():
    """The plain lines (a pipe, a log) and the live view (a terminal) of an install, in Chinese."""
    import io

    from rich.console import Console

    from installer.cli.install import PlainPrinter
    from installer.cli.live import LiveView
    from installer.engine import events
    from installer.engine.runner import StepFinished, StepOutput, StepStarted

    set_language("zh_CN")
    run = [events.TransferPlanned("node1", ("base",), 3_000_000, 2),
           events.TransferProgress("node1", "a.deb", 1_000_000, 3_000_000, 1e6, 2.0),
           StepStarted("node1", "etcd", "Start etcd", 2), StepOutput("node1", "etcd", "out", "listening"),
           StepFinished("node1", "etcd", "done", 1.0), StepStarted("node1", "[b]x[/b]", "Odd", 1)]
    out = io.StringIO()
    plain = PlainPrinter(out=out)
    view = LiveView(["node1"], ["etcd", "[b]x[/b]"], {"node1/etcd", "node1/[b]x[/b]"})
    for ev in run:
        plain(ev)
        view(ev)
    text = out.getvalue()
    assert "node1：base；待发送 3.0 MB，2 个文件已在节点上" in text, text
    assert "node1：已发送 1.0 MB / 3.0 MB，速度 1.0 MB/s，剩余 2 秒" in text, text
    assert "开始（第 2 次尝试）：Start etcd" in text and "完成 (1.0 s)" in text, text
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(view)
    drawn = console.file.getvalue()
    assert "1/2 个步骤 · 已用 0 秒" in drawn and "步骤" in drawn and "[b]x[/b]" in drawn, drawn
