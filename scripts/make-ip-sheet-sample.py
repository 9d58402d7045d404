"""Write the sample IP sheets docs/ip-sheet-sample.xlsx and .csv: the
corpus plan's addresses (tests/corpus/base.yaml, 10.20.30.0/24) as a
network team sends them. Reproducible: run it again and the files are the
same bytes (fixed timestamps inside the workbook and its zip).

    .venv/bin/python scripts/make-ip-sheet-sample.py

The workbook is the kind a Chinese network team sends: a title row above
the header, Chinese headers, gateway/mask/DNS/NTP as merged cells over all
rows, the subnet mask and the 序号 as numbers, a note row at the end. The CSV
is the same plan with English headers, saved as Excel's "CSV UTF-8" (with a
BOM). tests/test_ipsheet.py imports both and derives its broken variants
from them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

ROWS = [  # slot and purpose, address, host name, NIC
    ("IP1 集群节点1", "10.20.30.11", "cn-node1", "eth0"),
    ("IP2 集群节点2", "10.20.30.12", "cn-node2", "eth0"),
    ("IP3 集群节点3", "10.20.30.13", "cn-node3", "eth0"),
    ("IP4 逃生服务器", "10.20.30.14", "cn-escape", "eth0"),
    ("IP5 K8s API 虚拟地址(VIP)", "10.20.30.15", "", ""),
    ("IP6 业务虚拟地址(VIP)", "10.20.30.16", "", ""),
]
GATEWAY, MASK, DNS, NTP = "10.20.30.1", "255.255.255.0", "10.20.30.2", "ntp.campus.example"
FIXED = dt.datetime(2026, 1, 1, 0, 0, 0)


def xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "IP规划"
    ws.append(["Campus North 园区北 — IP地址规划表"])
    ws.merge_cells("A1:I1")
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(["序号", "用途", "IP地址", "主机名", "网卡", "子网掩码", "网关", "DNS", "NTP服务器"])
    for i, (slot, address, host, nic) in enumerate(ROWS, start=1):
        ws.append([i, slot, address, host or None, nic or None,
                   MASK if i == 1 else None, GATEWAY if i == 1 else None, DNS if i == 1 else None, NTP if i == 1 else None])
    last = 3 + len(ROWS)
    for col in "FGHI":
        ws.merge_cells(f"{col}4:{col}{last}")
        ws[f"{col}4"].alignment = Alignment(vertical="center")
    ws.append([])
    ws.append(["备注", "IP5、IP6 为虚拟地址 (VIP)，由 keepalived 在节点间漂移，不配置在网卡上。"])
    for col, width in zip("ABCDEFGHI", (6, 26, 14, 12, 8, 15, 12, 12, 20), strict=True):
        ws.column_dimensions[col].width = width
    wb.properties.created = wb.properties.modified = FIXED
    wb.properties.creator = "onsite scripts/make-ip-sheet-sample.py"
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(raw: bytes) -> bytes:
    """The same workbook with fixed timestamps on every zip entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving into `modified`
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + FIXED.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data)
            dst.writestr(fixed, data)
    return out.getvalue()


def csv_text() -> str:
    lines = ["Slot,IP address,Hostname,NIC,Netmask,Gateway,DNS,NTP"]
    for slot, address, host, nic in ROWS:
        english = slot.split()[0]
        lines.append(f"{english},{address},{host},{nic},{MASK},{GATEWAY},{DNS},{NTP}")
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "ip-sheet-sample.xlsx").write_bytes(xlsx())
    (DOCS / "ip-sheet-sample.csv").write_bytes(b"\xef\xbb\xbf" + csv_text().encode("utf-8"))
    print("wrote docs/ip-sheet-sample.xlsx and docs/ip-sheet-sample.csv")


if __name__ == "__main__":
    main()
