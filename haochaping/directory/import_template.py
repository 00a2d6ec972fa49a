"""Import templates: an .xlsx workbook with one sheet per kind (or a CSV for one kind), headers and example rows.

The example rows form a small consistent directory (浙江省 → 杭州市 → 上城区, its agency, a department, a hall,
a window, a clerk, an item and a terminal), so the template itself imports cleanly into an empty database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from haochaping.directory.importer import KINDS, SHEET_NAMES, columns_of
from haochaping.lib.uscc import make_uscc

_AGENCY = make_uscc("1", "1", "330102", "00250011")
_DEPT = make_uscc("1", "1", "330102", "00250029")

EXAMPLES: dict[str, list[dict[str, str]]] = {
    "regions": [
        {"code": "330000000000", "name": "浙江省", "parent_code": ""},
        {"code": "330100000000", "name": "杭州市", "parent_code": "330000000000"},
        {"code": "330102000000", "name": "上城区", "parent_code": "330100000000"},
    ],
    "units": [
        {
            "uscc": _AGENCY,
            "name": "杭州市上城区政务服务管理办公室",
            "short_name": "上城区政务办",
            "kind": "政务服务管理机构",
            "region_code": "330102000000",
            "parent_uscc": "",
            "is_active": "是",
            "category": "政务服务管理",
        },
        {
            "uscc": _DEPT,
            "name": "杭州市上城区市场监督管理局",
            "short_name": "上城区市场监管局",
            "kind": "政府部门",
            "region_code": "330102000000",
            "parent_uscc": "",
            "is_active": "是",
            "category": "市场监管",
        },
    ],
    "halls": [
        {
            "code": "H330102001",
            "name": "上城区政务服务中心",
            "kind": "政务服务中心",
            "region_code": "330102000000",
            "unit_uscc": _AGENCY,
            "address": "杭州市上城区示例路1号",
            "is_active": "是",
        }
    ],
    "windows": [
        {"hall_code": "H330102001", "code": "01", "name": "市场准入综合窗口", "unit_uscc": _DEPT, "is_active": "是"}
    ],
    "staff": [
        {
            "code": "SC33010200001",
            "name": "王小明",
            "unit_uscc": _DEPT,
            "hall_code": "H330102001",
            "window_code": "01",
            "title": "综合受理员",
            "is_active": "是",
        }
    ],
    "items": [
        {
            "basic_code": "000101001000",
            "implementation_code": f"{_DEPT}000101001000",
            "name": "食品经营许可（新办）",
            "item_type": "行政许可",
            "service_objects": "自然人、企业法人",
            "unit_uscc": _DEPT,
            "region_code": "330102000000",
            "on_site": "是",
            "online": "是",
            "is_active": "是",
        }
    ],
    "platforms": [
        {
            "code": "P330102-ZZ01",
            "name": "上城区政务服务中心自助服务终端",
            "kind": "自助服务终端",
            "region_code": "330102000000",
            "unit_uscc": _AGENCY,
            "is_active": "是",
        }
    ],
}

_NOTES = [
    "填写说明 / how to fill in",
    "每个工作表对应一类目录对象；表头不可修改，红色列为必填。示例行请替换或删除。",
    "One sheet per kind; keep the headers; red columns are required. Replace or delete the example rows.",
    "导入按编码幂等：编码已存在则更新，内容相同则不变。行政区划代码为12位，统一社会信用代码18位。",
    "Imports are idempotent on the codes: an existing code is updated, an identical row is left alone.",
    "类型类字段可填名称或代码（如 事项类型 填“行政许可”或“01”）；是/否字段填“是”或“否”。",
    "命令 / command: haochaping import_directory 本文件.xlsx --dry-run",
    "详见 / see docs/directory-import.md",
]


def write_template(target: str | Path | BinaryIO, *, kinds: Iterable[str] = KINDS, examples: bool = True) -> None:
    """Write an .xlsx workbook with a sheet per kind: headers, code columns formatted as text, example rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for kind in kinds:
        ws = wb.create_sheet(SHEET_NAMES[kind])
        columns = columns_of(kind)
        ws.append([c.header for c in columns])
        for i, column in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=i)
            cell.font = Font(bold=True, color="C00000" if column.required else "000000")
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
            # Text format keeps the leading zeros of codes such as 窗口编号 "01" that users type in later.
            ws.column_dimensions[letter].number_format = "@"
        for example in EXAMPLES[kind] if examples else []:
            ws.append([example.get(c.field, "") for c in columns])
            for cell in ws[ws.max_row]:
                cell.number_format = "@"
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    notes.column_dimensions["A"].width = 100
    for line in _NOTES:
        notes.append([line])
    wb.save(target)


def template_csv(kind: str, *, examples: bool = True) -> bytes:
    """A CSV template for one kind, UTF-8 with a BOM so that Excel opens it with the right encoding."""
    columns = columns_of(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for example in EXAMPLES[kind] if examples else []:
        writer.writerow([example.get(c.field, "") for c in columns])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def template_xlsx(*, kinds: Iterable[str] = KINDS, examples: bool = True) -> bytes:
    buffer = io.BytesIO()
    write_template(buffer, kinds=kinds, examples=examples)
    return buffer.getvalue()
