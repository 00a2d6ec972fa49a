"""Reading tabular files for bulk imports (CSV and .xlsx) and reporting their row errors.

Shared by the directory import (directory/importer.py) and the paper-form import (entry/importer.py):
- CSV in UTF-8 with or without BOM, UTF-16, or GBK/GB18030 as Excel saves it on Chinese Windows; comma, tab
  or semicolon separated. Workbooks through openpyxl (read-only, values only).
- The first non-empty row is the header; data rows keep their spreadsheet row numbers (header = row 1).
- Every problem is a RowError, printed as "第N行 [列名] 原因" (with "工作表「…」" for workbooks).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

# Sheets a workbook may carry besides the data sheets (the template has one).
IGNORED_SHEETS = {"说明", "填写说明", "readme"}
# Columns that spreadsheets often carry and that mean nothing to the import.
IGNORED_HEADERS = {"序号", "备注", "说明", "no", "no.", "#"}

MAX_ROWS = 200_000


# --- results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: sheet ("" for CSV), spreadsheet row (header = 1; 0 = the file itself), column, reason."""

    row: int
    column: str
    message: str
    sheet: str = ""

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」" if self.sheet else ""
        if self.row:
            where += f"第{self.row}行"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column} {self.message}".strip()


@dataclass
class KindCounts:
    kind: str
    label: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused file, would have done)."""

    dry_run: bool
    counts: dict[str, KindCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def totals(self) -> tuple[int, int, int]:
        c = self.counts.values()
        return sum(x.created for x in c), sum(x.updated for x in c), sum(x.unchanged for x in c)

    def summary_lines(self) -> list[str]:
        lines = []
        for c in self.counts.values():
            lines.append(
                f"{c.label}（{c.kind}）: 共 {c.rows} 行，新增 {c.created}，更新 {c.updated}，未变 {c.unchanged}"
            )
        if self.dry_run:
            lines.append("试运行：只做检查，未写入任何数据 / dry run: nothing was written")
        elif self.errors:
            lines.append(
                f"有 {len(self.errors)} 个错误，未写入任何数据 / {len(self.errors)} errors, nothing was written"
            )
        else:
            lines.append("导入完成 / import complete")
        return lines


# --- columns and cells ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str  # the importer's name for the value (a model field name where it maps to one)
    header: str  # the canonical Chinese header
    aliases: tuple[str, ...] = ()
    required: bool = False


def norm_header(text: str) -> str:
    text = re.sub(r"\s+", "", text).lower().replace("*", "").replace("＊", "")
    return re.sub(r"[（(][^（()）]*[)）]$", "", text)  # "名称（必填）" → "名称"


def cell_text(value: Any) -> str:
    """A cell as text. Excel turns codes typed without a text format into numbers: give their digits back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).replace("\ufeff", "").strip()
    if text.startswith('="') and text.endswith('"'):  # the ="0101" trick that keeps Excel from eating zeros
        text = text[2:-1].strip()
    return text


# --- reading files -------------------------------------------------------------------------------------------


class FileUnreadable(Exception):
    pass


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV" as GBK; GB18030 is its superset.
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(_("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")) from exc


def split_rows(rows: Iterable[Iterable[Any]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first non-empty row is the header; blank rows are skipped but keep their numbers."""
    header: list[str] | None = None
    data: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(rows, start=1):
        cells = [cell_text(v) for v in raw]
        if not any(cells):
            continue
        if header is None:
            header = cells  # row numbers stay the spreadsheet's, whatever blank rows come before
            continue
        if len(data) >= MAX_ROWS:
            raise FileUnreadable(_("行数超过上限 %(n)d，请拆分文件") % {"n": MAX_ROWS})
        data.append((number, cells))
    return header or [], data


def read_csv(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";"], key=first_line.count)
    return split_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_workbook(data: bytes) -> list[tuple[str, list[str], list[tuple[int, list[str]]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of exceptions on broken or foreign files
        raise FileUnreadable(_("无法读取 Excel 文件（仅支持 .xlsx）：%(e)s") % {"e": exc}) from exc
    try:
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some writers record a wrong sheet size; read every row there is
            header, rows = split_rows(ws.iter_rows(values_only=True))
            sheets.append((ws.title.strip(), header, rows))
        return sheets
    finally:
        wb.close()


def report_import(command, result: ImportResult, elapsed: float) -> None:
    """Print an import's summary and every row error for an operator command; fail it when any row was bad."""
    from django.core.management.base import CommandError

    for line in result.summary_lines():
        command.stdout.write(line)
    command.stdout.write(f"用时 / took {elapsed:.2f} s")
    if result.errors:
        command.stderr.write(f"错误 {len(result.errors)} 个 / {len(result.errors)} errors:")
        for error in result.errors:
            command.stderr.write(str(error))
        raise CommandError(
            f"共 {len(result.errors)} 个错误，未写入任何数据 / {len(result.errors)} errors, nothing was written"
        )
    if result.written:
        command.stdout.write(command.style.SUCCESS("导入成功 / imported"))
