"""差评成因 (driver analysis): which tags and questionnaire answers most distinguish bad from good ratings.

Who: supervisors (Scope.supervises), within their scope. Out-of-scope units and 事项 are 404, bad parameters 400
naming the field. Thin view: insight/drivers.py does the work.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haochaping.analytics import dashboard as dash
from haochaping.insight import drivers
from haochaping.web.access import supervisor_scope


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, _("只有监督管理人员可以查看差评成因分析。"))
    if isinstance(scope, HttpResponse):
        return scope
    context = {
        "scope": scope,
        "params": request.GET,
        "periods": dash.period_choices(),
        "min_support": drivers.MIN_SUPPORT,
        "max_rows": drivers.MAX_ROWS,
    }
    try:
        report = drivers.analyse(scope, request.GET)
    except dash.DashboardError as e:
        context.update(error=e, choices={"units": [], "items": []})
        return render(request, "insight/drivers.html", context, status=e.status)
    context.update(
        report=report,
        choices=drivers.choices(scope, report.focus),
        unit_id=report.focus.unit.pk if report.focus.kind == "unit" and report.focus.unit else None,
        item_id=report.item.pk if report.item else None,
    )
    return render(request, "insight/drivers.html", context)
