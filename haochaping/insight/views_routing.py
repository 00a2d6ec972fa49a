"""Routing suggestion pages (thin views): the router's status and pending suggestions, and a handler's decision.

Reads and writes are in insight/routing.py; the decision transfers the case through the cases module's transfer
action, so only whoever may transfer the case may decide (its handler, a unit or agency administrator).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from haochaping.accounts.models import Role
from haochaping.accounts.scope import scope_for_request
from haochaping.cases import selectors
from haochaping.cases.models import Case
from haochaping.insight import routing
from haochaping.insight.models import RoutingSuggestion
from haochaping.lib.errors import DomainError
from haochaping.web.access import supervisor_scope

PENDING_SHOWN = 100


def _may_retrain(scope) -> bool:
    return not scope.read_only and (scope.kind == "all" or (scope.kind == "region" and scope.role == Role.AGENCY_ADMIN))


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, _("分派建议仅对管理人员开放"))
    if isinstance(scope, HttpResponse):
        return scope
    may_retrain = _may_retrain(scope)
    if request.method == "POST":
        if not may_retrain:
            return render(
                request, "web/message.html", {"title": _("无权限"), "message": _("只有管理机构管理员可以重新训练")},
                status=403,
            )  # fmt: skip
        router = routing.train_from_database()
        if router is None:
            messages.warning(request, _("已标注的投诉不足，暂不能训练（至少20条、2个类别）"))
        else:
            messages.success(request, _("已重新训练分派模型（%(n)s条样本）") % {"n": router.examples})
        return redirect("insight:routing")
    suggestions = RoutingSuggestion.objects.filter(case__in=scope.filter(Case.objects.all()))
    loaded = routing.load()
    context = {
        "scope": scope,
        "router": loaded[0] if loaded else None,
        "live": routing.live_accuracy(suggestions),
        "pending": suggestions.filter(decision=RoutingSuggestion.Decision.PENDING)
        .select_related("case", "suggested_unit", "case__unit")
        .order_by("-created_at")[:PENDING_SHOWN],
        "may_retrain": may_retrain,
        "threshold": routing.CONFIDENT,
    }
    return render(request, "insight/routing.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, case_id: int) -> HttpResponse:
    scope = scope_for_request(request)
    case = selectors.cases_for(request.user, scope).select_related("region", "unit").filter(pk=case_id).first()
    if case is None:
        raise Http404(_("工单不存在或不在您的数据范围内"))
    if not routing.may_decide(request.user, case):
        return render(request, "web/message.html", {"title": _("无权限"), "message": _("您无权转办该工单")}, status=403)
    suggestion = RoutingSuggestion.objects.filter(case=case).first()
    if suggestion is None:
        raise Http404(_("该工单没有分派建议"))
    if request.POST.get("decision") == "confirm":
        label, unit = suggestion.label, suggestion.suggested_unit_id
    else:
        label, unit = request.POST.get("label", ""), request.POST.get("unit", "")
    try:
        routing.decide(case, label=label, unit=unit, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases:detail", pk=case.pk)
    messages.success(request, _("已按“%(label)s”转办") % {"label": label})
    if not selectors.cases_for(request.user, scope).filter(pk=case.pk).exists():
        return redirect("cases:queue")  # transferred out of this user's scope
    return redirect("cases:detail", pk=case.pk)
