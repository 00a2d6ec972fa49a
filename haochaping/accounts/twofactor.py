"""Login throttling (django-axes) and the TOTP second factor (django-otp) for staff accounts (docs/security.md).

A staff member may enrol an authenticator app on /account/two-factor/ (QR code generated here with segno, and the
otpauth URI as text) and confirms it with a code. From then on every login asks for a code before any page.
With HAOCHAPING_REQUIRE_2FA_FOR_ADMINS on, superusers and system/agency administrators must enrol first.
"""

from __future__ import annotations

import segno
from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from haochaping.accounts.models import Role
from haochaping.lib.ratelimit import RateLimited, hit

# Session key caching what the user still owes: "verify" (has a device, enter a code), "enrol" (administrator
# under HAOCHAPING_REQUIRE_2FA_FOR_ADMINS without a device) or "" (nothing). Computed once per login.
STATE_KEY = "hcp_2fa"
VERIFY_URL = "/account/two-factor/verify/"
ENROL_URL = "/account/two-factor/"
# Reachable before the second factor: the two-factor pages themselves, logout, static files, language switch.
OPEN_PREFIXES = ("/account/two-factor/", "/logout/", "/static/", "/i18n/", "/healthz", "/readyz", "/metrics", "/login/")
CODE_ATTEMPTS_PER_10_MIN = 10


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' lockout check for every login through a request (site login, admin login).

    Authentication without a request (test client's `client.login`, management commands, the shell) has no
    address to throttle on and is passed on to ModelBackend unchecked instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR (set by the reverse proxy, like every rate limit); None where there is none (test client)."""
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(request: HttpRequest, credentials: dict | None = None, *args, **kwargs) -> HttpResponse:
    """What a locked-out login sees (axes' AXES_LOCKOUT_CALLABLE): 429 with the cool-off in minutes."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("登录失败次数过多，该账号已在本地址暂时锁定，请%(minutes)s分钟后再试。") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message}, status=429)
    response = render(request, "web/message.html", {"title": _("请稍后再试"), "message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def is_administrator(user) -> bool:
    if user.is_superuser:
        return True
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role in (Role.SYSTEM_ADMIN, Role.AGENCY_ADMIN)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def owed(user) -> str:
    """What this user must do before reaching a page: "verify", "enrol" or ""."""
    if confirmed_device(user) is not None:
        return "verify"
    if settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS and is_administrator(user):
        return "enrol"
    return ""


@receiver(user_logged_in)
def _forget_state(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session.pop(STATE_KEY, None)


class TwoFactorMiddleware:
    """After OTPMiddleware: send a signed-in but unverified user to the code page (or the enrolment page).

    The decision is cached in the session, so a page costs no query; it is recomputed at every login.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(OPEN_PREFIXES) and not user.is_verified():
            state = request.session.get(STATE_KEY)
            if state is None:
                state = request.session[STATE_KEY] = owed(user)
            if state:
                if request.path.startswith("/api/"):
                    return JsonResponse({"message": _("请先完成两步验证")}, status=403)
                target = VERIFY_URL if state == "verify" else ENROL_URL
                return redirect(f"{target}?next={request.get_full_path()}")
        return self.get_response(request)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return "/"
    return target


def _limit_codes(request: HttpRequest) -> str | None:
    try:
        hit("2fa-code", str(request.user.pk), limit=CODE_ATTEMPTS_PER_10_MIN, window_seconds=600)
    except RateLimited as exc:
        return exc.message
    return None


def _qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, title=_("两步验证二维码"))


@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Enrol (or show the state of) an authenticator app; confirming the first code verifies this session."""
    user = request.user
    device = confirmed_device(user)
    error = ""
    if device is not None:
        if request.method == "POST" and request.POST.get("action") == "disable":
            if settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS and is_administrator(user):
                error = _("管理员必须启用两步验证，不能停用")
            elif (error := _limit_codes(request) or "") == "" and device.verify_token(request.POST.get("code", "")):
                TOTPDevice.objects.filter(user=user).delete()
                request.session[STATE_KEY] = ""
                return redirect(ENROL_URL)
            else:
                error = error or _("验证码不正确或已过期")
        return render(
            request, "accounts/two_factor.html", {"enrolled": True, "error": error}, status=400 if error else 200
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("身份验证器"), confirmed=False)
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        error = _limit_codes(request) or ""
        if not error and device.verify_token(code):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[STATE_KEY] = ""
            return redirect(_next_url(request))
        error = error or _("验证码不正确或已过期，请核对手机时间后重试")
    context = {
        "enrolled": False,
        "uri": device.config_url,
        "qr_svg": _qr_svg(device),
        "error": error,
        "next": _next_url(request),
        "required": owed(user) == "enrol",
    }
    return render(request, "accounts/two_factor.html", context, status=400 if error else 200)


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for the current code of the enrolled authenticator after the password."""
    error = ""
    if request.method == "POST":
        error = _limit_codes(request) or ""
        device = None if error else match_token(request.user, request.POST.get("code", "").strip())
        if device is not None:
            otp_login(request, device)
            request.session[STATE_KEY] = ""
            return redirect(_next_url(request))
        error = error or _("验证码不正确或已过期")
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"error": error, "next": _next_url(request)},
        status=400 if error else 200,
    )
