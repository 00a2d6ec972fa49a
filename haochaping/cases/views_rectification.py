"""整改事项 pages: the list (/cases/rectifications/) and one item with its forms (/cases/rectifications/<pk>/).

Who sees them: everyone whose scope covers units or a region (system administrators, agency staff, department
staff and case handlers) — each item through the scope (its region or its unit). Window staff and users without a
role get the 403 page. Who may POST:
- progress / complete: users of the owner unit (their scope's units include it) who are not read-only;
- cancel: agency administrators of a region above the item, and system administrators.
Thin: the writes are cases/rectification.py.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.cases import rectification as services
from haochaping.cases import workdays
from haochaping.cases.models import Rectification
from haochaping.lib.errors import DomainError

PAGE_SIZE = 50
ACTIONS = ("progress", "complete", "cancel")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    scope = scope_for_request(request)
    if scope.kind in ("all", "region", "units"):
        return scope
    return _forbidden(request, _("整改事项仅向管理机构、部门的工作人员开放。"))


def may_report(scope: Scope, item: Rectification) -> bool:
    """Progress and completion: the owner unit's own users, not read-only."""
    return scope.kind == "units" and not scope.read_only and item.unit_id in scope.unit_ids


def may_cancel(scope: Scope) -> bool:
    """Cancellation: agency administrators (their region) and system administrators."""
    if scope.read_only:
        return False
    return scope.kind == "all" or (scope.kind == "region" and scope.role == Role.AGENCY_ADMIN)


@login_required
def rectifications(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    qs = scope.filter(Rectification.objects.select_related("unit", "owner", "region"))
    state = request.GET.get("state", "")
    if state and state not in Rectification.State.values:
        state = ""
    if state:
        qs = qs.filter(state=state)
    page = Paginator(qs.order_by("state", "deadline", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    today = workdays.today()
    return render(
        request,
        "cases/rectifications.html",
        {
            "page": page,
            "rows": [(item, services.is_overdue(item, today)) for item in page.object_list],
            "state": state,
            "states": Rectification.State.choices,
            "query": f"state={state}" if state else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rectification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    item = get_object_or_404(scope.filter(Rectification.objects.select_related("unit", "owner", "region")), pk=pk)
    can_report, can_cancel = may_report(scope, item), may_cancel(scope)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        allowed = {"progress": can_report, "complete": can_report, "cancel": can_cancel}
        if action not in ACTIONS:
            errors["action"] = _("未知的操作")
        elif not allowed[action]:
            return _forbidden(request, _("您不能对该整改事项执行此操作。"))
        else:
            try:
                _act(item.pk, action, request)
            except DomainError as exc:
                errors[exc.field or "action"] = exc.message
            else:
                messages.success(request, _("已保存"))
                return redirect("cases:rectification_detail", pk=item.pk)
    problem = getattr(item, "problem", None)  # the concentrated problem it came from, if any
    return render(
        request,
        "cases/rectification_detail.html",
        {
            "item": item,
            "problem": problem,
            "overdue": services.is_overdue(item),
            "open": item.state == Rectification.State.OPEN,
            "can_report": can_report,
            "can_cancel": can_cancel,
            "errors": errors,
            "posted": request.POST if request.method == "POST" else {},
        },
        status=422 if errors else 200,
    )


def _act(pk: int, action: str, request: HttpRequest) -> None:
    data = request.POST
    if action == "progress":
        services.rectification_progress(pk, progress=data.get("progress", ""), actor=request.user)
    elif action == "complete":
        services.rectification_complete(pk, measures=data.get("measures", ""), actor=request.user)
    else:
        services.rectification_cancel(pk, reason=data.get("reason", ""), actor=request.user)


def parse_deadline(value: str) -> date | None:
    """A deadline from a form (YYYY-MM-DD); empty → None (the default applies)."""
    from haochaping.lib.errors import ValidationFailed

    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(_("整改期限格式应为 YYYY-MM-DD"), field="deadline") from None
