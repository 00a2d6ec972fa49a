"""Pages of the evaluator: the kiosk (/evaluator/), pairing (/evaluator/pair/), the clerk's push page."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haochaping.evaluator import push, services
from haochaping.evaluator.api import COOKIE
from haochaping.evaluator.models import EvaluatorPrompt
from haochaping.lib.errors import DomainError
from haochaping.lib.ratelimit import RateLimited, client_ip, hit
from haochaping.ratings.models import TagSet
from haochaping.ratings.views import GRADE_FACES, _grades

STATIC_DIR = Path(__file__).resolve().parent / "static" / "evaluator"
# A paired tablet keeps its credential for years; revocation is the way to end it.
COOKIE_MAX_AGE = 10 * 365 * 24 * 3600
PAIR_LIMIT = 10  # pairing attempts per IP per 10 minutes: six digits must not be guessable


def _onsite_tags() -> list[dict]:
    tag_set = TagSet.objects.filter(kind=TagSet.Kind.ONSITE, is_active=True).order_by("-id").first()
    if tag_set is None:
        return []
    return [{"code": t.code, "label": t.label, "grades": list(t.grades)} for t in tag_set.tags.all()]


def _too_many(request: HttpRequest, exc: RateLimited, template: str, context: dict) -> HttpResponse:
    response = render(request, template, {**context, "error": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@never_cache
def kiosk(request: HttpRequest) -> HttpResponse:
    """The full-screen page on the tablet; without a valid credential it sends the tablet to pairing."""
    device = services.device_authenticate(request.COOKIES.get(COOKIE))
    if device is None:
        return redirect("evaluator:pair")
    window = device.window
    staff = services.window_staff(window)
    config = {
        "window": {"hall": window.hall.code, "code": window.code},
        "idleSeconds": settings.HAOCHAPING_EVALUATOR_IDLE_SECONDS,
        "pollSeconds": 2,
        "debounceMs": 1500,
        "promptUrl": "/api/v1/evaluator/device/prompt",
        "ratingUrl": "/api/v1/evaluator/device/ratings",
        "swUrl": "/evaluator/sw.js",
        "grades": [
            {"name": g["name"], "value": g["value"], "label": g["label"], "face": GRADE_FACES[g["value"]]}
            for g in _grades(request.LANGUAGE_CODE)
        ],
        "tags": _onsite_tags(),
        "staffName": staff.name if staff else "",
        "text": {
            "pending": _("条待发送"),
            "queued": _("网络不畅，评价已保存在本机，恢复联网后自动发送。"),
            "sent": _("您的评价已提交。"),
            "walkin": _("请对本窗口服务进行评价"),
            "case": _("请对本次服务进行评价"),
            "revoked": _("本设备已停用，请联系管理员重新配对。"),
            "rejected": _("评价未能保存："),
        },
    }
    response = render(
        request,
        "evaluator/kiosk.html",
        {
            "device": device,
            "window": window,
            "staff": staff,
            "grades": config["grades"],
            "config": config,
        },
    )
    origin = push.events_origin()
    if origin:
        # The push server on another origin (the demo: the next port): the kiosk's EventSource must reach it.
        response._csp_update = {"connect-src": [origin]}
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def pair(request: HttpRequest) -> HttpResponse:
    """The tablet enters the one-time code; it receives its credential as an HttpOnly cookie."""
    context: dict = {"error": "", "code": ""}
    if request.method == "POST":
        context["code"] = request.POST.get("code", "")[:20]
        try:
            hit("evaluator-pair", client_ip(request), limit=PAIR_LIMIT, window_seconds=600)
            device, credential = services.device_pair(code=context["code"], name=request.POST.get("name", ""))
        except RateLimited as exc:
            return _too_many(request, exc, "evaluator/pair.html", context)
        except DomainError as exc:
            context["error"] = exc.message
            return render(request, "evaluator/pair.html", context, status=exc.status)
        response = redirect("evaluator:kiosk")
        response.set_cookie(
            COOKIE,
            credential,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure(),
            path="/",
        )
        return response
    return render(request, "evaluator/pair.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def clerk(request: HttpRequest) -> HttpResponse:
    """The clerk's page: push "请评价" for a case to the own window's evaluator. It never shows a grade."""
    try:
        staff, window = services.clerk_window(request.user)
    except DomainError as exc:
        return render(request, "evaluator/clerk.html", {"error": exc.message}, status=403)
    context: dict = {"staff": staff, "window": window, "error": "", "pushed": None}
    if request.method == "POST":
        case_no = request.POST.get("case_no", "").strip() or None
        try:
            hit("evaluator-push", f"user:{request.user.pk}", limit=60, window_seconds=60)
            context["pushed"] = services.prompt_push(
                window=window,
                case_no=case_no,
                scope=services.clerk_scope(window),
                source=f"clerk:{request.user.pk}",
                staff=staff,
            )
        except RateLimited as exc:
            return _too_many(request, exc, "evaluator/clerk.html", context)
        except DomainError as exc:
            context["error"] = exc.message
            context["case_no"] = case_no or ""
    # Only the state of recent pushes (pushed / shown / rated), never what was chosen.
    context["recent"] = (
        EvaluatorPrompt.objects.filter(window=window).select_related("service_case").order_by("-id")[:10]
    )
    context["devices"] = window.evaluators.filter(revoked_at=None).count()
    status = 201 if context["pushed"] else (422 if context["error"] else 200)
    return render(request, "evaluator/clerk.html", context, status=status)


def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /evaluator/ so that its scope covers the kiosk page."""
    body = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/evaluator/"
    response["Cache-Control"] = "no-cache"
    return response
