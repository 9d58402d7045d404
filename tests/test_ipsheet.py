"""The IP sheet in (model.ipsheet, `onsite init --from-sheet`, `onsite sheet`):
the shipped samples fill IP1-IP6 and the names; every broken sheet is refused
naming its cell or the file, never with a traceback or a hang."""

from __future__ import annotations

import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from installer.cli.main import main
from installer.model import ipsheet, validate, yamlio
from installer.model.problems import ProblemError

from .conftest import repo_root

DOCS = repo_root() / "docs"
XLSX = DOCS / "ip-sheet-sample.xlsx"
CSV = DOCS / "ip-sheet-sample.csv"
CORPUS = repo_root() / "tests" / "corpus" / "base.yaml"
WANT = {"IP1": "10.20.30.11", "IP2": "10.20.30.12", "IP3": "10.20.30.13", "IP4": "10.20.30.14",
        "IP5": "10.20.30.15", "IP6": "10.20.30.16"}
NAMES = ["cn-node1", "cn-node2", "cn-node3", "cn-escape"]


def csv_lines() -> list[str]:
    return CSV.read_bytes().decode("utf-8-sig").splitlines()


def write_csv(tmp_path: Path, lines: list[str], name: str = "ips.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def messages(sheet: ipsheet.SheetData) -> list[str]:
    return [p.message for p in sheet.problems.errors]


def file_error(path, sheet=None) -> str:
    with pytest.raises(ProblemError) as caught:
        ipsheet.read(path, sheet)
    [p] = list(caught.value.problems)
    assert p.file == str(path) and caught.value.exit_code == 2
    return p.message


def test_the_samples_are_what_the_script_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sample", repo_root() / "scripts" / "make-ip-sheet-sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert b"\xef\xbb\xbf" + mod.csv_text().encode() == CSV.read_bytes()
    made = mod.xlsx()
    assert ipsheet.parse_bytes(made, "made.xlsx").to_json() == {**ipsheet.read(XLSX).to_json(), "file": "made.xlsx"}
    import openpyxl

    pinned = [x for x in (repo_root() / "constraints.txt").read_text().split() if x.startswith("openpyxl==")]
    if pinned == [f"openpyxl=={openpyxl.__version__}"]:  # the same bytes with the same openpyxl
        assert made == XLSX.read_bytes()


@pytest.mark.parametrize("path", [XLSX, CSV], ids=["xlsx", "csv"])
def test_sample_fills_every_slot_name_and_the_network(path):
    sheet = ipsheet.read(path)
    assert sheet.ok and not list(sheet.problems), [p.render() for p in sheet.problems]
    assert {r.slot: r.address for r in sheet.rows} == WANT
    assert [r.hostname for r in sheet.rows if r.hostname] == NAMES
    assert {r.nic for r in sheet.rows if r.nic} == {"eth0"}
    assert (sheet.subnet, sheet.gateway, sheet.dns, sheet.ntp) == ("10.20.30.0/24", "10.20.30.1", ["10.20.30.2"],
                                                                  ["ntp.campus.example"])
    # into the corpus plan: the addresses are already there, the names change (VIP members follow)
    data = yamlio.read_file(CORPUS).data
    items = ipsheet.changes(data, sheet)
    assert {c.path for c in items} == {f"nodes[{i}].name" for i in range(4)}
    ipsheet.apply(data, items)
    assert [n["name"] for n in data["nodes"]] == NAMES
    assert data["vips"][1]["priorities"] == {"cn-node1": 150, "cn-node2": 140, "cn-node3": 130, "cn-escape": 50}
    assert validate.validate_data(data).ok


def test_xlsx_merged_cells_title_row_and_cells_named_as_excel_does():
    sheet = ipsheet.read(XLSX)
    assert sheet.sheet == "IP规划"
    ip3 = sheet.slots()["IP3"]
    assert ip3.cells["address"].ref == "IP规划!C6"
    assert ip3.cells["gateway"].ref == "IP规划!G6"  # merged G4:G9: its value in every row
    assert sheet.sources["subnet"] == "IP规划!F4"


def test_a_bad_cell_is_refused_naming_it(tmp_path):
    lines = csv_lines()
    lines[3] = lines[3].replace("10.20.30.13", "10.20.30.300")
    sheet = ipsheet.read(write_csv(tmp_path, lines, "Sheet1.csv"))
    assert messages(sheet) == ["Sheet1!B4: '10.20.30.300' is not an IPv4 address"]


def test_a_bad_cell_in_a_workbook_names_sheet_and_cell(tmp_path):
    from openpyxl import load_workbook

    wb = load_workbook(XLSX)
    wb["IP规划"]["D5"] = "Node_2"
    wb.create_sheet("Sheet1", 0)  # a first sheet without a header: skipped for the first that has one
    wb.save(tmp_path / "s.xlsx")
    sheet = ipsheet.read(tmp_path / "s.xlsx")
    assert messages(sheet) == ["IP规划!D5: 'Node_2' is not a host name"]
    with pytest.raises(ProblemError, match="no header row"):
        ipsheet.read(tmp_path / "s.xlsx", "Sheet1")
    assert "has no sheet named 'Nope'; its sheets: 'Sheet1', 'IP规划'" in file_error(tmp_path / "s.xlsx", "Nope")


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "utf-8-sig", "utf-16-le"])
def test_csv_in_the_encodings_excel_writes_with_chinese_headers(tmp_path, encoding):
    lines = csv_lines()
    lines[0] = "用途,IP地址,主机名,网卡,子网掩码,网关,DNS服务器,NTP服务器"
    lines.insert(0, "园区北 IP 规划,,,,,,,")  # a title row above the header
    sheet = ipsheet.read(write_csv(tmp_path, lines, encoding=encoding))
    assert sheet.ok, [p.render() for p in sheet.problems]
    assert {r.slot: r.address for r in sheet.rows} == WANT
    assert sheet.slots()["IP1"].cells["address"].ref == "ips!B3"


def test_lenient_headers_slots_and_values(tmp_path):
    lines = ["Host-Name;IP Address;Slot;Prefix;Default Gateway",
             "cn-node1;10.20.30.11;ip 1;24;10.20.30.1",
             "CN-NODE2;10.20.30.12;ＩＰ２;/24;",
             ";10.20.30.13/24;IP-3 (node 3);;10.20.30.1",
             ";10.20.30.250;core switch;;",
             ";;;;"]
    sheet = ipsheet.read(write_csv(tmp_path, lines))
    assert [r.slot for r in sheet.rows] == ["IP1", "IP2", "IP3"]
    assert sheet.slots()["IP2"].hostname == "cn-node2"
    assert sheet.subnet == "10.20.30.0/24" and sheet.gateway == "10.20.30.1"
    assert sheet.ok
    [warning] = sheet.problems.warnings
    assert warning.message == "ips!C5: this row names no slot (IP1 ... IP6): ignored"


def test_headers_are_matched_by_their_head_word_and_other_addresses_are_left_alone(tmp_path):
    lines = ["MAC地址,BMC IP,服务器名称,业务IP,DNS地址,管理IP,编号",
             "52:54:00:00:00:01,10.0.0.1,cn-node1,10.20.30.11,10.20.30.2,10.20.30.111,IP1"]
    sheet = ipsheet.read(write_csv(tmp_path, lines, "s.csv"))
    [row] = sheet.rows
    assert (row.slot, row.address, row.hostname, sheet.dns) == ("IP1", "10.20.30.11", "cn-node1", ["10.20.30.2"])
    assert [p.message for p in sheet.problems] == ["s!F1: a second address column: column D is read, this one is not"]


def test_numbers_stored_as_numbers_and_formulas(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["Slot", "IP address", "Netmask", "Hostname"])
    ws.append(["IP1", "10.20.30.11", 24, 1001])  # a prefix and a host name typed as numbers
    ws.append(["IP2", "=\"10.20.30.\"&12", 24.0, "n2"])  # a formula openpyxl never computed
    ws.append(["IP3", 10.2, 24, "n3"])
    wb.save(tmp_path / "n.xlsx")
    sheet = ipsheet.read(tmp_path / "n.xlsx")
    assert sheet.slots()["IP1"].hostname == "1001" and sheet.subnet == "10.20.30.0/24"
    assert messages(sheet) == [
        "Sheet1!B3: a formula without a computed value ('=\"10.20.30.\"&12')",
        "Sheet1!B4: '10.2' is not an IPv4 address",
    ]


def test_a_formula_counts_as_the_value_excel_computed(tmp_path):
    """What Excel saves for a formula: the formula and its last value (openpyxl
    cannot write that, so the sample's XML is edited the way Excel writes it)."""
    with zipfile.ZipFile(XLSX) as src, zipfile.ZipFile(tmp_path / "f.xlsx", "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                old = b'<c r="C4" t="inlineStr"><is><t>10.20.30.11</t></is></c>'
                assert old in data
                data = data.replace(old, b'<c r="C4" t="str"><f>"10.20.30."&amp;(10+1)</f><v>10.20.30.11</v></c>')
            dst.writestr(info, data)
    sheet = ipsheet.read(tmp_path / "f.xlsx")
    assert sheet.ok and sheet.slots()["IP1"].address == "10.20.30.11"


def test_duplicates_and_disagreements_name_both_cells(tmp_path):
    lines = csv_lines()
    lines[2] = lines[2].replace("10.20.30.12", "10.20.30.11")
    lines[3] = lines[3].replace("cn-node3", "cn-node1")
    lines[4] = lines[4].replace(",10.20.30.1,", ",10.20.30.254,")
    lines.append(lines[6])
    lines[5] = lines[5].replace(",10.20.30.15,", ",10.20.30.1,")
    sheet = ipsheet.read(write_csv(tmp_path, lines, "Sheet1.csv"))
    assert messages(sheet) == [
        "Sheet1!B3: 10.20.30.11 is on the sheet twice (also Sheet1!B2)",
        "Sheet1!C4: cn-node1 is on the sheet twice (also Sheet1!C2)",
        "Sheet1!F5: gateway 10.20.30.254 differs from 10.20.30.1 at Sheet1!F2",
        "Sheet1!A8: IP6 is on the sheet twice (also Sheet1!A7)",
        "Sheet1!B6: IP5 10.20.30.1 is the gateway's address (Sheet1!F2)",
    ]


def test_files_that_are_not_sheets_are_refused_naming_the_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert file_error(tmp_path / "empty.csv") == "is empty"
    (tmp_path / "bin.csv").write_bytes(os.urandom(4096))
    assert "neither a spreadsheet" in file_error(tmp_path / "bin.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert "Excel 97-2003" in file_error(tmp_path / "old.xls")
    with zipfile.ZipFile(tmp_path / "z.xlsx", "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert "not an Excel workbook" in file_error(tmp_path / "z.xlsx")
    (tmp_path / "broken.xlsx").write_bytes(XLSX.read_bytes()[:2000])
    assert "not a readable .xlsx" in file_error(tmp_path / "broken.xlsx")
    assert file_error(tmp_path) == "is a folder, not a sheet"
    assert file_error(tmp_path / "nope.csv") == "no such file"
    with open(tmp_path / "huge.csv", "wb") as fh:
        fh.truncate(ipsheet.MAX_BYTES + 1)
    assert "an IP sheet is at most" in file_error(tmp_path / "huge.csv")
    (tmp_path / "noheader.csv").write_text("a,b\n1,2\n")
    assert "no sheet has a header row" in file_error(tmp_path / "noheader.csv")


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "sheet.csv"
    os.mkfifo(fifo)
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(file_error(fifo)), daemon=True)
    t.start()
    t.join(5)
    assert result == ["is not a regular file (a pipe, device or socket)"]


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [XLSX, CSV], ids=["xlsx", "csv"])
def test_init_from_a_complete_sheet_writes_a_valid_answer_file(tmp_path, path, capsys):
    out = tmp_path / "site.yaml"
    assert main(["init", "--from-sheet", str(path), "-o", str(out), "--site", "Campus North"]) == 0
    result = validate.validate_file(out)
    assert result.ok
    assert result.plan.ips == WANT and [n.name for n in result.plan.nodes] == NAMES
    assert "ips.IP3: (none) -> 10.20.30.13" in capsys.readouterr().err


def test_init_from_an_incomplete_sheet_writes_a_draft_saying_what_is_missing(tmp_path, capsys):
    sheet = write_csv(tmp_path, [x for x in csv_lines() if not x.startswith("IP6")])
    out = tmp_path / "site.yaml"
    assert main(["init", "--from-sheet", str(sheet), "-o", str(out)]) == 2
    text = out.read_text()
    assert text.startswith("# onsite answer file: a DRAFT from the IP sheet") and "(IP6)" in text.splitlines()[0]
    assert "ips: IP6 (Service VIP (RADIUS/portal)) has no address" in text
    assert not validate.validate_file(out).ok
    assert "the sheet lacks IP6" in capsys.readouterr().err


def test_init_from_a_sheet_with_a_bad_cell_writes_nothing(tmp_path, capsys):
    lines = csv_lines()
    lines[3] = lines[3].replace("10.20.30.13", "10.20.30.300")
    out = tmp_path / "site.yaml"
    assert main(["init", "--from-sheet", str(write_csv(tmp_path, lines, "Sheet1.csv")), "-o", str(out)]) == 2
    assert not out.exists()
    assert "Sheet1!B4: '10.20.30.300' is not an IPv4 address" in capsys.readouterr().err
    assert main(["init", "--from-sheet", str(tmp_path / "missing.xlsx")]) == 2


def test_sheet_previews_then_applies_keeping_the_deployers_comments(tmp_path, capsys):
    import json

    site = tmp_path / "site.yaml"
    site.write_text("# the customer's plan, 2026-11\n" + CORPUS.read_text().replace("10.20.30.16", "10.20.30.99"))
    assert main(["sheet", str(XLSX), str(site)]) == 0
    out = capsys.readouterr().out
    assert "ips.IP6: 10.20.30.99 -> 10.20.30.16  (IP规划!C9)" in out and "nodes[0].name: node1 -> cn-node1" in out
    assert "10.20.30.99" in site.read_text()  # a preview changes nothing
    assert main(["sheet", str(XLSX), str(site), "--apply", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["applied"] and {c["field"] for c in doc["changes"]} >= {"ips.IP6", "nodes[3].name"}
    from jsonschema import Draft202012Validator

    Draft202012Validator(json.loads((repo_root() / "schemas" / "cli" / "sheet.schema.json").read_text())).validate(doc)
    text = site.read_text()
    assert text.startswith("# the customer's plan, 2026-11\n") and "IP6: 10.20.30.16" in text
    assert (tmp_path / "site.yaml.bak").read_text().count("10.20.30.99") == 1
    assert validate.validate_file(site).ok
    shutil.copy(site, tmp_path / "again.yaml")
    assert main(["sheet", str(XLSX), str(tmp_path / "again.yaml")]) == 0
    assert "nothing changes" in capsys.readouterr().out


@pytest.mark.parametrize("path", [XLSX, CSV], ids=["xlsx", "csv"])
def test_damaged_files_give_a_problem_never_an_exception(path):
    """Bytes flipped, cut or inserted at random (seeded): every result is a
    sheet or a ProblemError naming the file, within a second."""
    import random
    import time

    rng = random.Random(18)
    raw = path.read_bytes()
    for _ in range(60):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.5:
                data[at] = rng.randrange(256)
            elif kind < 0.75:
                del data[at:at + rng.randint(1, 200)]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 50))
        started = time.monotonic()
        try:
            sheet = ipsheet.parse_bytes(bytes(data), path.name)
        except ProblemError as exc:
            assert all(p.file == path.name for p in exc.problems)
        else:
            assert all(p.file == path.name for p in sheet.problems)
        assert time.monotonic() - started < 2


def test_init_options_that_contradict_the_sheet_are_refused(tmp_path, capsys):
    assert main(["init", "--from-sheet", str(CSV), "--subnet", "10.20.30.7/24", "-o", str(tmp_path / "a.yaml")]) == 0
    assert main(["init", "--from-sheet", str(CSV), "--gateway", "10.20.30.254", "-o", str(tmp_path / "b.yaml")]) == 2
    err = capsys.readouterr().err
    assert "--gateway 10.20.30.254 differs from the sheet's 10.20.30.1 ('ip-sheet-sample'!F2)" in err
    assert not (tmp_path / "b.yaml").exists()


def test_sheet_apply_that_leaves_the_file_invalid_says_so(tmp_path, capsys):
    site = tmp_path / "site.yaml"
    site.write_text(CORPUS.read_text())
    site.write_text(CORPUS.read_text().replace("10.20.30.", "10.20.40."))
    lines = [",".join(x.split(",")[:4]) for x in csv_lines()]  # no mask: the plan keeps its subnet, 10.20.40.0/24
    assert main(["sheet", str(write_csv(tmp_path, lines)), str(site), "--apply"]) == 2
    err = capsys.readouterr().err
    assert "is not valid yet" in err and "IP1: 10.20.30.11" in site.read_text()
    assert main(["sheet", str(CSV), str(tmp_path / "missing.yaml")]) == 2


def test_a_big_workbook_is_streamed_and_many_other_rows_are_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(ipsheet, "STREAM_BYTES", 0)  # the sample streamed, as a workbook of several MiB is
    sheet = ipsheet.read(XLSX)
    assert sheet.ok and {r.slot: r.address for r in sheet.rows} == WANT and sheet.gateway == "10.20.30.1"
    lines = csv_lines() + [f"switch,10.20.30.{200 + i},,,,,," for i in range(10)]
    sheet = ipsheet.read(write_csv(tmp_path, lines, "s.csv"))
    assert [p.message for p in sheet.problems.warnings][-2:] == [
        "s!A10: this row names no slot (IP1 ... IP6): ignored",
        "s!A11: 7 more rows name no slot (rows 11 to 17): ignored"]
