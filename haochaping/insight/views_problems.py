"""Concentrated problems (反映集中的问题): the list (/insight/problems/) and one problem (/insight/problems/<pk>/).

Who: supervisors (web.access.supervisor_scope): system administrators, agency administrators, inspectors and
auditors of a region; problems are per region, so they show within the scope's region subtree. POST (confirm,
dismiss, 交办整改) is refused with 403 to read-only roles (inspectors, auditors). Thin: the decisions are
insight/problems.py (problem_decide), the rectification cases/rectification.py (rectification_open).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.cases import rectification as rectifications
from haochaping.cases.views_rectification import parse_deadline
from haochaping.directory.models import Organisation
from haochaping.insight.models import Problem, ProblemMember
from haochaping.insight.problems import problem_decide
from haochaping.lib.errors import DomainError, ValidationFailed
from haochaping.web.access import supervisor_scope

PAGE_SIZE = 50
MEMBERS_PAGE = 30


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(request, _("集中反映问题仅向管理机构管理员、监督检查人员、审计人员和系统管理员开放。"))


def _read_only(request: HttpRequest) -> HttpResponse:
    message = _("当前角色为只读，不能执行此操作。")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    qs = scope.filter(Problem.objects.select_related("region"))
    status = request.GET.get("status", "")
    if status not in Problem.Status.values:
        status = ""
    if status:
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-size", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "problem": p,
            "keywords": p.keywords[:6],
            "units": p.units[:3],
            "trend": [w["n"] for w in p.trend],
        }
        for p in page.object_list
    ]
    return render(
        request,
        "insight/problems.html",
        {
            "scope": scope,
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": Problem.Status.choices,
            "query": f"status={status}" if status else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    problem = get_object_or_404(scope.filter(Problem.objects.select_related("region", "rectification")), pk=pk)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if scope.read_only:
            return _read_only(request)
        try:
            done = _act(request, problem)
        except DomainError as exc:
            errors[exc.field or "action"] = exc.message
        else:
            messages.success(request, done)
            return redirect("insight:problem_detail", pk=problem.pk)
    unit_ids = [u["id"] for u in problem.units]
    units = {u.pk: u for u in Organisation.objects.filter(pk__in=unit_ids)}
    owner_units = [units[i] for i in unit_ids if i in units]
    people = (
        get_user_model()
        .objects.filter(is_active=True, membership__unit_id__in=unit_ids)
        .select_related("membership__unit")
        .order_by("membership__unit_id", "username")
    )
    members = (
        ProblemMember.objects.filter(problem=problem)
        .select_related("doc__unit", "doc__service_item")
        .order_by("-doc__day", "doc_id")
    )
    page = Paginator(members, MEMBERS_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "insight/problem_detail.html",
        {
            "problem": problem,
            "page": page,
            "can_act": not scope.read_only,
            "owner_units": owner_units,
            "people": people,
            "default_deadline": rectifications.default_deadline(),
            "errors": errors,
            "posted": request.POST if request.method == "POST" else {},
            "trend_max": max([w["n"] for w in problem.trend] or [0]),
        },
        status=422 if errors else 200,
    )


def _act(request: HttpRequest, problem: Problem) -> str:
    data = request.POST
    action = data.get("action", "")
    if action in ("confirm", "dismiss"):
        status = Problem.Status.CONFIRMED if action == "confirm" else Problem.Status.DISMISSED
        problem_decide(problem.pk, status=status, note=data.get("note", ""), actor=request.user)
        return _("已记录研判结果")
    if action != "assign":
        raise ValidationFailed(_("未知的操作"), field="action")
    involved = [u["id"] for u in problem.units]
    unit_id = data.get("unit") or (str(involved[0]) if involved else "")
    if not unit_id.isdigit() or int(unit_id) not in involved:
        raise ValidationFailed(_("责任单位应为涉及的单位之一"), field="unit")
    unit = Organisation.objects.get(pk=int(unit_id))
    owner = None
    if data.get("owner"):
        owner_id = data["owner"]
        owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first() if owner_id.isdigit() else None
        if owner is None:
            raise ValidationFailed(_("责任人不存在"), field="owner")
    item = rectifications.rectification_open(
        problem,
        title=data.get("title") or problem.label,
        description=data.get("description", ""),
        unit=unit,
        owner=owner,
        deadline=parse_deadline(data.get("deadline", "")),
        actor=request.user,
        source=f"集中问题 #{problem.pk}",
    )
    return _("已交办整改：%(title)s") % {"title": item.title}
