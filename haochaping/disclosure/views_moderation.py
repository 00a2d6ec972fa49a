"""整改公开审核 (/disclosure/moderation/): the queue and one item, for the management agency.

Who: supervisors (web.access.supervisor_scope) see the items of their scope; POST (publish, redact, withhold,
restore, publish selected) is refused with 403 to read-only roles (inspectors, auditors) and to department
administrators — only the management agency of the region (or a system administrator) moderates. Out-of-scope
items are 404. Thin: the decisions are disclosure/publication.py.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case as When_
from django.db.models import Count, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation
from haochaping.disclosure import publication
from haochaping.disclosure.models import Publication
from haochaping.lib.errors import DomainError, ValidationFailed
from haochaping.web.access import supervisor_scope

PAGE_SIZE = 50
# The insight pipeline's placeholders, publication's own ([地址], [账号]) and the redaction marks.
_MASK_RE = re.compile(r"\[(?:手机号|电话|证件号|卡号|邮箱|姓名|地址|账号)\]|〔已删除〕|＊+")


def highlight(text: str) -> SafeString:
    """The text, escaped, with what masking put in (placeholders, ＊) marked."""
    out, last = [], 0
    for m in _MASK_RE.finditer(text or ""):
        out += [escape(text[last : m.start()]), f'<mark class="pub-mask">{escape(m.group(0))}</mark>']
        last = m.end()
    out.append(escape((text or "")[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece is escaped above


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(request, _("整改公开审核仅向管理机构管理员、监督检查人员、审计人员和系统管理员开放。"))


def _read_only(request: HttpRequest) -> HttpResponse:
    message = _("当前角色不能审核整改公开（仅管理机构管理员）。")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


@login_required
@require_http_methods(["GET", "POST"])
def queue(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not publication.may_moderate(scope):
            return _read_only(request)
        try:
            done = publication.publish_many(request.POST.getlist("ids"), request.user)
        except DomainError as exc:
            errors[exc.field or "ids"] = exc.message
        else:
            messages.success(request, _("已公开 %(n)s 条") % {"n": done})
            return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
    qs = scope.filter(Publication.objects.select_related("region", "unit", "service_item"))
    status = request.GET.get("status", "")
    if status and status not in Publication.Status.values:
        errors["status"] = _("未知的公开状态")
        status = ""
    if status:
        qs = qs.filter(status=status)
    unit_param = request.GET.get("unit", "")
    unit = None
    if unit_param:
        unit = Organisation.objects.filter(pk=int(unit_param)).first() if unit_param.isdigit() else None
        if unit is None or not scope.allows_unit(unit):
            errors["unit"] = _("单位不存在或不在您的数据范围内")
            unit = None
        else:
            qs = qs.filter(unit=unit)
    pending_first = When_(When(status=Publication.Status.PENDING, then=Value(0)), default=Value(1),
                          output_field=IntegerField())  # fmt: skip
    page = Paginator(qs.order_by(pending_first, "-outcome_on", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"pub": p, "comment": highlight(p.comment), "response": highlight(p.response)} for p in page.object_list]
    counts = {
        s: n
        for s, n in scope.filter(Publication.objects.all()).order_by().values_list("status").annotate(n=Count("id"))
    }
    units = Organisation.objects.filter(pk__in=scope.filter(Publication.objects.all()).values("unit_id")).order_by(
        "name"
    )[:300]
    return render(
        request,
        "disclosure/moderation/queue.html",
        {
            "scope": scope,
            "page": page,
            "rows": rows,
            "status": status,
            "unit": unit,
            "units": units,
            "statuses": Publication.Status.choices,
            "counts": [(value, label, counts.get(value, 0)) for value, label in Publication.Status.choices],
            "can_act": publication.may_moderate(scope),
            "errors": errors,
            "query": urlencode({k: v for k, v in (("status", status), ("unit", unit.pk if unit else "")) if v}),
        },
        status=422 if errors and request.method == "POST" else 400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    pub = get_object_or_404(
        scope.filter(Publication.objects.select_related("region", "unit", "service_item", "hall", "case")), pk=pk
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not publication.may_moderate(scope):
            return _read_only(request)
        try:
            done = _act(request, pub)
        except DomainError as exc:
            errors[exc.field or "action"] = exc.message
        else:
            messages.success(request, done)
            return redirect("moderation:detail", pk=pub.pk)
    events = pub.events.select_related("actor").order_by("at", "id")
    return render(
        request,
        "disclosure/moderation/detail.html",
        {
            "pub": pub,
            "case_number": pub.case.number,
            "comment_auto": highlight(pub.comment_auto),
            "response_auto": highlight(pub.response_auto),
            "comment": highlight(pub.comment),
            "response": highlight(pub.response),
            "events": events,
            "can_act": publication.may_moderate(scope),
            "errors": errors,
            "posted": request.POST if request.method == "POST" else {},
        },
        status=422 if errors else 200,
    )


def _act(request: HttpRequest, pub: Publication) -> str:
    data, user = request.POST, request.user
    action = data.get("action", "")
    if action == "publish":
        publication.publish(pub, user)
        return _("已公开")
    if action == "withhold":
        publication.withhold(pub, user, data.get("reason", ""))
        return _("已设为不予公开")
    if action == "restore":
        publication.restore(pub, user, data.get("reason", ""))
        return _("已恢复为待审核")
    if action == "redact":
        comment = data.get("comment") if "comment" in data else None
        response = data.get("response") if "response" in data else None
        publication.redact(pub, user, comment=comment, response=response, reason=data.get("reason", ""))
        return _("已保存人工删改")
    raise ValidationFailed(_("未知的操作"), field="action")
