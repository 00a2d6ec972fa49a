"""Window QR codes: issue/reset, look up, and rate through them (the view and the admin call these)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.directory.models import Staff, Window
from haochaping.lib.errors import Gone, NotFound, ValidationFailed
from haochaping.messaging.verification import valid_phone, verification_check
from haochaping.qrcodes.models import WindowCode
from haochaping.ratings.intake import ItemResult, submit_ratings
from haochaping.ratings.models import Rating

# 96 random bits: not guessable, short enough to keep the printed QR code coarse (easy to scan from afar).
SLUG_BYTES = 12
VERIFY_PURPOSE = "qr-rating"  # the purpose of the SMS codes this page sends and checks
UNSURE = "unsure"  # the rater's "不确定" when several staff are on duty


def _new_slug() -> str:
    return secrets.token_urlsafe(SLUG_BYTES)


@transaction.atomic
def window_code_issue(*, window: Window, user=None) -> WindowCode:
    """Issue a new code for the window, revoking its active one (生成/重置). The old sign stops working."""
    now = timezone.now()
    # Lock the window row so two simultaneous resets cannot both pass the "one active code" rule.
    Window.objects.select_for_update().filter(pk=window.pk).first()
    WindowCode.objects.filter(window=window, revoked_at__isnull=True).update(revoked_at=now)
    return WindowCode.objects.create(window=window, slug=_new_slug(), created_by=user)


def window_codes_ensure(windows: Iterable[Window]) -> int:
    """Give every window that has no active code one (bulk; for demos and first roll-out). Returns how many."""
    window_ids = [w.pk for w in windows]
    have = set(
        WindowCode.objects.filter(window_id__in=window_ids, revoked_at__isnull=True).values_list("window_id", flat=True)
    )
    rows = [WindowCode(window_id=wid, slug=_new_slug()) for wid in window_ids if wid not in have]
    with transaction.atomic():
        WindowCode.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def window_code_lookup(slug: str) -> WindowCode:
    """The active code behind a scanned slug; NotFound for unknown slugs, Gone for reset or closed windows."""
    code = WindowCode.objects.select_related("window__hall", "window__unit").filter(slug=slug).first()
    if code is None:
        raise NotFound("二维码无效，请扫描窗口上的评价二维码")
    if code.revoked_at is not None:
        raise Gone("此二维码已停用，请扫描窗口上最新的评价二维码")
    if not code.window.is_active or not code.window.hall.is_active:
        raise Gone("该窗口已停用，暂不能评价")
    return code


def window_code_url(code: WindowCode) -> str:
    return settings.SITE_URL + reverse("qrcodes:window", args=[code.slug])


def staff_on_duty(window: Window) -> list[Staff]:
    """The window's active staff (directory Staff posted to this window)."""
    return list(Staff.objects.filter(window=window, is_active=True).order_by("code"))


def window_rating_submit(
    *,
    code: WindowCode,
    grade: str,
    staff_code: str = "",
    tags: list[str] | None = None,
    comment: str = "",
    phone: str = "",
    public: bool = False,
    idempotency_key: str | None = None,
    sms_code: str = "",
) -> ItemResult:
    """Store a walk-in rating of the window (and the chosen staff member) through the one intake path.

    The phone number is optional: without it the rating is anonymous; with it the rating is real-name
    (non-anonymous, phone stored encrypted) and `sms_code` must be the code sent to that phone
    (haochaping.messaging.verification), else ValidationFailed naming field "sms_code". The code is spent only
    when the rating is stored, so a form error (bad grade …) does not cost the rater a new code.
    """
    window = code.window
    on_duty = {s.code: s for s in staff_on_duty(window)}
    if staff_code in ("", UNSURE):
        # With exactly one clerk on duty there is nobody else the rater can mean.
        staff_code = next(iter(on_duty)) if len(on_duty) == 1 and staff_code == "" else ""
    elif staff_code not in on_duty:
        raise ValidationFailed("请选择本窗口的工作人员", field="staff")
    phone = valid_phone(phone) if phone.strip() else ""
    item = {
        "window": {"hall": window.hall.code, "code": window.code},
        "staff_code": staff_code or None,
        "grade": grade,
        "channel": "qr",
        "tags": tags or [],
        "comment": comment,
        "anonymous": not phone,
        "rater_phone": phone or None,
        "public": public,
        "idempotency_key": idempotency_key or None,
    }
    client = f"qr:{code.id}"
    if not phone or _already_stored(client, idempotency_key):
        # Anonymous, or a retry of a stored real-name rating (its code is spent): the intake answers as usual.
        [result] = submit_ratings([item], scope=ALL_SCOPE, client=client)
        return result
    if not sms_code.strip():
        raise ValidationFailed(gettext("请获取并填写短信验证码，或清空手机号码匿名评价"), field="sms_code")
    with transaction.atomic():
        verified = verification_check(phone, sms_code, purpose=VERIFY_PURPOSE)
        if verified:
            [result] = submit_ratings([item], scope=ALL_SCOPE, client=client)
            if not result.ok:
                transaction.set_rollback(True)  # keep the code usable for the corrected form
    # Outside the block: a wrong code's attempt count is committed, not rolled back with the error.
    if not verified:
        raise ValidationFailed(gettext("验证码错误或已过期"), field="sms_code")
    return result


def _already_stored(client: str, idempotency_key: str | None) -> bool:
    return bool(idempotency_key) and Rating.objects.filter(client=client, idempotency_key=idempotency_key).exists()
