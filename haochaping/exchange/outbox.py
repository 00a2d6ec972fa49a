"""The transactional outbox: what is to go upward is queued in the transaction that writes it.

Three writers, all inside the transaction of the record (so a rolled-back rating is never pushed and a stored one
is always queued): intake's after-write hook (every stored rating, ours or received from a subordinate), the
adoption hook (a not-adopted decision, or its reversal), and case events (every change of a case's state). With
no superior configured (HAOCHAPING_UPSTREAM_URL empty) nothing is queued; `backfill` queues the past.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from haochaping.exchange.models import OutboxEntry

_COLUMNS = ("kind", "ref", "created_at", "failed_at", "error")


def enabled() -> bool:
    return bool(settings.HAOCHAPING_UPSTREAM_URL)


def enqueue(kind: str, refs: Iterable[str], *, at: datetime | None = None) -> int:
    """Queue records (one executemany; no model instances: this runs on intake's hot path)."""
    now = at or timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [(kind, str(ref), stamp, None, "") for ref in refs]
    if not rows:
        return 0
    table = connection.ops.quote_name(OutboxEntry._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s, %s)", rows)
    return len(rows)


def wants_rating(row: dict) -> bool:
    return enabled()


def ratings_written(rows: Sequence[dict]) -> None:
    enqueue(OutboxEntry.Kind.RATING, (row["public_id"] for row in rows))


def adoption_changed(row: dict, adoption: str) -> None:
    if enabled():
        enqueue(OutboxEntry.Kind.ADOPTION, [row["id"]])


def case_event_saved(sender, instance, created: bool, **kwargs) -> None:
    if created and enabled():
        enqueue(OutboxEntry.Kind.CASE, [instance.case_id])


def cases_opened(rating_ids: Iterable[int]) -> None:
    """The cases intake opened for 差评 (INSERT … SELECT: no post_save): the superior learns of them now."""
    if enabled():
        from haochaping.cases.models import Case

        enqueue(OutboxEntry.Kind.CASE, Case.objects.filter(rating_id__in=list(rating_ids)).values_list("id", flat=True))


def case_outcome_received(outcome_ids: Iterable[int]) -> None:
    """A subordinate's case outcome stored here goes on up (ref "o<id>")."""
    if enabled():
        enqueue(OutboxEntry.Kind.CASE, (f"o{i}" for i in outcome_ids))


def connect() -> None:
    """Register the writers (ExchangeConfig.ready)."""
    from django.db.models.signals import post_save

    from haochaping.cases import opening
    from haochaping.cases.models import CaseEvent
    from haochaping.ratings import intake, services

    intake.register_after_write(ratings_written, wants_rating)
    services.register_adoption_hook(adoption_changed)
    post_save.connect(case_event_saved, sender=CaseEvent, dispatch_uid="exchange-case-event")
    opening.register_opening_events_hook(cases_opened)
