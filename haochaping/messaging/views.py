"""Development console: the SMS sent and received, and a form to answer an invitation as the applicant would."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.lib import protect
from haochaping.lib.errors import DomainError
from haochaping.messaging.models import SmsMessage
from haochaping.messaging.services import inbound_receive, open_invitation

CONSOLE_ROWS = 50
STATUS_LABELS = dict(SmsMessage.Status.choices)


def console_allowed(scope: Scope) -> bool:
    """System administrators and agency administrators (region scope, writable) may use the console."""
    return scope.kind == "all" or (scope.role == Role.AGENCY_ADMIN and not scope.read_only)


@login_required
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest) -> HttpResponse:
    # The console simulates the applicant's phone: only with the development backends, never in production.
    if settings.HAOCHAPING_SMS_BACKEND not in ("console", "file"):
        raise Http404(_("短信控制台仅在 console/file 后端下可用"))
    scope = scope_for_request(request)
    if not console_allowed(scope):
        raise Http404(_("短信控制台仅限系统管理员和管理机构管理员"))
    if request.method == "POST":
        return _simulate_reply(request, scope)
    rows = list(
        scope.filter(SmsMessage.objects.select_related("service_case__service_item", "token")).order_by(
            "-created_at", "-pk"
        )[:CONSOLE_ROWS]
    )
    now = timezone.now()
    for row in rows:
        row.answerable = (
            row.kind == SmsMessage.Kind.INVITATION
            and row.answered_at is None
            and row.token is not None
            and row.token.used_at is None
            and row.token.expires_at > now
        )
    return render(request, "messaging/console.html", {"rows": rows, "backend": settings.HAOCHAPING_SMS_BACKEND})


def _simulate_reply(request: HttpRequest, scope: Scope) -> HttpResponse:
    invitation = (
        scope.filter(SmsMessage.objects.filter(kind=SmsMessage.Kind.INVITATION, pk=request.POST.get("invitation") or 0))
        .select_related("service_case")
        .first()
    )
    if invitation is None:
        raise Http404(_("邀评短信不存在或不在您的数据范围内"))
    text = request.POST.get("text", "").strip()[:2000]
    phone = protect.decrypt(invitation.phone_enc)
    if open_invitation(invitation.phone_hash, timezone.now()) != invitation:
        messages.warning(request, _("该手机号的最新待评邀请不是这一条：回复将按最新邀请处理"))
    try:
        result = inbound_receive(phone=phone, text=text, received_at=timezone.now().isoformat())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已模拟回复“%(text)s”：%(status)s。回复短信：%(reply)s")
                         % {"text": text, "status": STATUS_LABELS.get(result.status, result.status),
                            "reply": result.reply})  # fmt: skip
    return redirect("messaging:console")
