"""The public, read-only open data API under /api/open/v1/ (no key): a NinjaAPI of its own, apart from the
system-to-system API (/api/v1/, keys).

Every figure goes through small-cell suppression (suppression.py) as on the portal and in the datasets; nothing
personal is returned (no staff, no raters; rectification texts only as moderated and, for the rater's comment,
only where the rater allowed it). Every answer is cached (server side, HAOCHAPING_PUBLIC_CACHE_SECONDS, and
``Cache-Control: public`` with an ETag: If-None-Match → 304) and rate limited per client address
(HAOCHAPING_OPEN_API_PER_HOUR, shared with the dataset downloads) → 429 with Retry-After.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import NinjaAPI, Query
from ninja.decorators import decorate_view

from haochaping.analytics.metrics import Counts
from haochaping.analytics.selectors import Slice, counts_by
from haochaping.api import UTF8Renderer, add_error_handlers
from haochaping.cases import rollup as case_rollup
from haochaping.cases.models import CaseDay, CaseMonth
from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.disclosure import opendata, periods
from haochaping.disclosure.models import Publication
from haochaping.disclosure.suppression import min_cell
from haochaping.disclosure.views_opendata import conditional, throttle
from haochaping.lib.errors import DomainError, NotFound, ValidationFailed
from haochaping.seal.selectors import public_digests

PAGE_SIZE = 20

api = NinjaAPI(
    renderer=UTF8Renderer(),
    title="haochaping 公开数据接口",
    version="1",
    description=(
        "政务服务“好差评”公开数据接口（只读，无需密钥）：区划树、区划/单位/事项的评价指标和差评整改指标、"
        "月度数据集、防篡改每日摘要、差评整改公开。指标口径与内部统计一致；评价少于公开阈值 k 的单元不公开数值"
        "（suppressed=true）。比率为小数，保留 4 位。`period` 取 12m（默认，近 12 个月）、YYYY-MM、YYYY-Qn 或 YYYY。"
        "结果缓存并带 Cache-Control、ETag；每个地址每小时限次，超过返回 429（Retry-After）。"
        "错误统一为 `{message, errors:[{field, message}]}`。"
    ),
    urls_namespace="open_api",
    auth=None,
)


# Errors are never cached: a 429 or a 400 must not be kept by a proxy for the next caller.
add_error_handlers(api, headers={"Cache-Control": "no-store"})


def _public_run(run):
    """Around an operation: the rate limit, then the server-side cache of the answer (per full path), then the
    public caching headers and the ETag (304 when the caller has it)."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, **kw: Any):
        try:
            throttle(request)
        except DomainError as exc:
            return api.on_exception(request, exc)
        key = "open_api:v1:" + hashlib.sha256(request.get_full_path().encode()).hexdigest() + f":k{min_cell()}"
        cached = cache.get(key)
        if cached is not None:
            response = HttpResponse(cached[1], content_type=cached[0])
        else:
            response = run(request, **kw)
            if response.status_code == 200:
                cache.set(key, (response["Content-Type"], response.content), opendata.cache_seconds())
        response["Access-Control-Allow-Origin"] = "*"
        return conditional(request, response)

    return wrapper


public = decorate_view(_public_run)


# --- helpers ----------------------------------------------------------------------------------------------------


def _period(value: str | None) -> periods.PublicPeriod:
    try:
        return periods.parse(value)
    except ValidationFailed as exc:
        raise DomainError(exc.message, field="period") from None  # 400


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code).select_related("parent").first()
    if region is None:
        raise NotFound(f"行政区划代码“{code[:20]}”不存在（应为 12 位区划代码）", field="region")
    return region


def _period_dict(p: periods.PublicPeriod) -> dict[str, Any]:
    return {"code": p.code, "label": p.label, "start": p.start, "end": p.end, "to_date": p.to_date}


def _now() -> str:
    return timezone.localtime().isoformat(timespec="seconds")


def _is_small(n: int) -> bool:
    return 0 < n < min_cell()


def _suppressed_among(target: Any, sizes: dict[Any, int]) -> bool:
    """Is ``target`` suppressed among its siblings ``sizes`` (key → ratings), primary and secondary?"""
    rows = [{"key": key, "n": n} for key, n in sizes.items()]
    opendata.suppress_rows(rows, ("key",), count_key="n")
    return any(r["key"] == target and r["suppressed"] for r in rows)


def _size(c: Counts) -> int:
    return c.counted + c.set_aside


def _children_paths(parent: Region) -> dict[int, str]:
    return dict(Region.objects.filter(parent=parent).values_list("id", "path"))


def _case_opened_by_child(parent: Region, p: periods.PublicPeriod) -> dict[int, int]:
    """Cases opened in the period under each child region of ``parent`` (for suppression among siblings)."""
    case_rollup.refresh()
    whole = p.start.day == 1 and (p.end + timedelta(days=1)).day == 1
    table, col = (CaseMonth, "month") if whole else (CaseDay, "day")
    per_region = dict(
        table.objects.filter(**{f"{col}__gte": p.start, f"{col}__lte": p.end})
        .values("region_id")
        .annotate(n=Sum("opened"))
        .order_by()
        .values_list("region_id", "n")
    )
    children = _children_paths(parent)
    out = dict.fromkeys(children, 0)
    for rid, path in Region.objects.filter(path__startswith=parent.path).values_list("id", "path"):
        for child, child_path in children.items():
            if path.startswith(child_path):
                out[child] += int(per_region.get(rid) or 0)
    return out


CASE_FIGURES = ("opened", "closed", "fixed", "explained", "not_adopted", "fix_rate", "on_time_rate", "callback_rate")


# --- endpoints --------------------------------------------------------------------------------------------------


@api.get("/regions", summary="区划树", tags=["区划与指标"])
@public
def regions(request) -> dict:
    """Every region: code, name, level (1 省 … 5 村), parent_code (empty for the top)."""
    parents = dict(Region.objects.values_list("id", "code"))
    rows = [
        {"code": code, "name": name, "level": level, "parent_code": parents.get(parent_id, "")}
        for code, name, level, parent_id in Region.objects.order_by("path").values_list(
            "code", "name", "level", "parent_id"
        )
    ]
    return {"count": len(rows), "regions": rows}


@api.get("/figures", summary="区划指标（评价与差评整改）", tags=["区划与指标"])
@public
def figures(request, region: str, period: str = periods.DEFAULT) -> dict:
    """A region's figures over the period (its whole subtree): ratings, rates, satisfaction index, the share of
    default ratings, and the case figures. Suppressed (figures null) when the ratings are fewer than k, or to keep
    a suppressed sibling region from being recovered by subtraction."""
    r = _region(region)
    p = _period(period)
    if r.parent_id:
        answer = counts_by(Slice(p.start, p.end, region_path=r.parent.path), "region")
        children = _children_paths(r.parent)
        sizes = {cid: _size(answer.rows.get(cid, Counts())) for cid in children}
        counts = answer.rows.get(r.pk, Counts())
        suppressed = _suppressed_among(r.pk, sizes)
        opened = _case_opened_by_child(r.parent, p)
        cases_suppressed = _suppressed_among(r.pk, opened)
    else:
        counts = counts_by(Slice(p.start, p.end, region_path=r.path)).total
        suppressed = _is_small(_size(counts))
        cases_suppressed = None
    ids = list(Region.objects.filter(path__startswith=r.path).values_list("id", flat=True))
    f = case_rollup.figures(p.start, p.end, region_ids=ids)
    if cases_suppressed is None:
        cases_suppressed = _is_small(int(f["opened"] or 0))
    cases = {c: (round(f[c], 4) if c.endswith("_rate") and f[c] is not None else f[c]) for c in CASE_FIGURES}
    return {
        "region": {"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent.code if r.parent else ""},
        "period": _period_dict(p),
        "min_cell": min_cell(),
        "generated_at": _now(),
        "suppressed": suppressed,
        "ratings": None if suppressed else opendata.rating_figures(counts),
        "cases": {"suppressed": cases_suppressed, **(dict.fromkeys(cases) if cases_suppressed else cases)},
    }


@api.get("/regions/{code}/units", summary="区划的单位（部门）指标", tags=["区划与指标"])
@public
def region_units(request, code: str, period: str = periods.DEFAULT) -> dict:
    """The region's own units (not those of its subregions) with their figures; small cells suppressed."""
    r = _region(code)
    p = _period(period)
    units = list(
        Organisation.objects.filter(region=r, is_active=True).order_by("name").values("id", "uscc", "name", "kind")
    )
    answer = counts_by(Slice(p.start, p.end, region_path=r.path, unit_ids=frozenset(u["id"] for u in units)), "unit")
    rows = [
        {"id": u["id"], "uscc": u["uscc"], "name": u["name"], "kind": u["kind"], **opendata.rating_figures(c)}
        for u in units
        for c in [answer.rows.get(u["id"], Counts())]
    ]
    rows = opendata.suppress_rows(rows, ("id", "uscc", "name", "kind"))
    return {
        "region": {"code": r.code, "name": r.name},
        "period": _period_dict(p),
        "min_cell": min_cell(),
        "generated_at": _now(),
        "units": rows,
    }


@api.get("/units/{unit_id}/items", summary="单位的事项指标", tags=["区划与指标"])
@public
def unit_items(request, unit_id: int, period: str = periods.DEFAULT) -> dict:
    """The unit's 事项 with ratings in the period (whole months); ratings with no 事项 as one row with item_id
    null; small cells suppressed."""
    unit = Organisation.objects.filter(pk=unit_id, is_active=True).select_related("region").first()
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在", field="unit_id")
    p = _period(period)
    answer = counts_by(Slice(p.start, p.end, unit_ids=frozenset({unit.pk})), "item")
    items = {
        pk: (code, name)
        for pk, code, name in ServiceItem.objects.filter(pk__in=[k for k in answer.rows if k]).values_list(
            "pk", "implementation_code", "name"
        )
    }
    rows = []
    for key, c in answer.rows.items():
        code, name = items.get(key, ("", opendata.UNLINKED_ITEM))
        rows.append({"item_id": key or None, "item_code": code, "item_name": name, **opendata.rating_figures(c)})
    rows.sort(key=lambda r: -(r["ratings"] or 0))
    rows = opendata.suppress_rows(rows, ("item_id", "item_code", "item_name"))
    return {
        "unit": {"id": unit.pk, "uscc": unit.uscc, "name": unit.name, "region_code": unit.region.code},
        "period": {**_period_dict(p), "start": answer.start, "end": answer.end},
        "min_cell": min_cell(),
        "generated_at": _now(),
        "items": rows,
    }


@api.get("/datasets", summary="月度数据集目录", tags=["数据集"])
@public
def datasets(request) -> dict:
    """The datasets, their months and URLs (CSV and JSON) and the Data Package (schema)."""
    base = request.build_absolute_uri(reverse("disclosure:open_data"))
    months = [f"{m:%Y-%m}" for m in opendata.months_available()]
    return {
        "datapackage": request.build_absolute_uri(reverse("disclosure:datapackage")),
        "licence": opendata.licence(),
        "min_cell": min_cell(),
        "months": months,
        "datasets": [
            {
                "name": name,
                "title": opendata.TITLES[name],
                "description": opendata.DESCRIPTIONS[name],
                "fields": [f.name for f in opendata.FIELDS[name]],
                "csv": f"{base}{name}/{{month}}.csv",
                "json": f"{base}{name}/{{month}}.json",
                "api": request.build_absolute_uri(f"/api/open/v1/datasets/{name}/{{month}}"),
            }
            for name in opendata.DATASETS
        ],
    }


@api.get("/datasets/{dataset}/{month}", summary="某月的数据集（JSON 行）", tags=["数据集"])
@public
def dataset_rows(request, dataset: str, month: str) -> dict:
    """The same rows as /open/data/<dataset>/<YYYY-MM>.json."""
    opendata.check_dataset(dataset)
    try:
        first = opendata.parse_month(month)
    except ValidationFailed as exc:
        raise DomainError(exc.message, field="month") from None  # 400
    opendata.check_available(first)
    schema = request.build_absolute_uri(reverse("disclosure:datapackage"))
    return opendata.to_json(dataset, first, opendata.dataset(dataset, first), schema)


@api.get("/digests", summary="防篡改每日摘要", tags=["数据真实性"])
@public
def digests(request, days: int = Query(30, ge=1, le=366)) -> dict:
    """The tamper-evident chain's daily digests (newest first): day, last block, its hash, blocks and seals."""
    rows = [
        {
            "day": d["day"].isoformat() if isinstance(d["day"], date) else d["day"],
            "last_block": d["last_block"],
            "block_hash": d["block_hash"],
            "blocks": d["blocks"],
            "seals": d["seals"],
        }
        for d in public_digests(days)
    ]
    return {"days": days, "digests": rows}


def _publication(p: Publication) -> dict[str, Any]:
    return {
        "id": p.pk,
        "url": reverse("disclosure:rectification", args=[p.pk]),
        "kind": p.kind,
        "kind_label": p.get_kind_display(),
        "region": {"code": p.region.code, "name": p.region.name},
        "unit": {"id": p.unit_id, "uscc": p.unit.uscc, "name": p.unit.name},
        "item": {"code": p.service_item.implementation_code, "name": p.service_item.name} if p.service_item else None,
        "hall": p.hall.name if p.hall else None,
        "grade": p.grade,
        "opened_on": p.opened_on,
        "outcome": p.outcome,
        "outcome_label": p.get_outcome_display(),
        "outcome_on": p.outcome_on,
        "deadline": p.deadline,
        "rectified_on": p.rectified_on,
        "feedback_grade": p.feedback_grade,
        "comment": p.comment if p.comment_allowed and p.comment else None,
        "response": p.response or None,
        "published_on": timezone.localdate(p.published_at) if p.published_at else None,
    }


@api.get("/rectifications", summary="差评整改公开", tags=["差评整改公开"])
@public
def rectifications(request, region: str = "", unit: int | None = None, page: int = Query(1, ge=1, le=10_000)) -> dict:
    """Published rectifications (moderated; the rater's text only where they allowed it), newest first; filter by
    region code (its subtree) and unit id; 20 per page."""
    qs = Publication.objects.filter(status=Publication.Status.PUBLISHED).select_related(
        "region", "unit", "service_item", "hall"
    )
    if region:
        qs = qs.filter(region__path__startswith=_region(region).path)
    if unit is not None:
        qs = qs.filter(unit_id=unit)
    qs = qs.order_by("-outcome_on", "-id")
    count = qs.count()
    pages = max((count + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    items = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    return {
        "count": count,
        "page": page,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "results": [_publication(p) for p in items],
    }
