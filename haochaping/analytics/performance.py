"""Performance inputs (绩效数据), commendation candidates (表扬候选) and the watchlist (关注名单).

Plain functions over the rollups (``analytics.selectors.counts_by``; never a scan of the ratings) and the case
figures (``cases.metrics``). Rates follow ``analytics.metrics.Counts``: None when nothing to divide by.

- ``unit_sheet`` / ``staff_sheet``: one row per unit / staff member of the scope for a period (a month, a quarter
  or a year), keyed by the stable column codes of ``UNIT_COLUMNS`` / ``STAFF_COLUMNS`` (the machine-import row of
  the workbook, ``write_xlsx``, and the CSV header, ``write_csv``).
  The unit rows also carry the other evaluation sources (``analytics.sources``: inspections, surveys, third-party
  assessments, suggestions) and ``composite_score``, the weighted mean over the sources the unit has figures for,
  with the weights of the nearest region that set them (``PerformanceWeights``; else 60/20/10/10).
- ``commendations``: rows with a 好评率 Wilson lower bound at or above the threshold on enough active ratings, a
  low 差评率 and no overdue case: volume first, so three perfect ratings are never a commendation.
- ``watchlist``: units and staff repeatedly rated badly or complained about over the last K months, each entry
  with its evidence (months and counts, complaint case numbers, 差评率 against the scope's).

docs/performance-inputs.md is the same text for people.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts
from haochaping.analytics.selectors import counts_by, slice_for_scope
from haochaping.analytics.sources import WeightBook, composite, source_labels, sources_for
from haochaping.cases import metrics as case_figures
from haochaping.cases import workdays
from haochaping.cases.models import Case, Kind, State
from haochaping.directory.models import Organisation, Staff

WILSON_Z = 1.96  # 95% two-sided: the lower bound a commendation must clear
CASES_PER_ENTRY = 20  # complaint case numbers shown per watchlist entry (the count says how many in all)
MAX_WINDOW_MONTHS = 12

# --- periods -------------------------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    """The first day of the month ``n`` months from ``d``'s month."""
    index = d.year * 12 + d.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A whole month, quarter or year. ``code``: 2026-10, 2026-Q3 or 2026 (the sheets' ``period`` column)."""

    kind: str  # month | quarter | year
    start: date
    end: date  # inclusive
    code: str

    @classmethod
    def month(cls, d: date) -> Period:
        first = month_start(d)
        return cls("month", first, month_end(first), f"{first:%Y-%m}")

    @classmethod
    def quarter(cls, year: int, q: int) -> Period:
        first = date(year, 3 * (q - 1) + 1, 1)
        return cls("quarter", first, add_months(first, 3) - timedelta(days=1), f"{year}-Q{q}")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls("year", date(year, 1, 1), date(year, 12, 31), str(year))

    def previous(self) -> Period:
        return parse_period(_code_of(self.kind, add_months(self.start, -_LENGTH[self.kind])))

    def next(self) -> Period:
        return parse_period(_code_of(self.kind, add_months(self.start, _LENGTH[self.kind])))


_LENGTH = {"month": 1, "quarter": 3, "year": 12}


def _code_of(kind: str, first: date) -> str:
    if kind == "month":
        return f"{first:%Y-%m}"
    if kind == "quarter":
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return str(first.year)


def last_whole_month(today: date | None = None) -> Period:
    today = today or workdays.today()
    return Period.month(add_months(today, -1))


def parse_period(text: str | None, today: date | None = None) -> Period:
    """``2026-10`` (a month), ``2026-Q3`` (a quarter) or ``2026`` (a year); empty: the last whole month.

    Raises ValueError with a message for people when the text is none of these.
    """
    text = (text or "").strip()
    if not text:
        return last_whole_month(today)
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return Period.month(date(year, month, 1))
    elif m := _QUARTER.match(text):
        if 2000 <= int(m[1]) <= 2100:
            return Period.quarter(int(m[1]), int(m[2]))
    elif (m := _YEAR.match(text)) and 2000 <= int(m[1]) <= 2100:
        return Period.year(int(m[1]))
    raise ValueError(_("统计期间应为月份（如 2026-10）、季度（如 2026-Q3）或年度（如 2026）"))


def parse_month(text: str | None, today: date | None = None) -> date:
    """``2026-10`` → its first day; empty: the last whole month. ValueError otherwise."""
    period = parse_period(text, today)
    if period.kind != "month":
        raise ValueError(_("截止月份应为月份，如 2026-10"))
    return period.start


# --- the sheets --------------------------------------------------------------------------------------------

# (code, label, kind): kind "n" count, "rate" a share 0–1, "score" 0–100, "text". The codes are stable:
# offices import the workbook by them (row 2). Add columns at the end; never rename or reuse a code.
_RATING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ratings_counted", gettext_noop("评价数"), "n"),
    ("ratings_active", gettext_noop("主动评价"), "n"),
    ("ratings_default", gettext_noop("默认评价"), "n"),
    ("ratings_set_aside", gettext_noop("不予采纳"), "n"),
    ("ratings_good", gettext_noop("好评（主动）"), "n"),
    ("ratings_bad", gettext_noop("差评（主动）"), "n"),
    ("good_rate", gettext_noop("好评率"), "rate"),
    ("bad_rate", gettext_noop("差评率"), "rate"),
    ("good_rate_with_default", gettext_noop("好评率（含默认）"), "rate"),
    ("bad_rate_with_default", gettext_noop("差评率（含默认）"), "rate"),
    ("score", gettext_noop("满意度指数"), "score"),
    ("score_with_default", gettext_noop("满意度指数（含默认）"), "score"),
)
UNIT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("period", gettext_noop("统计期间"), "text"),
    ("unit_uscc", gettext_noop("统一社会信用代码"), "text"),
    ("unit_name", gettext_noop("单位名称"), "text"),
    ("region_code", gettext_noop("行政区划代码"), "text"),
    ("region_name", gettext_noop("行政区划"), "text"),
    *_RATING_COLUMNS,
    ("cases_opened", gettext_noop("立案工单"), "n"),
    ("complaints", gettext_noop("投诉"), "n"),
    ("callback_rate", gettext_noop("回访率"), "rate"),
    ("real_name_rate", gettext_noop("实名差评回访整改率"), "rate"),
    ("on_time_rate", gettext_noop("按期整改率"), "rate"),
    ("fix_rate", gettext_noop("整改率"), "rate"),
    ("reopen_rate", gettext_noop("重办率"), "rate"),
    ("cases_overdue", gettext_noop("超期工单"), "n"),
    # The other evaluation sources (analytics/sources.py) and the composite score over them.
    ("inspection_score", gettext_noop("检查得分"), "score"),
    ("inspections", gettext_noop("检查次数"), "n"),
    ("survey_score", gettext_noop("调查得分"), "score"),
    ("survey_responses", gettext_noop("调查答卷"), "n"),
    ("assessment_score", gettext_noop("第三方评估得分"), "score"),
    ("suggestions", gettext_noop("意见建议"), "n"),
    ("composite_score", gettext_noop("综合得分"), "score"),
    ("weights_used", gettext_noop("适用权重"), "text"),
    ("sources_missing", gettext_noop("缺少的来源"), "text"),
)
STAFF_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("period", gettext_noop("统计期间"), "text"),
    ("staff_code", gettext_noop("工号"), "text"),
    ("staff_name", gettext_noop("姓名"), "text"),
    ("unit_uscc", gettext_noop("统一社会信用代码"), "text"),
    ("unit_name", gettext_noop("所属单位"), "text"),
    ("hall_code", gettext_noop("大厅编码"), "text"),
    ("window_code", gettext_noop("窗口编号"), "text"),
    *_RATING_COLUMNS,
    ("complaints", gettext_noop("投诉"), "n"),
)
_CASE_RATES = ("callback_rate", "real_name_rate", "on_time_rate", "fix_rate", "reopen_rate")


def rating_figures(c: Counts) -> dict[str, Any]:
    """The rating columns of a sheet row, from one entity's counts."""
    return {
        "ratings_counted": c.counted,
        "ratings_active": c.active,
        "ratings_default": c.defaults,
        "ratings_set_aside": c.set_aside,
        "ratings_good": c.good(),
        "ratings_bad": c.bad(),
        "good_rate": c.good_rate(),
        "bad_rate": c.bad_rate(),
        "good_rate_with_default": c.good_rate(with_default=True),
        "bad_rate_with_default": c.bad_rate(with_default=True),
        "score": c.score(),
        "score_with_default": c.score(with_default=True),
    }


def _complaints(scope: Scope, period: Period) -> tuple[dict[int, int], dict[int, int]]:
    """投诉 opened in the period: (per unit, per staff member). One grouped query."""
    qs = case_figures.cases_in(scope, case_figures.Period(period.start, period.end)).filter(kind=Kind.COMPLAINT)
    per_unit: dict[int, int] = defaultdict(int)
    per_staff: dict[int, int] = defaultdict(int)
    for row in qs.order_by().values("unit_id", "staff_id").annotate(n=Count("pk")):
        per_unit[row["unit_id"]] += row["n"]
        if row["staff_id"]:
            per_staff[row["staff_id"]] += row["n"]
    return dict(per_unit), dict(per_staff)


def overdue_now(scope: Scope) -> tuple[dict[int, int], dict[int, int]]:
    """Cases of the scope overdue today, whenever opened (as ``services.is_overdue``): per unit, per staff."""
    today = workdays.today()
    q = Q(due_on__lt=today, paused_at__isnull=True) & ~Q(state__in=(State.FEEDBACK, State.CLOSED))
    per_unit: dict[int, int] = defaultdict(int)
    per_staff: dict[int, int] = defaultdict(int)
    for row in scope.filter(Case.objects.filter(q)).order_by().values("unit_id", "staff_id").annotate(n=Count("pk")):
        per_unit[row["unit_id"]] += row["n"]
        if row["staff_id"]:
            per_staff[row["staff_id"]] += row["n"]
    return dict(per_unit), dict(per_staff)


def source_figures(f, ratings: Counts, weights) -> dict[str, Any]:
    """The source columns of a unit's row: the sources' figures, and the composite score with its weights."""
    score, missing = composite(
        {
            "ratings": ratings.score(),
            "inspections": f.inspection_score,
            "surveys": f.survey_score,
            "assessments": f.assessment_score,
        },
        weights,
    )
    return {
        "inspection_score": f.inspection_score,
        "inspections": f.inspections,
        "survey_score": f.survey_score,
        "survey_responses": f.responses,
        "assessment_score": f.assessment_score,
        "suggestions": f.suggestions,
        "composite_score": score,
        "weights_used": weights.text,
        "sources_missing": source_labels(missing),
    }


def unit_sheet(scope: Scope, period: Period) -> list[dict[str, Any]]:
    """One row per unit: the active units of the scope, and any other unit with ratings, cases or other sources'
    figures in the period."""
    answer = counts_by(slice_for_scope(scope, period.start, period.end), "unit")
    case_rows = {r["key"]: r["metrics"] for r in case_figures.metrics_by(scope, "unit", period.start, period.end)}
    complaints, _ = _complaints(scope, period)
    others = sources_for(scope, period.start, period.end)
    book = WeightBook()
    ids = set(scope.filter(Organisation.objects.filter(is_active=True)).values_list("pk", flat=True))
    ids |= set(answer.rows) | set(case_rows) | {k for k in others.units if k is not None}
    # Plain values, not model instances: a province has hundreds of units and thousands of staff.
    units = (
        Organisation.objects.filter(pk__in=ids)
        .order_by("region__code", "name")
        .values("pk", "uscc", "name", "region__code", "region__name", "region__path")
    )
    rows = []
    for unit in units:
        m = case_rows.get(unit["pk"], {})
        ratings = answer.rows.get(unit["pk"], Counts())
        row = {
            "id": unit["pk"],
            "period": period.code,
            "unit_uscc": unit["uscc"],
            "unit_name": unit["name"],
            "region_code": unit["region__code"],
            "region_name": unit["region__name"],
            **rating_figures(ratings),
            "cases_opened": m.get("opened", 0),
            "complaints": complaints.get(unit["pk"], 0),
            **{rate: m.get(rate) for rate in _CASE_RATES},
            "cases_overdue": m.get("overdue", 0),
            **source_figures(others.unit(unit["pk"]), ratings, book.for_path(unit["region__path"])),
        }
        rows.append(row)
    return rows


def staff_sheet(scope: Scope, period: Period) -> list[dict[str, Any]]:
    """One row per staff member: active staff with a window, and anyone rated or complained about in the period."""
    answer = counts_by(slice_for_scope(scope, period.start, period.end), "staff")
    _, complaints = _complaints(scope, period)
    directory = scope.filter(Staff.objects.filter(is_active=True, window__isnull=False))
    ids = set(directory.values_list("pk", flat=True)) | {k for k in answer.rows if k} | set(complaints)
    people = (
        Staff.objects.filter(pk__in=ids)
        .order_by("unit__region__code", "unit__name", "code")
        .values("pk", "code", "name", "unit_id", "unit__uscc", "unit__name", "window__code", "window__hall__code")
    )
    rows = []
    for s in people:
        rows.append(
            {
                "id": s["pk"],
                "unit_id": s["unit_id"],
                "period": period.code,
                "staff_code": s["code"],
                "staff_name": s["name"],
                "unit_uscc": s["unit__uscc"],
                "unit_name": s["unit__name"],
                "hall_code": s["window__hall__code"] or "",
                "window_code": s["window__code"] or "",
                **rating_figures(answer.rows.get(s["pk"], Counts())),
                "complaints": complaints.get(s["pk"], 0),
            }
        )
    return rows


# --- exports -----------------------------------------------------------------------------------------------


def _machine_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "rate":
        return round(value, 6)
    if kind == "score":
        return round(value, 2)
    return value


def write_xlsx(units: list[dict], staff: list[dict], out: IO[bytes], *, title: str) -> None:
    """Two sheets, 单位 and 人员: row 1 the labels, row 2 the column codes (for machine import), data from row 3.

    Rates are numbers 0–1 shown as percentages; an empty cell means "no denominator" (the pages' "—").
    """
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    code_font = Font(color="666666", size=9)
    fill = PatternFill("solid", fgColor="EEEEEE")
    for name, columns, rows in (("单位", UNIT_COLUMNS, units), ("人员", STAFF_COLUMNS, staff)):
        ws = wb.create_sheet(name)
        ws.append([label for _, label, _ in columns])
        ws.append([code for code, _, _ in columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for cell in ws[2]:
            cell.font = code_font
        for row in rows:
            ws.append([_machine_value(row.get(code), kind) for code, _, kind in columns])
        for i, (code, label, kind) in enumerate(columns, 1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(10, min(30, len(label) * 2 + 2, len(code) + 2 + 8))
            if kind in ("rate", "score"):
                fmt = "0.00%" if kind == "rate" else "0.00"
                for cell in ws[letter][2:]:
                    cell.number_format = fmt
        ws.freeze_panes = "A3"
    wb.properties.title = title
    wb.save(out)


def write_csv(rows: Iterable[dict], columns: tuple[tuple[str, str, str], ...], out: IO[str]) -> None:
    """Header = the column codes; rates 0–1 (six decimals), empty where there is no denominator."""
    writer = csv.writer(out)
    writer.writerow([code for code, _, _ in columns])
    for row in rows:
        writer.writerow(["" if (v := _machine_value(row.get(c), k)) is None else v for c, _, k in columns])


# --- commendation candidates -------------------------------------------------------------------------------


def wilson_lower(successes: int, n: int, z: float = WILSON_Z) -> float | None:
    """Wilson score interval's lower bound for a share: small samples are pulled well below their raw rate."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


@dataclass(frozen=True)
class CommendRules:
    min_wilson: float  # lower bound of 好评率, 0–1
    min_unit_ratings: int  # active ratings a unit needs in the period
    min_staff_ratings: int
    max_bad_rate: float  # 差评率 must be below this, 0–1

    @classmethod
    def from_settings(cls) -> CommendRules:
        return cls(
            min_wilson=settings.HAOCHAPING_COMMEND_MIN_WILSON_PERMILLE / 1000,
            min_unit_ratings=settings.HAOCHAPING_COMMEND_MIN_UNIT_RATINGS,
            min_staff_ratings=settings.HAOCHAPING_COMMEND_MIN_STAFF_RATINGS,
            max_bad_rate=settings.HAOCHAPING_COMMEND_MAX_BAD_PERMILLE / 1000,
        )


def _commend(rows: list[dict], min_ratings: int, overdue: dict[int, int], rules: CommendRules) -> list[dict]:
    out = []
    for row in rows:
        n = row["ratings_active"]
        if n < min_ratings or overdue.get(row["id"], 0):
            continue
        lower = wilson_lower(row["ratings_good"], n)
        if lower is None or lower < rules.min_wilson:
            continue
        if row["bad_rate"] is None or row["bad_rate"] >= rules.max_bad_rate:
            continue
        out.append({**row, "wilson": lower})
    out.sort(key=lambda r: (-r["wilson"], -r["ratings_active"]))
    return out


def commendations(
    scope: Scope, units: list[dict], staff: list[dict], rules: CommendRules
) -> dict[str, list[dict[str, Any]]]:
    """表扬候选 among the sheet rows: volume, Wilson lower bound, low 差评率, and no case overdue today."""
    overdue_units, overdue_staff = overdue_now(scope)
    return {
        "units": _commend(units, rules.min_unit_ratings, overdue_units, rules),
        "staff": _commend(staff, rules.min_staff_ratings, overdue_staff, rules),
    }


# --- watchlist ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchRules:
    bad_per_month: int  # N: 差评 in a month that make it a bad month
    bad_months: int  # M: bad months needed among the window
    window_months: int  # K: the window, ending with the chosen month
    complaints: int  # C: complaints in the window that put an entity on the list
    rate_margin: float  # 差评率 above the scope's by more than this (0–1) …
    min_ratings: int  # … on at least this many active ratings in the window

    @classmethod
    def from_settings(cls) -> WatchRules:
        return cls(
            bad_per_month=settings.HAOCHAPING_WATCHLIST_BAD_PER_MONTH,
            bad_months=settings.HAOCHAPING_WATCHLIST_BAD_MONTHS,
            window_months=settings.HAOCHAPING_WATCHLIST_WINDOW_MONTHS,
            complaints=settings.HAOCHAPING_WATCHLIST_COMPLAINTS,
            rate_margin=settings.HAOCHAPING_WATCHLIST_RATE_MARGIN_PERMILLE / 1000,
            min_ratings=settings.HAOCHAPING_WATCHLIST_MIN_RATINGS,
        )


@dataclass
class WatchEntry:
    kind: str  # unit | staff
    id: int
    name: str = ""
    code: str = ""
    unit_name: str = ""
    months: list[tuple[date, int, int]] = field(default_factory=list)  # (month, 差评, active ratings)
    bad_months: int = 0
    active: int = 0
    bad: int = 0
    bad_rate: float | None = None
    scope_bad_rate: float | None = None
    complaints: int = 0
    cases: list[tuple[int, str]] = field(default_factory=list)  # (pk, 工单编号) of complaints, in scope
    reasons: list[str] = field(default_factory=list)  # bad_months | complaints | bad_rate


@dataclass
class Watchlist:
    first: date
    last: date  # first day of the last month
    months: list[date]
    rules: WatchRules
    units: list[WatchEntry]
    staff: list[WatchEntry]
    scope_unit_bad_rate: float | None
    scope_staff_bad_rate: float | None


def _flag(
    kind: str,
    per_month: list[dict[int, Counts]],
    months: list[date],
    complaints: dict[int, int],
    rules: WatchRules,
) -> tuple[list[WatchEntry], float | None]:
    totals: dict[int, Counts] = defaultdict(Counts)
    for rows in per_month:
        for key, c in rows.items():
            if key:
                totals[key] += c
    scope_total = Counts()
    for c in totals.values():
        scope_total += c
    scope_rate = scope_total.bad_rate()
    entries = []
    for key in set(totals) | set(complaints):
        c = totals.get(key, Counts())
        e = WatchEntry(kind, key, active=c.active, bad=c.bad(), bad_rate=c.bad_rate(), scope_bad_rate=scope_rate)
        for m, rows in zip(months, per_month, strict=True):
            mc = rows.get(key, Counts())
            e.months.append((m, mc.bad(), mc.active))
            e.bad_months += mc.bad() >= rules.bad_per_month
        e.complaints = complaints.get(key, 0)
        if e.bad_months >= rules.bad_months:
            e.reasons.append("bad_months")
        if e.complaints >= rules.complaints:
            e.reasons.append("complaints")
        if (
            e.active >= rules.min_ratings
            and e.bad_rate is not None
            and scope_rate is not None
            and e.bad_rate > scope_rate + rules.rate_margin
        ):
            e.reasons.append("bad_rate")
        if e.reasons:
            entries.append(e)
    entries.sort(key=lambda e: (-len(e.reasons), -e.bad_months, -e.complaints, -(e.bad_rate or 0)))
    return entries, scope_rate


def watchlist(scope: Scope, last_month: date, rules: WatchRules) -> Watchlist:
    """关注名单 over the K months ending with ``last_month``: 2·K grouped cube queries, two case queries."""
    last = month_start(last_month)
    months = [add_months(last, -i) for i in range(rules.window_months - 1, -1, -1)]
    unit_months, staff_months = [], []
    for m in months:
        s = slice_for_scope(scope, m, month_end(m))
        unit_months.append(counts_by(s, "unit").rows)
        staff_months.append(counts_by(s, "staff").rows)
    period = case_figures.Period(months[0], month_end(last))
    complaints_qs = case_figures.cases_in(scope, period).filter(kind=Kind.COMPLAINT)
    c_units: dict[int, int] = defaultdict(int)
    c_staff: dict[int, int] = defaultdict(int)
    for row in complaints_qs.order_by().values("unit_id", "staff_id").annotate(n=Count("pk")):
        c_units[row["unit_id"]] += row["n"]
        if row["staff_id"]:
            c_staff[row["staff_id"]] += row["n"]
    units, unit_rate = _flag("unit", unit_months, months, c_units, rules)
    staff, staff_rate = _flag("staff", staff_months, months, c_staff, rules)
    _describe(units, staff, complaints_qs)
    return Watchlist(months[0], last, months, rules, units, staff, unit_rate, staff_rate)


def _describe(units: list[WatchEntry], staff: list[WatchEntry], complaints_qs) -> None:
    """Names and complaint case numbers of the listed entries (the case list comes through the scope)."""
    unit_ids = {e.id for e in units}
    staff_ids = {e.id for e in staff}
    names = dict(Organisation.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    codes = dict(Organisation.objects.filter(pk__in=unit_ids).values_list("pk", "uscc"))
    for e in units:
        e.name, e.code = names.get(e.id, str(e.id)), codes.get(e.id, "")
    people = {s.pk: s for s in Staff.objects.filter(pk__in=staff_ids).select_related("unit")}
    for e in staff:
        s = people.get(e.id)
        if s is not None:
            e.name, e.code, e.unit_name = s.name, s.code, s.unit.name
    wanted_units = {e.id for e in units if e.complaints}
    wanted_staff = {e.id for e in staff if e.complaints}
    if not wanted_units and not wanted_staff:
        return
    cases = complaints_qs.filter(Q(unit_id__in=wanted_units) | Q(staff_id__in=wanted_staff)).order_by("-opened_at")
    by_unit: dict[int, list] = defaultdict(list)
    by_staff: dict[int, list] = defaultdict(list)
    for c in cases.only("pk", "kind", "opened_at", "unit_id", "staff_id"):
        if c.unit_id in wanted_units and len(by_unit[c.unit_id]) < CASES_PER_ENTRY:
            by_unit[c.unit_id].append((c.pk, c.number))
        if c.staff_id in wanted_staff and len(by_staff[c.staff_id]) < CASES_PER_ENTRY:
            by_staff[c.staff_id].append((c.pk, c.number))
    for e in units:
        e.cases = by_unit.get(e.id, [])
    for e in staff:
        e.cases = by_staff.get(e.id, [])


__all__ = [
    "STAFF_COLUMNS",
    "UNIT_COLUMNS",
    "CommendRules",
    "Period",
    "WatchEntry",
    "WatchRules",
    "Watchlist",
    "commendations",
    "last_whole_month",
    "parse_month",
    "parse_period",
    "rating_figures",
    "staff_sheet",
    "unit_sheet",
    "watchlist",
    "wilson_lower",
    "write_csv",
    "write_xlsx",
]
