"""Abuse controls shared by the public (no-login) endpoints: body caps, a honeypot field, an optional captcha hook,
and per-phone rate limits (docs/security.md).

Rate limits per address / device / token live in lib/ratelimit.py; this module adds what the public HTML forms
have in common. Each form includes "web/_honeypot.html" and its view calls `honeypot_rejection(request, where)`
first and `captcha_error(request)` before accepting the post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from haochaping.lib import protect
from haochaping.lib.ratelimit import client_ip, hit

log = logging.getLogger("haochaping.abuse")

# The field a person never sees (hidden with CSS, skipped by screen readers and autofill) and a bot fills in.
HONEYPOT_FIELD = "website"

# Public paths whose bodies are small forms or JSON: anything larger is refused before it is read.
PUBLIC_PREFIXES = (
    "/r/", "/q/", "/s/", "/cases/complaint/", "/cases/feedback/", "/suggestions/", "/open/", "/api/v1/sms/inbound",
    "/login/",
)  # fmt: skip


def _too_large(limit: int) -> HttpResponse:
    response = HttpResponse(
        _("请求内容过大（上限%(limit)s字节）") % {"limit": limit}, status=413, content_type="text/plain; charset=utf-8"
    )
    return response


class BodySizeLimitMiddleware:
    """Answer 413 on a declared Content-Length above the cap, before Django reads the body.

    Public endpoints: HAOCHAPING_PUBLIC_BODY_MAX. Everything else: DATA_UPLOAD_MAX_MEMORY_SIZE for form and JSON
    bodies; multipart uploads (evidence files) are capped by their own views (HAOCHAPING_EVIDENCE_MAX_BYTES).
    Bodies without Content-Length (chunked) still meet Django's DATA_UPLOAD_MAX_MEMORY_SIZE while being parsed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            if request.path.startswith(PUBLIC_PREFIXES):
                limit = settings.HAOCHAPING_PUBLIC_BODY_MAX
            elif request.content_type == "multipart/form-data":
                limit = 0
            else:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
            if limit and length > limit:
                log.warning("body too large: %s bytes to %s from %s", length, request.path, client_ip(request))
                return _too_large(limit)
        return self.get_response(request)


def honeypot_rejection(request: HttpRequest, where: str) -> HttpResponse | None:
    """A 400 with a generic message when the hidden field came back filled in (logged); None for a person."""
    if request.method != "POST" or not request.POST.get(HONEYPOT_FIELD, "").strip():
        return None
    log.warning("honeypot filled on %s from %s", where, client_ip(request))
    return HttpResponse(_("无法处理该请求。"), status=400, content_type="text/plain; charset=utf-8")


def captcha_error(request: HttpRequest) -> str | None:
    """The form error when HAOCHAPING_CAPTCHA_VERIFIER is set and refuses the request; None when it passes/off."""
    path = getattr(settings, "HAOCHAPING_CAPTCHA_VERIFIER", None)
    if not path:
        return None
    verifier: Callable[[HttpRequest], bool] = import_string(path)
    if verifier(request):
        return None
    log.info("captcha refused on %s from %s", request.path, client_ip(request))
    return _("人机验证未通过，请重试")


def limit_phone(bucket: str, phone: str) -> None:
    """Count one public post carrying `phone` (keyed hash, never the number); RateLimited (429) beyond the limit."""
    if not phone:
        return
    key = protect.lookup_hash(phone) or ""
    if key:
        hit(bucket, key, limit=settings.HAOCHAPING_PUBLIC_POSTS_PER_PHONE_PER_HOUR, window_seconds=3600)


def limit_public_form(request: HttpRequest, form, *, bucket: str, posts_per_hour: int, filed_per_hour: int) -> None:
    """The per-address limits of a public form's POST (complaint, suggestion): every post counts, guessing included;
    a valid one also counts as filed, and against its contact phone. RateLimited (429) beyond a limit."""
    ip = client_ip(request)
    hit(f"{bucket}-post", ip, limit=posts_per_hour, window_seconds=3600)
    if form.is_valid():
        hit(bucket, ip, limit=filed_per_hour, window_seconds=3600)
        limit_phone(f"{bucket}-phone", form.cleaned_data["contact_phone"])
