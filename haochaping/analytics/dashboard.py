"""The dashboard's figures (数据看板): the focus (region → unit → staff), the period, and every chart as plain data.

A chart is a dict: ``title``, ``kind`` (how the page draws it: kpi, trend, bar, pie, regions, cases, offers),
``columns`` (``key``, ``label``, ``type``: text, int, rate, score, date), ``rows`` (raw values: rates are fractions,
None for "no denominator"), optional ``links`` (drill-down URL per row) and ``note``. The page, data.json, the CSV
export (and later the reports) all read the same dicts, so the numbers cannot drift apart.

Every rating figure comes from the rollups through ``selectors.counts_by``: one GROUP BY per chart, never a scan
of the ratings. 评价率 and offers come from the uptake rollups (``analytics.uptake``), the case figures from
``cases.metrics`` for the same focus and period. The other evaluation sources (inspections, surveys, suggestions,
third-party assessments: ``analytics.sources``) are a section of their own (``Dashboard.sources_section``), never
mixed into the ratings' charts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts, rate_of
from haochaping.analytics.models import GRADES
from haochaping.analytics.selectors import Answer, Slice, counts_by, is_everywhere
from haochaping.analytics.selectors import region_ids as region_ids_of
from haochaping.analytics.sources import Figures, Sources, sources_for
from haochaping.analytics.uptake import Uptake, uptake_for_slice
from haochaping.cases import metrics as case_figures
from haochaping.cases import rollup as case_rollup
from haochaping.cases import workdays
from haochaping.directory.models import Organisation, Region, Staff, Window
from haochaping.ratings.codes import Channel, Grade, RaterKind

DAY_TREND_MAX = 62  # periods up to this many days are drawn by day, longer ones by month
PERIOD_MAX_DAYS = 366 * 5  # a longer period is refused: nobody reads it, and the day cube would be large
UNIT_TOP = 15  # units in the volume bar; the fair ranking is on the rankings page
SOURCE_UNITS_MAX = 30  # units in the sources' side-by-side table; the performance sheet has them all
PERIOD_PARAMS = ("period", "start", "end")


def period_choices() -> dict[str, str]:
    return {
        "this_month": _("本月"),
        "last_month": _("上月"),
        "this_quarter": _("本季度"),
        "this_year": _("本年"),
        "last_12": _("近12个月"),
    }


class DashboardError(Exception):
    """Bad input: ``field`` names the parameter; status 400 (bad value) or 404 (not found / out of scope)."""

    def __init__(self, message: str, field: str, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "field": self.field}


# --- period ------------------------------------------------------------------------------------------------


def _month_end(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    choice: str = ""  # a quick choice, or "" for start/end given

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def params(self) -> dict[str, str]:
        if self.choice:
            return {"period": self.choice}
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def quick_period(choice: str, today: date) -> Period:
    """The quick choices are whole months (the month cube answers them)."""
    first = today.replace(day=1)
    if choice == "this_month":
        return Period(first, _month_end(today), choice)
    if choice == "last_month":
        start = _add_months(first, -1)
        return Period(start, _month_end(start), choice)
    if choice == "this_quarter":
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return Period(start, _month_end(_add_months(start, 2)), choice)
    if choice == "this_year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), choice)
    if choice == "last_12":
        return Period(_add_months(first, -11), _month_end(today), choice)
    raise DashboardError(_("未知的统计期间：%(value)s") % {"value": choice}, "period")


def _date(params: Any, name: str) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DashboardError(_("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": raw[:20]}, name) from None


def parse_period(params: Any, today: date | None = None) -> Period:
    """start/end (both, inclusive) if given, else a quick choice (default 近12个月)."""
    today = today or workdays.today()
    start, end = _date(params, "start"), _date(params, "end")
    if start is None and end is None:
        return quick_period(params.get("period") or "last_12", today)
    if start is None:
        raise DashboardError(_("请填写开始日期"), "start")
    if end is None:
        raise DashboardError(_("请填写结束日期"), "end")
    if end < start:
        raise DashboardError(_("结束日期不能早于开始日期"), "end")
    if (end - start).days >= PERIOD_MAX_DAYS:
        raise DashboardError(_("统计期间不能超过5年"), "start")
    return Period(start, end)


# --- focus -------------------------------------------------------------------------------------------------


@dataclass
class Focus:
    """What the page is about: a region (None = everywhere), the units of a department admin, a unit, a staff."""

    kind: str  # region | units | unit | staff
    region: Region | None = None
    unit: Organisation | None = None
    staff: Staff | None = None
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    label: str = ""

    @property
    def params(self) -> dict[str, str]:
        if self.kind == "staff" and self.staff is not None:
            return {"staff": str(self.staff.pk)}
        if self.kind == "unit" and self.unit is not None:
            return {"unit": str(self.unit.pk)}
        if self.kind == "region" and self.region is not None:
            return {"region": str(self.region.pk)}
        return {}

    def slice(self, period: Period) -> Slice:
        if self.kind == "staff":
            return Slice(period.start, period.end, staff_id=self.staff.pk)
        if self.kind == "unit":
            return Slice(period.start, period.end, unit_ids=frozenset({self.unit.pk}))
        if self.kind == "units":
            return Slice(period.start, period.end, unit_ids=self.unit_ids)
        return Slice(period.start, period.end, region_path=self.region.path if self.region else "")

    def case_scope(self) -> Scope:
        """The same focus as a scope, for cases.metrics (only ever narrower than the user's own scope)."""
        if self.kind == "region":
            if self.region is None:
                return Scope(kind="all")
            return Scope(kind="region", region_path=self.region.path, region_id=self.region.pk)
        if self.kind == "unit":
            return Scope(kind="units", unit_ids=frozenset({self.unit.pk}))
        return Scope(kind="units", unit_ids=self.unit_ids)

    def as_dict(self) -> dict[str, Any]:
        obj = self.staff or self.unit or self.region
        return {"kind": self.kind, "id": obj.pk if obj else None, "label": self.label}


def _id(params: Any, name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise DashboardError(_("编号应为数字：%(value)s") % {"value": raw[:20]}, name)
    return int(raw)


def _not_found(name: str) -> DashboardError:
    labels = {"region": _("地区"), "unit": _("单位"), "staff": _("工作人员")}
    return DashboardError(_("%(what)s不存在或不在您的数据范围内") % {"what": labels[name]}, name, 404)


def _units_root(unit_ids: frozenset[int]) -> Organisation | None:
    units = list(Organisation.objects.filter(pk__in=unit_ids).only("pk", "parent_id", "name"))
    roots = [u for u in units if u.parent_id not in unit_ids]
    return roots[0] if len(roots) == 1 else None


def resolve_focus(scope: Scope, params: Any) -> Focus:
    """The focus asked for (staff > unit > region), checked against the scope; window staff always see themselves."""
    if scope.kind == "staff":
        staff = Staff.objects.filter(pk=scope.staff_id).first()
        if staff is None:
            raise _not_found("staff")
        return Focus("staff", staff=staff, label=staff.name)
    staff_id, unit_id, region_id = _id(params, "staff"), _id(params, "unit"), _id(params, "region")
    if staff_id is not None:
        staff = scope.filter(Staff.objects.select_related("unit__region")).filter(pk=staff_id).first()
        if staff is None:
            raise _not_found("staff")
        return Focus("staff", staff=staff, unit=staff.unit, label=staff.name)
    if unit_id is not None:
        unit = scope.filter(Organisation.objects.select_related("region")).filter(pk=unit_id).first()
        if unit is None:
            raise _not_found("unit")
        return Focus("unit", unit=unit, label=unit.name)
    if region_id is not None:
        region = Region.objects.filter(pk=region_id).first()
        if region is None or not scope.allows_region_path(region.path):
            raise _not_found("region")
        return Focus("region", region=region, label=region.name)
    if scope.kind == "region":
        region = Region.objects.get(pk=scope.region_id)
        return Focus("region", region=region, label=region.name)
    if scope.kind == "units":
        root = _units_root(scope.unit_ids)
        if len(scope.unit_ids) == 1 and root is not None:
            return Focus("unit", unit=root, label=root.name)
        return Focus("units", unit=root, unit_ids=scope.unit_ids, label=scope.label)
    return Focus("region", label=_("全部地区"))


def url_for(name: str, *param_dicts: dict[str, str]) -> str:
    params: dict[str, str] = {}
    for d in param_dicts:
        params.update(d)
    return reverse(f"analytics:{name}") + ("?" + urlencode(params) if params else "")


def breadcrumb(scope: Scope, focus: Focus, period: Period) -> list[dict[str, Any]]:
    """province → city → county → unit → staff; a crumb is a link where the user may open it."""
    crumbs: list[dict[str, Any]] = []
    if scope.kind == "staff":  # window staff: their own figures only, no way up
        return [{"label": focus.label, "url": None}]
    region = focus.unit.region if focus.unit is not None and focus.kind != "units" else focus.region
    if scope.kind == "all":
        crumbs.append({"label": _("全部地区"), "url": url_for("dashboard", period.params)})
    if region is not None and scope.kind in ("all", "region"):
        codes = region.path.strip("/").split("/")
        for r in Region.objects.filter(code__in=codes).order_by("level"):
            allowed = scope.allows_region_path(r.path)
            url = url_for("dashboard", period.params, {"region": str(r.pk)}) if allowed else None
            crumbs.append({"label": r.name, "url": url})
    if scope.kind == "units" and len(scope.unit_ids) > 1:
        crumbs.append({"label": scope.label, "url": url_for("dashboard", period.params)})
    if focus.unit is not None and focus.kind in ("unit", "staff"):
        unit_url = url_for("dashboard", period.params, {"unit": str(focus.unit.pk)})
        crumbs.append({"label": focus.unit.name, "url": unit_url})
    if focus.staff is not None:
        crumbs.append({"label": focus.staff.name, "url": None})
    if crumbs:
        crumbs[-1]["url"] = None  # the current page
    return crumbs


# --- charts ------------------------------------------------------------------------------------------------


def _col(key: str, label: str, type_: str = "int") -> dict[str, str]:
    return {"key": key, "label": label, "type": type_}


def _rate_columns() -> list[dict[str, str]]:
    return [
        _col("counted", _("评价数")),
        _col("good_rate", _("好评率"), "rate"),
        _col("bad_rate", _("差评率"), "rate"),
        _col("score", _("满意度指数"), "score"),
    ]


def _rate_values(c: Counts) -> list[Any]:
    return [c.counted, c.good_rate(), c.bad_rate(), c.score()]


CHARTS_BY_KIND = {
    "region": (
        "overview", "trend", "grades", "uptake", "offers", "channels", "rater_kinds", "regions", "units", "cases",
        "case_rates",
    ),
    "units": (
        "overview", "trend", "grades", "uptake", "offers", "channels", "rater_kinds", "units", "cases", "case_rates",
    ),
    "unit": ("overview", "trend", "grades", "uptake", "offers", "channels", "rater_kinds", "staff", "windows"),
    # StaffMonth has no channel or rater kind, and 办件 and offers are counted per unit: a staff member's figures
    # are grades over months only.
    "staff": ("overview", "trend", "grades"),
}  # fmt: skip


class Dashboard:
    """All charts of one focus and period; each chart's GROUP BY runs once, when first needed."""

    def __init__(self, scope: Scope, focus: Focus, period: Period):
        self.scope, self.focus, self.period = scope, focus, period
        self.slice = focus.slice(period)
        self._answers: dict[str, Answer] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return CHARTS_BY_KIND[self.focus.kind]

    def answer(self, by: str) -> Answer:
        if by not in self._answers:
            self._answers[by] = counts_by(self.slice, by)
        return self._answers[by]

    @property
    def trend_by(self) -> str:
        if self.focus.kind == "staff" or self.period.days > DAY_TREND_MAX:
            return "month"
        return "day"

    @property
    def total(self) -> Counts:
        return self.answer(self.trend_by).total  # the trend's query answers the headline too

    def _drill(self, **focus: str) -> str:
        return url_for("dashboard", self.period.params, focus)

    def _widened(self, answer: Answer) -> str:
        if (answer.start, answer.end) == (self.period.start, self.period.end):
            return ""
        return _("按整月统计：%(start)s 至 %(end)s") % {"start": answer.start, "end": answer.end}

    @property
    def period_note(self) -> str:
        return self._widened(self.answer(self.trend_by)) if self.focus.kind == "staff" else ""

    def chart(self, name: str) -> dict[str, Any]:
        if name not in self.names:
            raise DashboardError(_("未知的图表：%(value)s") % {"value": name[:40]}, "chart")
        chart = getattr(self, f"_chart_{name}")()
        chart["name"] = name
        return chart

    def charts(self, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
        return {name: self.chart(name) for name in (names or self.names)}

    def as_json(self, names: list[str] | None = None) -> dict[str, Any]:
        charts = self.charts(names)
        return {
            "focus": {**self.focus.as_dict(), "breadcrumb": breadcrumb(self.scope, self.focus, self.period)},
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "choice": self.period.choice,
                "note": self.period_note,
            },
            "charts": {name: _jsonable(chart) for name, chart in charts.items()},
        }

    # --- the charts ------------------------------------------------------------------------------------

    def _chart_overview(self) -> dict[str, Any]:
        c = self.total
        columns = [
            _col("counted", _("评价数")),
            _col("active", _("主动评价数")),
            _col("defaults", _("默认评价数")),
            _col("active_rate", _("主动评价率"), "rate"),
            _col("good_rate", _("好评率"), "rate"),
            _col("good_rate_with_default", _("好评率（含默认评价）"), "rate"),
            _col("bad_rate", _("差评率"), "rate"),
            _col("bad_rate_with_default", _("差评率（含默认评价）"), "rate"),
            _col("basic_share", _("基本满意占比"), "rate"),
            _col("basic_share_with_default", _("基本满意占比（含默认评价）"), "rate"),
            _col("score", _("满意度指数"), "score"),
            _col("score_with_default", _("满意度指数（含默认评价）"), "score"),
            _col("set_aside", _("不予采纳（已剔除）")),
        ]
        d = c.as_dict()
        return {
            "title": _("主要指标"),
            "kind": "kpi",
            "columns": columns,
            "rows": [[d[col["key"]] for col in columns]],
            "note": _("不予采纳的评价 %(n)s 条，已从全部比率中剔除；未注明“含默认评价”的比率只计主动评价。")
            % {"n": c.set_aside},
        }

    def _chart_trend(self) -> dict[str, Any]:
        answer = self.answer(self.trend_by)
        keys: list[date] = []
        if self.trend_by == "day":
            d = answer.start
            while d <= answer.end:
                keys.append(d)
                d += timedelta(days=1)
        else:
            d = answer.start.replace(day=1)
            while d <= answer.end:
                keys.append(d)
                d = _add_months(d, 1)
        rows = []
        for k in keys:
            c = answer.rows.get(k, Counts())
            label = k.isoformat() if self.trend_by == "day" else f"{k:%Y-%m}"
            rows.append([label, c.counted, c.good_rate(), c.bad_rate(), c.bad_rate(with_default=True)])
        return {
            "title": _("评价趋势（按日）") if self.trend_by == "day" else _("评价趋势（按月）"),
            "kind": "trend",
            "columns": [
                _col("period", _("日期") if self.trend_by == "day" else _("月份"), "text"),
                _col("counted", _("评价数")),
                _col("good_rate", _("好评率"), "rate"),
                _col("bad_rate", _("差评率"), "rate"),
                _col("bad_rate_with_default", _("差评率（含默认评价）"), "rate"),
            ],
            "rows": rows,
            "note": self._widened(answer),
        }

    def _chart_grades(self) -> dict[str, Any]:
        c = self.total
        rows = []
        for g in reversed(GRADES):
            n = c.act[g] + c.default[g]
            share = n / c.counted if c.counted else None
            rows.append([str(Grade(g).label), c.act[g], c.default[g], n, share, c.out[g]])
        return {
            "title": _("评价等级分布"),
            "kind": "grades",
            "columns": [
                _col("grade", _("评价等级"), "text"),
                _col("active", _("主动评价")),
                _col("defaults", _("默认评价")),
                _col("counted", _("合计")),
                _col("share", _("占比"), "rate"),
                _col("set_aside", _("不予采纳（已剔除）")),
            ],
            "rows": rows,
        }

    def _share_chart(self, by: str, title: str, label_col: str, labels: dict) -> dict[str, Any]:
        answer = self.answer(by)
        total = answer.total.counted
        rows = [
            [str(labels.get(k, k or _("未知"))), c.counted, rate_of(c.counted, total), c.good_rate(), c.bad_rate()]
            for k, c in sorted(answer.rows.items(), key=lambda kv: -kv[1].counted)
            if c.counted or c.set_aside
        ]
        return {
            "title": title,
            "kind": "pie",
            "columns": [
                _col("label", label_col, "text"),
                _col("counted", _("评价数")),
                _col("share", _("占比"), "rate"),
                _col("good_rate", _("好评率"), "rate"),
                _col("bad_rate", _("差评率"), "rate"),
            ],
            "rows": rows,
        }

    @property
    def uptake(self) -> Uptake:
        if not hasattr(self, "_uptake"):
            self._uptake = uptake_for_slice(self.slice)
        return self._uptake

    def _active_by_channel(self) -> dict[str, int]:
        return {k: sum(c.act.values()) for k, c in self.answer("channel").rows.items()}

    def _chart_uptake(self) -> dict[str, Any]:
        u = self.uptake
        rated_after_offer, conversion = u.conversion(self._active_by_channel())
        columns = [
            _col("completed", _("办结办件")),
            _col("rated", _("已评价办件")),
            _col("rating_rate", _("评价率"), "rate"),
            _col("rating_rate_with_default", _("评价率（含默认评价）"), "rate"),
            _col("offers", _("邀评次数")),
            _col("rated_after_offer", _("邀评渠道评价数")),
            _col("conversion", _("邀评转化率"), "rate"),
        ]
        row = [
            u.completed, u.rated, u.rating_rate(), u.rating_rate(with_default=True), u.offered, rated_after_offer,
            conversion,
        ]  # fmt: skip
        return {
            "title": _("评价率与邀评转化"),
            "kind": "kpi",
            "columns": columns,
            "rows": [row],
            "note": _(
                "评价率：期间内办结的办件中已有评价人评价的比例（按办结日期统计，之后到达的评价也计入）；"
                "邀评转化率：有邀评记录的渠道上，主动评价数 ÷ 邀评次数。"
            ),
        }

    def _chart_offers(self) -> dict[str, Any]:
        offers = self.uptake.offers
        active = self._active_by_channel()
        labels = dict(Channel.choices)
        rows = [
            [str(labels.get(ch, ch)), n, active.get(ch, 0), rate_of(active.get(ch, 0), n)]
            for ch, n in sorted(offers.items(), key=lambda kv: -kv[1])
        ]
        return {
            "title": _("各渠道邀评与评价"),
            "kind": "offers",
            "columns": [
                _col("channel", _("渠道"), "text"),
                _col("offers", _("邀评次数")),
                _col("rated", _("主动评价数")),
                _col("conversion", _("邀评转化率"), "rate"),
            ],
            "rows": rows,
            "note": _(
                "邀评：评价器弹出、扫码打开、短信邀评、网上评价组件展示。纸质、电话等渠道没有邀评记录，不在此列。"
            ),
        }

    def _chart_channels(self) -> dict[str, Any]:
        return self._share_chart("channel", _("评价渠道"), _("渠道"), dict(Channel.choices))

    def _chart_rater_kinds(self) -> dict[str, Any]:
        return self._share_chart("rater_kind", _("评价人类型"), _("评价人类型"), dict(RaterKind.choices))

    def _chart_regions(self) -> dict[str, Any]:
        answer = self.answer("region")
        own = self.focus.region.pk if self.focus.region else None
        names = dict(Region.objects.filter(pk__in=list(answer.rows)).values_list("pk", "name"))
        items = sorted(answer.rows.items(), key=lambda kv: -kv[1].counted)
        rows, links = [], []
        for k, c in items:
            is_own = k == own
            name = names.get(k, str(k))
            rows.append([_("%(name)s（本级）") % {"name": name} if is_own else name, *_rate_values(c), c.set_aside])
            links.append(None if is_own else self._drill(region=str(k)))
        return {
            "title": _("下级地区对比"),
            "kind": "regions",
            "columns": [_col("region", _("地区"), "text"), *_rate_columns(), _col("set_aside", _("不予采纳"))],
            "rows": rows,
            "links": links,
            "note": _("方块大小为评价数，颜色越深差评率越高；点击地区查看下级。"),
        }

    def _chart_units(self) -> dict[str, Any]:
        answer = self.answer("unit")
        items = sorted(answer.rows.items(), key=lambda kv: (-kv[1].counted, kv[0]))[:UNIT_TOP]
        names = dict(Organisation.objects.filter(pk__in=[k for k, _c in items]).values_list("pk", "name"))
        return {
            "title": _("评价量前%(n)s名单位") % {"n": UNIT_TOP},
            "kind": "bar",
            "columns": [_col("unit", _("单位"), "text"), *_rate_columns()],
            "rows": [[names.get(k, str(k)), *_rate_values(c)] for k, c in items],
            "links": [self._drill(unit=str(k)) for k, _c in items],
            "note": _("按评价量排列，不是排名；公平排名见“排名”页。"),
            "more": reverse("analytics:rankings"),
        }

    def _people_chart(self, by: str, title: str, label_col: str, names: dict, link: bool) -> dict[str, Any]:
        answer = self.answer(by)
        items = sorted(answer.rows.items(), key=lambda kv: (-kv[1].counted, kv[0]))
        return {
            "title": title,
            "kind": "bar",
            "columns": [_col("label", label_col, "text"), *_rate_columns()],
            "rows": [[names.get(k, _("未关联")), *_rate_values(c)] for k, c in items],
            "links": [self._drill(staff=str(k)) if link and k else None for k, _c in items],
            "note": self._widened(answer),
        }

    def _chart_staff(self) -> dict[str, Any]:
        keys = list(self.answer("staff").rows)
        names = dict(Staff.objects.filter(pk__in=keys).values_list("pk", "name"))
        return self._people_chart("staff", _("窗口人员"), _("工作人员"), names, link=True)

    def _chart_windows(self) -> dict[str, Any]:
        keys = list(self.answer("window").rows)
        names = {w.pk: f"{w.code} {w.name}" for w in Window.objects.filter(pk__in=keys).only("pk", "code", "name")}
        return self._people_chart("window", _("窗口"), _("窗口"), names, link=False)

    def _chart_cases(self) -> dict[str, Any]:
        board = case_figures.open_board(case_figures.cases_in(self.focus.case_scope()), by_unit=False)
        return {
            "title": _("在办差评工单"),
            "kind": "cases",
            "columns": [_col("state", _("状态"), "text"), _col("open", _("在办")), _col("overdue", _("其中超期"))],
            "rows": [[str(r["label"]), r["total"], r["overdue"]] for r in board["matrix"]],
            "note": _("当前仍在办理的工单（不限统计期间）。"),
        }

    def _chart_case_rates(self) -> dict[str, Any]:
        period = case_figures.Period(self.period.start, min(self.period.end, workdays.today()))
        if period.end < period.start:
            period = case_figures.Period(self.period.start, self.period.start)
        # From the case rollup (cases/rollup.py): the same figures as case_metrics, without a scan of the cases.
        s = self.slice
        region_ids = None
        if s.region_path and not is_everywhere(s.region_path):
            region_ids = region_ids_of(s.region_path)
        m = case_rollup.figures(period.start, period.end, region_ids=region_ids, unit_ids=s.unit_ids)
        columns = [
            _col("opened", _("立案数")),
            _col("closed", _("已办结")),
            _col("callback_rate", _("回访率"), "rate"),
            _col("fix_rate", _("整改率"), "rate"),
            _col("real_name_rate", _("实名差评回访整改率"), "rate"),
            _col("on_time_rate", _("按期整改率"), "rate"),
            _col("not_adopted", _("不予采纳")),
        ]
        return {
            "title": _("差评整改闭环"),
            "kind": "kpi",
            "columns": columns,
            "rows": [[m[col["key"]] for col in columns]],
            "note": _("统计期间内立案的差评、投诉和意见建议工单。"),
            "more": reverse("cases:metrics"),
        }

    # --- the other evaluation sources: a section of their own, never mixed into the ratings' charts ---------

    @property
    def sources(self) -> Sources | None:
        """Inspections, surveys, suggestions and assessments of the focus and period (None for a staff member)."""
        if self.focus.kind == "staff":
            return None
        if not hasattr(self, "_sources"):
            self._sources = sources_for(self.focus.case_scope(), self.period.start, self.period.end)
        return self._sources

    def sources_section(self) -> dict[str, Any] | None:
        """KPI cards per source (each linking to its pages) and the per-unit table, ratings beside each source."""
        src = self.sources
        if src is None:
            return None
        t = src.total

        def kpi(label: str, value: Any, type_: str) -> dict[str, str]:
            return {"label": label, "text": format_cell(value, type_)}

        cards = [
            {
                "key": "inspections",
                "title": _("监督查评"),
                "url": _page("inspections:index", "/inspections/"),
                "kpis": [
                    kpi(_("检查平均得分"), t.inspection_score, "score"),
                    kpi(_("检查次数"), t.inspections, "int"),
                    kpi(_("不合格项"), t.failed_items, "int"),
                    kpi(_("被检查单位"), src.units_inspected, "int"),
                ],
            },
            {
                "key": "surveys",
                "title": _("服务调查"),
                "url": _page("surveys:list", "/surveys/"),
                "kpis": [
                    kpi(_("回收率"), t.response_rate, "rate"),
                    kpi(_("调查平均得分"), t.survey_score, "score"),
                    kpi(_("回收答卷"), t.responses, "int"),
                    kpi(_("发放邀请"), t.invited, "int"),
                ],
            },
            {
                "key": "suggestions",
                "title": _("意见建议"),
                "url": _page("cases:queue", "/cases/") + "?kind=suggestion&state=all",
                "kpis": [
                    kpi(_("收到"), t.suggestions, "int"),
                    kpi(_("办结"), t.suggestions_closed, "int"),
                    kpi(_("期末未办结"), t.suggestions_open, "int"),
                ],
            },
            {
                "key": "assessments",
                "title": _("第三方评估"),
                "url": _page("assessments:index", "/assessments/"),
                "kpis": [
                    kpi(_("评估平均得分"), t.assessment_score, "score"),
                    kpi(_("参评单位"), src.units_assessed, "int"),
                ],
                "note": "、".join(src.firms),
            },
        ]
        ratings = self.answer("unit")
        keys = set(ratings.rows) | {k for k in src.units if k is not None}
        order = sorted(keys, key=lambda k: (-ratings.rows.get(k, Counts()).counted, -src.unit(k).inspections, k))
        shown = order[:SOURCE_UNITS_MAX]
        names = dict(Organisation.objects.filter(pk__in=shown).values_list("pk", "name"))
        columns = [
            _col("unit", _("单位"), "text"),
            _col("score", _("满意度指数"), "score"),
            _col("bad_rate", _("差评率"), "rate"),
            _col("inspection_score", _("检查得分"), "score"),
            _col("inspections", _("检查次数")),
            _col("survey_score", _("调查得分"), "score"),
            _col("responses", _("调查答卷")),
            _col("assessment_score", _("第三方评估得分"), "score"),
            _col("suggestions", _("意见建议")),
        ]
        body = [
            self._source_cells(columns, names.get(k, str(k)), ratings.rows.get(k, Counts()), src.unit(k), unit=str(k))
            for k in shown
        ]
        region_body = []
        if self.focus.kind == "region":
            # The child regions side by side (the ratings' regions chart's answer; the sources' units added up).
            by_region = src.by_region(self.focus.region)
            regions = self.answer("region")
            own = self.focus.region.pk if self.focus.region else None
            region_keys = sorted(
                set(regions.rows) | set(by_region), key=lambda k: (k == own, -regions.rows.get(k, Counts()).counted, k)
            )
            region_names = dict(Region.objects.filter(pk__in=region_keys).values_list("pk", "name"))
            for k in region_keys:
                name = region_names.get(k, str(k))
                label = _("%(name)s（本级）") % {"name": name} if k == own else name
                c, f = regions.rows.get(k, Counts()), by_region.get(k, Figures())
                region_body.append(self._source_cells(columns, label, c, f, region=None if k == own else str(k)))
        return {
            "cards": cards,
            "head": [col["label"] for col in columns],
            "groups": [
                (_("单位"), 1),
                (_("好差评"), 2),
                (_("监督查评"), 2),
                (_("服务调查"), 2),
                (_("第三方评估"), 1),
                (_("意见箱"), 1),
            ],
            "body": body,
            "region_body": region_body,
            "more": len(order) - len(shown),
            "empty": src.total.empty,
            "performance": reverse("analytics:performance"),
        }

    def _source_cells(self, columns, label: str, c: Counts, f: Figures, **drill: str | None) -> list[dict[str, Any]]:
        values = [
            label, c.score(), c.bad_rate(), f.inspection_score, f.inspections, f.survey_score, f.responses,
            f.assessment_score, f.suggestions,
        ]  # fmt: skip
        cells = [
            {"text": format_cell(v, col["type"]), "num": col["type"] != "text"}
            for col, v in zip(columns, values, strict=True)
        ]
        target = {k: v for k, v in drill.items() if v}
        if target:
            cells[0]["url"] = self._drill(**target)
        return cells


def _page(name: str, fallback: str) -> str:
    """Another app's page, by name (its path prefix when the name is not there)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


# --- formatting: tables, CSV -------------------------------------------------------------------------------


def format_cell(value: Any, type_: str) -> str:
    """Rates as percentages with one decimal, the index with one decimal, "—" where there is nothing to divide."""
    if value is None:
        return "—"
    if type_ == "rate":
        return f"{value * 100:.1f}%"
    if type_ == "score":
        return f"{value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table(chart: dict[str, Any]) -> dict[str, Any]:
    """The chart as an HTML table: head and body of {text, url} cells (a KPI chart turned on its side)."""
    columns, rows, links = chart["columns"], chart["rows"], chart.get("links") or []
    if chart["kind"] == "kpi":
        head = [_("指标"), _("数值")]
        body = [
            [{"text": col["label"]}, {"text": format_cell(v, col["type"]), "num": True}]
            for col, v in zip(columns, rows[0], strict=True)
        ]
        return {"head": head, "body": body}
    body = []
    for i, row in enumerate(rows):
        cells = [
            {"text": format_cell(v, col["type"]), "num": col["type"] != "text"}
            for col, v in zip(columns, row, strict=True)
        ]
        if i < len(links) and links[i]:
            cells[0]["url"] = links[i]
        body.append(cells)
    return {"head": [col["label"] for col in columns], "body": body}


def kpis(chart: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"key": col["key"], "label": col["label"], "text": format_cell(v, col["type"])}
        for col, v in zip(chart["columns"], chart["rows"][0], strict=True)
    ]


def to_csv(chart: dict[str, Any]) -> str:
    """UTF-8 text with a BOM (Excel then reads the Chinese), a Chinese header, the table's formatted numbers."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([col["label"] for col in chart["columns"]])
    for row in chart["rows"]:
        writer.writerow([format_cell(v, col["type"]) for col, v in zip(chart["columns"], row, strict=True)])
    return out.getvalue()


def _jsonable(chart: dict[str, Any]) -> dict[str, Any]:
    return {**chart, "rows": [[v.isoformat() if isinstance(v, date) else v for v in row] for row in chart["rows"]]}


def build(scope: Scope, params: Any, today: date | None = None) -> Dashboard:
    """The dashboard for GET parameters; raises DashboardError naming the bad parameter."""
    period = parse_period(params, today)
    focus = resolve_focus(scope, params)
    return Dashboard(scope, focus, period)


__all__ = [
    "CHARTS_BY_KIND",
    "Dashboard",
    "DashboardError",
    "Focus",
    "Period",
    "breadcrumb",
    "url_for",
    "build",
    "format_cell",
    "kpis",
    "parse_period",
    "period_choices",
    "resolve_focus",
    "table",
    "to_csv",
]
