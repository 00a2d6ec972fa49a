"""The applicant's rating page behind the token link / QR code (mobile first, no login)."""

from __future__ import annotations

import io
import uuid

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from haochaping.lib.abuse import captcha_error
from haochaping.lib.errors import DomainError
from haochaping.lib.ratelimit import client_ip, hit
from haochaping.lib.validation import validation_errors
from haochaping.ratings import services
from haochaping.ratings.codes import DETAIL_ANSWERS, Grade, grade_label
from haochaping.ratings.intake import _tag_sets
from haochaping.ratings.models import TagSet
from haochaping.ratings.offers import offer_record
from haochaping.ratings.questionnaires import answers_from_post, questionnaire_for
from haochaping.ratings.schemas import TokenRatingIn
from haochaping.ratings.selectors import bad_review_case_number

TOKEN_REQUESTS_PER_10_MIN = 300
TOKEN_POSTS_PER_10_MIN = 60
# Posts against one token (a rating needs one; a few more for corrected form errors), whoever sends them.
POSTS_PER_TOKEN_PER_10_MIN = 10

GRADE_ORDER = [Grade.VERY_SATISFIED, Grade.SATISFIED, Grade.BASIC, Grade.DISSATISFIED, Grade.VERY_DISSATISFIED]
GRADE_FACES = {5: "😄", 4: "🙂", 3: "😐", 2: "🙁", 1: "😣"}


def _grades(language: str) -> list[dict]:
    from haochaping.ratings.codes import GRADE_NAME_OF

    return [
        {"name": GRADE_NAME_OF[int(g)], "value": int(g), "label": grade_label(g, language), "face": GRADE_FACES[int(g)]}
        for g in GRADE_ORDER
    ]


def _tags_for(case) -> list[dict]:
    cache = _tag_sets()
    kind = TagSet.Kind.ONLINE if case.online else TagSet.Kind.ONSITE
    tag_set_id = cache["active"].get(kind)
    if tag_set_id is None:
        return []
    from haochaping.ratings.models import Tag

    return [
        {"code": t.code, "label": t.label, "grades": " ".join(str(g) for g in t.grades)}
        for t in Tag.objects.filter(tag_set_id=tag_set_id)
    ]


def limit_token_requests(request: HttpRequest) -> None:
    """Public token pages and endpoints: per address, generous for a hall's shared Wi-Fi, fatal for guessing."""
    hit("token", client_ip(request), limit=TOKEN_REQUESTS_PER_10_MIN, window_seconds=600)
    if request.method == "POST":
        hit("token-post", client_ip(request), limit=TOKEN_POSTS_PER_10_MIN, window_seconds=600)
        token = request.resolver_match.kwargs.get("token", "") if request.resolver_match else ""
        if token:
            hit("token-post-token", services.token_hash(token), limit=POSTS_PER_TOKEN_PER_10_MIN, window_seconds=600)


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    try:
        limit_token_requests(request)
        row = services.token_lookup(token)
    except DomainError as exc:
        response = render(request, "ratings/token_unusable.html", {"message": exc.message}, status=exc.status)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    case = row.service_case
    channel = "qr" if not case.online else "app"
    questionnaire = questionnaire_for(case.service_item_id, channel)
    context = {
        "case": case,
        "row": row,
        "grades": _grades(request.LANGUAGE_CODE),
        "tags": _tags_for(case),
        "questions": questionnaire.questions if questionnaire else [],
        "answers": DETAIL_ANSWERS,
        "errors": [],
        "idempotency_key": uuid.uuid4().hex,
        "form": {},
    }
    if request.method == "POST":
        data = {
            "grade": request.POST.get("grade", ""),
            "channel": channel,
            "tags": request.POST.getlist("tags"),
            "answers": answers_from_post(request.POST),
            "comment": request.POST.get("comment", ""),
            "public": request.POST.get("public") == "on",
            "idempotency_key": request.POST.get("idempotency_key") or None,
        }
        context["form"] = data
        if refused := captcha_error(request):
            context["errors"] = [{"field": None, "message": refused}]
            return render(request, "ratings/rate.html", context, status=422)
        try:
            result = services.rating_submit_with_token(token, TokenRatingIn.model_validate(data))
        except ValidationError as exc:
            context["errors"] = validation_errors(exc)
        except DomainError as exc:
            return render(request, "ratings/token_unusable.html", {"message": exc.message}, status=exc.status)
        else:
            if result.ok:
                return render(request, "ratings/thanks.html", _thanks_context(result, case=case))
            context["errors"] = result.errors or [{"field": None, "message": result.message}]
        context["idempotency_key"] = data["idempotency_key"] or context["idempotency_key"]
        return render(request, "ratings/rate.html", context, status=422)
    offer_record(
        kind="link", channel="app" if case.online else "qr", service_case=case, stage=row.stage, source="token"
    )
    return render(request, "ratings/rate.html", context)


def _qr(request: HttpRequest, token: str):
    limit_token_requests(request)
    from haochaping.ratings.services import evaluation_url

    services.token_lookup(token)
    return segno.make(evaluation_url(token), error="m")


def qr_svg(request: HttpRequest, token: str) -> HttpResponse:
    try:
        qr = _qr(request, token)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    buf = io.BytesIO()
    qr.save(buf, kind="svg", scale=6, border=2, title="扫码评价")
    return HttpResponse(buf.getvalue(), content_type="image/svg+xml")


def qr_png(request: HttpRequest, token: str) -> HttpResponse:
    try:
        qr = _qr(request, token)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=8, border=2)
    return HttpResponse(buf.getvalue(), content_type="image/png")


def _thanks_context(result, **extra) -> dict:
    from haochaping.cases.lookup import lookup_for_number  # the 差评's case: its lookup code (查询码) and link

    number = bad_review_case_number(result.rating_id)
    return {"result": result, "case_number": number, **lookup_for_number(number), **extra}
