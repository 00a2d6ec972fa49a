"""差评进度查询: the rater follows their own case by its number and lookup code (cases/lookup.py), no login.

GET shows the form, or the case's public status when a number and code are given; in the feedback state the page
carries the rating form (POST to the same URL, number and code as hidden fields). Every lookup that carries a number
counts against a per-address limit (HAOCHAPING_TRACK_PER_HOUR). The code is in the URL, so the page is never cached
and its requests carry the origin only as referrer.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haochaping.cases import lookup, services
from haochaping.cases.models import FeedbackGrade, State
from haochaping.lib.abuse import captcha_error, honeypot_rejection
from haochaping.lib.errors import DomainError, NotFound
from haochaping.lib.ratelimit import RateLimited, client_ip, hit

TEMPLATE = "disclosure/track.html"
FACES = {FeedbackGrade.SATISFIED: "😀", FeedbackGrade.BASIC: "🙂", FeedbackGrade.DISSATISFIED: "🙁"}
COMMENT_MAX = 500
REFERRER_POLICY = "strict-origin"


def _origin_only_referrer(view):
    """The code is in the URL: no request from this page may carry it in a Referer header.

    ``strict-origin`` sends the origin only (never the path or query), to this site and to any other. Not
    ``no-referrer``: under it the browser sends ``Origin: null`` with the rating form's POST, and Django's CSRF
    check refuses the rating (403).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = REFERRER_POLICY
        return response

    return wrapped


def _page(request: HttpRequest, http_status: int = 200, **context) -> HttpResponse:
    base = {"n": "", "c": "", "errors": {}, "choices": [(int(g), g.label, FACES[g]) for g in FeedbackGrade]}
    return render(request, TEMPLATE, {**base, **context}, status=http_status)


@_origin_only_referrer
@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    if rejected := honeypot_rejection(request, "case track"):
        return rejected
    params = request.POST if request.method == "POST" else request.GET
    number = lookup.normalise_number(params.get("n", ""))[:40]
    code = params.get("c", "").strip()[:40]
    if request.method == "GET" and not number and not code:
        return _page(request)
    form = {"n": number, "c": code}
    errors = {}
    if not number:
        errors["n"] = _("请填写工单编号")
    if not code:
        errors["c"] = _("请填写查询码")
    if errors:
        return _page(request, 422, errors=errors, **form)
    try:
        hit("case-track", client_ip(request), limit=settings.HAOCHAPING_TRACK_PER_HOUR, window_seconds=3600)
        case = lookup.case_for_lookup(number, code)
    except RateLimited as exc:
        response = _page(request, 429, blocked=exc.message, **form)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except NotFound as exc:
        return _page(request, 404, errors={"c": exc.message}, not_found=True, **form)
    form["c"] = lookup.lookup_code(case.pk)
    if request.method == "POST":
        return _rate(request, case, form)
    return _page(request, info=lookup.public_status(case), **form)


def _rate(request: HttpRequest, case, form: dict) -> HttpResponse:
    """The rater's rating of the handling, as on the SMS-link page (services.case_act, action rate_handling)."""
    chosen = request.POST.get("feedback_grade", "").strip()
    comment = request.POST.get("comment", "").strip()
    errors: dict[str, str] = {}
    if case.state != State.FEEDBACK:
        errors["rate"] = _("该工单当前不在评价阶段，无法评价（每次处理结果只能评价一次）")
        return _page(request, 409, info=lookup.public_status(case), errors=errors, **form)
    if chosen not in {str(int(g)) for g in FeedbackGrade}:
        errors["feedback_grade"] = _("请选择您对处理结果的评价")
    elif len(comment) > COMMENT_MAX:
        errors["comment"] = _("意见不能超过500字")
    elif refused := captcha_error(request):
        errors["captcha"] = refused
    else:
        try:
            rated = services.case_act(
                case_id=case.pk,
                action="rate_handling",
                actor=services.Actor.rater(),
                data={"feedback_grade": int(chosen), "comment": comment},
            )
        except DomainError as exc:
            errors["comment" if exc.field == "comment" else "feedback_grade"] = exc.message
        else:
            reopened = rated.state != State.CLOSED and rated.reopen_count > case.reopen_count
            return _page(
                request,
                info=lookup.public_status(rated),
                rated=FeedbackGrade(int(chosen)).label,
                reopened=reopened,
                **form,
            )
    return _page(request, 422, info=lookup.public_status(case), errors=errors, chosen=chosen, comment=comment, **form)
