"""The page a window's QR code opens (mobile, no login) and the printable sign (login, scoped)."""

from __future__ import annotations

import io
import uuid

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from haochaping.accounts.scope import get_in_scope, scope_for_request
from haochaping.lib.abuse import captcha_error, honeypot_rejection, limit_phone
from haochaping.lib.errors import DomainError, NotFound
from haochaping.lib.protect import mask_phone
from haochaping.lib.ratelimit import RateLimited, client_ip, hit
from haochaping.messaging.services import normalise_phone
from haochaping.messaging.verification import verification_send
from haochaping.qrcodes import services, signs
from haochaping.qrcodes.models import WindowCode
from haochaping.ratings.codes import GRADE_NAME_OF, grade_label
from haochaping.ratings.intake import _tag_sets
from haochaping.ratings.models import Tag, TagSet
from haochaping.ratings.offers import offer_record
from haochaping.ratings.selectors import bad_review_case_number
from haochaping.ratings.views import GRADE_FACES, GRADE_ORDER


def _limit(name: str, default: tuple[int, int]) -> tuple[int, int]:
    """(limit, window seconds) from settings.QR_RATE_LIMITS, so a deployment can tune it (tests lower it)."""
    return getattr(settings, "QR_RATE_LIMITS", {}).get(name, default)


def _check_rate(request: HttpRequest, slug: str) -> None:
    ip = client_ip(request)
    if request.method == "POST":
        limit, seconds = _limit("submit_ip", (20, 600))
        hit("qr-submit-ip", ip, limit=limit, window_seconds=seconds)
        limit, seconds = _limit("submit_code", (300, 3600))
        hit("qr-submit-code", slug, limit=limit, window_seconds=seconds)
    else:
        limit, seconds = _limit("open_ip", (60, 600))
        hit("qr-open-ip", ip, limit=limit, window_seconds=seconds)


def _onsite_tags() -> list[dict]:
    tag_set_id = _tag_sets()["active"].get(TagSet.Kind.ONSITE)
    if tag_set_id is None:
        return []
    return [
        {"code": t.code, "label": t.label, "grades": " ".join(str(g) for g in t.grades)}
        for t in Tag.objects.filter(tag_set_id=tag_set_id)
    ]


def _unusable(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = render(request, "ratings/token_unusable.html", {"message": exc.message}, status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _page_context(request: HttpRequest, code: WindowCode) -> dict:
    window = code.window
    return {
        "code": code,
        "window": window,
        "staff": services.staff_on_duty(window),
        "unsure": services.UNSURE,
        "grades": [
            {
                "name": GRADE_NAME_OF[int(g)],
                "value": int(g),
                "label": grade_label(g, request.LANGUAGE_CODE),
                "face": GRADE_FACES[int(g)],
            }
            for g in GRADE_ORDER
        ],
        "tags": _onsite_tags(),
        "errors": [],
        "notice": "",
        "form": {},
        "idempotency_key": uuid.uuid4().hex,
    }


def _posted_form(request: HttpRequest) -> dict:
    return {
        "grade": request.POST.get("grade", ""),
        "staff": request.POST.get("staff", ""),
        "tags": request.POST.getlist("tags"),
        "comment": request.POST.get("comment", ""),
        "phone": request.POST.get("phone", ""),
        "sms_code": request.POST.get("sms_code", "")[:10],
        "public": request.POST.get("public") == "on",
        "idempotency_key": request.POST.get("idempotency_key", "")[:100],
    }


def _labelled(errors: list[dict]) -> list[dict]:
    return [e | {"label": _FIELD_LABELS.get(e.get("field") or "", "")} for e in errors]


@never_cache
@require_http_methods(["GET", "POST"])
def window_rate(request: HttpRequest, slug: str) -> HttpResponse:
    if rejected := honeypot_rejection(request, "qr rating"):
        return rejected
    try:
        _check_rate(request, slug)
        code = services.window_code_lookup(slug)
    except DomainError as exc:
        return _unusable(request, exc)
    context = _page_context(request, code)
    if request.method == "GET":
        offer_record(kind="qr_scan", channel="qr", window=code.window, source=f"qr:{code.id}")
        return render(request, "qrcodes/rate.html", context)
    form = _posted_form(request)
    context["form"] = form
    context["idempotency_key"] = form["idempotency_key"] or context["idempotency_key"]
    if refused := captcha_error(request):
        context["errors"] = [{"field": None, "message": refused, "label": ""}]
        return render(request, "qrcodes/rate.html", context, status=422)
    try:
        limit_phone("qr-submit-phone", form["phone"])
    except RateLimited as exc:
        return _unusable(request, exc)
    try:
        result = services.window_rating_submit(
            code=code,
            grade=form["grade"],
            staff_code=form["staff"],
            tags=form["tags"],
            comment=form["comment"],
            phone=form["phone"],
            public=form["public"],
            idempotency_key=form["idempotency_key"],
            sms_code=form["sms_code"],
        )
    except DomainError as exc:
        context["errors"] = exc.errors or [{"field": None, "message": exc.message}]
    else:
        if result.ok:
            return render(request, "ratings/thanks.html", _thanks_context(result))
        context["errors"] = result.errors or [{"field": None, "message": result.message}]
    context["errors"] = _labelled(context["errors"])
    return render(request, "qrcodes/rate.html", context, status=422)


@never_cache
@require_POST
def window_send_code(request: HttpRequest, slug: str) -> HttpResponse:
    """Send an SMS code to the phone of the rating form ("获取验证码").

    Without JavaScript the button posts the whole rating form here (formaction) and the page comes back with
    everything kept and a notice; the page's script posts with `Accept: application/json` and gets JSON.
    """
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        limit, seconds = _limit("open_ip", (60, 600))  # like opening the page; SMS limits follow in the service
        hit("qr-open-ip", client_ip(request), limit=limit, window_seconds=seconds)
        code = services.window_code_lookup(slug)
    except DomainError as exc:
        if not wants_json:
            return _unusable(request, exc)
        response = JsonResponse({"message": exc.message, "errors": []}, status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    form = _posted_form(request)
    status, retry_after = 200, None
    try:
        verification_send(form["phone"], services.VERIFY_PURPOSE, ip=client_ip(request))
    except DomainError as exc:
        status = exc.status
        errors = _labelled(exc.errors or [{"field": "phone", "message": exc.message}])
        notice = ""
        retry_after = getattr(exc, "retry_after", None)
    else:
        errors = []
        notice = _("验证码已发送至 %(phone)s，5分钟内有效") % {"phone": mask_phone(normalise_phone(form["phone"]))}
    if wants_json:
        response = JsonResponse({"message": notice or errors[0]["message"], "errors": errors}, status=status)
    else:
        context = _page_context(request, code) | {"form": form, "errors": errors, "notice": notice}
        context["idempotency_key"] = form["idempotency_key"] or context["idempotency_key"]
        response = render(request, "qrcodes/rate.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


_FIELD_LABELS = {
    "grade": "满意度",
    "tags": "评价标签",
    "comment": "意见建议",
    "phone": "手机号码",
    "rater_phone": "手机号码",
    "staff": "工作人员",
    "staff_code": "工作人员",
    "sms_code": _("短信验证码"),
}


def window_qr_svg(request: HttpRequest, slug: str) -> HttpResponse:
    """The window's QR code as SVG (for a screen at the counter or a business system's page)."""
    try:
        _check_rate(request, slug)
        code = services.window_code_lookup(slug)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    buf = io.BytesIO()
    segno.make(services.window_code_url(code), error="m").save(buf, kind="svg", scale=6, border=2, title="扫码评价")
    return HttpResponse(buf.getvalue(), content_type="image/svg+xml")


@login_required
def window_sign(request: HttpRequest, slug: str) -> HttpResponse:
    """The printable A4 sign of one window; only for users whose data scope includes the window."""
    scope = scope_for_request(request)
    try:
        code = get_in_scope(
            WindowCode.objects.select_related("window__hall", "window__unit"), scope, slug=slug, revoked_at=None
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    pdf = signs.render_signs([code])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="window-{code.window.hall.code}-{code.window.code}.pdf"'
    return response


def _thanks_context(result, **extra) -> dict:
    from haochaping.cases.lookup import lookup_for_number  # the 差评's case: its lookup code (查询码) and link

    number = bad_review_case_number(result.rating_id)
    return {"result": result, "case_number": number, **lookup_for_number(number), **extra}
