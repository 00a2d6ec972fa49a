"""Staff pages of the case module: the queue, the case page with its action forms, evidence, reminders.

Thin views: reads come from cases/selectors.py, every change goes through ``services.case_act``. A case
outside the user's scope is reported as not found (404), as everywhere else.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haochaping.accounts.scope import get_in_scope, scope_for_request
from haochaping.audit.services import REASON_MAX, REASON_MIN
from haochaping.cases import access, selectors, services, workdays
from haochaping.cases.forms import FORMS, ActionForm, QueueFilterForm, action_form
from haochaping.cases.models import Appeal, Case, CaseAttachment, Notification, Outcome
from haochaping.entry.forms import mark_errors
from haochaping.lib import protect
from haochaping.lib.errors import DomainError, NotFound
from haochaping.ratings.codes import Adoption

PAGE_SIZE = 50


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    context["unread_notifications"] = selectors.unread_count(request.user)
    return render(request, template, context, status=status)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    scope = scope_for_request(request)
    form = QueueFilterForm(request.GET or None, units=selectors.unit_choices(request.user, scope))
    filters = form.filters() if form.is_bound else selectors.QueueFilters()
    today = workdays.today()
    page = Paginator(selectors.queue_for(request.user, scope, filters, today), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "page": page,
        "rows": selectors.flag_rows(page.object_list, today),
        "counts": selectors.state_counts(request.user, scope, filters, today),
        "filters": filters,
        "query": _query_without_page(request),
        "read_only": scope.read_only,
    }
    return _render(request, "cases/queue.html", context)


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    scope = scope_for_request(request)
    qs = selectors.cases_for(request.user, scope).select_related(
        "rating__tag_set",
        "service_case",
        "service_item",
        "unit",
        "region",
        "hall",
        "window",
        "staff",
        "handler",
    )
    try:
        return get_in_scope(qs, scope, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _render_detail(
    request: HttpRequest,
    case: Case,
    *,
    bound: ActionForm | None = None,
    error: str = "",
    status: int = 200,
    phone: str = "",
    name: str = "",
    reveal_form: forms.Form | None = None,
) -> HttpResponse:
    today = workdays.today()
    forms = []
    extend_used = False
    for spec in selectors.page_actions(case, request.user):
        if bound is not None and bound.action == spec.code:
            forms.append(mark_errors(bound))
        elif spec.code == "extend" and case.extended_deadline:
            extend_used = True  # one extension only: no form, just the note (a posted second one still gets 409)
        else:
            forms.append(action_form(spec.code, case))
    rating = case.rating
    context = {
        "case": case,
        "rating": rating,
        "tags": selectors.rating_tags(case),
        "grade": selectors.rating_grade(case),
        "not_adopted": bool(rating and rating.adoption == Adoption.NOT_ADOPTED) or case.outcome == Outcome.NOT_ADOPTED,
        "under_review": bool(rating and rating.adoption == Adoption.UNDER_REVIEW),
        "overdue": services.is_overdue(case, today),
        "due_soon": selectors.is_due_soon(case, today),
        "deadlines": selectors.deadlines(case, today),
        "callbacks": case.callbacks.select_related("recorded_by"),
        "appeals": case.appeals.select_related("applied_by", "decided_by"),
        "appeal_pending": Appeal.Decision.PENDING,
        "timeline": selectors.case_timeline(case),
        "forms": forms,
        "open_form": bound.action if bound is not None else "",
        "extend_used": extend_used,
        "error": error,
        "policy": services.policy_of(case),
        "revealed_phone": phone,
        "revealed_name": name,
        "contact_name_masked": protect.mask_name(case.contact_name),
        "reveal_form": reveal_form or RevealForm(auto_id="id_reveal_%s"),
        "may_reveal": case.contact_phone_enc and case.is_open and "handler" in access.actor_roles(request.user, case),
        "routing": _routing_box(case, request.user),
    }
    return _render(request, "cases/detail.html", context, status=status)


def _routing_box(case: Case, user) -> dict | None:
    """The pending routing suggestion of a complaint opened without a unit (insight app), if any."""
    from haochaping.insight.routing import box_for

    return box_for(case, user)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _case_or_404(request, pk))


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in FORMS:
        raise Http404(_("没有这个操作"))
    case = _case_or_404(request, pk)
    form = action_form(action, case, request.POST, request.FILES)
    allowed = {spec.code for spec in services.available_actions(case, request.user)}
    # An action not open to this user now goes straight to the services, which name the reason (403/409);
    # otherwise the form checks the shape of the input first.
    if action in allowed and not form.is_valid():
        return _render_detail(request, case, bound=form, error=_("请检查标出的字段"), status=422)
    try:
        services.case_act(
            case_id=case.pk,
            action=action,
            user=request.user,
            data=form.service_data(),
            files=request.FILES.getlist("files"),
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _render_detail(request, _case_or_404(request, pk), bound=form, error=exc.message, status=exc.status)
    messages.success(
        request, _("已完成：%(action)s（工单 %(number)s）") % {"action": form.title, "number": case.number}
    )
    if not selectors.cases_for(request.user, scope_for_request(request)).filter(pk=case.pk).exists():
        return redirect("cases:queue")  # transferred away: the case is no longer this user's to see
    return redirect("cases:detail", pk=case.pk)


class RevealForm(forms.Form):
    """The stated reason for seeing the rater's full contact (required; written to the identity-access log)."""

    reason = forms.CharField(
        label=_("查看理由"),
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("例如：电话回访核实差评情况")}),
    )


@login_required
@require_POST
def contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the rater's full name and phone once, for the call-back, with a stated reason; the reveal is recorded
    in the history and the identity-access log."""
    case = _case_or_404(request, pk)
    form = RevealForm(request.POST, auto_id="id_reveal_%s")
    # The service checks permission and state before the reason, so a refusal is a 403/409 whatever was typed.
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        contact = services.case_contact_reveal(case_id=case.pk, user=request.user, reason=reason, request=request)
    except DomainError as exc:
        if exc.field == "reason" and "reason" not in form.errors:
            form.add_error("reason", exc.message)
        return _render_detail(request, case, error=exc.message, status=exc.status, reveal_form=mark_errors(form))
    return _render_detail(request, _case_or_404(request, pk), phone=contact["phone"], name=contact["name"])


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """An evidence file, only for users who may open its case (404 for everyone else)."""
    cases = selectors.cases_for(request.user, scope_for_request(request))
    item = CaseAttachment.objects.filter(pk=pk, case__in=cases).first()
    if item is None:
        raise Http404(_("证明材料不存在或不在您的数据范围内"))
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("证明材料文件缺失")) from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Content-Disposition"] = content_disposition_header(False, item.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(recipient=request.user)
    if request.method == "POST":
        marked = mine.filter(read_at__isnull=True).update(read_at=timezone.now())
        messages.success(request, _("已将%(n)s条提醒标为已读") % {"n": marked})
        return redirect("cases:notifications")
    page = Paginator(mine.select_related("case").order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _render(request, "cases/notifications.html", {"page": page})
