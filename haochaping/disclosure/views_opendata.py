"""Open data pages (no login): the datasets' index with schema and licence, the Data Package, the monthly CSV/JSON
downloads, and the published periodic reports. The work is in opendata.py; the public API (api.py) shares the
rate limit and the caching headers defined here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haochaping.analytics import reports as report_service
from haochaping.analytics.models import Report
from haochaping.directory.models import Region
from haochaping.disclosure import opendata
from haochaping.disclosure.suppression import min_cell
from haochaping.lib.errors import DomainError
from haochaping.lib.ratelimit import RateLimited, client_ip, hit

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
REPORTS_MAX = 200
API_DOCS = "/api/open/v1/docs"


# --- shared with the public API: rate limit, caching headers, ETag ---------------------------------------------


def throttle(request: HttpRequest) -> None:
    """One request of the caller's address against HAOCHAPING_OPEN_API_PER_HOUR (API and downloads together)."""
    limit = int(getattr(settings, "HAOCHAPING_OPEN_API_PER_HOUR", 1200))
    hit("open_api", client_ip(request), limit=limit, window_seconds=3600)


def error_response(exc: DomainError) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=exc.status, json_dumps_params={"ensure_ascii": False})
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def cache_control() -> str:
    return f"public, max-age={opendata.cache_seconds()}"


def conditional(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Cache-Control public + a strong ETag of the body; If-None-Match with that tag → 304 Not Modified."""
    if response.status_code != 200 or response.streaming:
        return response
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    response["ETag"] = etag
    response["Cache-Control"] = cache_control()
    wanted = [t.strip().removeprefix("W/") for t in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")]
    if etag in wanted or "*" in wanted:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        not_modified["Cache-Control"] = response["Cache-Control"]
        return not_modified
    return response


def _public_message(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "disclosure/opendata/message.html", {"title": title, "message": message}, status=status)


# --- pages ------------------------------------------------------------------------------------------------------


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("disclosure:open_data"))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    months = opendata.months_available()
    selected = request.GET.get("month", "")
    codes = [f"{m:%Y-%m}" for m in months]
    if selected not in codes:
        selected = codes[1] if len(codes) > 1 else (codes[0] if codes else "")
    datasets = [
        {
            "name": name,
            "title": opendata.TITLES[name],
            "description": opendata.DESCRIPTIONS[name],
            "fields": opendata.FIELDS[name],
        }
        for name in opendata.DATASETS
    ]
    context: dict[str, Any] = {
        "datasets": datasets,
        "months": [(f"{m:%Y-%m}", f"{m.year}年{m.month}月", i == 0) for i, m in enumerate(months)],
        "recent": [(f"{m:%Y-%m}", f"{m.year}年{m.month}月", i == 0) for i, m in enumerate(months[:12])],
        "selected": selected,
        "licence": opendata.licence(),
        "k": min_cell(),
        "api_docs": API_DOCS,
        "cache_seconds": opendata.cache_seconds(),
        "per_hour": int(getattr(settings, "HAOCHAPING_OPEN_API_PER_HOUR", 1200)),
    }
    return render(request, "disclosure/opendata/index.html", context)


@require_GET
def datapackage(request: HttpRequest) -> HttpResponse:
    body = json.dumps(opendata.datapackage(_base_url(request)), ensure_ascii=False, indent=1)
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    return conditional(request, response)


@require_GET
def download(request: HttpRequest, dataset: str, month: str, fmt: str) -> HttpResponse:
    """/open/data/<dataset>/<YYYY-MM>.<csv|json>: 404 unknown dataset/format or a month without data, 400 a
    malformed or future month, 429 beyond the hourly limit."""
    try:
        throttle(request)
        opendata.check_dataset(dataset)
        if fmt not in opendata.FORMATS:
            raise DomainError(_("文件格式只有 csv 和 json"), field="format")
        first = opendata.parse_month(month)
        opendata.check_available(first)
    except RateLimited as exc:
        return error_response(exc)
    except DomainError as exc:
        if exc.field == "format":
            exc.status = 404
        elif exc.field == "month" and exc.status == 422:
            exc.status = 400
        return error_response(exc)
    payload = opendata.dataset(dataset, first)
    name = f"haochaping-{dataset}-{month}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(opendata.to_csv(dataset, payload["rows"]), content_type=CONTENT_TYPES["csv"])
    else:
        schema = request.build_absolute_uri(reverse("disclosure:datapackage"))
        body = json.dumps(opendata.to_json(dataset, first, payload, schema), ensure_ascii=False)
        response = HttpResponse(body.encode("utf-8"), content_type=CONTENT_TYPES["json"])
    response["Content-Disposition"] = content_disposition_header(fmt == "csv", name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Access-Control-Allow-Origin"] = "*"
    return conditional(request, response)


# --- published periodic reports ---------------------------------------------------------------------------------


def published_reports():
    """Reports the public may have: published, of a region (unit reports list window staff by name: never public)."""
    return Report.objects.filter(state=Report.State.PUBLISHED, scope_kind=Report.ScopeKind.REGION, unit__isnull=True)


@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    qs = published_reports().select_related("region").order_by("-published_at", "-period_start", "-id")
    code = request.GET.get("region", "").strip()
    region = None
    if code:
        region = Region.objects.filter(code=code).first()
        if region is None:
            message = _("行政区划代码“%(code)s”不存在（region 应为 12 位区划代码）") % {"code": code[:20]}
            return _public_message(request, _("参数错误"), message, 400)
        qs = qs.filter(region__path__startswith=region.path)
    regions = Region.objects.filter(pk__in=published_reports().values("region_id")).order_by("path")
    context = {
        "reports": list(qs[:REPORTS_MAX]),
        "region": region,
        "regions": regions,
        "code": code,
        "reports_max": REPORTS_MAX,
    }
    return render(request, "disclosure/opendata/reports.html", context)


@require_GET
def report_file(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A published region report's Excel or PDF, re-hashed first: refused (409) if it no longer matches."""
    if fmt not in ("xlsx", "pdf"):
        raise Http404(_("文件格式只有 xlsx 和 pdf"))
    report = published_reports().select_related("region").filter(pk=pk).first()
    if report is None:
        raise Http404(_("报告不存在或尚未发布"))
    fieldfile = getattr(report, fmt)
    if not fieldfile:
        raise Http404(_("报告文件缺失"))
    if not report_service.file_intact(report, fmt):
        message = _(
            "该报告文件与发布时记录的 SHA-256（%(sha)s）不一致或已缺失，为保证完整性暂停下载。请联系发布机构。"
        ) % {"sha": getattr(report, f"{fmt}_sha256")}
        return _public_message(request, _("文件校验失败"), message, 409)
    try:
        handle = fieldfile.open("rb")
    except FileNotFoundError:
        raise Http404(_("报告文件缺失")) from None
    name = f"{report.region.name}-{report.get_kind_display()}-{report.period_label}-v{report.version}.{fmt}"
    response = FileResponse(handle, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache_control()
    response["ETag"] = f'"{getattr(report, f"{fmt}_sha256")}"'
    return response
