"""SMS services: invitations for completed 办件 (智能邀评) and inbound replies that rate (回复评价)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib import protect
from haochaping.lib.errors import DomainError, ValidationFailed
from haochaping.messaging.gateway import Backend, deliver, sms_send
from haochaping.messaging.models import SmsMessage
from haochaping.ratings.codes import GRADE_NAMES, CaseStatus, Channel, Stage, grade_label
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import EvaluationToken, Rating, RatingOffer, ServiceCase
from haochaping.ratings.offers import offer_record
from haochaping.ratings.services import token_hash, token_reissue

_DIGITS = re.compile(r"\D")


def normalise_phone(value: str) -> str:
    """Digits only, without a +86/86 prefix: gateways report numbers in either form."""
    digits = _DIGITS.sub("", unicodedata.normalize("NFKC", value or ""))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


# --- reply mapping -----------------------------------------------------------------------------------------


def reply_mapping() -> dict[str, str]:
    """HAOCHAPING_SMS_REPLY_MAPPING as {reply key: grade name}; the direction is spelled out, never assumed."""
    mapping: dict[str, str] = {}
    for part in settings.HAOCHAPING_SMS_REPLY_MAPPING.split(","):
        key, sep, grade = (s.strip() for s in part.partition("="))
        if not sep or not key or grade not in GRADE_NAMES:
            raise ImproperlyConfigured(
                f"HAOCHAPING_SMS_REPLY_MAPPING 项无效：{part!r}（格式 5=very_satisfied,…,1=very_dissatisfied）"
            )
        mapping[unicodedata.normalize("NFKC", key).casefold()] = grade
    return mapping


def reply_hint() -> str:
    """'回复1-5直接评价（5非常满意…1非常不满意）' in the deployment's keys and label set."""
    by_grade = sorted(reply_mapping().items(), key=lambda kv: -GRADE_NAMES[kv[1]])
    best, worst = by_grade[0], by_grade[-1]
    keys = "/".join(k for k, _ in by_grade)
    if all(k.isdigit() and len(k) == 1 for k, _ in by_grade) and len(by_grade) == 5:
        keys = f"{min(k for k, _ in by_grade)}-{max(k for k, _ in by_grade)}"
    return (
        f"回复{keys}直接评价（{best[0]}{grade_label(GRADE_NAMES[best[1]])}…"
        f"{worst[0]}{grade_label(GRADE_NAMES[worst[1]])}）"
    )


_SEPARATORS = " \t\r\n,，.。:：;；、-—!！"


def parse_reply(text: str) -> tuple[str, str] | None:
    """(grade name, comment) from a reply like '1', '５ 很好' or '2，排队太久'; None when not understood."""
    normal = unicodedata.normalize("NFKC", text).strip()
    folded = normal.casefold()
    for key in sorted(reply_mapping(), key=len, reverse=True):
        if folded.startswith(key):
            rest = normal[len(key) :]
            if rest and rest[0] not in _SEPARATORS and (rest[0].isascii() and rest[0].isalnum()):
                continue  # "12" or "1a" is not a grade
            return reply_mapping()[key], rest.strip(_SEPARATORS)[:2000]
    return None


# --- invitations (智能邀评) -----------------------------------------------------------------------------------


@dataclass
class InvitationReport:
    sent: list[str] = field(default_factory=list)  # 办件编号
    failed: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)  # skipped: the phone reached its daily cap
    would_send: list[str] = field(default_factory=list)  # dry run


def invitation_text(case: ServiceCase, link: str) -> str:
    return (
        f"{settings.HAOCHAPING_SMS_SIGNATURE}您办理的{case.service_item.name}已办结，"
        f"请对本次服务评价：{link} {reply_hint()}"
    )


def eligible_cases(*, days: int, now: datetime):
    """Completed 办件 past the delay, with a phone on file, not rated at 办结 and never invited for it."""
    stage = Stage.COMPLETE
    rated = Rating.objects.filter(service_case=OuterRef("pk"), stage=stage, sequence=1)
    invited = SmsMessage.objects.filter(service_case=OuterRef("pk"), stage=stage, kind=SmsMessage.Kind.INVITATION)
    return (
        ServiceCase.objects.filter(status=CaseStatus.COMPLETED, completed_at__lte=now - timedelta(days=days))
        .exclude(applicant_phone_enc="")
        .filter(~Exists(rated), ~Exists(invited))
        .select_related("service_item")
        .order_by("pk")  # registration order: no sort over all completed 办件
    )


def invitations_send(
    *,
    days: int | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    backend: Backend | None = None,
) -> InvitationReport:
    """Invite eligible 办件 by SMS, once each. Safe to run concurrently and repeatedly (cron)."""
    now = now or timezone.now()
    days = settings.HAOCHAPING_INVITE_AFTER_DAYS if days is None else days
    cap = settings.HAOCHAPING_INVITE_PER_PHONE_PER_DAY
    report = InvitationReport()
    cases = eligible_cases(days=days, now=now)
    if limit is not None:
        cases = cases[:limit]
    if not dry_run:
        _retry_failed(report, now=now, limit=limit, backend=backend)
    sent_today: dict[str, int] = {}
    for case in cases:
        phone = normalise_phone(protect.decrypt(case.applicant_phone_enc))
        if not phone:
            continue  # undecryptable (key rotated away): nothing to send to
        phone_hash = protect.lookup_hash(phone)
        if phone_hash not in sent_today:
            sent_today[phone_hash] = SmsMessage.objects.filter(
                phone_hash=phone_hash, kind=SmsMessage.Kind.INVITATION, created_at__gt=now - timedelta(days=1)
            ).count()
        if sent_today[phone_hash] >= cap:
            report.capped.append(case.case_no)  # not claimed: a later run invites it
            continue
        if dry_run:
            report.would_send.append(case.case_no)
            sent_today[phone_hash] += 1
            continue
        claimed = _invitation_claim(case, phone, now)
        if claimed is None:
            continue  # another run claimed it, or it was rated meanwhile
        message, text = claimed
        sent_today[phone_hash] += 1
        deliver(message, phone, text, backend)
        (report.sent if message.status == SmsMessage.Status.SENT else report.failed).append(case.case_no)
    return report


MAX_ATTEMPTS = 3


def _retry_failed(report: InvitationReport, *, now: datetime, limit: int | None, backend: Backend | None) -> None:
    """Send failed invitations again (up to MAX_ATTEMPTS), each with a fresh token: the old link is not kept."""
    failed = SmsMessage.objects.filter(
        kind=SmsMessage.Kind.INVITATION, status=SmsMessage.Status.FAILED, attempts__lt=MAX_ATTEMPTS
    ).select_related("service_case__service_item")
    for message in failed.order_by("pk")[:limit]:
        case = message.service_case
        try:
            with transaction.atomic():
                # Conditional claim: a concurrent run that got here first updated the row already.
                if not SmsMessage.objects.filter(pk=message.pk, status=SmsMessage.Status.FAILED).update(
                    status=SmsMessage.Status.QUEUED
                ):
                    continue
                registration = token_reissue(scope=ALL_SCOPE, case_no=case.case_no, stage=message.stage)
                text = invitation_text(case, registration.url)
                message.token = EvaluationToken.objects.get(token_hash=token_hash(registration.token))
                message.text = text.replace(registration.token, "…")
                message.save(update_fields=["token", "text"])
        except DomainError:  # rated meanwhile: nothing to resend
            SmsMessage.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS, error="已评价，不再重发")
            continue
        deliver(message, protect.decrypt(message.phone_enc), text, backend)
        (report.sent if message.status == SmsMessage.Status.SENT else report.failed).append(case.case_no)


def _invitation_claim(case: ServiceCase, phone: str, now: datetime) -> tuple[SmsMessage, str] | None:
    """Record the invitation (unique per 办件 and stage), its token and its offer in one transaction."""
    try:
        with transaction.atomic():
            registration = token_reissue(scope=ALL_SCOPE, case_no=case.case_no, stage=Stage.COMPLETE)
            text = invitation_text(case, registration.url)
            message = SmsMessage.objects.create(
                direction=SmsMessage.Direction.OUT,
                kind=SmsMessage.Kind.INVITATION,
                phone_enc=protect.encrypt(phone),
                phone_hash=protect.lookup_hash(phone),
                text=text.replace(registration.token, "…"),
                service_case=case,
                stage=Stage.COMPLETE,
                token=EvaluationToken.objects.get(token_hash=token_hash(registration.token)),
                status=SmsMessage.Status.QUEUED,
                created_at=now,
            )
            offer_record(
                kind=RatingOffer.Kind.SMS,
                channel=Channel.SMS,
                service_case=case,
                stage=Stage.COMPLETE,
                source=f"sms:{message.pk}",
                at=now,
            )
    except (IntegrityError, DomainError):
        return None
    return message, text


# --- inbound replies --------------------------------------------------------------------------------------


@dataclass
class InboundResult:
    status: str  # rated | unparsed | unmatched | refused | duplicate
    reply: str
    message_id: int
    rating_id: str | None = None
    case_no: str | None = None
    grade: str | None = None


THANKS = "感谢您的评价！"


def _help_text() -> str:
    return f"{settings.HAOCHAPING_SMS_SIGNATURE}未能识别您的回复。请{reply_hint()}，可在数字后附文字意见。"


def _no_invitation_text() -> str:
    return f"{settings.HAOCHAPING_SMS_SIGNATURE}您好，您目前没有待评价的办件，感谢您的关注。"


def inbound_key(phone: str, text: str, received_at: str, gateway_id: str = "") -> str:
    """The idempotency key of an inbound message: the gateway's id, else a digest of phone, text and time."""
    if gateway_id:
        return f"id:{gateway_id}"[:100]
    return "h:" + hashlib.sha256(f"{protect.normalise(phone)}\n{text}\n{received_at}".encode()).hexdigest()


def open_invitation(phone_hash: str, now: datetime) -> SmsMessage | None:
    return (
        SmsMessage.objects.select_related("service_case", "token")
        .filter(
            kind=SmsMessage.Kind.INVITATION,
            phone_hash=phone_hash,
            answered_at__isnull=True,
            token__used_at__isnull=True,
            token__expires_at__gt=now,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def inbound_receive(*, phone: str, text: str, received_at: str = "", gateway_id: str = "") -> InboundResult:
    """Store an inbound SMS, rate the open invitation it answers, and reply. Duplicates are answered once."""
    now = timezone.now()
    phone = normalise_phone(phone)
    if not phone:
        raise ValidationFailed("手机号无效", field="phone")
    key = inbound_key(phone, text, received_at, gateway_id)
    stored = SmsMessage.objects.filter(inbound_key=key).first()
    if stored is not None:
        return _duplicate(stored)
    phone_hash = protect.lookup_hash(phone)
    try:
        with transaction.atomic():
            invitation = open_invitation(phone_hash, now)
            message = SmsMessage.objects.create(
                direction=SmsMessage.Direction.IN,
                kind=SmsMessage.Kind.INBOUND,
                phone_enc=protect.encrypt(phone),
                phone_hash=phone_hash,
                text=text[:2000],
                service_case=invitation.service_case if invitation else None,
                stage=invitation.stage if invitation else "",
                invitation=invitation,
                status=SmsMessage.Status.RECEIVED,
                inbound_key=key,
                created_at=now,
            )
            result = _rate(message, invitation, phone, text, now)
    except IntegrityError:  # the same delivery raced us; answer from the stored one
        return _duplicate(SmsMessage.objects.get(inbound_key=key))
    sms_send(phone=phone, text=result.reply, kind=SmsMessage.Kind.REPLY, service_case=message.service_case,
             stage=message.stage, invitation=invitation)  # fmt: skip
    return result


def _rate(message: SmsMessage, invitation: SmsMessage | None, phone: str, text: str, now: datetime) -> InboundResult:
    parsed = parse_reply(text)
    if invitation is None:
        return _outcome(message, SmsMessage.Status.UNMATCHED, _no_invitation_text())
    if parsed is None:
        return _outcome(message, SmsMessage.Status.UNPARSED, _help_text())
    grade, comment = parsed
    token = invitation.token
    with transaction.atomic():
        # Claim the invitation's token as the link would, so the link and the reply cannot both rate.
        claimed = EvaluationToken.objects.filter(pk=token.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        item = {
            "case_no": invitation.service_case.case_no,
            "stage": token.stage,
            "sequence": token.sequence,
            "grade": grade,
            "channel": Channel.SMS,
            "comment": comment,
            "rater_phone": phone,
            "idempotency_key": message.inbound_key,
        }
        result = submit_ratings([item], scope=ALL_SCOPE, client="sms", now=now)[0] if claimed else None
        if result is None or not result.ok:
            transaction.set_rollback(True)  # the token stays usable by the link
    if result is None or not result.ok:
        reason = result.message if result else "评价令牌不可用"
        message.error = reason or ""
        reply = f"{settings.HAOCHAPING_SMS_SIGNATURE}评价未能受理：{reason}"
        return _outcome(message, SmsMessage.Status.REFUSED, reply)
    message.rating_id = Rating.objects.values_list("pk", flat=True).get(public_id=result.rating_id)
    SmsMessage.objects.filter(pk=invitation.pk).update(answered_at=now)
    outcome = _outcome(message, SmsMessage.Status.RATED, f"{settings.HAOCHAPING_SMS_SIGNATURE}{THANKS}")
    outcome.rating_id, outcome.case_no, outcome.grade = result.rating_id, result.case_no, grade
    return outcome


def _outcome(message: SmsMessage, status: str, reply: str) -> InboundResult:
    message.status = status
    message.save(update_fields=["status", "rating", "error"])
    return InboundResult(status=status, reply=reply, message_id=message.pk)


def _duplicate(message: SmsMessage) -> InboundResult:
    rating = Rating.objects.filter(pk=message.rating_id).values_list("public_id", flat=True).first()
    return InboundResult(
        status="duplicate",
        reply="",
        message_id=message.pk,
        rating_id=str(rating) if rating else None,
        case_no=message.service_case.case_no if message.service_case_id else None,
    )
