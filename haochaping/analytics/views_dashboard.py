"""The dashboard (数据看板) with drill-down: region → unit → staff. Thin views: analytics/dashboard.py builds it.

Who: everyone signed in with a data scope; window staff see only their own figures. Out-of-scope regions, units
and staff are 404 (as everywhere: a user cannot learn that they exist); bad parameters 400 naming the field.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.analytics import dashboard as dash


def _scope(request: HttpRequest) -> Scope | None:
    scope = scope_for_request(request)
    return None if scope.kind == "none" else scope


def _forbidden(request: HttpRequest) -> HttpResponse:
    message = _("您的账号没有数据权限，不能查看统计分析。")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _quick(focus_params: dict[str, str], current: str) -> list[dict]:
    """The quick periods as links (a form button would also send the start/end fields, which take precedence)."""
    return [
        {"label": label, "url": dash.url_for("dashboard", {"period": code}, focus_params), "current": code == current}
        for code, label in dash.period_choices().items()
    ]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope is None:
        return _forbidden(request)
    try:
        board = dash.build(scope, request.GET)
        charts = board.charts()
    except dash.DashboardError as e:
        status = e.status
        context = {"error": e, "quick": _quick({}, ""), "params": request.GET}
        return render(request, "analytics/dashboard.html", context, status=status)
    sections = []
    for name, chart in charts.items():
        sections.append(
            {
                "name": name,
                "chart": chart,
                "table": dash.table(chart),
                "kpis": dash.kpis(chart) if chart["kind"] == "kpi" else None,
                "csv": dash.url_for("export_csv", board.period.params, board.focus.params, {"chart": name}),
            }
        )
    query = {**board.period.params, **board.focus.params}
    context = {
        "board": board,
        "sections": sections,
        "crumbs": dash.breadcrumb(scope, board.focus, board.period),
        "quick": _quick(board.focus.params, board.period.choice),
        "data_url": dash.url_for("data", query),
        "focus_params": board.focus.params,
        "params": request.GET,
        "sources": board.sources_section(),
    }
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
def data(request: HttpRequest) -> JsonResponse:
    scope = _scope(request)
    if scope is None:
        return JsonResponse({"error": _("无数据权限")}, status=403)
    names = [n for n in request.GET.get("chart", "").split(",") if n] or None
    try:
        payload = dash.build(scope, request.GET).as_json(names)
    except dash.DashboardError as e:
        return JsonResponse(e.as_dict(), status=e.status)
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope is None:
        return _forbidden(request)
    name = request.GET.get("chart", "")
    try:
        if not name:
            raise dash.DashboardError(_("请指定要导出的图表"), "chart")
        board = dash.build(scope, request.GET)
        chart = board.chart(name)
    except dash.DashboardError as e:
        return JsonResponse(e.as_dict(), status=e.status)
    response = HttpResponse(dash.to_csv(chart), content_type="text/csv; charset=utf-8")
    filename = f"haochaping-{name}-{board.period.start:%Y%m%d}-{board.period.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
