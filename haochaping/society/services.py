"""第三方评估导入: read an assessment firm's filled-in template, check every row, store it all or nothing.

The file is the firm's results for one region and one period: one row per assessed unit, found by its 统一社会信用代码
within the region. Columns (lib/tabular.py reads CSV in UTF-8/GB18030 and .xlsx):

    统一社会信用代码*  单位名称  综合得分* (0–100)  名次  评估意见  [any number of sub-score columns, 0–100]

Every problem is reported with its row and column (RowError, "第N行 [列名] 原因") and nothing is written while any
remains. A name that differs from the directory's is a warning only: the code identifies the unit, names change.
Importing the same firm's results for the same region and period again supersedes the earlier import (kept,
``superseded_by`` set), so figures never count a unit twice (selectors.unit_scores reads the current ones only).
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation, Region
from haochaping.lib.errors import NotFound, PermissionDenied, ValidationFailed
from haochaping.lib.tabular import (
    IGNORED_HEADERS,
    IGNORED_SHEETS,
    FileUnreadable,
    RowError,
    norm_header,
    read_csv,
    read_workbook,
)
from haochaping.lib.uscc import uscc_error
from haochaping.society.models import AssessmentImport, AssessmentScore

MAX_BYTES = 5 * 1024 * 1024
MAX_UNITS = 5000
REMARKS_MAX = 2000
FIRM_MAX = 100
TITLE_MAX = 200
DIMENSION_MAX = 40  # a sub-score column's name
DIMENSIONS_MAX = 20

# field → (canonical header, accepted aliases after norm_header)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "uscc": ("统一社会信用代码", ("统一社会信用代码", "社会信用代码", "信用代码", "uscc")),
    "name": ("单位名称", ("单位名称", "被评估单位", "单位", "name")),
    "score": ("综合得分", ("综合得分", "总分", "得分", "综合评分", "score")),
    "rank": ("名次", ("名次", "排名", "rank")),
    "remarks": ("评估意见", ("评估意见", "意见", "评语", "remarks")),
}
REQUIRED = ("uscc", "score")
HEADERS = [COLUMNS[f][0] for f in ("uscc", "name", "score", "rank", "remarks")]
EXAMPLE_DIMENSIONS = ["服务效率", "服务态度", "办事便利度"]


# --- who may import ------------------------------------------------------------------------------------------


def may_import(scope: Scope, user) -> bool:
    """Agency administrators (for regions in their own) and system administrators; read-only roles never."""
    if scope.read_only or getattr(user, "is_anonymous", True):
        return False
    if scope.kind == "all":
        return True
    return scope.kind == "region" and scope.role == Role.AGENCY_ADMIN


def import_regions(scope: Scope):
    """Regions an import may be made for: the user's own region and those below it (all of them for scope all)."""
    qs = Region.objects.filter(level__lte=Region.Level.COUNTY).order_by("path")
    if scope.kind == "region":
        qs = qs.filter(path__startswith=scope.region_path)
    return qs


# --- periods -------------------------------------------------------------------------------------------------


def period_bounds(text: str) -> tuple[date, date]:
    """A period code → (first day, last day): "2026-10" (month), "2026-Q3" (quarter) or "2026" (year)."""
    text = (text or "").strip().upper()
    try:
        if len(text) == 4 and text.isdigit():
            year = int(text)
            return date(year, 1, 1), date(year, 12, 31)
        year_text, _sep, rest = text.partition("-")
        year = int(year_text)
        if rest.startswith("Q"):
            quarter = int(rest[1:])
            if not 1 <= quarter <= 4:
                raise ValueError
            first = date(year, 3 * quarter - 2, 1)
            return first, _month_end(year, 3 * quarter)
        month = int(rest)
        return date(year, month, 1), _month_end(year, month)
    except (ValueError, TypeError):
        raise ValidationFailed("评估周期格式应为 2026-10、2026-Q3 或 2026", field="period") from None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_label(start: date, end: date) -> str:
    if start.day == 1 and start.month == 1 and end == date(start.year, 12, 31):
        return f"{start.year}年"
    if start.day == 1 and end == _month_end(start.year, start.month):
        return f"{start.year}年{start.month}月"
    if start.day == 1 and start.month % 3 == 1 and end == _month_end(start.year, start.month + 2):
        return f"{start.year}年第{(start.month + 2) // 3}季度"
    return f"{start:%Y-%m-%d}至{end:%Y-%m-%d}"


# --- template --------------------------------------------------------------------------------------------------

_NOTES = [
    "填写说明 / how to fill in",
    "每行一个被评估单位。统一社会信用代码（18位）和综合得分（0–100）必填；单位名称、名次、评估意见可选。",
    "综合得分、分项得分可保留一位小数。名次为正整数。",
    "“评估意见”之后可增加任意多列分项得分（0–100），列名即分项名称（如 服务效率、服务态度）。",
    "单位须属于导入时选择的评估区划；同一单位只能出现一次。单位名称与系统不一致时仅提示，不影响导入。",
    "同一评估机构对同一区划、同一评估期再次导入时，替换上一次导入（旧记录保留并标注为已替换）。",
    "详见 / see docs/society.md",
]


def _example_rows(units: list[tuple[str, str]]) -> list[list]:
    rows = []
    for i, (uscc, name) in enumerate(units[:3] or [("", "")], start=1):
        rows.append([uscc, name, 90 - 3 * i, i, "服务规范，群众满意度较高", 92 - i, 88 - i, 90 - 2 * i])
    return rows


def template_csv(units: list[tuple[str, str]] = ()) -> bytes:
    """The CSV template: UTF-8 with a BOM so that Excel opens it with the right encoding."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS + EXAMPLE_DIMENSIONS)
    for row in _example_rows(list(units)):
        writer.writerow(row)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def template_xlsx(units: list[tuple[str, str]] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "评估结果"
    headers = HEADERS + EXAMPLE_DIMENSIONS
    ws.append(headers)
    required = {COLUMNS[f][0] for f in REQUIRED}
    for i, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="C00000" if header in required else "000000")
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(header) * 2 + 4)
    ws.column_dimensions["A"].number_format = "@"  # the code keeps its digits
    ws.column_dimensions["A"].width = 24
    for row in _example_rows(list(units)):
        ws.append(row)
        ws.cell(row=ws.max_row, column=1).number_format = "@"
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    notes.column_dimensions["A"].width = 100
    for line in _NOTES:
        notes.append([line])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- reading and checking ------------------------------------------------------------------------------------


@dataclass
class AssessmentIn:
    firm: str
    title: str
    region_id: int | None
    period_start: date | None
    period_end: date | None
    file_name: str
    data: bytes


@dataclass
class ImportOutcome:
    """What an import did: the new import (None when refused), every error, and the warnings."""

    assessment: AssessmentImport | None = None
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.assessment is not None


@dataclass
class _Row:
    number: int
    unit: Organisation | None
    score: Decimal | None
    rank: int | None
    remarks: str
    sub_scores: dict[str, float]


def _read(data: bytes, filename: str) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    lower = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FileUnreadable("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        sheets = [s for s in read_workbook(data) if s[1] and norm_header(s[0]) not in IGNORED_SHEETS]
        if not sheets:
            return "", [], []
        return sheets[0]
    if not lower.endswith((".csv", ".txt")) and filename:
        raise FileUnreadable("请上传 .xlsx 或 .csv 文件")
    header, rows = read_csv(data)
    return "", header, rows


def _number(text: str) -> Decimal | None:
    text = text.strip().replace("，", ".").rstrip("分").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


class _Check:
    """One file's checking: the header map, then every row; errors and warnings collected, never raised."""

    def __init__(self, region: Region, sheet: str):
        self.region = region
        self.sheet = sheet
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.index: dict[str, int] = {}
        self.dimensions: list[tuple[str, int]] = []

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append(RowError(row, column, message, self.sheet))

    def warn(self, row: int, column: str, message: str) -> None:
        self.warnings.append(RowError(row, column, message, self.sheet))

    def header(self, header: list[str]) -> bool:
        alias = {a: f for f, (_h, aliases) in COLUMNS.items() for a in aliases}
        seen: dict[str, int] = {}
        for i, raw in enumerate(header):
            name = norm_header(raw)
            if not name or name in IGNORED_HEADERS:
                continue
            if name in seen:
                self.error(1, raw, f"列名重复（与第{seen[name] + 1}列相同）")
                continue
            seen[name] = i
            if name in alias:
                self.index[alias[name]] = i
            else:
                label = raw.strip()
                if len(label) > DIMENSION_MAX:
                    self.error(1, label[:DIMENSION_MAX], f"分项列名不能超过{DIMENSION_MAX}字")
                    continue
                self.dimensions.append((label, i))
        for f in REQUIRED:
            if f not in self.index:
                self.error(1, COLUMNS[f][0], "缺少必填列")
        if len(self.dimensions) > DIMENSIONS_MAX:
            self.error(1, "", f"分项得分列不能超过{DIMENSIONS_MAX}个")
        return not self.errors

    def rows(self, data: list[tuple[int, list[str]]]) -> list[_Row]:
        def cell(cells: list[str], f: str) -> str:
            i = self.index.get(f)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        codes = {cell(cells, "uscc").upper() for _n, cells in data}
        units = {
            u.uscc: u for u in Organisation.objects.filter(uscc__in=codes, region__path__startswith=self.region.path)
        }
        elsewhere = set(Organisation.objects.filter(uscc__in=codes - units.keys()).values_list("uscc", flat=True))
        first_row: dict[int, int] = {}
        out = []
        h = {f: COLUMNS[f][0] for f in COLUMNS}
        for number, cells in data:
            code = cell(cells, "uscc").upper()
            unit = None
            if not code:
                self.error(number, h["uscc"], "必填")
            elif problem := uscc_error(code):
                self.error(number, h["uscc"], problem)
            elif code in units:
                unit = units[code]
            elif code in elsewhere:
                self.error(number, h["uscc"], f"单位不在评估区划“{self.region.name}”内：{code}")
            else:
                self.error(number, h["uscc"], f"系统中没有该单位：{code}")
            if unit is not None:
                if unit.pk in first_row:
                    self.error(number, h["uscc"], f"单位重复（已在第{first_row[unit.pk]}行）")
                else:
                    first_row[unit.pk] = number
                name = cell(cells, "name")
                if name and name != unit.name:
                    self.warn(number, h["name"], f"与系统中的单位名称“{unit.name}”不一致（以信用代码为准）")
            score = self._score(number, h["score"], cell(cells, "score"), required=True)
            rank = None
            rank_text = cell(cells, "rank")
            if rank_text:
                try:
                    rank = int(Decimal(rank_text))
                    if rank < 1 or Decimal(rank_text) != rank:
                        raise ValueError
                except (ValueError, InvalidOperation):
                    rank = None
                    self.error(number, h["rank"], f"名次应为正整数：{rank_text}")
            remarks = cell(cells, "remarks")
            if len(remarks) > REMARKS_MAX:
                self.error(number, h["remarks"], f"评估意见不能超过{REMARKS_MAX}字")
            subs: dict[str, float] = {}
            for label, i in self.dimensions:
                value = self._score(number, label, cells[i] if i < len(cells) else "", required=False)
                if value is not None:
                    subs[label] = float(value)
            out.append(_Row(number, unit, score, rank, remarks, subs))
        if not out:
            self.error(0, "", "文件中没有数据行")
        elif len(out) > MAX_UNITS:
            self.error(0, "", f"单位数超过上限 {MAX_UNITS}")
        return out

    def _score(self, number: int, column: str, text: str, *, required: bool) -> Decimal | None:
        try:
            value = _number(text)
        except ValueError:
            self.error(number, column, f"应为0–100的数字：{text.strip()}")
            return None
        if value is None:
            if required:
                self.error(number, column, "必填")
            return None
        if not Decimal(0) <= value <= Decimal(100):
            self.error(number, column, f"应在0–100之间：{text.strip()}")
            return None
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _clean_meta(scope: Scope, data: AssessmentIn) -> Region:
    firm = data.firm.strip()
    if not firm:
        raise ValidationFailed("请填写评估机构", field="firm")
    if len(firm) > FIRM_MAX:
        raise ValidationFailed(f"评估机构名称不能超过{FIRM_MAX}字", field="firm")
    if len(data.title.strip()) > TITLE_MAX:
        raise ValidationFailed(f"评估项目名称不能超过{TITLE_MAX}字", field="title")
    if data.region_id is None:
        raise ValidationFailed("请选择评估区划", field="region_id")
    region = import_regions(scope).filter(pk=data.region_id).first()
    if region is None:
        raise NotFound("评估区划不存在或不在您的管理范围内", field="region_id")
    if data.period_start is None or data.period_end is None:
        raise ValidationFailed("请选择评估周期或填写评估期起止日期", field="period")
    if data.period_end < data.period_start:
        raise ValidationFailed("评估期止不能早于评估期起", field="period_end")
    if data.period_start > timezone.localdate():
        raise ValidationFailed("评估期尚未开始", field="period_start")
    if not data.data:
        raise ValidationFailed("请选择要导入的文件", field="file")
    if len(data.data) > MAX_BYTES:
        raise ValidationFailed(f"文件不能超过{MAX_BYTES // (1024 * 1024)}MB", field="file")
    return region


def assessment_import(data: AssessmentIn, *, scope: Scope, user) -> ImportOutcome:
    """Check the whole file and store it in one transaction, or store nothing and return every error.

    Raises PermissionDenied for a user who may not import, ValidationFailed/NotFound for the form's fields (firm,
    region, period, file); the file's own problems are in the outcome's errors, with row and column."""
    if not may_import(scope, user):
        raise PermissionDenied("仅管理机构管理员和系统管理员可以导入第三方评估结果")
    region = _clean_meta(scope, data)
    outcome = ImportOutcome()
    try:
        sheet, header, raw_rows = _read(data.data, data.file_name)
    except FileUnreadable as exc:
        outcome.errors.append(RowError(0, "", str(exc)))
        return outcome
    check = _Check(region, sheet)
    rows: list[_Row] = []
    if not header:
        check.error(0, "", "文件中没有数据")
    elif check.header(header):
        rows = check.rows(raw_rows)
    outcome.errors, outcome.warnings = check.errors, check.warnings
    if outcome.errors:
        return outcome
    firm = data.firm.strip()
    with transaction.atomic():
        # The earlier imports of the same firm, region and period: locked, then superseded by the new one.
        previous = list(
            AssessmentImport.objects.select_for_update()
            .filter(
                region=region,
                period_start=data.period_start,
                period_end=data.period_end,
                superseded_by__isnull=True,
                firm__iexact=firm,
            )
            .order_by("id")
        )
        assessment = AssessmentImport.objects.create(
            firm=firm,
            title=data.title.strip(),
            region=region,
            period_start=data.period_start,
            period_end=data.period_end,
            file_name=(data.file_name or "upload")[-200:],
            sha256=hashlib.sha256(data.data).hexdigest(),
            rows=len(rows),
            dimensions=[label for label, _i in check.dimensions],
            uploaded_by=user,
            uploaded_at=timezone.now(),
        )
        AssessmentScore.objects.bulk_create(
            AssessmentScore(
                assessment=assessment,
                unit=r.unit,
                score=r.score,
                sub_scores=r.sub_scores,
                rank=r.rank,
                remarks=r.remarks,
            )
            for r in rows
        )
        if previous:
            AssessmentImport.objects.filter(pk__in=[p.pk for p in previous]).update(superseded_by=assessment)
    outcome.assessment = assessment
    outcome.superseded = [p.pk for p in previous]
    return outcome
