"""The IP sheet in: read the network team's spreadsheet (CSV or XLSX) and
turn it into changes to an answer file's data, each with the cell it came
from, so the deployer sees old -> new before anything is applied.

What a sheet looks like (decided; see also docs/ip-sheet-sample.csv):

- One row per named address. A *slot* cell says which one (``IP1`` ...
  ``IP6``, also ``ip 1``, ``ＩＰ１`` or text around it such as
  ``IP5 Kubernetes API VIP``); a row that names no slot is skipped with a
  warning (sheets often list switches or BMC addresses too).
- Columns are found by their header, matched leniently: Unicode-normalised
  (NFKC), case, spaces and punctuation ignored, English or Chinese
  (``IP地址``, ``主机名``, ``网关``, ``网卡``, ``子网掩码``, ``用途`` ...;
  `HEADERS` lists them all). The header row is the first of the first 30 rows
  that has an address column and at least one other known column, so a
  title row above it is fine. A header is matched whole, else by its last
  word ("服务器IP", "Server IP": an address; "DNS地址": the DNS server), else
  by its first; columns of another address (MAC, BMC, IPMI, 带外) or of a
  login (user, 密码) are never read. Two columns of one kind: the plain name
  wins (``IP地址`` over ``管理IP``), else the leftmost, with a warning.
- Columns: slot, address (required), host name, NIC, gateway, subnet mask or
  prefix (``255.255.255.0``, ``24``, ``/24``, or an address written
  ``10.20.30.11/24``), DNS and NTP servers (several in one cell, separated
  by ``,`` ``;`` ``、`` or spaces). Host names and NICs apply to the node
  that has the slot; gateway, mask, DNS and NTP to the whole network (every
  row that gives one must agree).
- XLSX: the sheet named with ``sheet=`` (``--sheet``), else the first sheet
  with a recognisable header. Merged cells count as their top-left value in
  every cell they cover; a formula counts as the value Excel or LibreOffice
  last computed (a formula never computed is an error at its cell); numbers
  stored as numbers are read as the text they show (``24``, not ``24.0``).
- CSV: UTF-8 (with or without BOM), UTF-16 with a BOM, or GBK/GB18030 (what
  Excel writes on a Chinese Windows); ``,`` ``;`` or tab separated. Its sheet
  is named after the file, as Excel names it (``ips.csv`` -> ``ips``).

Every problem names its place as a spreadsheet does: ``Sheet1!B4``. A file
that is not a sheet (empty, binary, an old .xls, too big, a folder, a FIFO)
is one problem naming the file; nothing here raises anything else, blocks on
a FIFO, or reads more than `MAX_BYTES`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import ipaddress
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import fieldpath
from .i18n import m
from .problems import Problem, ProblemError, Problems, Severity, clean, show

MAX_BYTES = 10 * 1024 * 1024  # a network team's sheet is a few KiB
MAX_UNZIPPED = 64 * 1024 * 1024  # what an XLSX may expand to (zip bombs)
STREAM_BYTES = 2 * 1024 * 1024  # larger workbooks are streamed (see _xlsx_grids)
MAX_ROWS = 5000
MAX_COLUMNS = 200
HEADER_SEARCH_ROWS = 30

# Column kinds and the headers that name them, already normalised by `_norm`
# (lower case, no spaces or punctuation). A header matches a kind when it is
# one of these, or starts or ends with one of the longer ones.
HEADERS: dict[str, tuple[str, ...]] = {
    "slot": ("slot", "ipslot", "slotname", "编号", "地址编号", "ip编号", "用途", "角色", "role", "purpose", "usage", "use",
             "description", "说明", "备注", "类型", "type", "item", "项目"),
    "address": ("ip", "ipaddress", "ipaddr", "address", "addr", "ipv4", "ipv4address", "地址", "ip地址", "ipv4地址",
                "业务ip", "业务地址", "管理ip", "管理地址", "ip地址v4"),
    "hostname": ("hostname", "host", "name", "nodename", "node", "server", "servername", "主机名", "主机名称", "主机",
                 "节点", "节点名", "节点名称", "服务器", "服务器名", "服务器名称", "名称", "机器名"),
    "nic": ("nic", "interface", "iface", "networkinterface", "nicname", "网卡", "网卡名", "网卡名称", "网口", "接口", "端口名"),
    "gateway": ("gateway", "gw", "defaultgateway", "网关", "默认网关", "网关地址"),
    "mask": ("netmask", "subnetmask", "mask", "prefix", "prefixlength", "prefixlen", "cidr", "subnet", "掩码", "子网掩码",
             "前缀", "前缀长度", "子网", "网段"),
    "dns": ("dns", "dnsserver", "dnsservers", "nameserver", "nameservers", "域名服务器", "dns服务器", "域名解析"),
    "ntp": ("ntp", "ntpserver", "ntpservers", "timeserver", "时钟服务器", "时间服务器", "ntp服务器", "时钟源"),
}

_SLOT_IN_TEXT = re.compile(r"(?<![a-z0-9])ip\s*[-_#]?\s*0*([1-9][0-9]?)(?![0-9])", re.IGNORECASE)
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NIC = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.@-]{1,15}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_LIST_SPLIT = re.compile(r"[\s,;，；、/|]+")


def _norm(text: str) -> str:
    """A header as compared: NFKC, case-folded, without spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


# Headers that name another address of a server, never the plan's own: a MAC
# or a management controller's (BMC, IPMI, iDRAC: 带外 / 硬件管理); nor a login.
EXCLUDED = ("mac", "bmc", "ipmi", "idrac", "带外", "硬件", "物理地址", "user", "用户", "password", "密码", "账号", "account")
# The plain names of an address column; other address names ("管理IP",
# "业务地址") rank below them when a sheet has both.
GENERIC_ADDRESS = ("ip", "ipaddress", "ipaddr", "address", "addr", "ipv4", "ipv4address", "地址", "ip地址", "ipv4地址")


def _match(header: str) -> tuple[str, int] | None:
    """(kind, score) of a header: an exact name scores 1000; else a known
    name at the end (the head word in English and Chinese alike: "Server IP",
    "服务器IP", "DNS地址"), the longest winning, scores its length; else a known
    name of 4+ characters at the start ("IP地址(业务)") scores its length - 100."""
    h = _norm(header)
    if not h or any(x in h for x in EXCLUDED):
        return None
    for kind, names in HEADERS.items():
        if h in names:
            return kind, 1000 if kind != "address" or h in GENERIC_ADDRESS else 500
    # "DNS地址", "NTP address", "网关IP": the address of a DNS server, an NTP server, the gateway
    for suffix in sorted(GENERIC_ADDRESS, key=len, reverse=True):
        if h.endswith(suffix) and len(h) > len(suffix):
            owner = _match(h[: -len(suffix)])
            if owner and owner[0] in ("dns", "ntp", "gateway"):
                return owner[0], owner[1] // 2
            break
    best: tuple[str, int] | None = None
    for kind, names in HEADERS.items():
        for name in names:
            if len(name) >= 2 and h.endswith(name) and (best is None or len(name) > best[1]):
                best = (kind, len(name))
    if best is not None:
        return best
    for kind, names in HEADERS.items():
        for name in names:
            if len(name) >= 4 and h.startswith(name) and (best is None or len(name) - 100 > best[1]):
                best = (kind, len(name) - 100)
    return best


def _kind_of(header: str) -> str | None:
    found = _match(header)
    return found[0] if found else None


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclasses.dataclass(frozen=True)
class Cell:
    sheet: str
    row: int  # 1-based, as the spreadsheet shows it
    column: int  # 0-based
    value: str  # as the cell shows it (numbers as their text), stripped

    @property
    def ref(self) -> str:
        name = self.sheet if re.fullmatch(r"\w+", self.sheet) else "'" + self.sheet.replace("'", "''") + "'"
        return f"{clean(name)}!{column_letter(self.column)}{self.row}"  # a sheet's name is the file's text: no controls


@dataclasses.dataclass
class SheetRow:
    slot: str
    address: str
    cells: dict[str, Cell]  # by column kind
    hostname: str | None = None
    nic: str | None = None


@dataclasses.dataclass
class Change:
    """One field of the answer file the sheet changes."""

    path: str  # field path, e.g. ips.IP1, nodes[0].name
    old: Any
    new: Any
    cell: str  # where the new value came from, e.g. Sheet1!B4

    def render(self) -> str:
        old = "(none)" if self.old in (None, [], "") else _shown(self.old)
        return f"{self.path}: {old} -> {_shown(self.new)}  ({self.cell})"

    def to_json(self) -> dict[str, Any]:
        return {"field": self.path, "old": self.old, "new": self.new, "cell": self.cell}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show(v, 64).strip("'") for v in value)
    return show(value, 64).strip("'") if isinstance(value, str) else show(value)


@dataclasses.dataclass
class SheetData:
    """What the sheet says, with every problem found reading it."""

    file: str
    sheet: str = ""
    rows: list[SheetRow] = dataclasses.field(default_factory=list)
    subnet: str | None = None
    gateway: str | None = None
    dns: list[str] = dataclasses.field(default_factory=list)
    ntp: list[str] = dataclasses.field(default_factory=list)
    sources: dict[str, str] = dataclasses.field(default_factory=dict)  # subnet/gateway/dns/ntp -> cell
    problems: Problems = dataclasses.field(default_factory=Problems)

    @property
    def ok(self) -> bool:
        return self.problems.ok

    def slots(self) -> dict[str, SheetRow]:
        return {r.slot: r for r in self.rows}

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "sheet": self.sheet, "subnet": self.subnet, "gateway": self.gateway,
            "dns": self.dns, "ntp": self.ntp,
            "rows": [{"slot": r.slot, "address": r.address, "hostname": r.hostname, "nic": r.nic,
                      "cells": {k: c.ref for k, c in r.cells.items()}} for r in self.rows],
        }


# -- reading a file ------------------------------------------------------------------------


def _file_problem(path: str, message: str, hint: str, code: str = "sheet-file") -> ProblemError:
    return ProblemError(Problem(message=message, hint=hint, file=path, code=code), exit_code=2)


def read_bytes_limited(path: str | Path) -> bytes:
    """The file's bytes: a regular file of at most MAX_BYTES, else a
    ProblemError naming it. A FIFO or device is refused before it is
    opened for reading, and opened non-blocking in case it was swapped in
    between (no hang)."""
    name = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _file_problem(name, m("no such file"), m("check the path; the sheet is a .xlsx or .csv file")) from None
    except PermissionError:
        raise _file_problem(name, m("cannot read it: permission denied"), m("copy it somewhere you can read")) from None
    except OSError as exc:
        raise _file_problem(name, m("cannot read it: {error}", error=exc.strerror or type(exc).__name__),
                            m("check the path")) from None
    if stat.S_ISDIR(st.st_mode):
        raise _file_problem(name, m("is a folder, not a sheet"), m("name the .xlsx or .csv file inside it"))
    if not stat.S_ISREG(st.st_mode):
        raise _file_problem(name, m("is not a regular file (a pipe, device or socket)"),
                            m("save the sheet as a .xlsx or .csv file and name that file"))
    if st.st_size > MAX_BYTES:
        raise _file_problem(name, m("is {size} MiB; an IP sheet is at most {limit} MiB", size=st.st_size >> 20,
                                    limit=MAX_BYTES >> 20), m("save only the sheet with the addresses"))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _file_problem(name, m("cannot read it: {error}", error=exc.strerror or type(exc).__name__),
                            m("check the path and its permissions")) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _file_problem(name, m("is not a regular file (a pipe, device or socket)"),
                                m("save the sheet as a .xlsx or .csv file and name that file"))
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise _file_problem(name, m("cannot read it: {error}", error=exc.strerror or type(exc).__name__),
                            m("check the file")) from None
    finally:
        os.close(fd)
    if total > MAX_BYTES:
        raise _file_problem(name, m("is larger than {limit} MiB", limit=MAX_BYTES >> 20),
                            m("save only the sheet with the addresses"))
    return b"".join(chunks)


def read(path: str | Path, sheet: str | None = None) -> SheetData:
    """Read an IP sheet. Problems with cells are in the result's problems;
    a file that cannot be read as a sheet at all raises ProblemError (exit
    code 2) naming it."""
    name = str(path)
    raw = read_bytes_limited(path)
    return parse_bytes(raw, name, sheet)


def parse_bytes(raw: bytes, name: str, sheet: str | None = None) -> SheetData:
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise _file_problem(name, m("is empty"), m("export the IP sheet again, as .xlsx or .csv"))
    if raw.startswith(b"PK\x03\x04"):
        grid = _xlsx_grids(raw, name)
    elif raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_problem(name, m("is an Excel 97-2003 workbook (.xls), which onsite does not read"),
                            m("open it and save it as .xlsx (Excel Workbook) or CSV"))
    else:
        if sheet is not None:
            stem = Path(name).stem
            if sheet != stem:
                raise _file_problem(name, m("a CSV file has one sheet, {stem}; there is no sheet {sheet}",
                                            stem=show(stem), sheet=show(sheet)), m("leave out --sheet for a CSV file"))
        grid = [(Path(name).stem or "sheet", _csv_rows(raw, name), {})]
    return _from_grids(grid, name, sheet)


def _decode_text(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    elif raw.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif raw[:4096].count(b"\x00") > len(raw[:4096]) // 8:  # UTF-16 without a BOM: ASCII's high bytes are NUL
        head = raw[:4096]
        encodings = ["utf-16-le" if head[1::2].count(0) >= head[0::2].count(0) else "utf-16-be"]
    else:
        encodings = ["utf-8", "gb18030"]
    for enc in encodings:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text or sum(1 for ch in text[:4096] if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n") > 8:
            break
        return text
    raise _file_problem(name, m("is neither a spreadsheet (.xlsx) nor a text CSV (UTF-8, UTF-16 or GBK)"),
                        m("open it in Excel or LibreOffice and save it as .xlsx or CSV UTF-8"), code="sheet-format")


def _csv_rows(raw: bytes, name: str) -> list[list[str]]:
    text = _decode_text(raw, name)
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), dialect):
            if len(rows) >= MAX_ROWS:
                raise _file_problem(name, m("has more than {n} rows; an IP sheet has a few dozen", n=MAX_ROWS),
                                    m("save only the sheet with the addresses"), code="sheet-size")
            rows.append(record[:MAX_COLUMNS])
    except csv.Error as exc:
        raise _file_problem(name, m("is not a CSV file onsite can read: {error}", error=str(exc)),
                            m("save it again as CSV UTF-8"), code="sheet-format") from None
    return rows


def _xlsx_grids(raw: bytes, name: str) -> list[tuple[str, list[list[Any]], dict[tuple[int, int], str]]]:
    """Every sheet of a workbook as (title, rows of values, formulas by
    (row, column) without a computed value)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _file_problem(name, m("looks like a zip file but is not a readable .xlsx workbook"),
                            m("open it in Excel or LibreOffice and save it as .xlsx or CSV"), code="sheet-format") from None
    if unzipped > MAX_UNZIPPED:
        raise _file_problem(name, m("expands to {size} MiB; an IP sheet is far smaller", size=unzipped >> 20),
                            m("save only the sheet with the addresses"), code="sheet-size")
    if "xl/workbook.xml" not in names:
        raise _file_problem(name, m("is a zip file but not an Excel workbook (.xlsx)"),
                            m("open it in Excel or LibreOffice and save it as .xlsx or CSV"), code="sheet-format")
    import warnings

    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency
        raise _file_problem(name, m("reading .xlsx needs the openpyxl package"), m("pip install openpyxl, or save the sheet as CSV"),
                            code="sheet-format") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not know
            # Past a few MiB (a sheet with thousands of other rows), stream: only the first MAX_ROWS rows
            # are read, in seconds; merged cells are then not expanded (openpyxl's streaming reader
            # does not know them). A sheet of addresses is far smaller and gets both.
            big = len(raw) > STREAM_BYTES
            wb_formulas = openpyxl.load_workbook(io.BytesIO(raw), data_only=False, read_only=big)
            wb_values = None
            out = []
            for ws in wb_formulas.worksheets:
                # (a sheet with stray formatting far away: only the part a sheet of addresses can use is read)
                rows_f = [list(r) for r in ws.iter_rows(max_row=min(ws.max_row, MAX_ROWS),
                                                        max_col=min(ws.max_column, MAX_COLUMNS), values_only=True)]
                formula_cells = {(r, c) for r, row in enumerate(rows_f) for c, v in enumerate(row)
                                 if isinstance(v, str) and v.startswith("=")}
                missing: dict[tuple[int, int], str] = {}
                rows = rows_f
                if formula_cells:
                    if wb_values is None:
                        wb_values = openpyxl.load_workbook(io.BytesIO(raw), data_only=True, read_only=big)
                    wsv = wb_values[ws.title]
                    rows = [list(r) for r in wsv.iter_rows(max_row=min(ws.max_row, MAX_ROWS),
                                                           max_col=min(ws.max_column, MAX_COLUMNS), values_only=True)]
                    for r, c in formula_cells:
                        if r < len(rows) and c < len(rows[r]) and rows[r][c] is None:
                            missing[(r, c)] = str(rows_f[r][c])
                merged = getattr(ws, "merged_cells", None)  # (not when streaming)
                for rng in merged.ranges if merged is not None else ():  # a merged cell's value in every cell it covers
                    top = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(rows) and rng.min_col <= len(rows[rng.min_row - 1]) else None
                    for r in range(rng.min_row - 1, min(rng.max_row, len(rows))):
                        for c in range(rng.min_col - 1, min(rng.max_col, len(rows[r]))):
                            if rows[r][c] is None:
                                rows[r][c] = top
                out.append((ws.title, rows, missing))
    except ProblemError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged workbook can fail anywhere inside openpyxl
        raise _file_problem(name, m("is not a readable .xlsx workbook ({error})", error=type(exc).__name__),
                            m("open it in Excel or LibreOffice and save it as .xlsx or CSV"), code="sheet-format") from None
    if not out:
        raise _file_problem(name, m("has no sheets"), m("export the IP sheet again"), code="sheet-format")
    return out


def _text(value: Any) -> str:
    """A cell's value as the spreadsheet shows it: 24.0 -> 24."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return unicodedata.normalize("NFKC", text).replace("。", ".").strip()


# -- from cells to what the sheet says ------------------------------------------------------------


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int], list[tuple[str, int, int]]] | None:
    """(row, column by kind, [(kind, column used, column ignored)]): the
    first row with an address column and another known one. Two columns of
    one kind: the better match is used (an exact name over a partial one,
    else the leftmost); the other is reported. The slot may be read from
    two columns (编号 and 用途)."""
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, list[tuple[int, int]]] = {}
        for c, value in enumerate(row):
            if isinstance(value, str):
                match = _match(value)
                if match:
                    found.setdefault(match[0], []).append((-match[1], c))
        if "address" not in found or len(found) < 2:
            continue
        kinds: dict[str, int] = {}
        ignored: list[tuple[str, int, int]] = []
        for kind, cols in found.items():
            ranked = sorted(cols)
            kinds[kind] = ranked[0][1]
            rest = [c for _, c in ranked[1:]]
            if kind == "slot" and rest:
                kinds["slot2"] = rest.pop(0)
            ignored += [(kind, kinds[kind], c) for c in rest]
        return r, kinds, ignored
    return None


def _from_grids(grids, name: str, wanted: str | None) -> SheetData:
    chosen = None
    if wanted is not None:
        titles = [g[0] for g in grids]
        match = [g for g in grids if g[0] == wanted] or [g for g in grids if g[0].strip().casefold() == wanted.strip().casefold()]
        if not match:
            raise _file_problem(name, m("has no sheet named {sheet}; its sheets: {titles}", sheet=show(wanted),
                                        titles=", ".join(show(t) for t in titles)), m("name one of them with --sheet"),
                                code="sheet-missing")
        chosen = match[0]
        header = _find_header(chosen[1])
        if header is None:
            raise _file_problem(name, m("sheet {sheet} has no header row with an address column (IP地址, Address, ...) "
                                        "in its first {n} rows", sheet=show(chosen[0]), n=HEADER_SEARCH_ROWS),
                                m("add a header row naming the columns, e.g. Slot, IP address, Hostname, NIC, Gateway"),
                                code="sheet-header")
    else:
        for g in grids:
            header = _find_header(g[1])
            if header is not None:
                chosen = g
                break
        if chosen is None or header is None:
            raise _file_problem(name, m("no sheet has a header row with an address column (IP地址, Address, ...) and a "
                                        "slot, host name or other known column in its first {n} rows", n=HEADER_SEARCH_ROWS),
                                m("add a header row naming the columns, e.g. Slot, IP address, Hostname, NIC, Gateway "
                                  "(docs/ip-sheet-sample.csv)"), code="sheet-header")
    title, rows, missing = chosen
    header_row, columns, ignored = header
    data = SheetData(file=name, sheet=title)
    for kind, used, other in ignored:
        _problem(data, Cell(title, header_row + 1, other, ""),
                 m("a second {kind} column: column {used} is read, this one is not", kind=kind, used=column_letter(used)),
                 m("rename or delete the column that is not the plan's"), warning=True, code="sheet-header")
    _read_rows(data, title, rows, header_row, columns, missing)
    return data


def _problem(data: SheetData, cell: Cell | str, message: str, hint: str = "", *, warning: bool = False,
             code: str = "sheet-cell") -> None:
    ref = cell.ref if isinstance(cell, Cell) else cell
    data.problems.add(Problem(message=m("{cell}: {message}", cell=ref, message=message), hint=hint, file=data.file,
                              code=code, severity=Severity.WARNING if warning else Severity.ERROR))


def _read_rows(data: SheetData, title: str, rows, header_row: int, columns: dict[str, int], missing) -> None:
    if "slot" not in columns:
        _problem(data, Cell(title, header_row + 1, 0, ""),
                 m("no column names the slots (IP1, IP2, ...)"),
                 m("add a column such as Slot or 用途 with IP1 ... IP6 on each row"), code="sheet-header")
        return
    seen_slots: dict[str, Cell] = {}
    seen_addresses: dict[str, Cell] = {}
    seen_hosts: dict[str, Cell] = {}
    unslotted: list[Cell] = []  # rows with an address but no slot (switches, BMCs): warned about
    network: dict[str, tuple[str, Cell]] = {}
    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        cells: dict[str, Cell] = {}
        uncomputed = False
        for kind, c in columns.items():
            if c < len(row):
                if (r, c) in missing:
                    formula = Cell(title, r + 1, c, "")
                    _problem(data, formula, m("a formula without a computed value ({formula})", formula=show(missing[(r, c)])),
                             m("open the sheet in Excel or LibreOffice and save it (that stores the values), or type the value"))
                    uncomputed = True
                    continue
                cells[kind] = Cell(title, r + 1, c, _text(row[c]))
        if uncomputed or not any(cell.value for cell in cells.values()):
            continue  # an empty row, or one already reported
        slot, slot_cell = _slot_of(cells)
        addr_cell = cells.get("address")
        if slot is None:
            if addr_cell is not None and addr_cell.value:
                where = cells.get("slot") or addr_cell
                unslotted.append(where)
                if len(unslotted) <= 3:
                    _problem(data, where, m("this row names no slot (IP1 ... IP6): ignored"),
                             m("write the slot (e.g. IP3) in the {column} column if the address is one of the plan's",
                               column=column_letter(columns["slot"])), warning=True, code="sheet-no-slot")
            continue
        assert slot_cell is not None
        if slot in seen_slots:
            _problem(data, slot_cell, m("{slot} is on the sheet twice (also {other})", slot=slot, other=seen_slots[slot].ref),
                     m("keep one row per slot"), code="sheet-duplicate")
            continue
        seen_slots[slot] = slot_cell
        if addr_cell is None or not addr_cell.value:
            where = addr_cell or Cell(title, r + 1, columns["address"], "")
            _problem(data, where, m("{slot} has no address", slot=slot), m("write its IPv4 address, e.g. 10.20.30.11"))
            continue
        address, prefix = _address(addr_cell.value)
        if address is None:
            _problem(data, addr_cell, m("{value} is not an IPv4 address", value=show(addr_cell.value)),
                     m("write four numbers 0-255 separated by dots, e.g. 10.20.30.11"), code="sheet-address")
            continue
        if address in seen_addresses:
            _problem(data, addr_cell, m("{address} is on the sheet twice (also {other})", address=address,
                                        other=seen_addresses[address].ref),
                     m("every slot needs its own address"), code="sheet-duplicate")
            continue
        seen_addresses[address] = addr_cell
        item = SheetRow(slot=slot, address=address, cells={k: v for k, v in cells.items() if v.value})
        if prefix is not None:
            _agree(data, network, "mask", str(prefix), addr_cell)
        host = cells.get("hostname")
        if host is not None and host.value:
            value = host.value.lower()
            if not _HOSTNAME.match(value):
                _problem(data, host, m("{value} is not a host name", value=show(host.value)),
                         m("lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit"),
                         code="sheet-hostname")
            elif value in seen_hosts:
                _problem(data, host, m("{value} is on the sheet twice (also {other})", value=value, other=seen_hosts[value].ref),
                         m("every node needs its own host name"), code="sheet-duplicate")
            else:
                seen_hosts[value] = host
                item.hostname = value
        nic = cells.get("nic")
        if nic is not None and nic.value:
            if not _NIC.match(nic.value):
                _problem(data, nic, m("{value} is not a network interface name", value=show(nic.value)),
                         m("the name `ip link` shows, e.g. eth0 or ens192 (at most 15 characters)"), code="sheet-nic")
            else:
                item.nic = nic.value
        for kind in ("gateway", "mask"):
            cell = cells.get(kind)
            if cell is not None and cell.value:
                _agree(data, network, kind, cell.value, cell)
        for kind in ("dns", "ntp"):
            cell = cells.get(kind)
            if cell is not None and cell.value:
                for server in _LIST_SPLIT.split(cell.value):
                    if not server:
                        continue
                    if kind == "dns" and _ipv4(server) is None:
                        _problem(data, cell, m("{value} is not an IPv4 address (a DNS server)", value=show(server)),
                                 m("DNS servers are addresses, e.g. 10.20.30.2"), code="sheet-address")
                    elif kind == "ntp" and not (_ipv4(server) or (_HOST.match(server) and not _looks_numeric(server))):
                        _problem(data, cell, m("{value} is not an address or host name (an NTP server)", value=show(server)),
                                 m("e.g. 10.20.30.3 or ntp.example.com"), code="sheet-address")
                    else:
                        target = data.dns if kind == "dns" else data.ntp
                        if server not in target:
                            target.append(server)
                            data.sources.setdefault(kind, cell.ref)
        data.rows.append(item)
    if len(unslotted) > 3:
        _problem(data, unslotted[3], m("{n} more rows name no slot (rows {first} to {last}): ignored", n=len(unslotted) - 3,
                                       first=unslotted[3].row, last=unslotted[-1].row),
                 m("only the rows of IP1 ... IP6 are read"), warning=True, code="sheet-no-slot")
    if not data.rows and data.problems.ok:
        _problem(data, Cell(title, header_row + 2, 0, ""),
                 m("no row under the header names a slot (IP1 ... IP6) with an address"),
                 m("one row per slot: IP1 ... IP6 and its address"), code="sheet-empty")
    _network(data, network)


def _agree(data: SheetData, network: dict[str, tuple[str, Cell]], kind: str, value: str, cell: Cell) -> None:
    """Gateway and mask are one per network: every row that gives one must agree."""
    if kind == "gateway":
        gw = _ipv4(value)
        if gw is None:
            _problem(data, cell, m("{value} is not an IPv4 address (the gateway)", value=show(value)),
                     m("write the gateway's address, e.g. 10.20.30.1"), code="sheet-address")
            return
        value = gw
    else:
        prefix = _prefix(value)
        if prefix is None:
            _problem(data, cell, m("{value} is not a subnet mask or prefix length", value=show(value)),
                     m("e.g. 255.255.255.0, 24 or /24"), code="sheet-mask")
            return
        value = str(prefix)
    if kind in network and network[kind][0] != value:
        first = network[kind]
        what = "gateway" if kind == "gateway" else "subnet mask"
        shown_first = first[0] if kind == "gateway" else "/" + first[0]
        shown_value = value if kind == "gateway" else "/" + value
        _problem(data, cell, m("{what} {value} differs from {first} at {other}", what=what, value=shown_value,
                               first=shown_first, other=first[1].ref),
                 m("all named addresses are on one subnet with one gateway"), code="sheet-conflict")
        return
    network.setdefault(kind, (value, cell))


def _network(data: SheetData, network: dict[str, tuple[str, Cell]]) -> None:
    if "gateway" in network:
        data.gateway, data.sources["gateway"] = network["gateway"][0], network["gateway"][1].ref
        for row in data.rows:
            if row.address == data.gateway:
                _problem(data, row.cells["address"], m("{slot} {address} is the gateway's address ({cell})", slot=row.slot,
                                                       address=row.address, cell=network["gateway"][1].ref),
                         m("a node or VIP needs an address of its own"), code="sheet-duplicate")
    if "mask" in network and data.rows:
        prefix = int(network["mask"][0])
        net = ipaddress.IPv4Network(f"{data.rows[0].address}/{prefix}", strict=False)
        data.subnet, data.sources["subnet"] = str(net), network["mask"][1].ref
        for row in data.rows:
            if ipaddress.IPv4Address(row.address) not in net:
                _problem(data, row.cells["address"], m("{address} is outside the subnet {subnet} ({slot1} and the mask at {cell})",
                                                       address=row.address, subnet=str(net), slot1=data.rows[0].slot,
                                                       cell=network["mask"][1].ref),
                         m("all named addresses are on one subnet"), code="sheet-subnet")
        if data.gateway and ipaddress.IPv4Address(data.gateway) not in net:
            _problem(data, network["gateway"][1], m("the gateway {gateway} is outside the subnet {subnet}",
                                                    gateway=data.gateway, subnet=str(net)),
                     m("the gateway is an address of the nodes' subnet"), code="sheet-subnet")


def _slot_of(cells: dict[str, Cell]) -> tuple[str | None, Cell | None]:
    for kind in ("slot", "slot2"):
        cell = cells.get(kind)
        if cell is None or not cell.value:
            continue
        text = unicodedata.normalize("NFKC", cell.value)
        found = {int(x) for x in _SLOT_IN_TEXT.findall(text)}
        if len(found) == 1:  # a note that names several slots is not a slot's row
            return f"IP{found.pop()}", cell
    return None, None


def _ipv4(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        return None


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+", text))


def _address(text: str) -> tuple[str | None, int | None]:
    """`10.20.30.11` or `10.20.30.11/24`."""
    text = text.strip()
    if "/" in text:
        addr, _, pre = text.partition("/")
        prefix = _prefix(pre)
        return (_ipv4(addr), prefix) if prefix is not None else (None, None)
    return _ipv4(text), None


def _prefix(text: str) -> int | None:
    text = text.strip().lstrip("/")
    if text.isdigit():
        n = int(text)
        return n if 0 <= n <= 32 else None
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen
    except ValueError:
        return None


# -- from what the sheet says to changes of an answer file ---------------------------------------------


def changes(data: dict[str, Any], sheet: SheetData) -> list[Change]:
    """What applying `sheet` changes in answer-file `data` (not changed):
    the IP sheet's slots, host names and NICs of the nodes on those slots,
    and the network's subnet, gateway, DNS and NTP when the sheet gives them."""
    out: list[Change] = []

    def want(path: str, new: Any, cell: str) -> None:
        old = fieldpath.get(data, path)
        if old != new:
            out.append(Change(path, old, new, cell))

    if sheet.subnet:
        want("network.subnet", sheet.subnet, sheet.sources["subnet"])
    if sheet.gateway:
        want("network.gateway", sheet.gateway, sheet.sources["gateway"])
    if sheet.dns:
        want("network.dns", list(sheet.dns), sheet.sources["dns"])
    if sheet.ntp:
        want("network.ntp", list(sheet.ntp), sheet.sources["ntp"])
    for row in sorted(sheet.rows, key=lambda r: int(r.slot[2:])):
        want(f"ips.{row.slot}", row.address, row.cells["address"].ref)
    nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        row = sheet.slots().get(node.get("address"))  # type: ignore[arg-type]
        if row is None:
            continue
        if row.hostname:
            want(f"nodes[{i}].name", row.hostname, row.cells["hostname"].ref)
        if row.nic:
            want(f"nodes[{i}].nic", row.nic, row.cells["nic"].ref)
    return out


def apply(data: dict[str, Any], items: Iterable[Change]) -> None:
    """Apply `items` to `data` in place. A renamed node stays a member of
    its VIPs, with its priority."""
    for change in items:
        fieldpath.set(data, change.path, change.new)
        parts = fieldpath.parse(change.path)
        if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "name" and isinstance(change.old, str):
            rename_references(data, change.old, change.new)


def rename_references(data: dict[str, Any], old: str, new: str) -> None:
    for vip in data.get("vips") or []:
        if not isinstance(vip, dict):
            continue
        members = vip.get("members")
        if isinstance(members, list):
            vip["members"] = [new if x == old else x for x in members]
        prios = vip.get("priorities")
        if isinstance(prios, dict) and old in prios:
            vip["priorities"] = {(new if k == old else k): v for k, v in prios.items()}


def missing_slots(sheet: SheetData, slots: Iterable[str]) -> list[str]:
    have = sheet.slots()
    return [s for s in slots if s not in have]


def render_preview(items: list[Change]) -> list[str]:
    return [c.render() for c in items] or ["nothing changes: the answer file already says what the sheet says"]


__all__ = ["SheetData", "SheetRow", "Change", "Cell", "read", "parse_bytes", "changes", "apply", "missing_slots",
           "render_preview", "column_letter", "HEADERS", "MAX_BYTES"]
