"""The embeddable "一事一评" widget: the rating form in an iframe on a business system's own page.

A business system embeds /r/<token>/embed/ (directly as an iframe, or through static/ratings/widget.js). Only the
origins configured on the API key that registered the 办件 may frame it (CSP frame-ancestors); after a rating the
page tells its parent window through postMessage, addressed to that origin only. See docs/widget.md.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError as PydanticValidationError

from haochaping.lib.errors import DomainError, Gone
from haochaping.lib.origins import origin_normalise
from haochaping.lib.ratelimit import RateLimited
from haochaping.lib.validation import validation_errors
from haochaping.ratings import services
from haochaping.ratings.codes import DETAIL_ANSWERS, GRADE_NAME_OF
from haochaping.ratings.models import EvaluationToken
from haochaping.ratings.offers import offer_record
from haochaping.ratings.questionnaires import answers_from_post, questionnaire_for
from haochaping.ratings.schemas import TokenRatingIn
from haochaping.ratings.views import _grades, _tags_for, limit_token_requests

TEMPLATE = "ratings/embed.html"


def allowed_origins_for_token(token: str) -> list[str]:
    """The origins that may frame this token's widget: those of the API key that registered the 办件.

    Read whatever the token's state, so that the "already rated" page reaches the host page too. A line that
    is not an origin (written around the admin's validation) is skipped rather than put into the header.
    """
    text = (
        EvaluationToken.objects.filter(token_hash=services.token_hash(token))
        .values_list("service_case__registered_by__allowed_origins", flat=True)
        .first()
    )
    origins: list[str] = []
    for line in (text or "").splitlines():
        try:
            origin = origin_normalise(line) if line.strip() else None
        except ValidationError:
            continue
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def embedding_origin(request: HttpRequest, allowed: list[str]) -> str:
    """Where postMessage goes: the host page's origin when it is allowed, else our own origin.

    widget.js passes the host's origin as ?origin=; a bare iframe may rely on the Referer (browsers send the
    origin cross-site by default). An origin not on the list is never addressed.
    """
    for candidate in (request.GET.get("origin", ""), request.META.get("HTTP_REFERER", "")):
        if not candidate:
            continue
        parts = urlsplit(candidate.strip())
        try:
            origin = origin_normalise(f"{parts.scheme}://{parts.netloc}")
        except ValidationError:
            continue
        if origin in allowed:
            return origin
    return f"{request.scheme}://{request.get_host()}"


def _respond(request: HttpRequest, context: dict, allowed: list[str], status: int = 200) -> HttpResponse:
    context.setdefault("embed", True)
    context.setdefault("event", None)
    context["widget"] = {"target": embedding_origin(request, allowed), "event": context["event"]}
    response = render(request, TEMPLATE, context, status=status)
    # Only the registering business system may frame the widget; with no origins configured, only this site.
    # The site's policy (settings.CONTENT_SECURITY_POLICY) applies otherwise; django-csp replaces this directive.
    response._csp_replace = {"frame-ancestors": allowed or ["'self'"]}
    return response


def _unusable(request: HttpRequest, exc: DomainError, allowed: list[str]) -> HttpResponse:
    event = {"type": "haochaping:unavailable", "status": exc.status, "message": exc.message}
    response = _respond(request, {"message": exc.message, "event": event}, allowed, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _form_data(request: HttpRequest, channel: str) -> dict:
    return {
        "grade": request.POST.get("grade", ""),
        "channel": channel,
        "tags": request.POST.getlist("tags"),
        "answers": answers_from_post(request.POST),
        "comment": request.POST.get("comment", ""),
        "public": request.POST.get("public") == "on",
        "idempotency_key": request.POST.get("idempotency_key") or None,
    }


def _thanks(request: HttpRequest, result, allowed: list[str]) -> HttpResponse:
    event = {"type": "haochaping:rated", "rating_id": result.rating_id, "grade": GRADE_NAME_OF[result.grade]}
    return _respond(request, {"result": result, "event": event}, allowed)


# The single-use token in the URL is the only credential here (no session or cookie authorises anything), so a
# CSRF token adds nothing, and cookies are not dependable inside a third-party iframe.
@csrf_exempt
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def embed(request: HttpRequest, token: str) -> HttpResponse:
    allowed = allowed_origins_for_token(token)
    channel = "app" if request.GET.get("mobile") in ("1", "true", "yes") else "pc"
    try:
        limit_token_requests(request)  # the same per-address budget as every public token page
        row = services.token_lookup(token)
    except Gone as exc:
        if request.method == "POST" and request.POST.get("idempotency_key"):
            # A second press of the same form (the first already used the token) gets the first result again,
            # so the host page still hears "rated" rather than "used".
            try:
                data = TokenRatingIn.model_validate(_form_data(request, channel))
                result = services.rating_submit_with_token(token, data)
            except (PydanticValidationError, DomainError):
                return _unusable(request, exc, allowed)
            if result.ok:
                return _thanks(request, result, allowed)
        return _unusable(request, exc, allowed)
    except DomainError as exc:
        return _unusable(request, exc, allowed)
    case = row.service_case
    context = {
        "case": case,
        "row": row,
        "grades": _grades(request.LANGUAGE_CODE),
        "tags": _tags_for(case),
        "questions": getattr(questionnaire_for(case.service_item_id, channel), "questions", []),
        "answers": DETAIL_ANSWERS,
        "errors": [],
        "idempotency_key": uuid.uuid4().hex,
        "form": {},
    }
    if request.method == "GET":
        offer_record(kind="widget", channel=channel, service_case=case, stage=row.stage, source="embed")
        return _respond(request, context, allowed)
    data = _form_data(request, channel)
    context["form"] = data
    try:
        result = services.rating_submit_with_token(token, TokenRatingIn.model_validate(data))
    except PydanticValidationError as exc:
        context["errors"] = validation_errors(exc)
    except DomainError as exc:
        return _unusable(request, exc, allowed)
    else:
        if result.ok:
            return _thanks(request, result, allowed)
        context["errors"] = result.errors or [{"field": None, "message": result.message}]
    context["idempotency_key"] = data["idempotency_key"] or context["idempotency_key"]
    return _respond(request, context, allowed, status=422)
