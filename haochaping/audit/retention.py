"""Retention of personal data (个人信息保存期限): clear it after N months, keep the records.

Ratings keep their grade, time, unit, staff and comment; 办件 and cases keep everything but the applicant's or
rater's name, phone and certificate (ciphertexts and look-up hashes). Only those columns are written (UPDATE
of the listed columns, by primary key, in batches of one transaction each), so figures, rollups and the
tamper-evidence seals (which exclude personal-data columns) are unaffected.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

BATCH_SIZE = 2000


@dataclass(frozen=True)
class Target:
    """One kind of record whose personal columns are cleared: the columns and the date that ages it."""

    label: str
    model: str  # app_label.ModelName
    columns: tuple[str, ...]
    age_field: str
    extra: dict = field(default_factory=dict)

    def model_class(self) -> type[models.Model]:
        from django.apps import apps

        return apps.get_model(self.model)

    def queryset(self, cutoff: datetime) -> models.QuerySet:
        has_data = Q()
        for column in self.columns:
            has_data |= ~Q(**{column: ""})
        return self.model_class()._base_manager.filter(has_data, **{f"{self.age_field}__lt": cutoff}, **self.extra)


TARGETS = (
    Target(
        "ratings",
        "ratings.Rating",
        ("rater_name_enc", "rater_phone_enc", "rater_phone_hash", "rater_cert_enc", "rater_cert_hash"),
        "rated_at",
    ),
    Target(
        "service_cases",
        "ratings.ServiceCase",
        (
            "applicant_name_enc",
            "applicant_phone_enc",
            "applicant_phone_hash",
            "applicant_cert_enc",
            "applicant_cert_hash",
        ),  # fmt: skip
        "completed_at",
    ),
    Target(
        "cases",
        "cases.Case",
        ("contact_name_enc", "contact_phone_enc", "contact_phone_hash"),
        "closed_at",
        {"state": "closed"},
    ),  # fmt: skip
    Target("sms_messages", "messaging.SmsMessage", ("phone_enc", "phone_hash"), "created_at"),
)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def purge_personal_data(
    *, months: int | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE, now: datetime | None = None
) -> dict[str, int]:
    """Clear the personal columns of records older than ``months`` (default: the setting); counts per kind.

    Each batch is its own transaction: an interrupted purge leaves whole batches done and is simply run again.
    A run that cleared anything writes one entry to the administrative audit log.
    """
    from haochaping.audit.models import AdminAction
    from haochaping.audit.services import record_admin_action

    months = settings.HAOCHAPING_PII_RETENTION_MONTHS if months is None else months
    if months <= 0:
        return {t.label: 0 for t in TARGETS}
    cutoff = months_before(now or timezone.now(), months)
    counts: dict[str, int] = {}
    for target in TARGETS:
        qs = target.queryset(cutoff)
        if dry_run:
            counts[target.label] = qs.count()
            continue
        cleared = dict.fromkeys(target.columns, "")
        total = 0
        while True:
            with transaction.atomic():
                ids = list(qs.order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                total += target.model_class()._base_manager.filter(pk__in=ids).update(**cleared)
        counts[target.label] = total
    if not dry_run and any(counts.values()):
        record_admin_action(
            action=AdminAction.Action.PURGE,
            app_label="audit",
            model="personaldata",
            object_repr=f"保存期限 {months} 个月，截至 {timezone.localtime(cutoff):%Y-%m-%d}",
            changes={label: [None, n] for label, n in counts.items()},
        )
    return counts
