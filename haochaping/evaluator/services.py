"""Evaluator services: pairing, device authentication, pushing prompts, delivering them, taking ratings."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.directory.models import Staff, Window
from haochaping.evaluator import push
from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt, PairingCode
from haochaping.lib.errors import Gone, NotFound, ValidationFailed
from haochaping.ratings.intake import ItemResult, submit_ratings
from haochaping.ratings.models import ServiceCase
from haochaping.ratings.offers import offer_record

PAIRING_CODE_TTL = timedelta(minutes=10)
PAIRING_CODE_DIGITS = 6
# A pushed prompt not rated within this time is dropped: the citizen has left the counter.
PROMPT_TTL = timedelta(minutes=15)
# last_seen_at is written at most this often, so a poll every 2 s does not write every time.
SEEN_RESOLUTION = timedelta(seconds=60)
CHANNEL = "hall_tablet"
# Called with (prompt, result) after a device rating answering a pushed prompt is stored (status 201); the queuing
# app registers one to join the rating to the queue ticket whose "finished" pushed the prompt.
PROMPT_RATED_HOOKS: list[Callable[[EvaluatorPrompt, ItemResult], None]] = []


def _hash(value: str, purpose: str) -> str:
    key = f"{settings.SECRET_KEY}:evaluator:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def pairing_code_create(*, window: Window, created_by=None, now: datetime | None = None) -> tuple[PairingCode, str]:
    """A fresh one-time code for `window`; the plain code is returned once and never stored."""
    now = now or timezone.now()
    with transaction.atomic():
        for _ in range(20):
            code = "".join(secrets.choice("0123456789") for _ in range(PAIRING_CODE_DIGITS))
            code_hash = _hash(code, "pair")
            # Six digits can repeat over time; among live codes each must be unique so it names one window.
            if not PairingCode.objects.filter(code_hash=code_hash, used_at=None, expires_at__gt=now).exists():
                break
        row = PairingCode.objects.create(
            window=window, code_hash=code_hash, created_by=created_by, expires_at=now + PAIRING_CODE_TTL
        )
    return row, code


def device_pair(*, code: str, name: str = "", now: datetime | None = None) -> tuple[EvaluatorDevice, str]:
    """Use a pairing code: create the device and return it with its credential (shown to the device only)."""
    now = now or timezone.now()
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != PAIRING_CODE_DIGITS:
        raise ValidationFailed(f"配对码应为{PAIRING_CODE_DIGITS}位数字", field="code")
    with transaction.atomic():
        row = (
            PairingCode.objects.select_for_update()
            .select_related("window")
            .filter(code_hash=_hash(code, "pair"))
            .order_by("-id")
            .first()
        )
        if row is None:
            raise NotFound("配对码不正确", field="code")
        if row.used_at is not None:
            raise Gone("该配对码已使用，请让管理员重新生成", field="code")
        if row.expires_at <= now:
            raise Gone("该配对码已过期，请让管理员重新生成", field="code")
        credential = "hce_" + secrets.token_urlsafe(32)
        device = EvaluatorDevice.objects.create(
            window=row.window,
            name=(name or "").strip()[:60] or f"{row.window.code}号窗口评价器",
            credential_hash=_hash(credential, "device"),
            last_seen_at=now,
        )
        # Conditional update: of two tablets entering the same code at once, only one pairs.
        if PairingCode.objects.filter(pk=row.pk, used_at=None).update(used_at=now, device=device) != 1:
            raise Gone("该配对码已使用，请让管理员重新生成", field="code")
    return device, credential


def device_authenticate(credential: str | None, *, now: datetime | None = None) -> EvaluatorDevice | None:
    """The active device holding this credential, or None (unknown or revoked)."""
    if not credential or not credential.startswith("hce_") or len(credential) > 100:
        return None
    device = (
        EvaluatorDevice.objects.select_related("window", "window__hall")
        .filter(credential_hash=_hash(credential, "device"), revoked_at=None)
        .first()
    )
    if device is not None:
        now = now or timezone.now()
        if device.last_seen_at is None or now - device.last_seen_at > SEEN_RESOLUTION:
            EvaluatorDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
            device.last_seen_at = now
    return device


def device_revoke(*, device: EvaluatorDevice, now: datetime | None = None) -> None:
    EvaluatorDevice.objects.filter(pk=device.pk, revoked_at=None).update(revoked_at=now or timezone.now())


def window_staff(window: Window) -> Staff | None:
    """The staff member shown for a window when no push names one: its first active resident staff."""
    return Staff.objects.filter(window=window, is_active=True).order_by("id").first()


def prompt_push(
    *, window: Window, case_no: str | None, scope: Scope, source: str, staff: Staff | None = None
) -> EvaluatorPrompt:
    """Ask the window's evaluator to show a rating prompt; it supersedes the window's earlier open prompts.

    `scope` decides which 办件 the pusher may name (the API key's scope; the clerk's own window's cases).
    """
    case = None
    if case_no:
        case = scope.filter(ServiceCase.objects.filter(case_no=case_no)).select_related("staff").first()
        if case is None:
            raise NotFound(f"办件 {case_no} 不存在或不在您的数据范围内", field="case_no")
        if case.online:
            raise ValidationFailed("网上办理的办件不在窗口评价器上评价", field="case_no")
        staff = staff or case.staff
    now = timezone.now()
    with transaction.atomic():
        EvaluatorPrompt.objects.filter(window=window, rated_at=None, expired_at=None).update(expired_at=now)
        prompt = EvaluatorPrompt.objects.create(
            window=window, service_case=case, staff=staff or window_staff(window), source=source[:60]
        )
        # Tells the push server (docs/evaluator-push.md); on PostgreSQL a NOTIFY delivered when this commits.
        push.prompt_published(prompt)
        return prompt


def clerk_window(user) -> tuple[Staff, Window]:
    """The clerk's active staff record and its resident window; NotFound when the login has none."""
    staff = Staff.objects.select_related("window", "window__hall").filter(user=user, is_active=True).first()
    if staff is None or staff.window is None:
        raise NotFound("您的账号未关联在岗窗口，不能推送评价")
    return staff, staff.window


def clerk_scope(window: Window) -> Scope:
    """What a clerk may push: 办件 of the window's unit (the clerk's own department)."""
    return Scope(kind="units", unit_ids=frozenset({window.unit_id}), label="窗口")


def prompt_current(device: EvaluatorDevice, *, now: datetime | None = None) -> EvaluatorPrompt | None:
    """The window's newest open prompt with what the kiosk shows of it (one indexed query), or None."""
    now = now or timezone.now()
    prompt = (
        EvaluatorPrompt.objects.filter(window_id=device.window_id, rated_at=None, expired_at=None)
        .select_related("service_case__service_item", "staff")
        .order_by("-id")
        .first()
    )
    if prompt is not None and prompt.created_at < now - PROMPT_TTL:
        EvaluatorPrompt.objects.filter(pk=prompt.pk, expired_at=None).update(expired_at=now)
        return None
    return prompt


def prompt_shown(prompt: EvaluatorPrompt, device: EvaluatorDevice) -> None:
    """Mark the prompt shown on the device and record the offer, once (conditional update)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = EvaluatorPrompt.objects.filter(pk=prompt.pk, shown_at=None).update(shown_at=now, device=device)
        if claimed:
            case = prompt.service_case
            offer_record(
                kind="evaluator",
                channel=CHANNEL,
                service_case=case,
                window=device.window,
                staff_id=prompt.staff_id,
                source=f"device:{device.pk}",
                at=now,
            )


def prompt_payload(prompt: EvaluatorPrompt | None) -> dict[str, Any] | None:
    if prompt is None:
        return None
    case = prompt.service_case
    staff = prompt.staff
    return {
        "id": prompt.pk,
        "case_no": case.case_no if case else None,
        "item": case.service_item.name if case else None,
        "stage": case.get_stage_display() if case else None,
        "staff_name": staff.name if staff else None,
        "staff_photo": staff.photo.url if staff and staff.photo else None,
    }


@dataclass
class DeviceRating:
    idempotency_key: str
    grade: str
    prompt_id: int | None = None
    tags: list[str] | None = None
    comment: str = ""
    rated_at: datetime | None = None


def device_rating_submit(*, device: EvaluatorDevice, rating: DeviceRating) -> ItemResult:
    """Store a rating taken on the device: of the pushed 办件, or a walk-in rating of the window and its staff.

    Idempotent per device: the key is made on the device when the face is pressed, so a queued rating sent
    again after a lost answer is stored once.
    """
    try:
        uuid.UUID(rating.idempotency_key)
    except (TypeError, ValueError):
        raise ValidationFailed("idempotency_key 应为设备生成的 UUID", field="idempotency_key") from None
    prompt = None
    if rating.prompt_id is not None:
        prompt = window_prompt(device.window_id, rating.prompt_id)
    return window_rating_submit(
        window=device.window,
        prompt=prompt,
        rating=rating,
        client=f"device:{device.pk}",
        device_kind="tablet",
        device=device,
    )


def window_prompt(window_id: int, prompt_id: int) -> EvaluatorPrompt:
    """A prompt of this window (any state), or NotFound naming prompt_id."""
    prompt = (
        EvaluatorPrompt.objects.select_related("service_case", "staff")
        .filter(pk=prompt_id, window_id=window_id)
        .first()
    )
    if prompt is None:
        raise NotFound("推送的评价不存在或不属于本窗口", field="prompt_id")
    return prompt


def window_rating_submit(
    *,
    window: Window,
    prompt: EvaluatorPrompt | None,
    rating: DeviceRating,
    client: str,
    device_kind: str,
    device: EvaluatorDevice | None = None,
) -> ItemResult:
    """Store a counter evaluator's rating (a tablet's, or a button evaluator's through evaluator/legacy.py): of the
    prompt's 办件, or a walk-in rating of the window and its staff; marks the prompt rated and runs
    PROMPT_RATED_HOOKS, or records the walk-in offer. ``client`` keys the idempotency (one per device)."""
    item: dict[str, Any] = {
        "grade": rating.grade,
        "channel": CHANNEL,
        "tags": rating.tags or [],
        "comment": rating.comment or "",
        "idempotency_key": rating.idempotency_key,
    }
    if rating.rated_at is not None:
        # Queued offline ratings keep the time they were given, but never one in the future.
        item["rated_at"] = min(rating.rated_at, timezone.now())
    if prompt is not None and prompt.service_case is not None:
        item["case_no"] = prompt.service_case.case_no
    else:
        item["window"] = {"hall": window.hall.code, "code": window.code}
        staff = prompt.staff if prompt is not None else window_staff(window)
        if staff is not None:
            item["staff_code"] = staff.code
    # The device is scoped to its window, checked above; the intake itself may then use the full scope.
    (result,) = submit_ratings([item], scope=ALL_SCOPE, client=client, device_kind=device_kind)
    if result.status == 201:
        if prompt is not None:
            done = {"rated_at": timezone.now()}
            if device is not None:
                done["device"] = device
            EvaluatorPrompt.objects.filter(pk=prompt.pk, rated_at=None).update(**done)
            for hook in PROMPT_RATED_HOOKS:
                hook(prompt, result)
        else:
            # A walk-in rating was offered by the idle screen; its offer is recorded with it.
            offer_record(
                kind="evaluator",
                channel=CHANNEL,
                window=window,
                staff_id=staff.pk if staff is not None else None,
                source=client,
            )
    return result
