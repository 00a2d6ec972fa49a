"""Periodic reports (定期报告): monthly, quarterly and annual reports of a region or a unit, as Excel and PDF.

Figures come from the rollups (analytics/selectors.py, metrics defined once in analytics/metrics.py) and the
closed-loop figures from cases/metrics.py, the other evaluation sources (inspections, surveys, suggestions,
third-party assessments) from analytics/sources.py, in tables of their own; nothing here scans the ratings.
``build_report`` gathers them into a ``ReportData`` (plain tables), ``write_xlsx`` and ``write_pdf`` render it,
and the services below keep the lifecycle: draft (草稿) → submitted (已报送) → published (已发布), with
submitted → draft (退回).

Integrity: each file's SHA-256 is stored when it is written; publishing re-checks both files against it, and a
published file is re-checked on every download (a changed file is refused, never served). Published files are
never rewritten: regenerating a published report makes a new version with new files.

The documents are in Chinese whoever generates them (they are official documents, like the 整改台账).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope, unit_and_descendants
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import Report
from haochaping.analytics.selectors import Answer, Slice, counts_by
from haochaping.analytics.sources import Figures, Sources, sources_for
from haochaping.analytics.uptake import Uptake, uptake_for_slice
from haochaping.cases import metrics as case_figures
from haochaping.directory.models import Organisation, Region, ServiceItem, Staff, Window
from haochaping.lib.errors import Conflict, ValidationFailed
from haochaping.ratings.codes import Channel

# A unit's 差评率 change is "notable" only when both periods have this many active ratings: with a handful of
# ratings one bad rating moves the rate by tens of points.
MIN_BASE = 20
MIN_MOVE = 0.001  # 0.1 percentage point: smaller moves are shown as "+0.0" and are no finding
NOTABLE = 3  # how many rises / falls the summary names
PDF_ROWS_MAX = 60  # rows of a long table in the PDF (the workbook has them all)

KIND = Report.Kind
STATE = Report.State

# --- periods ---------------------------------------------------------------------------------------------------


def _month_end(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _add_months(d: date, months: int) -> date:
    n = d.year * 12 + d.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


MONTHS = {KIND.MONTHLY: 1, KIND.QUARTERLY: 3, KIND.ANNUAL: 12}


def period_end(kind: str, start: date) -> date:
    return _add_months(start, MONTHS[kind]) - timedelta(days=1)


def parse_period(kind: str, text: str) -> tuple[date, date]:
    """ "2026-10" (monthly), "2026-Q4" or "2026-10" at a quarter's start (quarterly), "2026" (annual)."""
    if kind not in MONTHS:
        raise ValidationFailed(f"未知的报告类型 {kind!r}（monthly、quarterly、annual）", field="kind")
    text = (text or "").strip().upper()
    start: date | None = None
    if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text):
        if kind == KIND.QUARTERLY:
            start = date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1)
    elif m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        month = int(m[2])
        if 1 <= month <= 12 and (kind == KIND.MONTHLY or (kind == KIND.QUARTERLY and month % 3 == 1)):
            start = date(int(m[1]), month, 1)
    elif m := re.fullmatch(r"\d{4}", text):
        if kind == KIND.ANNUAL:
            start = date(int(text), 1, 1)
    if start is None or start.year < 2000:
        examples = {KIND.MONTHLY: "2026-10", KIND.QUARTERLY: "2026-Q4", KIND.ANNUAL: "2026"}
        raise ValidationFailed(f"报告期间格式不对：{text or '（空）'}，应如 {examples[kind]}", field="period")
    return start, period_end(kind, start)


def previous_period(kind: str, start: date) -> tuple[date, date]:
    prev = _add_months(start, -MONTHS[kind])
    return prev, period_end(kind, prev)


def last_complete_period(kind: str, today: date) -> tuple[date, date]:
    """The latest period of this kind that ended before ``today`` (the schedule's previous month etc.)."""
    months = MONTHS[kind]
    current = date(today.year, (today.month - 1) // months * months + 1, 1)
    return previous_period(kind, current)


def period_label(kind: str, start: date) -> str:
    if kind == KIND.MONTHLY:
        return f"{start.year}年{start.month}月"
    if kind == KIND.QUARTERLY:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"


# --- the figures -----------------------------------------------------------------------------------------------

# Column kinds: text, int, rate (0–1 shown as %), score (0–100), pp (change in percentage points), num.
COUNT_COLUMNS: list[tuple[str, str]] = [
    ("评价数", "int"),
    ("主动评价", "int"),
    ("默认评价", "int"),
    ("差评", "int"),
    ("差评率", "rate"),
    ("好评率", "rate"),
    ("满意度指数", "score"),
    ("不予采纳", "int"),
]
CHANGE_COLUMNS: list[tuple[str, str]] = [("上期评价数", "int"), ("上期差评率", "rate"), ("差评率变化（百分点）", "pp")]
CASE_COLUMNS: list[tuple[str, str, str]] = [
    ("opened", "立案", "int"),
    ("closed", "已办结", "int"),
    ("fixed", "已整改", "int"),
    ("not_adopted", "不予采纳", "int"),
    ("overdue", "超期", "int"),
    ("callback_rate", "回访率", "rate"),
    ("real_name_rate", "实名差评回访整改率", "rate"),
    ("on_time_rate", "按期整改率", "rate"),
    ("fix_rate", "整改率", "rate"),
    ("reopen_rate", "重办率", "rate"),
    ("avg_days", "平均办结天数", "num"),
]
HEADLINE_LABELS: list[tuple[str, str, str]] = [
    ("counted", "有效评价数", "int"),
    ("active", "主动评价", "int"),
    ("defaults", "默认评价", "int"),
    ("set_aside", "不予采纳（不计入比率）", "int"),
    ("good", "好评（主动）", "int"),
    ("bad", "差评（主动）", "int"),
    ("active_rate", "主动评价率", "rate"),
    ("good_rate", "好评率", "rate"),
    ("good_rate_with_default", "好评率（含默认评价）", "rate"),
    ("bad_rate", "差评率", "rate"),
    ("bad_rate_with_default", "差评率（含默认评价）", "rate"),
    ("basic_share", "基本满意占比", "rate"),
    ("score", "满意度指数", "score"),
    ("score_with_default", "满意度指数（含默认评价）", "score"),
]
GRADE_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass
class Table:
    """One table of the report: a sheet of the workbook, a table of the PDF."""

    sheet: str  # sheet name (≤ 31 characters)
    title: str
    columns: list[tuple[str, str]]  # (header, kind)
    rows: list[list[Any]]
    note: str = ""
    chart: str = ""  # "bar", "line" or "pie": the workbook draws it from the first two columns (+ more series)
    chart_series: int = 1  # how many value columns after the label the chart shows


@dataclass
class ReportData:
    kind: str
    title: str
    subject: str  # region or unit name
    start: date
    end: date
    prev_start: date
    prev_end: date
    headline: Counts
    previous: Counts
    summary: list[str]
    tables: list[Table] = field(default_factory=list)
    trend: list[tuple[str, int, float | None]] = field(default_factory=list)  # (label, counted, bad rate)
    bars: tuple[str, list[tuple[str, int]]] = ("", [])  # (title, [(label, value)])
    case_totals: dict[str, Any] = field(default_factory=dict)
    uptake: tuple[Uptake, Uptake] | None = None  # (this period, the previous one)
    sources: tuple[Sources, Sources] | None = None  # the other evaluation sources: (this period, the previous one)
    generated_at: Any = None


def _cells(c: Counts) -> list[Any]:
    return [c.counted, c.active, c.defaults, c.bad(), c.bad_rate(), c.good_rate(), c.score(), c.set_aside]


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _points(change: float | None) -> float | None:
    """A change of two rates in percentage points (百分点), as tables show it."""
    return None if change is None else round(change * 100, 2)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _pp(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f}个百分点"


def _compare_rows(
    now: Answer, before: Answer, labels: dict[Any, str], extra: dict[Any, list[Any]] | None = None
) -> list[list[Any]]:
    """Rows label | (extra) | counts | previous count, previous 差评率, change; by descending volume."""
    rows = []
    for key in sorted(now.rows, key=lambda k: (-now.rows[k].counted, labels.get(k, str(k)))):
        c, p = now.rows[key], before.rows.get(key, Counts())
        rows.append(
            [
                labels.get(key, str(key)),
                *((extra or {}).get(key, [])),
                *_cells(c),
                p.counted,
                p.bad_rate(),
                _points(_change(c.bad_rate(), p.bad_rate())),
            ]
        )
    return rows


def _notable(now: Answer, before: Answer, labels: dict[Any, str]) -> tuple[list[str], list[str]]:
    """The largest rises and falls of 差评率 among keys with enough ratings in both periods."""
    moves = []
    for key, c in now.rows.items():
        p = before.rows.get(key)
        if p is None or c.active < MIN_BASE or p.active < MIN_BASE:
            continue
        moves.append((c.bad_rate() - p.bad_rate(), labels.get(key, str(key)), p.bad_rate(), c.bad_rate()))
    moves.sort(key=lambda m: (m[0], m[1]))

    def text(m):
        return f"{m[1]}（{_pct(m[2])}→{_pct(m[3])}，{_pp(m[0])}）"

    rises = [text(m) for m in reversed(moves[-NOTABLE:]) if m[0] >= MIN_MOVE]
    falls = [text(m) for m in moves[:NOTABLE] if m[0] <= -MIN_MOVE]
    return rises, falls


def _summary(data: ReportData, by: str, now: Answer | None, before: Answer | None, labels: dict) -> list[str]:
    c, p = data.headline, data.previous
    lines = []
    if p.counted:
        diff = c.counted - p.counted
        lines.append(
            f"本期有效评价 {c.counted:,} 件，较上期（{p.counted:,} 件）{'增加' if diff >= 0 else '减少'} "
            f"{abs(diff):,} 件（{diff / p.counted * 100:+.1f}%）。"
        )
    else:
        lines.append(f"本期有效评价 {c.counted:,} 件；上期无评价数据，不作比较。")
    lines.append(
        f"差评率 {_pct(c.bad_rate())}（上期 {_pct(p.bad_rate())}，{_pp(_change(c.bad_rate(), p.bad_rate()))}）；"
        f"好评率 {_pct(c.good_rate())}；满意度指数 {'—' if c.score() is None else f'{c.score():.1f}'}；"
        f"主动评价率 {_pct(c.active_rate)}。"
    )
    if now is not None and before is not None:
        rises, falls = _notable(now, before, labels)
        if rises:
            lines.append(f"差评率上升最多的{by}：" + "、".join(rises) + "。")
        if falls:
            lines.append(f"差评率下降最多的{by}：" + "、".join(falls) + "。")
        if not rises and not falls:
            lines.append(f"各{by}差评率无明显变化（两期主动评价均不少于 {MIN_BASE} 件的{by}参与比较）。")
    if data.uptake is not None:
        u, pu = data.uptake
        lines.append(
            f"本期办结办件 {u.completed:,} 件，评价率 {_pct(u.rating_rate())}（上期 {_pct(pu.rating_rate())}；"
            f"含默认评价 {_pct(u.rating_rate(with_default=True))}）；邀评 {u.offered:,} 次。"
        )
    lines.append(
        f"本期经申诉复核不予采纳的评价 {c.set_aside:,} 件（上期 {p.set_aside:,} 件）；"
        "不予采纳的评价不计入任何比率，仅单独列示。"
    )
    if data.sources is not None:
        lines.extend(_source_summary(*data.sources))
    m = data.case_totals
    if m:
        lines.append(
            f"本期差评、投诉和意见建议工单立案 {m['opened']:,} 件，已办结 {m['closed']:,} 件，"
            f"已整改 {m['fixed']:,} 件，"
            f"超期 {m['overdue']:,} 件；整改率 {_pct(m['fix_rate'])}，实名差评回访整改率 {_pct(m['real_name_rate'])}"
            + ("（未达到 100% 的要求）" if m["real_name_rate"] is not None and m["real_name_rate"] < 1 else "")
            + "。"
        )
    return lines


def _region_labels(ids) -> dict[int, str]:
    return dict(Region.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def _unit_labels(ids) -> tuple[dict[int, str], dict[int, list[Any]]]:
    rows = Organisation.objects.filter(pk__in=list(ids)).values_list("pk", "name", "region__name")
    return {pk: name for pk, name, _ in rows}, {pk: [region] for pk, _, region in rows}


def _trend(kind: str, s: Slice) -> tuple[Table, list[tuple[str, int, float | None]]]:
    by = "day" if kind == KIND.MONTHLY else "month"
    answer = counts_by(s, by)
    keys = []
    d = s.start
    while d <= s.end:  # every day / month of the period, empty ones included (a gap is a finding too)
        keys.append(d)
        d = d + timedelta(days=1) if by == "day" else _add_months(d, 1)
    points = []
    rows = []
    for k in keys:
        c = answer.rows.get(k, Counts())
        label = f"{k:%m-%d}" if by == "day" else f"{k:%Y-%m}"
        points.append((label, c.counted, c.bad_rate()))
        rows.append([label, *_cells(c)])
    table = Table(
        "趋势",
        f"按{'日' if by == 'day' else '月'}趋势",
        [("日期" if by == "day" else "月份", "text"), *COUNT_COLUMNS],
        rows,
        chart="line",
        chart_series=1,
    )
    return table, points


def _channels(s: Slice) -> Table:
    answer = counts_by(s, "channel")
    names = dict(Channel.choices)
    total = answer.total.counted
    rows = [
        [str(names.get(k, k or "未知")), c.counted, c.counted / total if total else None, c.bad(), c.bad_rate()]
        for k, c in sorted(answer.rows.items(), key=lambda kv: -kv[1].counted)
    ]
    return Table(
        "渠道",
        "评价渠道构成",
        [("渠道", "text"), ("评价数", "int"), ("占比", "rate"), ("差评", "int"), ("差评率", "rate")],
        rows,
        chart="pie",
    )


def _case_tables(scope: Scope, start: date, end: date) -> tuple[dict[str, Any], Table]:
    totals = case_figures.case_metrics(case_figures.cases_in(scope, case_figures.Period(start, end)))
    rows = [
        [r["label"], *(r["metrics"].get(key) for key, _, _ in CASE_COLUMNS)]
        for r in sorted(case_figures.metrics_by(scope, "unit", start, end), key=lambda r: -r["metrics"]["opened"])
    ]
    table = Table(
        "闭环指标",
        "差评整改闭环指标（按责任单位，本期立案的工单）",
        [("单位", "text"), *((label, kind) for _, label, kind in CASE_COLUMNS)],
        rows,
        note="实名差评回访整改率目标 100%；不予采纳的误评、恶意差评不计入整改率分母。",
    )
    return totals, table


def build_report(
    kind: str, start: date, *, region: Region | None = None, unit: Organisation | None = None
) -> ReportData:
    """All figures of one report (region XOR unit), with the previous period for comparison."""
    if (region is None) == (unit is None):
        raise ValueError("a report is about a region or a unit")
    end = period_end(kind, start)
    prev_start, prev_end = previous_period(kind, start)
    if region is not None:
        s = Slice(start, end, region_path=region.path)
        ps = Slice(prev_start, prev_end, region_path=region.path)
        scope = Scope(kind="region", region_path=region.path, region_id=region.pk, label=region.name)
        subject = region.name
    else:
        ids = unit_and_descendants(unit.pk)
        s = Slice(start, end, unit_ids=ids)
        ps = Slice(prev_start, prev_end, unit_ids=ids)
        scope = Scope(kind="units", unit_ids=ids, region_id=unit.region_id, label=unit.name)
        subject = unit.name
    headline, previous = counts_by(s).total, counts_by(ps).total
    data = ReportData(
        kind=kind,
        title=f"{subject}政务服务“好差评”{period_label(kind, start)}{Report.Kind(kind).label}",
        subject=subject,
        start=start,
        end=end,
        prev_start=prev_start,
        prev_end=prev_end,
        headline=headline,
        previous=previous,
        summary=[],
        generated_at=timezone.localtime(),
    )
    now_h, prev_h = headline.as_dict(), previous.as_dict()
    overview = [[label, now_h[key], prev_h[key]] for key, label, _ in HEADLINE_LABELS]
    overview += [[f"{GRADE_LABELS[g]}（含默认）", now_h["by_grade"][g], prev_h["by_grade"][g]] for g in (5, 4, 3, 2, 1)]
    kinds = {label: kind_ for _, label, kind_ in HEADLINE_LABELS}
    data.uptake = (uptake_for_slice(s), uptake_for_slice(ps))
    active = [
        {k: sum(c.act.values()) for k, c in counts_by(x, "channel").rows.items()} for x in (s, ps)
    ]  # fmt: skip
    u_now, u_prev = data.uptake
    uptake_rows = [
        ("办结办件", "int", u_now.completed, u_prev.completed),
        ("已评价办件", "int", u_now.rated, u_prev.rated),
        ("评价率", "rate", u_now.rating_rate(), u_prev.rating_rate()),
        ("评价率（含默认评价）", "rate", u_now.rating_rate(with_default=True), u_prev.rating_rate(with_default=True)),
        ("邀评次数", "int", u_now.offered, u_prev.offered),
        ("邀评转化率", "rate", u_now.conversion(active[0])[1], u_prev.conversion(active[1])[1]),
    ]
    overview += [[label, now_v, prev_v] for label, _, now_v, prev_v in uptake_rows]
    kinds.update({label: kind_ for label, kind_, _, _ in uptake_rows})
    data.tables.append(
        Table(
            "概况",
            "主要指标",
            [("指标", "text"), ("本期", "mixed"), ("上期", "mixed")],
            [[r[0], (r[1], kinds.get(r[0], "int")), (r[2], kinds.get(r[0], "int"))] for r in overview],
        )
    )
    units_now, units_before = counts_by(s, "unit"), counts_by(ps, "unit")
    unit_names, unit_regions = _unit_labels(set(units_now.rows) | set(units_before.rows))
    if region is not None:
        regions_now, regions_before = counts_by(s, "region"), counts_by(ps, "region")
        labels = _region_labels(set(regions_now.rows) | set(regions_before.rows))
        labels[region.pk] = f"{region.name}（本级）"
        data.tables.append(
            Table(
                "下级区划",
                "按下级区划",
                [("区划", "text"), *COUNT_COLUMNS, *CHANGE_COLUMNS],
                _compare_rows(regions_now, regions_before, labels),
                chart="bar",
            )
        )
        data.bars = (
            "各下级区划有效评价数",
            [
                (labels.get(k, str(k)), c.counted)
                for k, c in sorted(regions_now.rows.items(), key=lambda kv: -kv[1].counted)
            ],
        )
    data.tables.append(
        Table(
            "单位",
            "按单位",
            [("单位", "text"), ("区划", "text"), *COUNT_COLUMNS, *CHANGE_COLUMNS],
            _compare_rows(units_now, units_before, unit_names, unit_regions),
            note=f"差评率变化：本期与上期差评率之差；两期主动评价均不少于 {MIN_BASE} 件的单位列入摘要比较。",
        )
    )
    trend_table, data.trend = _trend(kind, s)
    data.tables.append(trend_table)
    channels = _channels(s)
    data.tables.append(channels)
    if not data.bars[1]:
        data.bars = ("各渠道有效评价数", [(r[0], r[1]) for r in channels.rows])
    data.case_totals, case_table = _case_tables(scope, start, end)
    data.tables.append(case_table)
    data.sources = (sources_for(scope, start, end), sources_for(scope, prev_start, prev_end))
    data.tables.extend(_source_tables(data.sources, units_now, region, regions_now if region is not None else None))
    if unit is not None:
        data.tables.extend(_unit_detail_tables(s))
    data.summary = _summary(data, "单位", units_now, units_before, unit_names)
    if region is not None:
        rises, _ = _notable(regions_now, regions_before, labels)
        if rises:
            data.summary.insert(2, "差评率上升最多的下级区划：" + "、".join(rises) + "。")
    return data


# --- the other evaluation sources (analytics/sources.py), beside the ratings but never mixed with them ----------

SOURCE_COLUMNS: list[tuple[str, str]] = [
    ("有效评价", "int"),
    ("满意度指数", "score"),
    ("差评率", "rate"),
    ("检查次数", "int"),
    ("检查得分", "score"),
    ("不合格项", "int"),
    ("调查答卷", "int"),
    ("调查得分", "score"),
    ("第三方评估得分", "score"),
    ("意见建议", "int"),
]
SOURCES_NOTE = (
    "好差评、监督查评、服务调查、第三方评估和意见建议分开统计，各列互不折算：检查得分为本期提交的检查的平均分，"
    "调查得分为本期回收答卷的平均分，第三方评估得分取评估期与本期重叠的有效评估结果（均为百分制）；"
    "“—”表示该来源本期没有数据。"
)


def _side_by_side(c: Counts, f: Figures) -> list[Any]:
    return [
        c.counted, c.score(), c.bad_rate(), f.inspections, f.inspection_score, f.failed_items, f.responses,
        f.survey_score, f.assessment_score, f.suggestions,
    ]  # fmt: skip


def _source_overview(now: Sources, before: Sources) -> list[list[Any]]:
    """Rows source | figure | this period | previous period (values as (value, kind) pairs)."""
    n, p = now.total, before.total
    rows = [
        ("监督查评", "检查次数", "int", n.inspections, p.inspections),
        ("监督查评", "检查平均得分", "score", n.inspection_score, p.inspection_score),
        ("监督查评", "不合格项", "int", n.failed_items, p.failed_items),
        ("监督查评", "开出整改事项", "int", n.rectifications, p.rectifications),
        ("监督查评", "被检查单位", "int", now.units_inspected, before.units_inspected),
        ("服务调查", "发放邀请", "int", n.invited, p.invited),
        ("服务调查", "其中已回答", "int", n.responded, p.responded),
        ("服务调查", "回收率", "rate", n.response_rate, p.response_rate),
        ("服务调查", "回收答卷", "int", n.responses, p.responses),
        ("服务调查", "调查平均得分", "score", n.survey_score, p.survey_score),
        ("意见建议", "收到", "int", n.suggestions, p.suggestions),
        ("意见建议", "办结", "int", n.suggestions_closed, p.suggestions_closed),
        ("意见建议", "期末未办结", "int", n.suggestions_open, p.suggestions_open),
        ("第三方评估", "平均得分", "score", n.assessment_score, p.assessment_score),
        ("第三方评估", "参评单位", "int", now.units_assessed, before.units_assessed),
        ("第三方评估", "评估机构", "text", "、".join(now.firms) or None, "、".join(before.firms) or None),
    ]
    return [[source, label, (v, kind), (pv, kind)] for source, label, kind, v, pv in rows]


def _source_tables(
    pair: tuple[Sources, Sources], units_now: Answer, region: Region | None, regions_now: Answer | None
) -> list[Table]:
    now, before = pair
    tables = [
        Table(
            "评价来源概况",
            "评价来源概况（监督查评、服务调查、意见建议、第三方评估）",
            [("来源", "text"), ("指标", "text"), ("本期", "mixed"), ("上期", "mixed")],
            _source_overview(now, before),
            note="服务调查回收率 = 本期发放的邀请中已回答的比例；答卷和调查得分按答卷提交时间统计。",
        )
    ]
    if region is not None and regions_now is not None:
        per_region = now.by_region(region)
        keys = set(regions_now.rows) | set(per_region)
        labels = _region_labels(keys)
        labels[region.pk] = f"{region.name}（本级）"
        rows = [
            [labels.get(k, str(k)), *_side_by_side(regions_now.rows.get(k, Counts()), per_region.get(k, Figures()))]
            for k in sorted(keys, key=lambda k: (-regions_now.rows.get(k, Counts()).counted, labels.get(k, "")))
        ]
        columns = [("区划", "text"), *SOURCE_COLUMNS]
        tables.append(Table("来源对照（区划）", "评价来源对照（按下级区划）", columns, rows, note=SOURCES_NOTE))
    keys = set(units_now.rows) | {k for k in now.units if k is not None}
    names, _regions = _unit_labels(keys)
    rows = [
        [names.get(k, str(k)), *_side_by_side(units_now.rows.get(k, Counts()), now.unit(k))]
        for k in sorted(keys, key=lambda k: (-units_now.rows.get(k, Counts()).counted, names.get(k, "")))
    ]
    columns = [("单位", "text"), *SOURCE_COLUMNS]
    tables.append(Table("评价来源对照", "评价来源对照（按单位）", columns, rows, note=SOURCES_NOTE))
    return tables


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def _source_summary(now: Sources, before: Sources) -> list[str]:
    n, p = now.total, before.total
    lines = []
    if n.inspections:
        lines.append(
            f"监督查评：本期完成检查 {n.inspections:,} 次（上期 {p.inspections:,} 次），"
            f"覆盖 {now.units_inspected:,} 个单位，平均得分 {_score(n.inspection_score)}"
            f"（上期 {_score(p.inspection_score)}），不合格项 {n.failed_items:,} 项，"
            f"开出整改事项 {n.rectifications:,} 项。"
        )
    else:
        lines.append(f"监督查评：本期无已提交的检查（上期 {p.inspections:,} 次）。")
    if n.invited or n.responses:
        lines.append(
            f"服务调查：本期发放邀请 {n.invited:,} 份，已回答 {n.responded:,} 份，回收率 {_pct(n.response_rate)}"
            f"（上期 {_pct(p.response_rate)}）；本期回收答卷 {n.responses:,} 份，平均得分 {_score(n.survey_score)}"
            f"（上期 {_score(p.survey_score)}）。"
        )
    else:
        lines.append("服务调查：本期未发放问卷，也没有回收答卷。")
    if n.suggestions or n.suggestions_closed or n.suggestions_open:
        lines.append(
            f"意见建议：本期收到 {n.suggestions:,} 件（上期 {p.suggestions:,} 件），办结 {n.suggestions_closed:,} 件，"
            f"期末未办结 {n.suggestions_open:,} 件。"
        )
    if n.assessment_scored:
        lines.append(
            f"第三方评估（{'、'.join(now.firms)}）：{now.units_assessed:,} 个单位参评，"
            f"平均得分 {_score(n.assessment_score)}。"
        )
    return lines


def _unit_detail_tables(s: Slice) -> list[Table]:
    """Windows, staff and 事项 of a unit report (the per-month cubes: whole months)."""
    windows, staff, items = counts_by(s, "window"), counts_by(s, "staff"), counts_by(s, "item")
    window_names = {w.pk: str(w) for w in Window.objects.filter(pk__in=list(windows.rows)).select_related("hall")}
    staff_names = {
        pk: f"{name}（{code}）"
        for pk, name, code in Staff.objects.filter(pk__in=list(staff.rows)).values_list("pk", "name", "code")
    }
    item_names = dict(ServiceItem.objects.filter(pk__in=list(items.rows)).values_list("pk", "name"))
    out = []
    for sheet, title, answer, names, what in (
        ("窗口", "按窗口", windows, window_names, "窗口"),
        ("人员", "按窗口人员", staff, staff_names, "人员"),
        ("事项", "按事项", items, item_names, "事项"),
    ):
        names = {**names, 0: f"未关联{what}"}
        rows = [
            [names.get(k, str(k)), *_cells(c)] for k, c in sorted(answer.rows.items(), key=lambda kv: -kv[1].counted)
        ]
        out.append(
            Table(
                sheet,
                title,
                [(what, "text"), *COUNT_COLUMNS],
                rows,
                note=f"按整月统计：{answer.start:%Y-%m-%d} 至 {answer.end:%Y-%m-%d}。",
            )
        )
    return out


# --- Excel -----------------------------------------------------------------------------------------------------

NUMBER_FORMATS = {"rate": "0.0%", "pp": "+0.0;-0.0;0.0", "score": "0.0", "num": "0.0", "int": "#,##0"}


def write_xlsx(data: ReportData) -> bytes:
    """The workbook: 摘要 + one data sheet per table, with native Excel charts (bar, line, pie)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "摘要"
    ws["A1"] = data.title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = (
        f"统计期间：{data.start:%Y-%m-%d} 至 {data.end:%Y-%m-%d}；"
        f"比较期间：{data.prev_start:%Y-%m-%d} 至 {data.prev_end:%Y-%m-%d}"
    )
    ws["A3"] = f"生成时间：{data.generated_at:%Y-%m-%d %H:%M}"
    ws["A5"] = "主要变化"
    ws["A5"].font = Font(bold=True)
    for i, line in enumerate(data.summary, start=6):
        ws.cell(row=i, column=1, value=line).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 120
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    for table in data.tables:
        sh = wb.create_sheet(table.sheet[:31])
        for col, (header, _) in enumerate(table.columns, start=1):
            cell = sh.cell(row=1, column=col, value=header)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            sh.column_dimensions[get_column_letter(col)].width = 28 if col == 1 else max(10, len(header) * 2 + 2)
        for r, row in enumerate(table.rows, start=2):
            for col, ((_, kind), value) in enumerate(zip(table.columns, row, strict=True), start=1):
                if kind == "mixed":
                    value, kind = value
                cell = sh.cell(row=r, column=col, value=value if value is not None else None)
                if kind in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[kind]
        sh.freeze_panes = "B2"
        n = len(table.rows)
        if table.note:
            sh.cell(row=n + 3, column=1, value=table.note).font = Font(italic=True)
        if not table.chart or n == 0:
            continue
        first_value = next(i for i, (_, k) in enumerate(table.columns, start=1) if k != "text")
        values = Reference(
            sh, min_col=first_value, max_col=first_value + table.chart_series - 1, min_row=1, max_row=n + 1
        )
        cats = Reference(sh, min_col=1, min_row=2, max_row=n + 1)
        chart = {"bar": BarChart, "line": LineChart, "pie": PieChart}[table.chart]()
        chart.title = f"{table.title}：{table.columns[first_value - 1][0]}"
        chart.add_data(values, titles_from_data=True)
        chart.set_categories(cats)
        chart.width, chart.height = 24, 10
        if table.chart == "bar":
            chart.type = "col"
        sh.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- PDF -------------------------------------------------------------------------------------------------------


def _fmt(value: Any, kind: str) -> str:
    if kind == "mixed":
        value, kind = value
    if value is None:
        return "—"
    if kind == "rate":
        return _pct(value)
    if kind == "pp":
        return "0.0" if abs(value) < 0.05 else f"{value:+.1f}"  # never "-0.0"
    if kind in ("score", "num"):
        return f"{value:.1f}"
    if kind == "int":
        return f"{value:,}"
    return str(value)


def _bar_chart(title: str, points: list[tuple[str, int]], font: str, width: float):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib.colors import HexColor

    points = points[:24]
    d = Drawing(width, 200)
    d.add(String(0, 188, title, fontName=font, fontSize=10))
    bc = VerticalBarChart()
    bc.x, bc.y, bc.width, bc.height = 40, 60, width - 50, 115
    bc.data = [[v for _, v in points] or [0]]
    bc.categoryAxis.categoryNames = [label[:8] for label, _ in points] or [""]
    bc.categoryAxis.labels.fontName = font
    bc.categoryAxis.labels.fontSize = 7
    bc.categoryAxis.labels.angle = 45 if len(points) > 6 else 0
    bc.categoryAxis.labels.boxAnchor = "ne" if len(points) > 6 else "n"
    bc.valueAxis.labels.fontSize = 7
    bc.valueAxis.valueMin = 0
    bc.bars[0].fillColor = HexColor("#2f6db5")
    d.add(bc)
    return d


def _line_chart(title: str, points: list[tuple[str, int, float | None]], font: str, width: float):
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib.colors import HexColor

    d = Drawing(width, 170)
    d.add(String(0, 158, title, fontName=font, fontSize=10))
    lc = HorizontalLineChart()
    lc.x, lc.y, lc.width, lc.height = 40, 30, width - 50, 115
    lc.data = [[n for _, n, _ in points] or [0]]
    step = -(-len(points) // 10)  # at most about ten labels: more overlap
    lc.categoryAxis.categoryNames = [label if i % step == 0 else "" for i, (label, _, _) in enumerate(points)] or [""]
    lc.categoryAxis.labels.fontName = font
    lc.categoryAxis.labels.fontSize = 7
    lc.valueAxis.labels.fontSize = 7
    lc.valueAxis.valueMin = 0
    lc.lines[0].strokeColor = HexColor("#c8102e")
    lc.lines[0].strokeWidth = 1.5
    d.add(lc)
    return d


def write_pdf(data: ReportData) -> bytes:
    """The printable report: title, 主要变化, headline figures, charts (bar + line) and the tables."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    from haochaping.qrcodes.signs import sign_font

    font = sign_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=base, fontSize=16, leading=22, spaceAfter=6, alignment=1)
    h2 = ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#555555"))
    cell = ParagraphStyle("cell", parent=base, fontSize=7, leading=9)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=data.title,
        author="haochaping",
    )
    width = A4[0] - 28 * mm
    story: list[Any] = [
        Paragraph(data.title, h1),
        Paragraph(
            f"统计期间：{data.start:%Y-%m-%d} 至 {data.end:%Y-%m-%d}　比较期间：{data.prev_start:%Y-%m-%d} 至 "
            f"{data.prev_end:%Y-%m-%d}　生成时间：{data.generated_at:%Y-%m-%d %H:%M}",
            small,
        ),
        Paragraph("一、主要变化", h2),
        *(Paragraph(f"{i}. {line}", base) for i, line in enumerate(data.summary, start=1)),
    ]
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 7),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde5f0")),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    section = 2
    for table in data.tables:
        if table.sheet != "概况" and section == 3:
            # After the headline table: the charts, in a section of their own, before the long tables.
            story.append(CondPageBreak(90 * mm))
            story.append(Paragraph(f"{_chinese_number(section)}、图表", h2))
            story.append(_bar_chart(data.bars[0], data.bars[1], font, width))
            trend = f"有效评价数趋势（{'按日' if data.kind == KIND.MONTHLY else '按月'}）"
            story.append(_line_chart(trend, data.trend, font, width))
            section += 1
        story.append(CondPageBreak(40 * mm))  # no heading alone at the foot of a page
        story.append(Paragraph(f"{_chinese_number(section)}、{table.title}", h2))
        section += 1
        rows = table.rows[:PDF_ROWS_MAX]
        header = [Paragraph(h, cell) for h, _ in table.columns]
        body = [
            [
                Paragraph(_fmt(v, k), cell) if k == "text" else _fmt(v, k)
                for (_, k), v in zip(table.columns, row, strict=True)
            ]
            for row in rows
        ]
        if not body:
            story.append(Paragraph("本期无数据。", base))
            continue
        first = 34 * mm if len(table.columns) > 6 else 60 * mm
        rest = (width - first) / (len(table.columns) - 1)
        t = LongTable([header, *body], colWidths=[first] + [rest] * (len(table.columns) - 1), repeatRows=1)
        t.setStyle(style)
        story.append(t)
        notes = [table.note] if table.note else []
        if len(table.rows) > PDF_ROWS_MAX:
            notes.append(f"仅列出前 {PDF_ROWS_MAX} 行（共 {len(table.rows)} 行），完整数据见 Excel 文件。")
        story.extend(Spacer(1, 2) for _ in notes[:1])
        story.extend(Paragraph(note, small) for note in notes)
    doc.build(story, onFirstPage=_footer(font), onLaterPages=_footer(font))
    return buf.getvalue()


def _footer(font: str):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 8 * 2.83, f"第 {doc.page} 页")
        canvas.restoreState()

    return draw


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else f"十{digits[n - 10]}"


# --- the lifecycle ---------------------------------------------------------------------------------------------


def sha256_of(fieldfile) -> str:
    digest = hashlib.sha256()
    with fieldfile.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_intact(report: Report, fmt: str) -> bool:
    """Does the stored file still have the SHA-256 recorded when it was written? (False if it is missing.)"""
    fieldfile = getattr(report, fmt)
    try:
        return sha256_of(fieldfile) == getattr(report, f"{fmt}_sha256")
    except (FileNotFoundError, ValueError):
        return False


def _key_filter(kind: str, start: date, region: Region | None, unit: Organisation | None) -> dict[str, Any]:
    if unit is not None:
        return {"kind": kind, "period_start": start, "unit": unit}
    return {"kind": kind, "period_start": start, "region": region, "unit__isnull": True}


@dataclass
class Generated:
    report: Report | None  # None: skipped (the schedule leaves submitted and published reports alone)
    seconds: float
    replaced: bool = False


def report_generate(
    kind: str,
    start: date,
    *,
    region: Region | None = None,
    unit: Organisation | None = None,
    user=None,
    generated_by: str = "",
    schedule: bool = False,
) -> Generated:
    """Build the files and store them as the draft of (kind, region/unit, period).

    An existing draft is replaced (same version, new files). A submitted report must be withdrawn (退回) first:
    Conflict. A published one stays as it is and the new draft is its next version — except for the schedule
    (``schedule=True``), which never adds versions and skips a period that already has a submitted or published
    report.
    """
    if (region is None) == (unit is None):
        raise ValidationFailed("请选择区划或单位（二选一）", field="region")
    if kind not in MONTHS:
        raise ValidationFailed(f"未知的报告类型 {kind!r}", field="kind")
    started = time.perf_counter()
    end = period_end(kind, start)
    data = build_report(kind, start, region=region, unit=unit)
    xlsx, pdf = write_xlsx(data), write_pdf(data)
    code = unit.uscc if unit is not None else region.code
    with transaction.atomic():
        existing = list(
            Report.objects.select_for_update().filter(**_key_filter(kind, start, region, unit)).order_by("-version")
        )
        latest = existing[0] if existing else None
        replaced = False
        if latest is not None and latest.state == STATE.SUBMITTED:
            if schedule:
                return Generated(None, time.perf_counter() - started)
            raise Conflict(f"{latest}已报送，不能重新生成；请先退回为草稿。")
        if latest is not None and latest.state == STATE.PUBLISHED and schedule:
            return Generated(None, time.perf_counter() - started)
        if latest is not None and latest.state == STATE.DRAFT:
            report, replaced = latest, True
            old = [f.name for f in (report.xlsx, report.pdf) if f]
        else:
            report = Report(
                kind=kind,
                scope_kind=Report.ScopeKind.UNIT if unit is not None else Report.ScopeKind.REGION,
                region=unit.region if unit is not None else region,
                unit=unit,
                period_start=start,
                period_end=end,
                version=latest.version + 1 if latest is not None else 1,
            )
            old = []
        report.generated_by = generated_by or (user.get_username() if user is not None else "command")
        report.created_by = user
        report.created_at = timezone.now()
        report.summary = "\n".join(data.summary)
        stem = f"{code}-{kind}-{report.period_label}-v{report.version}"
        report.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx), save=False)
        report.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        report.xlsx_sha256 = hashlib.sha256(xlsx).hexdigest()
        report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        report.build_seconds = round(time.perf_counter() - started, 3)
        written = [report.xlsx.name, report.pdf.name]
        storage = report.xlsx.storage
        # Files are not transactional: drop the new ones if the row is not stored, the replaced ones once it is.
        transaction.on_commit(lambda: [storage.delete(name) for name in old])
        try:
            report.save()
        except Exception:
            for name in written:
                storage.delete(name)
            raise
    return Generated(report, report.build_seconds, replaced)


TRANSITIONS: dict[str, tuple[str, str]] = {
    "submit": (STATE.DRAFT, STATE.SUBMITTED),
    "publish": (STATE.SUBMITTED, STATE.PUBLISHED),
    "withdraw": (STATE.SUBMITTED, STATE.DRAFT),
}
# Marked for the catalogue; pages translate them when shown (views_reports.py).
ACTION_LABELS = {"submit": gettext_noop("报送"), "publish": gettext_noop("发布"), "withdraw": gettext_noop("退回")}


def report_transition(report_id: int, action: str, user) -> Report:
    """One lifecycle step, in one transaction on the locked row; an illegal step raises Conflict (409)."""
    if action not in TRANSITIONS:
        raise ValidationFailed(f"未知的操作 {action!r}", field="action")
    source, target = TRANSITIONS[action]
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.state != source:
            raise Conflict(
                f"报告当前状态为“{report.get_state_display()}”，不能{ACTION_LABELS[action]}"
                f"（仅“{STATE(source).label}”的报告可以{ACTION_LABELS[action]}）。"
            )
        now = timezone.now()
        fields = ["state"]
        if action == "submit":
            report.submitted_by, report.submitted_at = user, now
            fields += ["submitted_by", "submitted_at"]
        elif action == "withdraw":
            report.submitted_by, report.submitted_at = None, None
            fields += ["submitted_by", "submitted_at"]
        else:
            for fmt in ("xlsx", "pdf"):
                if not file_intact(report, fmt):
                    raise Conflict(
                        f"报告的 {fmt.upper()} 文件与生成时的 SHA-256 不一致或已缺失，不能发布；请重新生成。"
                    )
            report.published_by, report.published_at = user, now
            fields += ["published_by", "published_at"]
        report.state = target
        report.save(update_fields=fields)
    return report


# --- who may do what (the views check these; scope filtering decides what is visible at all) -------------------


def may_view_reports(scope: Scope) -> bool:
    return scope.supervises  # window staff, case handlers and logins without a membership: no


def may_generate(scope: Scope, *, region: Region | None = None, unit: Organisation | None = None) -> bool:
    """Agency admins for their region's subtree (regions and units), department admins for their units."""
    if scope.read_only or scope.kind == "none":
        return False
    if scope.kind == "all":
        return True
    if scope.kind == "region" and scope.role == Role.AGENCY_ADMIN:
        return region.path.startswith(scope.region_path) if region is not None else scope.allows_unit(unit)
    if scope.kind == "units" and scope.role == Role.DEPARTMENT_ADMIN:
        return unit is not None and unit.pk in scope.unit_ids
    return False


def may_act(scope: Scope, report: Report, action: str) -> bool:
    """submit: whoever may generate it; publish and withdraw: the agency of the report's region, or system admins."""
    if action == "submit":
        return may_generate(scope, region=None if report.unit_id else report.region, unit=report.unit)
    if scope.read_only:
        return False
    if scope.kind == "all":
        return True
    return scope.kind == "region" and scope.role == Role.AGENCY_ADMIN and scope.region_id == report.region_id


__all__ = [
    "ReportData",
    "Table",
    "build_report",
    "last_complete_period",
    "may_act",
    "may_generate",
    "may_view_reports",
    "parse_period",
    "report_generate",
    "report_transition",
    "write_pdf",
    "write_xlsx",
]
