"""Operator actions of the exchange: register a subordinate platform, queue the past (backfill)."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from haochaping.accounts.apikeys import api_key_create
from haochaping.cases.models import Case
from haochaping.directory.models import Region
from haochaping.exchange import outbox
from haochaping.exchange.models import OutboxEntry, Subordinate
from haochaping.lib.errors import Conflict, ValidationFailed
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating

CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,36}$")


def subordinate_register(*, code: str, name: str, region: Region, created_by=None) -> tuple[Subordinate, str]:
    """Register a subordinate platform; returns it and its API key's secret (shown once, given to its operator)."""
    code = code.strip()
    if not CODE_RE.match(code):
        raise ValidationFailed("平台编码应为 1–36 位字母、数字或 _ . -", field="code")
    if not name.strip():
        raise ValidationFailed("请填写平台名称", field="name")
    if Subordinate.objects.filter(code=code).exists():
        raise Conflict(f"平台编码 {code} 已登记", field="code")
    with transaction.atomic():
        key, secret = api_key_create(name=f"下级平台 {name.strip()}"[:100], region=region, created_by=created_by)
        subordinate = Subordinate.objects.create(code=code, name=name.strip(), region=region, api_key=key)
    return subordinate, secret


def backfill(*, since: datetime | None = None, chunk: int = 10_000) -> dict[str, int]:
    """Queue the ratings (and their not-adopted decisions) and cases made before a superior was configured.

    Queue them in the order they were made; entries already queued are not queued twice. Safe to run again:
    the superior answers "duplicate" for what it has.
    """
    if not outbox.enabled():
        raise ValidationFailed("未配置上级平台（HAOCHAPING_UPSTREAM_URL），无需补入待上报", field="upstream")
    now = timezone.now()
    queued = {"rating": 0, "adoption": 0, "case": 0}
    ratings = Rating.objects.order_by("id")
    if since:
        ratings = ratings.filter(received_at__gte=since)
    last = 0
    pending = set(OutboxEntry.objects.filter(kind="rating").values_list("ref", flat=True))
    while True:
        rows = list(ratings.filter(id__gt=last).values_list("id", "public_id", "adoption")[:chunk])
        if not rows:
            break
        last = rows[-1][0]
        with transaction.atomic():
            queued["rating"] += outbox.enqueue(
                OutboxEntry.Kind.RATING, [str(p) for _, p, _ in rows if str(p) not in pending], at=now
            )
            queued["adoption"] += outbox.enqueue(
                OutboxEntry.Kind.ADOPTION, [i for i, _, a in rows if a != Adoption.ADOPTED], at=now
            )
    cases = Case.objects.order_by("id")
    if since:
        cases = cases.filter(updated_at__gte=since)
    queued["case"] = outbox.enqueue(OutboxEntry.Kind.CASE, cases.values_list("id", flat=True), at=now)
    return queued
