"""意见箱 (/suggestions/): the public's suggestion form and its thank-you page. No login.

The same protections as the public complaint form (cases/views_public.py): a honeypot field, per-address limits on
posts and on suggestions filed, a per-phone limit when a phone is given, the optional captcha hook. Post/redirect/
get: the thank-you page (?done=1) shows the 工单编号 and 查询码 kept in the session, once.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import opening
from haochaping.cases.lookup import lookup_for_number
from haochaping.entry.forms import mark_errors
from haochaping.lib.abuse import captcha_error, honeypot_rejection, limit_public_form
from haochaping.lib.errors import DomainError
from haochaping.lib.ratelimit import RateLimited
from haochaping.ratings.codes import Channel
from haochaping.society.forms import SuggestionForm

DONE_KEY = "society_suggestion_done"
TEMPLATE = "society/suggestion.html"


def _too_many(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = render(request, TEMPLATE, {"blocked": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.GET.get("done"):
        done = request.session.pop(DONE_KEY, None)
        if done:
            context = {"number": done["number"], "anonymous": done["anonymous"], **lookup_for_number(done["number"])}
            return render(request, "society/suggestion_done.html", context)
    if rejected := honeypot_rejection(request, "suggestion"):
        return rejected
    form = SuggestionForm(request.POST or None)
    if request.method == "POST":
        try:
            limit_public_form(
                request, form, bucket="suggestion", posts_per_hour=settings.HAOCHAPING_SUGGESTION_POSTS_PER_HOUR,
                filed_per_hour=settings.HAOCHAPING_SUGGESTIONS_PER_HOUR,
            )  # fmt: skip
        except RateLimited as exc:
            return _too_many(request, exc)
        if form.is_valid() and (refused := captcha_error(request)):
            form.add_error(None, refused)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = opening.suggestion_open(
                    opening.SuggestionIn(
                        content=data["content"],
                        topic=data["topic"],
                        contact_phone=data["contact_phone"],
                        contact_name=data["contact_name"],
                        channel=Channel.PC,
                        unit_id=data["unit_id"],
                        hall_id=data["hall_id"],
                        region_id=data["region_id"],
                    ),
                    scope=ALL_SCOPE,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                request.session[DONE_KEY] = {"number": case.number, "anonymous": not case.real_name}
                return redirect(reverse("suggestions:new") + "?done=1")
    status = 422 if form.is_bound else 200
    return render(request, TEMPLATE, {"form": mark_errors(form)}, status=status)
