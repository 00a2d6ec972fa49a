"""Open data (开放数据): monthly aggregate datasets per region, department (单位), 事项 and case figures, as CSV and
JSON, described by a Frictionless Data Package (``datapackage``).

Every figure comes from the rollups (analytics cubes ``UnitMonth``/``ItemMonth`` and the cases' ``CaseMonth``
through ``cases.rollup.figures``), never from a scan of the ratings, with the metric definitions of
``analytics.metrics.Counts`` (docs/metrics.md). No personal data: no staff, no raters, no comments — only
regions, units, 事项 and counts. Small cells are suppressed (``suppression.suppress``) with the group of rows
published beside the same total: siblings under one parent region (regions), the units of one region (units), the
事项 of one unit (items), siblings under one parent region (cases). A suppressed row keeps its identifying
columns; every figure is empty (CSV) or null (JSON).

Rates are decimals (0.9123 = 91.23%) rounded to 4 places; the satisfaction index (``score``, 0–100) to 2.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Sum
from django.utils import timezone

from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import MEASURES, ItemMonth, UnitMonth
from haochaping.cases import rollup as case_rollup
from haochaping.cases.models import CaseMonth
from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.disclosure import periods
from haochaping.disclosure.suppression import blank, min_cell, suppress
from haochaping.lib.errors import NotFound, ValidationFailed

DATASETS = ("region", "unit", "item", "cases")
FORMATS = ("csv", "json")
NAME = "haochaping-open-data"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Frictionless types: string, integer, number, boolean, yearmonth
    title: str
    description: str = ""


# --- the columns ------------------------------------------------------------------------------------------------

_MONTH = Field("month", "yearmonth", "月份", "统计月份（YYYY-MM），按评价时间（工单按立案时间）计入")
_REGION = [
    Field("region_code", "string", "行政区划代码", "12 位行政区划代码"),
    Field("region_name", "string", "行政区划名称"),
]
_RATING_FIGURES = [
    Field("ratings", "integer", "评价数", "计入统计的评价：主动评价 + 默认评价（不含不予采纳）"),
    Field("active", "integer", "主动评价数", "评价人主动作出的评价（含申诉审核中的）"),
    Field("default_ratings", "integer", "默认评价数", "评价期满未评价而系统默认的评价"),
    Field("set_aside", "integer", "不予采纳数", "经申诉核实后不予采纳的评价，不计入任何比率"),
    Field("very_satisfied", "integer", "非常满意（主动）", "主动评价中“非常满意”的件数（不含默认评价）"),
    Field("satisfied", "integer", "满意（主动）", "主动评价中“满意”的件数"),
    Field("basic", "integer", "基本满意（主动）", "主动评价中“基本满意”的件数"),
    Field("dissatisfied", "integer", "不满意（主动）", "主动评价中“不满意”的件数"),
    Field("very_dissatisfied", "integer", "非常不满意（主动）", "主动评价中“非常不满意”的件数"),
    Field("good_rate", "number", "好评率", "（非常满意 + 满意）÷ 主动评价数；小数，保留 4 位；分母为 0 时为空"),
    Field("bad_rate", "number", "差评率", "（不满意 + 非常不满意）÷ 主动评价数；小数，保留 4 位"),
    Field("score", "number", "满意度指数", "主动评价按 0/25/50/75/100 分的平均分（0–100），保留 2 位"),
    Field("active_rate", "number", "主动评价率", "主动评价数 ÷ 评价数；小数，保留 4 位"),
    Field("default_share", "number", "默认评价占比", "默认评价数 ÷ 评价数；小数，保留 4 位"),
]
_SUPPRESSED = Field(
    "suppressed",
    "boolean",
    "已抑制",
    "true：评价数少于公开阈值 k（或为防止相减推算而一并抑制），本行只保留标识列，数值为空",
)
_CASE_FIGURES = [
    Field("opened", "integer", "立案工单数", "当月立案的差评、投诉工单（默认评价不立案）"),
    Field("closed", "integer", "已办结", "其中已办结（状态）的工单"),
    Field("fixed", "integer", "已整改", "处理方式为立行立改，或限期整改且已完成整改"),
    Field("explained", "integer", "解释说明", "处理方式为解释说明"),
    Field("not_adopted", "integer", "不予采纳", "经核实不予采纳的工单，不计入整改率分母"),
    Field("fix_rate", "number", "整改率", "已整改的采纳差评 ÷ 采纳的差评；小数，保留 4 位"),
    Field(
        "on_time_rate",
        "number",
        "按期整改率",
        "按期完成的限期整改 ÷ 已完成或已过期限的限期整改；小数，保留 4 位",
    ),
    Field("callback_rate", "number", "回访率", "至少回访一次的工单 ÷ 可回访（实名）的工单；小数，保留 4 位"),
]

FIELDS: dict[str, list[Field]] = {
    "region": [
        _MONTH,
        *_REGION,
        Field("region_level", "integer", "区划层级", "1 省级，2 市级，3 县级，4 乡镇（街道），5 村（社区）"),
        Field("parent_code", "string", "上级区划代码", "顶级区划为空"),
        *_RATING_FIGURES,
        _SUPPRESSED,
    ],
    "unit": [
        _MONTH,
        *_REGION,
        Field("unit_uscc", "string", "统一社会信用代码", "单位（部门）的 18 位统一社会信用代码"),
        Field("unit_name", "string", "单位名称"),
        *_RATING_FIGURES,
        _SUPPRESSED,
    ],
    "item": [
        _MONTH,
        *_REGION,
        Field("unit_uscc", "string", "统一社会信用代码", "实施主体（单位）的统一社会信用代码"),
        Field("unit_name", "string", "单位名称", "实施主体"),
        Field("item_code", "string", "事项实施编码", "政务服务事项实施编码；未关联事项的评价为空"),
        Field("item_name", "string", "事项名称", "未关联事项的评价为“未关联事项”"),
        *_RATING_FIGURES,
        _SUPPRESSED,
    ],
    "cases": [
        _MONTH,
        *_REGION,
        Field("parent_code", "string", "上级区划代码", "顶级区划为空"),
        *_CASE_FIGURES,
        _SUPPRESSED,
    ],
}
# The identifying columns a suppressed row keeps.
KEYS: dict[str, tuple[str, ...]] = {
    "region": ("month", "region_code", "region_name", "region_level", "parent_code"),
    "unit": ("month", "region_code", "region_name", "unit_uscc", "unit_name"),
    "item": ("month", "region_code", "region_name", "unit_uscc", "unit_name", "item_code", "item_name"),
    "cases": ("month", "region_code", "region_name", "parent_code"),
}
PRIMARY_KEYS: dict[str, list[str]] = {
    "region": ["month", "region_code"],
    "unit": ["month", "unit_uscc"],
    "item": ["month", "unit_uscc", "item_code"],
    "cases": ["month", "region_code"],
}
TITLES = {
    "region": "各行政区划月度评价数据",
    "unit": "各单位（部门）月度评价数据",
    "item": "各政务服务事项月度评价数据",
    "cases": "各行政区划月度差评整改数据",
}
DESCRIPTIONS = {
    "region": "每个行政区划（含其全部下级区划）每月的评价汇总。",
    "unit": "每个有评价的单位（部门）每月的评价汇总。",
    "item": "每个有评价的政务服务事项每月的评价汇总（按实施主体）；未关联事项的评价单列一行。",
    "cases": "每个行政区划（含其全部下级区划）每月立案的差评、投诉工单及其整改、回访情况。",
}

LICENCES = {
    "CC-BY-4.0": {
        "name": "CC-BY-4.0",
        "path": "https://creativecommons.org/licenses/by/4.0/",
        "title": "知识共享署名 4.0 国际许可协议（CC BY 4.0）",
    },
    "CC0-1.0": {
        "name": "CC0-1.0",
        "path": "https://creativecommons.org/publicdomain/zero/1.0/",
        "title": "知识共享零授权（CC0 1.0）",
    },
}


def licence() -> dict[str, str]:
    """The licence of the open data (settings.HAOCHAPING_OPEN_DATA_LICENCE) with its statement."""
    name = str(getattr(settings, "HAOCHAPING_OPEN_DATA_LICENCE", "CC-BY-4.0") or "CC-BY-4.0")
    out = dict(LICENCES.get(name, {"name": name, "path": "", "title": name}))
    out["statement"] = (
        f"本数据按 {out['title']} 开放，可自由复制、分发、改编和商业使用，"
        "但须注明数据来源为发布机构（政务服务管理机构，政务服务“好差评”平台），并注明数据月份和是否作过改动。"
        "数据为汇总统计，不含个人信息；请勿尝试识别个人。"
    )
    return out


# --- helpers ----------------------------------------------------------------------------------------------------


def _r4(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def rating_figures(c: Counts) -> dict[str, Any]:
    """The public figures of one group of ratings (the columns of ``_RATING_FIGURES``)."""
    counted = c.counted
    return {
        "ratings": counted,
        "active": c.active,
        "default_ratings": c.defaults,
        "set_aside": c.set_aside,
        "very_satisfied": c.act[5],
        "satisfied": c.act[4],
        "basic": c.act[3],
        "dissatisfied": c.act[2],
        "very_dissatisfied": c.act[1],
        "good_rate": _r4(c.good_rate()),
        "bad_rate": _r4(c.bad_rate()),
        "score": None if c.score() is None else round(c.score(), 2),
        "active_rate": _r4(c.active_rate),
        "default_share": _r4(c.defaults / counted if counted else None),
    }


def _size(row: dict[str, Any]) -> int:
    """What suppression counts: every rating behind the row, set-aside ones too (a row of set-aside ratings alone
    would otherwise be published)."""
    return int(row.get("ratings") or 0) + int(row.get("set_aside") or 0)


def suppress_rows(
    rows: list[dict[str, Any]],
    keep: tuple[str, ...],
    *,
    group: Callable[[dict[str, Any]], Hashable] | None = None,
    count_key: str = "",
) -> list[dict[str, Any]]:
    """Suppress (primary + secondary within ``group``) and blank the suppressed rows' figures, in order."""
    if count_key:
        suppress(rows, count_key=count_key, group=group)
    else:
        for row in rows:
            row["_n"] = _size(row)
        suppress(rows, count_key="_n", group=group)
        for row in rows:
            del row["_n"]
    return [blank(row, keep) if row["suppressed"] else row for row in rows]


def month_bounds(m: date) -> tuple[date, date]:
    """The month's first and last day; the running month ends today."""
    end = periods.add_months(m, 1) - timedelta(days=1)
    return m, min(end, periods.today())


def first_month() -> date | None:
    """The first month with ratings (from the rollup)."""
    first = UnitMonth.objects.aggregate(m=Min("month"))["m"]
    if isinstance(first, str):
        first = date.fromisoformat(first)
    return first.replace(day=1) if first else None


def months_available() -> list[date]:
    """Every month from the first with ratings to the current one (newest first)."""
    first = first_month()
    now = periods.today().replace(day=1)
    out: list[date] = []
    if first is None:
        return out
    m = now
    while m >= first:
        out.append(m)
        m = periods.add_months(m, -1)
    return out


def parse_month(value: str) -> date:
    """``YYYY-MM`` → its first day; ValidationFailed (naming ``month``) when malformed or in the future."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 2000:
        raise ValidationFailed(f"月份格式应为 YYYY-MM（如 2026-05），收到“{value}”", field="month")
    month = date(int(m[1]), int(m[2]), 1)
    if month > periods.today().replace(day=1):
        raise ValidationFailed(f"月份 {value} 尚未到来，没有数据", field="month")
    return month


def check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise NotFound(f"没有名为“{dataset}”的数据集；可用：{'、'.join(DATASETS)}", field="dataset")


# --- the datasets -----------------------------------------------------------------------------------------------


def _regions() -> list[tuple[int, str, str, int, str, str]]:
    """(id, code, name, level, path, parent code) of every region, in path order."""
    parents = dict(Region.objects.values_list("id", "code"))
    return [
        (rid, code, name, level, path, parents.get(parent_id, "") if parent_id else "")
        for rid, code, name, level, path, parent_id in Region.objects.order_by("path").values_list(
            "id", "code", "name", "level", "path", "parent_id"
        )
    ]


def _subtree_totals(own: dict[int, Counts], regions) -> dict[str, Counts]:
    """region path → Counts of its subtree (its own units' ratings and every descendant's)."""
    path_of = {rid: path for rid, _c, _n, _l, path, _p in regions}
    totals: dict[str, Counts] = defaultdict(Counts)
    for rid, counts in own.items():
        path = path_of.get(rid)
        if path is None:
            continue
        codes = path.strip("/").split("/")
        for depth in range(1, len(codes) + 1):
            totals["/".join(codes[:depth]) + "/"] += counts
    return totals


def _region_rows(month: date) -> list[dict[str, Any]]:
    own: dict[int, Counts] = defaultdict(Counts)
    for row in _unit_month_counts(month, ("region_id",), UnitMonth):
        own[row["region_id"]] += Counts.from_row(row)
    regions = _regions()
    totals = _subtree_totals(own, regions)
    rows = []
    for _rid, code, name, level, path, parent_code in regions:
        rows.append(
            {
                "month": f"{month:%Y-%m}",
                "region_code": code,
                "region_name": name,
                "region_level": level,
                "parent_code": parent_code,
                **rating_figures(totals.get(path, Counts())),
            }
        )
    return suppress_rows(rows, KEYS["region"], group=lambda r: (r["month"], r["parent_code"]))


def _unit_month_counts(month: date, group: tuple[str, ...], model) -> list[dict[str, Any]]:
    start, end = month_bounds(month)
    # Whole months in the cube: the running month's row holds the ratings to date.
    qs = (
        model.objects.filter(month__gte=start.replace(day=1), month__lte=end)
        .values(*group)
        .annotate(**{m: Sum(m) for m in MEASURES})
        .order_by()
    )
    return list(qs)


def _unit_rows(month: date) -> list[dict[str, Any]]:
    per_unit: dict[int, Counts] = defaultdict(Counts)
    for row in _unit_month_counts(month, ("unit_id",), UnitMonth):
        per_unit[row["unit_id"]] += Counts.from_row(row)
    units = {
        u["id"]: u
        for u in Organisation.objects.filter(pk__in=list(per_unit)).values(
            "id", "uscc", "name", "region__code", "region__name"
        )
    }
    rows = []
    for unit_id, counts in per_unit.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        rows.append(
            {
                "month": f"{month:%Y-%m}",
                "region_code": unit["region__code"],
                "region_name": unit["region__name"],
                "unit_uscc": unit["uscc"],
                "unit_name": unit["name"],
                **rating_figures(counts),
            }
        )
    rows.sort(key=lambda r: (r["region_code"], r["unit_uscc"]))
    return suppress_rows(rows, KEYS["unit"], group=lambda r: (r["month"], r["region_code"]))


UNLINKED_ITEM = "未关联事项"


def _item_rows(month: date) -> list[dict[str, Any]]:
    per_item: dict[tuple[int, int], Counts] = defaultdict(Counts)
    for row in _unit_month_counts(month, ("unit_id", "service_item_id"), ItemMonth):
        per_item[(row["unit_id"], row["service_item_id"])] += Counts.from_row(row)
    unit_ids = {u for u, _i in per_item}
    item_ids = {i for _u, i in per_item if i}
    units = {
        u["id"]: u
        for u in Organisation.objects.filter(pk__in=list(unit_ids)).values(
            "id", "uscc", "name", "region__code", "region__name"
        )
    }
    items = dict(
        (pk, (code, name))
        for pk, code, name in ServiceItem.objects.filter(pk__in=list(item_ids)).values_list(
            "pk", "implementation_code", "name"
        )
    )
    rows = []
    for (unit_id, item_id), counts in per_item.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        code, name = items.get(item_id, ("", UNLINKED_ITEM))
        rows.append(
            {
                "month": f"{month:%Y-%m}",
                "region_code": unit["region__code"],
                "region_name": unit["region__name"],
                "unit_uscc": unit["uscc"],
                "unit_name": unit["name"],
                "item_code": code,
                "item_name": name,
                **rating_figures(counts),
            }
        )
    rows.sort(key=lambda r: (r["region_code"], r["unit_uscc"], r["item_code"] or "~"))
    return suppress_rows(rows, KEYS["item"], group=lambda r: (r["month"], r["unit_uscc"]))


CASE_COLUMNS = tuple(f.name for f in _CASE_FIGURES)


def _case_rows(month: date) -> list[dict[str, Any]]:
    start, end = month_bounds(month)
    case_rollup.refresh()
    regions = _regions()
    # Which regions' subtrees hold cases this month: one GROUP BY; only those are computed (rollup.figures).
    with_cases = set(
        CaseMonth.objects.filter(month=start).exclude(opened=0).values_list("region_id", flat=True).distinct()
    )
    path_of = {rid: path for rid, _c, _n, _l, path, _p in regions}
    busy_paths: set[str] = set()
    for rid in with_cases:
        path = path_of.get(rid, "")
        codes = path.strip("/").split("/") if path else []
        busy_paths.update("/".join(codes[:d]) + "/" for d in range(1, len(codes) + 1))
    ids_under: dict[str, list[int]] = defaultdict(list)
    for rid, _c, _n, _l, path, _p in regions:
        codes = path.strip("/").split("/")
        for depth in range(1, len(codes) + 1):
            ids_under["/".join(codes[:depth]) + "/"].append(rid)
    rows = []
    for _rid, code, name, _level, path, parent_code in regions:
        if path in busy_paths:
            f = case_rollup.figures(start, end, region_ids=ids_under[path])
            figures = {c: f.get(c) for c in CASE_COLUMNS}
        else:
            figures = {c: (None if c.endswith("_rate") else 0) for c in CASE_COLUMNS}
        for c in CASE_COLUMNS:
            if c.endswith("_rate"):
                figures[c] = _r4(figures[c])
        rows.append(
            {"month": f"{month:%Y-%m}", "region_code": code, "region_name": name, "parent_code": parent_code, **figures}
        )
    return suppress_rows(rows, KEYS["cases"], group=lambda r: (r["month"], r["parent_code"]), count_key="opened")


_BUILDERS = {"region": _region_rows, "unit": _unit_rows, "item": _item_rows, "cases": _case_rows}


def build(dataset: str, month: date) -> list[dict[str, Any]]:
    """The rows of one dataset for one month, each with exactly the fields of ``FIELDS[dataset]`` in order."""
    check_dataset(dataset)
    names = [f.name for f in FIELDS[dataset]]
    return [{name: row.get(name) for name in names} for row in _BUILDERS[dataset](month)]


def cache_seconds() -> int:
    return int(getattr(settings, "HAOCHAPING_PUBLIC_CACHE_SECONDS", 300))


def dataset(dataset: str, month: date) -> dict[str, Any]:
    """{"rows", "generated_at"} of one dataset and month, from the cache (computed at most once per cache period)."""
    check_dataset(dataset)
    key = f"opendata:v1:{dataset}:{month:%Y-%m}:k{min_cell()}"
    hit = cache.get(key)
    if hit is None:
        hit = {"rows": build(dataset, month), "generated_at": timezone.localtime().isoformat(timespec="seconds")}
        cache.set(key, hit, cache_seconds())
    return hit


def check_available(month: date) -> None:
    first = first_month()
    if first is None or month < first:
        since = f"（最早为 {first:%Y-%m}）" if first else ""
        raise NotFound(f"{month:%Y-%m} 没有评价数据{since}", field="month")


# --- formats ----------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(dataset: str, rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM (Excel opens the Chinese correctly); header = field names; empty cell = no value."""
    out = io.StringIO()
    names = [f.name for f in FIELDS[dataset]]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row[n]) for n in names])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(dataset: str, month: date, payload: dict[str, Any], schema_url: str) -> dict[str, Any]:
    lic = licence()
    return {
        "dataset": dataset,
        "title": TITLES[dataset],
        "month": f"{month:%Y-%m}",
        "to_date": month == periods.today().replace(day=1),
        "generated_at": payload["generated_at"],
        "licence": {"name": lic["name"], "title": lic["title"], "path": lic["path"], "statement": lic["statement"]},
        "schema": schema_url,
        "min_cell": min_cell(),
        "rows": payload["rows"],
    }


def datapackage(base_url: str) -> dict[str, Any]:
    """The Frictionless Data Package (tabular-data-package) describing every dataset; ``base_url`` is the absolute
    URL of /open/data/ (ending in "/")."""
    lic = licence()
    months = months_available()
    resources = []
    for name in DATASETS:
        resources.append(
            {
                "name": name,
                "title": TITLES[name],
                "description": DESCRIPTIONS[name]
                + f"每月一个文件：{base_url}{name}/YYYY-MM.csv（或 .json）。评价数少于 {min_cell()} 的行已抑制。",
                "profile": "tabular-data-resource",
                "path": [f"{base_url}{name}/{m:%Y-%m}.csv" for m in reversed(months)],
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8-sig",
                "x-path-template": f"{base_url}{name}/{{month}}.{{csv|json}}",
                "schema": {
                    "fields": [
                        {"name": f.name, "type": f.type, "title": f.title, "description": f.description}
                        for f in FIELDS[name]
                    ],
                    "missingValues": [""],
                    "primaryKey": PRIMARY_KEYS[name],
                },
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": NAME,
        "title": "政务服务“好差评”开放数据",
        "description": (
            "政务服务“好差评”月度汇总数据：按行政区划、单位（部门）、政务服务事项统计的评价数据，以及差评整改数据。"
            f"不含任何个人信息；评价数少于 {min_cell()} 的单元不公开数值（小样本抑制）。"
            "比率为小数，保留 4 位；满意度指数保留 2 位。指标口径与内部统计一致（docs/metrics.md）。"
        ),
        "homepage": base_url,
        "version": "1.0.0",
        "created": timezone.localtime().isoformat(timespec="seconds"),
        "licenses": [{"name": lic["name"], "path": lic["path"], "title": lic["title"]}],
        "x-licence-statement": lic["statement"],
        "x-min-cell": min_cell(),
        "resources": resources,
    }


__all__ = [
    "DATASETS",
    "FIELDS",
    "FORMATS",
    "build",
    "check_available",
    "dataset",
    "datapackage",
    "licence",
    "months_available",
    "parse_month",
    "rating_figures",
    "suppress_rows",
    "to_csv",
    "to_json",
]
