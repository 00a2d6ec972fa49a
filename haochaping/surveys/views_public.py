"""The respondent's page /s/<token>/: the questionnaire on a phone, no login; the link's token is the credential.

GET records the first opening; POST validates every answer and stores the response (services.response_submit).
An unknown link is 404, a closed survey 410, a second submission 409 ("already answered"). Rate-limited per client
address, with the public forms' honeypot and optional captcha (lib/abuse.py).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haochaping.lib.abuse import captcha_error, honeypot_rejection
from haochaping.lib.errors import Conflict, DomainError, Gone, NotFound
from haochaping.lib.ratelimit import RateLimited, client_ip, hit
from haochaping.surveys import services
from haochaping.surveys.models import Question

TEMPLATE = "surveys/respond.html"


def _limit(request: HttpRequest) -> None:
    ip = client_ip(request)
    hit("survey-page", ip, limit=int(getattr(settings, "HAOCHAPING_SURVEY_PAGES_PER_HOUR", 120)), window_seconds=3600)
    if request.method == "POST":
        hit("survey-post", ip, limit=int(getattr(settings, "HAOCHAPING_SURVEY_POSTS_PER_HOUR", 30)),
            window_seconds=3600)  # fmt: skip


def _posted(request: HttpRequest, questions) -> dict[int, list[str]]:
    return {q.pk: request.POST.getlist(f"q{q.pk}") for q in questions}


def _form(invitation, posted: dict[int, list[str]], errors: dict[str, str]) -> list[dict]:
    """The questions with what was entered (to show it again after an error) and their error."""
    rows = []
    for n, q in enumerate(invitation.survey.questions.order_by("order", "id"), start=1):
        values = posted.get(q.pk, [])
        rows.append({
            "n": n, "q": q, "name": f"q{q.pk}", "error": errors.get(f"q{q.pk}", ""), "values": values,
            "text": values[0] if values and q.kind == Question.Kind.TEXT else "",
            "options": list(enumerate(q.options)), "scale": list(range(1, q.scale_max + 1)),
        })  # fmt: skip
    return rows


@never_cache
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    if rejected := honeypot_rejection(request, "survey"):
        return rejected
    try:
        _limit(request)
        invitation = services.invitation_for_token(token)
    except RateLimited as exc:
        response = render(request, TEMPLATE, {"blocked": exc.message}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except NotFound:
        return render(request, TEMPLATE, {"invalid": True}, status=404)
    except Gone:
        return render(request, TEMPLATE, {"closed": True}, status=410)
    survey = invitation.survey
    if request.method == "GET" and request.GET.get("done"):
        return render(request, TEMPLATE, {"done": True, "survey": survey})
    if invitation.responded_at is not None:
        return render(request, TEMPLATE, {"already": True, "survey": survey}, status=409 if request.POST else 200)
    errors: dict[str, str] = {}
    posted: dict[int, list[str]] = {}
    if request.method == "GET":
        services.invitation_mark_opened(invitation)
    else:
        questions = list(survey.questions.all())
        posted = _posted(request, questions)
        if refused := captcha_error(request):
            errors["form"] = refused
        else:
            try:
                services.response_submit(token, posted)
            except Conflict:
                return render(request, TEMPLATE, {"already": True, "survey": survey}, status=409)
            except Gone:
                return render(request, TEMPLATE, {"closed": True}, status=410)
            except DomainError as exc:
                errors = {e.get("field") or "form": e["message"] for e in exc.errors} or {"form": exc.message}
            else:
                # Post/redirect/get: a reload must not post again.
                return redirect(request.path + "?done=1")
    context = {"survey": survey, "rows": _form(invitation, posted, errors), "errors": errors,
               "minutes": services.estimated_minutes(survey)}  # fmt: skip
    return render(request, TEMPLATE, context, status=422 if errors else 200)
