"""Integrity services: run the rules over periods and store their findings as signals; review a signal."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.integrity.models import Signal, SignalReview, StaffIdentity
from haochaping.integrity.rules import DAY_RULES, MONTH_RULES, Finding
from haochaping.lib import protect
from haochaping.lib.errors import ValidationFailed

REVIEW_NOTE_MIN = 4


def fingerprint(f: Finding) -> str:
    """Rule + subject + period start: a rerun over the same period finds the same signal."""
    key = f"{f.rule}|{f.subject_kind}|{f.subject_id}|{f.period_start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()


def signal_store(f: Finding) -> tuple[Signal, bool]:
    """Insert or refresh the finding's signal; its review (status, reviewer, note) is never touched here."""
    severity = Signal.Severity.HIGH if f.score >= 2 else Signal.Severity.MEDIUM
    return Signal.objects.update_or_create(
        fingerprint=fingerprint(f),
        defaults={
            "rule": f.rule, "subject_kind": f.subject_kind, "subject_id": f.subject_id[:80],
            "subject_label": f.subject_label[:200], "region_id": f.region_id, "unit_id": f.unit_id,
            "period_start": f.period_start, "period_end": f.period_end, "score": f.score, "severity": severity,
            "summary": f.summary[:300], "evidence": f.evidence,
        },
    )  # fmt: skip


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def signals_compute(
    days: int = 2, *, today: date | None = None, scope: Scope = ALL_SCOPE, rules: set[str] | None = None
) -> Counter:
    """Run the day rules over each of the last ``days`` local days (today included) and the month rules over
    each month those days touch; store every finding. Returns the findings per rule (new and refreshed)."""
    today = today or timezone.localdate()
    found: Counter = Counter()
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    for day in day_list:
        start, end = _midnight(day), _midnight(day + timedelta(days=1))
        for rule, fn in DAY_RULES.items():
            if rules is None or rule in rules:
                for f in fn(start, end, scope):
                    signal_store(f)
                    found[str(rule)] += 1
    for month in sorted({_month_start(d) for d in day_list}):
        start, end = _midnight(month), _midnight(_next_month(month))
        for rule, fn in MONTH_RULES.items():
            if rules is None or rule in rules:
                for f in fn(start, end, scope):
                    signal_store(f)
                    found[str(rule)] += 1
    return found


def signal_review(*, signal: Signal, user, status: str, note: str, scope: Scope) -> Signal:
    """Record a supervisor's outcome (dismissed / confirmed) with a note; every review is kept (SignalReview)."""
    scope.require_write()
    if status not in (Signal.Status.DISMISSED, Signal.Status.CONFIRMED):
        raise ValidationFailed(_("核查结果应为“已排除”或“已确认”"), field="status")
    note = (note or "").strip()
    if len(note) < REVIEW_NOTE_MIN:
        raise ValidationFailed(_("请填写核查说明（至少 %(n)d 个字）") % {"n": REVIEW_NOTE_MIN}, field="note")
    with transaction.atomic():
        locked = Signal.objects.select_for_update().get(pk=signal.pk)
        review = SignalReview.objects.create(signal=locked, status=status, note=note, reviewed_by=user)
        locked.status, locked.reviewed_by, locked.review_note = status, user, note
        locked.reviewed_at = review.reviewed_at
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "updated_at"])
    return locked


def staff_identity_set(*, staff, cert: str = "", phone: str = "") -> StaffIdentity:
    """Register a staff member's certificate / phone number for the self-rating rule: only keyed hashes are kept."""
    identity, _created = StaffIdentity.objects.get_or_create(staff=staff)
    if cert:
        identity.cert_hash = protect.lookup_hash(cert)
    if phone:
        identity.phone_hash = protect.lookup_hash(phone)
    identity.save()
    return identity
