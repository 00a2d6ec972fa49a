"""Batch import of paper evaluation forms (纸质评价表) from CSV or Excel.

File reading (CSV in UTF-8 with or without BOM, GB18030, .xlsx through openpyxl), header normalisation and the
row-error report ("第N行 [列名] 原因") are shared with the directory import (haochaping/lib/tabular.py). Rules:

- One row per form: 表单编号 and 满意度 are required, and the rated object is 办件编号, or 大厅编码 + 窗口编号,
  or 工号. Ratings go through the one intake path with the importing user's scope.
- All or nothing: any bad row, or a dry run, rolls the whole file back; a dry run reports exactly the errors a
  real run would.
- A form number already keyed for the unit (or twice in the file) is refused row by row: re-importing a file
  stores nothing twice.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import translation

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Hall, Staff, Window
from haochaping.entry.models import KeyedEntry
from haochaping.entry.services import double_entry_error, form_date_to_datetime
from haochaping.lib.tabular import (
    IGNORED_HEADERS,
    IGNORED_SHEETS,
    Column,
    FileUnreadable,
    ImportResult,
    KindCounts,
    RowError,
    norm_header,
    read_csv,
    read_workbook,
)
from haochaping.ratings.codes import DETAIL_ANSWERS, DETAIL_QUESTIONS, GRADE_LABEL_SETS, GRADE_LABELS_EN, GRADE_NAMES
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating, ServiceCase

KIND, LABEL = "paper", "纸质评价表"


@functools.cache
def columns() -> tuple[Column, ...]:
    with translation.override(None):  # the Chinese source strings are the canonical headers
        questions = tuple(
            Column(f"q_{code}", str(label), (code,), required=False) for code, label in DETAIL_QUESTIONS.items()
        )
    return (
        Column("form_no", "表单编号", ("评价表编号", "纸质表单编号", "form_no"), required=True),
        Column("case_no", "办件编号", ("case_no",)),
        Column("hall_code", "大厅编码", ("hall_code", "hall")),
        Column("window_code", "窗口编号", ("window_code", "window")),
        Column("staff_code", "工号", ("人员工号", "staff_code")),
        Column("grade", "满意度", ("满意度等级", "评价等级", "grade"), required=True),
        Column("tags", "评价标签", ("标签", "标签代码", "tags")),
        Column("comment", "文字评价", ("有何改进意见", "意见建议", "comment")),
        Column("rated_on", "评价日期", ("评价时间", "rated_on", "rated_at", "date")),
        *questions,
    )


@functools.cache
def _grade_words() -> dict[str, str]:
    words = {name: name for name in GRADE_NAMES}
    by_value = {int(v): k for k, v in GRADE_NAMES.items()}
    for labels in (*GRADE_LABEL_SETS.values(), *GRADE_LABELS_EN.values()):
        for value, label in labels.items():
            words.setdefault(label.lower(), by_value[value])
    return words


@functools.cache
def _answer_words() -> dict[str, str]:
    words = {code: code for code in DETAIL_ANSWERS}
    for language in (None, "en"):
        with translation.override(language):
            for code, label in DETAIL_ANSWERS.items():
                words.setdefault(str(label).lower(), code)
    words.update({"√": "yes", "×": "no", "不清楚": "unsure"})
    return words


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
# intake's field names → this file's columns, for the errors intake reports
_FIELD_COLUMNS = {
    "case_no": "case_no",
    "stage": "case_no",
    "sequence": "case_no",
    "window": "window_code",
    "staff_code": "staff_code",
    "grade": "grade",
    "tags": "tags",
    "comment": "comment",
    "rated_at": "rated_on",
}


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if "T" in text:  # a date cell of a workbook comes as an ISO datetime
        text = text.split("T", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class _Row:
    number: int
    cells: dict[str, str]
    item: dict | None = None
    unit_id: int | None = None


class _Run:
    def __init__(self, *, user, scope: Scope, dry_run: bool, source: str):
        self.user, self.scope, self.source = user, scope, source
        self.result = ImportResult(dry_run=dry_run)
        self.counts = self.result.counts[KIND] = KindCounts(KIND, LABEL)
        self.headers = {c.field: c.header for c in columns()}
        self.sheet = ""

    def error(self, row: int, field: str, message: str) -> None:
        self.result.errors.append(RowError(row, self.headers.get(field, field), message, self.sheet))

    def map_header(self, header: list[str]) -> dict[str, int] | None:
        by_name = {name: c for c in columns() for name in (norm_header(c.header), *map(norm_header, c.aliases))}
        index: dict[str, int] = {}
        for i, text in enumerate(header):
            name = norm_header(text)
            if not name or name in IGNORED_HEADERS:
                continue
            column = by_name.get(name)
            if column is None:
                known = "、".join(c.header for c in columns())
                self.error(1, text, f"无法识别的列名（可用列：{known}）")
            elif column.field in index:
                self.error(1, text, "列名重复")
            else:
                index[column.field] = i
                self.headers[column.field] = text  # errors name the column as the file does
        for column in columns():
            if column.required and column.field not in index:
                self.error(1, column.header, "缺少必填列")
        return None if self.result.errors else index

    def build(self, row: _Row) -> None:
        """Turn the row's cells into a RatingIn-shaped dict, reporting every bad cell."""
        get = row.cells.get
        errors: list[tuple[str, str]] = []
        for column in columns():
            if column.required and not get(column.field):
                errors.append((column.field, "必填"))
        item: dict[str, Any] = {"channel": "paper"}
        if get("case_no"):
            item["case_no"] = get("case_no")
        if get("window_code"):
            if not get("hall_code"):
                errors.append(("hall_code", "填写窗口编号时须同时填写大厅编码"))
            else:
                item["window"] = {"hall": get("hall_code"), "code": get("window_code")}
        elif get("hall_code"):
            item["hall_code"] = get("hall_code")
        if get("staff_code"):
            item["staff_code"] = get("staff_code")
        if not any(k in item for k in ("case_no", "window", "hall_code", "staff_code")) and not get("window_code"):
            errors.append(("case_no", "须填写办件编号，或大厅编码和窗口编号，或工号"))
        if text := get("grade"):
            name = _grade_words().get(text.lower())
            if name is None:
                hint = "、".join(GRADE_LABEL_SETS["satisfaction"][v] for v in (5, 4, 3, 2, 1))
                if text.isdigit():
                    errors.append(("grade", f"请填写等级名称而非数字（数字代码在不同标准中方向相反）：{hint}"))
                else:
                    errors.append(("grade", f"无效的满意度：{text}（可填：{hint}）"))
            else:
                item["grade"] = name
        if text := get("tags"):
            item["tags"] = [t for t in re.split(r"[,，、;；\s]+", text) if t]
        if text := get("comment"):
            item["comment"] = text
        if text := get("rated_on"):
            day = _parse_date(text)
            if day is None:
                errors.append(("rated_on", f"无法识别的日期：{text}（如 2026-03-01）"))
            else:
                item["rated_at"] = form_date_to_datetime(day)
        answers = {}
        for code in DETAIL_QUESTIONS:
            if text := get(f"q_{code}"):
                answer = _answer_words().get(text.lower())
                if answer is None:
                    errors.append((f"q_{code}", f"应填“是”“否”或“一般”，实际为：{text}"))
                else:
                    answers[code] = answer
        item["answers"] = answers  # a question left blank is absent, not "no"
        for field, message in errors:
            self.error(row.number, field, message)
        if not errors:
            row.item = item

    def resolve_units(self, rows: list[_Row]) -> None:
        """The unit each row's rating will count for (bulk, one query per kind), for the double-entry check."""
        items = [r.item for r in rows if r.item]
        cases = dict(
            self.scope.filter(
                ServiceCase.objects.filter(case_no__in={i["case_no"] for i in items if "case_no" in i})
            ).values_list("case_no", "unit_id")
        )
        halls = {i["window"]["hall"] for i in items if "window" in i}
        windows = {
            (h, c): u
            for h, c, u in self.scope.filter(Window.objects.filter(hall__code__in=halls)).values_list(
                "hall__code", "code", "unit_id"
            )
        }
        staff = dict(
            self.scope.filter(
                Staff.objects.filter(code__in={i["staff_code"] for i in items if "staff_code" in i})
            ).values_list("code", "unit_id")
        )
        hall_units = dict(
            self.scope.filter(
                Hall.objects.filter(code__in={i["hall_code"] for i in items if "hall_code" in i})
            ).values_list("code", "unit_id")
        )
        for row in rows:
            i = row.item
            if not i:
                continue
            # the precedence of intake's target resolution: 办件 > window > staff > hall
            if "case_no" in i:
                row.unit_id = cases.get(i["case_no"])
            elif "window" in i:
                row.unit_id = windows.get((i["window"]["hall"], i["window"]["code"]))
            elif "staff_code" in i:
                row.unit_id = staff.get(i["staff_code"])
            elif "hall_code" in i:
                row.unit_id = hall_units.get(i["hall_code"])

    def refuse_double_entries(self, rows: list[_Row]) -> None:
        form_nos = {r.cells["form_no"] for r in rows if r.item}
        existing = {
            (e.unit_id, e.form_no): e
            for e in KeyedEntry.objects.select_related("keyed_by").filter(
                kind=KeyedEntry.Kind.PAPER, form_no__in=form_nos
            )
        }
        seen: dict[tuple, int] = {}
        for row in rows:
            if not row.item or row.unit_id is None:
                continue
            key = (row.unit_id, row.cells["form_no"])
            if key in existing:
                self.error(row.number, "form_no", double_entry_error(existing[key]).message)
                row.item = None
            elif key in seen:
                self.error(row.number, "form_no", f"表单编号 {key[1]} 与第{seen[key]}行重复")
                row.item = None
            else:
                seen[key] = row.number

    def store(self, rows: list[_Row]) -> None:
        good = [r for r in rows if r.item]
        if not good:
            return
        results = submit_ratings([r.item for r in good], scope=self.scope, client=f"import:{self.user.pk}")
        stored: dict[str, _Row] = {}
        for row, result in zip(good, results, strict=True):
            if result.ok:
                stored[result.rating_id] = row
                continue
            for e in result.errors or [{"field": None, "message": result.message}]:
                field = (e.get("field") or "").split(".")[0]
                if field == "answers":
                    field = "q_" + next(iter(DETAIL_QUESTIONS))
                self.error(row.number, _FIELD_COLUMNS.get(field, "case_no"), e["message"])
        if not stored:
            return
        ratings = Rating.objects.filter(public_id__in=list(stored)).values_list("public_id", "id", "unit_id")
        entries = [
            KeyedEntry(
                rating_id=rating_id,
                kind=KeyedEntry.Kind.PAPER,
                keyed_by=self.user,
                unit_id=unit_id,
                form_no=stored[str(public_id)].cells["form_no"],
                source=self.source[:100],
            )
            for public_id, rating_id, unit_id in ratings
        ]
        try:
            with transaction.atomic():
                KeyedEntry.objects.bulk_create(entries, batch_size=500)
        except IntegrityError:
            # A form keyed by someone else since the check above: the whole file is rolled back.
            self.result.errors.append(RowError(0, "", "有表单在导入期间被他人录入，请重新导入以查看重复的行"))
        self.counts.created = len(entries)

    def run(self, header: list[str], data: list[tuple[int, list[str]]]) -> None:
        self.counts.rows = len(data)
        index = self.map_header(header)
        if index is None:
            return
        rows = [_Row(n, {f: (cells[i] if i < len(cells) else "") for f, i in index.items()}) for n, cells in data]
        for row in rows:
            self.build(row)
        self.resolve_units(rows)
        self.refuse_double_entries(rows)
        self.store(rows)


def _read(data: bytes, filename: str) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    lower = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FileUnreadable("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        sheets = [s for s in read_workbook(data) if s[1] and norm_header(s[0]) not in IGNORED_SHEETS]
        if not sheets:
            return "", [], []
        named = [s for s in sheets if norm_header(s[0]) in ("纸质评价表", "评价表", "paper")]
        return (named or sheets)[0]
    header, rows = read_csv(data)
    return "", header, rows


def import_paper_forms(
    source: str | Path | bytes, *, user, scope: Scope, filename: str = "", dry_run: bool = False
) -> ImportResult:
    """Import paper forms from a CSV file or an .xlsx workbook (first sheet, or one named 纸质评价表).

    Raises PermissionDenied for a read-only scope; every problem with the file or its rows is in .errors.
    """
    scope.require_write()
    if isinstance(source, str | Path):
        filename = filename or Path(source).name
        source = Path(source).read_bytes()
    run = _Run(user=user, scope=scope, dry_run=dry_run, source=f"import:{filename}")
    try:
        run.sheet, header, rows = _read(source, filename)
    except FileUnreadable as exc:
        return ImportResult(dry_run=dry_run, errors=[RowError(0, "", str(exc))])
    if not header:
        return ImportResult(dry_run=dry_run, errors=[RowError(0, "", "文件中没有数据")])
    with transaction.atomic():
        run.run(header, rows)
        if dry_run or run.result.errors:
            transaction.set_rollback(True)
    if run.result.errors:
        run.counts.created = 0
    return run.result
