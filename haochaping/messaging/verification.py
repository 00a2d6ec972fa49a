"""SMS verification codes (短信验证码): prove that a rater holds the phone number they give (real-name rating).

`verification_send(phone)` sends a 6-digit code valid for 5 minutes; `verification_check(phone, code)` accepts
it once, at most MAX_ATTEMPTS tries. Only an HMAC of the code is stored, and the stored SMS text has the code
redacted, so nobody reading the database can verify in the phone holder's place. Sending is rate-limited per
phone number and per IP address (RateLimited → 429); the limits are tunable with
settings.HAOCHAPING_SMS_VERIFY_LIMITS = {"phone_interval": 60, "phone_hour": (5, 3600), "ip_hour": (20, 3600)}.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from haochaping.lib import protect
from haochaping.lib.errors import ValidationFailed
from haochaping.lib.ratelimit import RateLimited, hit
from haochaping.messaging.gateway import sms_send
from haochaping.messaging.models import PhoneVerification, SmsMessage
from haochaping.messaging.services import normalise_phone

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_CODE_RE = re.compile(r"^\d{6}$")
DEFAULT_LIMITS = {"phone_interval": 60, "phone_hour": (5, 3600), "ip_hour": (20, 3600)}


def _limit(name: str):
    return getattr(settings, "HAOCHAPING_SMS_VERIFY_LIMITS", {}).get(name, DEFAULT_LIMITS[name])


def _cooldown(phone_hash: str, seconds: int) -> None:
    """At most one code per `seconds` per phone, measured from the last send (no fixed-window edge)."""
    if seconds <= 0:
        return
    now = int(time.time())
    key = f"sms-verify-interval:{phone_hash}"
    if not cache.add(key, now, timeout=seconds):
        retry_after = max(1, seconds - (now - int(cache.get(key) or now)))
        raise RateLimited(f"请求过于频繁，请在{retry_after}秒后重试", retry_after=retry_after)


def new_code() -> str:
    """Six random digits (tests may replace this function to know the code)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def _code_hash(phone: str, purpose: str, code: str) -> str:
    # Keyed with SECRET_KEY: a million codes are trivially enumerable, so a plain hash would be no protection.
    message = f"{purpose}:{phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def verification_text(code: str) -> str:
    minutes = int(CODE_TTL.total_seconds() // 60)
    return f"{settings.HAOCHAPING_SMS_SIGNATURE}您的验证码为{code}，{minutes}分钟内有效。"


def valid_phone(phone: str) -> str:
    """The phone as stored (digits, no +86); ValidationFailed naming field "phone" when not a mainland mobile."""
    phone = normalise_phone(phone)
    if not MOBILE_RE.match(phone):
        raise ValidationFailed(gettext("手机号码格式不正确（11位手机号）"), field="phone")
    return phone


def verification_send(phone: str, purpose: str = "qr-rating", *, ip: str | None = None) -> None:
    """Send a fresh code to the phone; earlier unused codes of the same phone and purpose stop working.

    Raises ValidationFailed for a malformed number and RateLimited (429) beyond the per-IP or per-phone limits.
    """
    if ip:
        limit, seconds = _limit("ip_hour")
        hit("sms-verify-ip", ip, limit=limit, window_seconds=seconds)
    phone = valid_phone(phone)
    phone_hash = protect.lookup_hash(phone)
    _cooldown(phone_hash, _limit("phone_interval"))  # first: a too-quick repeat does not use up the hourly cap
    limit, seconds = _limit("phone_hour")
    hit("sms-verify-phone", phone_hash, limit=limit, window_seconds=seconds)
    code = new_code()
    now = timezone.now()
    with transaction.atomic():
        PhoneVerification.objects.filter(phone_hash=phone_hash, purpose=purpose, used_at=None).delete()
        PhoneVerification.objects.create(
            phone_hash=phone_hash,
            purpose=purpose,
            code_hash=_code_hash(phone, purpose, code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    # The stored copy of the SMS has the code masked; only the gateway sees it.
    sms_send(
        phone=phone,
        text=verification_text(code),
        stored_text=verification_text("******"),
        kind=SmsMessage.Kind.VERIFICATION,
    )


def verification_check(phone: str, code: str, purpose: str = "qr-rating") -> bool:
    """True once for the latest unexpired code of the phone; each wrong try counts, MAX_ATTEMPTS in all."""
    phone = normalise_phone(phone)
    code = unicodedata.normalize("NFKC", code or "").strip()
    if not MOBILE_RE.match(phone):
        return False
    now = timezone.now()
    with transaction.atomic():
        pending = (
            PhoneVerification.objects.select_for_update()
            .filter(phone_hash=protect.lookup_hash(phone), purpose=purpose, used_at=None, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if pending is None or pending.attempts >= MAX_ATTEMPTS:
            return False
        if not _CODE_RE.match(code) or not hmac.compare_digest(pending.code_hash, _code_hash(phone, purpose, code)):
            PhoneVerification.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1)
            return False
        PhoneVerification.objects.filter(pk=pending.pk).update(used_at=now, attempts=F("attempts") + 1)
        return True
