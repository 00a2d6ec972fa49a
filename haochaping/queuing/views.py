"""Pages: the staff's day view of queue tickets (/queue/) and the ticket's phone rating page (/t/<token>/)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.lib.abuse import captcha_error, honeypot_rejection
from haochaping.lib.errors import Conflict, DomainError
from haochaping.queuing import selectors, services
from haochaping.ratings.offers import offer_record
from haochaping.ratings.views import _grades, _thanks_context, limit_token_requests
from haochaping.web.access import supervisor_scope


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, _("排队叫号情况仅向督办、管理人员开放。"))
    if isinstance(scope, HttpResponse):
        return scope
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = timezone.localdate()
    halls = list(selectors.halls_in_scope(scope))
    code = request.GET.get("hall", "")
    hall = next((h for h in halls if h.code == code), halls[0] if halls else None)
    tickets = list(selectors.tickets_of_day(scope, day, hall)) if hall else []
    return render(request, "queuing/index.html", {
        "halls": halls, "hall": hall, "day": day, "tickets": tickets, "summary": selectors.day_summary(tickets),
    })  # fmt: skip


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """Rate the service of one queue ticket (five grades, optional comment): once, after it was called."""
    if rejected := honeypot_rejection(request, "ticket rating"):
        return rejected
    try:
        limit_token_requests(request)
        ticket = services.ticket_by_token(token)
    except DomainError as exc:
        response = _page(request, "ratings/token_unusable.html", {"message": exc.message}, exc.status)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    context = {"ticket": ticket, "grades": _grades(request.LANGUAGE_CODE), "errors": [], "form": {}}
    # Not (yet) rateable: an informative page; a POST of the form is refused as a conflict (409).
    refused = 409 if request.method == "POST" else 200
    if not services.ticket_servable(ticket):
        message = _("您的票号尚未叫号办理，办理完成后再扫码评价。")
        if ticket.state in (ticket.State.CANCELLED, ticket.State.NO_SHOW):
            message = _("该票号已%(state)s，无法评价。") % {"state": ticket.get_state_display()}
        return _page(request, "queuing/not_served.html", {**context, "message": message}, refused)
    if ticket.rated_at is not None:
        message = _("该票号已评价，感谢您的参与。")
        return _page(request, "queuing/not_served.html", {**context, "message": message}, refused)
    if request.method == "GET":
        offer_record(kind="qr_scan", channel="qr", window=ticket.window, source=f"ticket:{ticket.pk}")
        return _page(request, "queuing/rate.html", context)
    form = {"grade": request.POST.get("grade", ""), "comment": request.POST.get("comment", "")[:2000]}
    context["form"] = form
    if refused := captcha_error(request):
        context["errors"] = [{"field": None, "message": refused}]
        return _page(request, "queuing/rate.html", context, 422)
    try:
        result = services.ticket_rate(ticket, grade=form["grade"], comment=form["comment"])
    except Conflict as exc:
        return _page(request, "queuing/not_served.html", {**context, "message": exc.message}, 409)
    except DomainError as exc:
        context["errors"] = exc.errors or [{"field": None, "message": exc.message}]
    else:
        if result.ok:
            return _page(request, "ratings/thanks.html", _thanks_context(result))
        context["errors"] = result.errors or [{"field": None, "message": result.message}]
    return _page(request, "queuing/rate.html", context, 422)
