"""The public portal's figure pages (no login): region, department, hall, 事项, search, fair rankings, integrity.

Thin views: the figures come from ``disclosure.portal`` (cached, suppressed), the charts from ``disclosure.charts``.
Bad query parameters answer 400 with a message naming the field; an unknown or inactive object answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from haochaping.directory.models import Region
from haochaping.disclosure import charts, periods
from haochaping.disclosure import portal as sel
from haochaping.lib.errors import ValidationFailed

SEARCH_MAX = 50
MAX_AGE = 60


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, f"disclosure/portal/{template}", context, status=status)
    # private: the page depends on the language and elderly-mode cookies, so no shared cache may keep it.
    patch_cache_control(response, private=True, max_age=MAX_AGE)
    return response


def _bad_request(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    context = {"title": _("请求参数有误"), "field": exc.field, "message": exc.message}
    return _render(request, "error.html", context, 400)


def _not_found(request: HttpRequest) -> HttpResponse:
    context = {"title": _("未找到"), "message": _("没有找到该地区、单位、大厅或事项，或已停用。")}
    return _render(request, "error.html", context, 404)


def _common(period: periods.PublicPeriod, data: dict[str, Any]) -> dict[str, Any]:
    trend = data.get("trend")
    chart = ""
    if trend:
        chart = charts.trend_svg(trend["rows"], chart_id="trend", caption=_("每月评价数与好评率、差评率"))
    return {
        "period": period,
        "period_choices": periods.choices(),
        "data": data,
        "computed_at": sel.freshness(data),
        "refresh_minutes": sel.refresh_minutes(),
        "chart": chart,
        "period_qs": "" if period.code == periods.DEFAULT else "?" + urlencode({"period": period.code}),
    }


def _region_response(request: HttpRequest, region: Region) -> HttpResponse:
    try:
        period = periods.parse(request.GET.get("period"))
    except ValidationFailed as exc:
        return _bad_request(request, exc)
    context = _common(period, sel.region_page(region, period))
    context.update(region=region, crumbs=sel.breadcrumb(region))
    return _render(request, "region.html", context)


@require_safe
def portal(request: HttpRequest) -> HttpResponse:
    """/open/: the top region's page (the province); several top regions: a list of them."""
    roots = sel.root_regions()
    if len(roots) == 1:
        return _region_response(request, roots[0])
    return _render(request, "roots.html", {"roots": roots})


@require_safe
def region(request: HttpRequest, code: str) -> HttpResponse:
    found = sel.region_by_code(code)
    return _region_response(request, found) if found else _not_found(request)


def _object_response(request: HttpRequest, found: Any, page: Any, template: str, **extra: Any) -> HttpResponse:
    """A department, hall or 事项 page: 404 when not found (or inactive), 400 for a bad period, else its figures."""
    if found is None:
        return _not_found(request)
    try:
        period = periods.parse(request.GET.get("period"))
    except ValidationFailed as exc:
        return _bad_request(request, exc)
    context = _common(period, page(found, period))
    context.update(crumbs=sel.breadcrumb(found.region), **extra)
    return _render(request, template, context)


@require_safe
def unit(request: HttpRequest, pk: int) -> HttpResponse:
    found = sel.unit_by_pk(pk)
    rect_link = reverse("disclosure:rectifications") + "?" + urlencode({"unit": pk})
    return _object_response(request, found, sel.unit_page, "unit.html", unit=found, rect_link=rect_link)


@require_safe
def hall(request: HttpRequest, pk: int) -> HttpResponse:
    found = sel.hall_by_pk(pk)
    return _object_response(request, found, sel.hall_page, "hall.html", hall=found)


@require_safe
def item(request: HttpRequest, pk: int) -> HttpResponse:
    found = sel.item_by_pk(pk)
    return _object_response(request, found, sel.item_page, "item.html", item=found)


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    if len(q) > SEARCH_MAX:
        exc = ValidationFailed(_("搜索词不能超过 %(n)d 个字") % {"n": SEARCH_MAX}, field="q")
        return _bad_request(request, exc)
    results = sel.search(q) if q else None
    return _render(request, "search.html", {"q": q, "results": results, "cap": sel.SEARCH_CAP})


def _choice(request: HttpRequest, name: str, allowed: tuple[str, ...]) -> str:
    value = request.GET.get(name) or allowed[0]
    if value not in allowed:
        raise ValidationFailed(
            _("%(name)s 只能取 %(values)s") % {"name": name, "values": "、".join(allowed)}, field=name
        )
    return value


@require_safe
def rankings(request: HttpRequest) -> HttpResponse:
    """/open/rankings/?region=&level=unit|hall&metric=good|bad&period=: the fair ranking within a region."""
    try:
        code = request.GET.get("region") or ""
        if code:
            region_ = sel.region_by_code(code)
            if region_ is None:
                raise ValidationFailed(_("没有该行政区划代码"), field="region")
        else:
            roots = sel.root_regions()
            if not roots:
                return _not_found(request)
            region_ = roots[0]
        level = _choice(request, "level", sel.RANK_LEVELS)
        metric = _choice(request, "metric", sel.RANK_METRICS)
        period = periods.parse(request.GET.get("period"))
    except ValidationFailed as exc:
        return _bad_request(request, exc)
    data = sel.rankings_page(region_, level, metric, period)
    context = _common(period, data)
    context.update(
        region=region_,
        crumbs=sel.breadcrumb(region_),
        level=level,
        metric=metric,
        regions=list(Region.objects.filter(level__lte=3).order_by("path").values("code", "name", "level")),
    )
    return _render(request, "rankings.html", context)


@require_safe
def integrity(request: HttpRequest) -> HttpResponse:
    """/open/integrity/: the daily digests of the tamper-evident chain and the default-rating shares."""
    try:
        period = periods.parse(request.GET.get("period"))
    except ValidationFailed as exc:
        return _bad_request(request, exc)
    roots = sel.root_regions()
    if not roots:
        return _not_found(request)
    context = _common(period, sel.integrity_page(roots[0], period))
    context.update(region=roots[0])
    return _render(request, "integrity.html", context)
