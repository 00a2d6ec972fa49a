"""Read side of the exchange: the status page's figures and the Prometheus gauges."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.exchange.models import (
    CaseOutcome,
    Delivery,
    DropFile,
    OutboxEntry,
    ReceivedBatch,
    Subordinate,
    UpstreamState,
)


def upstream_status() -> dict[str, Any]:
    """The push: backlog, lag (age of the oldest record not yet delivered), refusals, backoff, recent batches."""
    now = timezone.now()
    backlog = OutboxEntry.objects.aggregate(
        pending=Count("id", filter=Q(failed_at__isnull=True)),
        failed=Count("id", filter=Q(failed_at__isnull=False)),
        oldest=Min("created_at", filter=Q(failed_at__isnull=True)),
    )
    state = UpstreamState.objects.filter(pk=1).first()
    counts = dict(
        OutboxEntry.objects.filter(failed_at__isnull=True).values_list("kind").annotate(n=Count("id")).order_by()
    )
    by_kind = [(kind.label, counts[kind.value]) for kind in OutboxEntry.Kind if counts.get(kind.value)]
    return {
        "configured": bool(settings.HAOCHAPING_UPSTREAM_URL),
        "url": settings.HAOCHAPING_UPSTREAM_URL,
        "platform": settings.HAOCHAPING_PLATFORM_CODE,
        "pending": backlog["pending"],
        "pending_by_kind": by_kind,
        "failed": backlog["failed"],
        "lag_seconds": (now - backlog["oldest"]).total_seconds() if backlog["oldest"] else 0.0,
        "oldest": backlog["oldest"],
        "state": state,
        "deliveries": list(Delivery.objects.all()[:20]),
        "refused": list(OutboxEntry.objects.filter(failed_at__isnull=False).order_by("id")[:50]),
    }


def subordinates(scope: Scope) -> list[Subordinate]:
    return list(scope.filter(Subordinate.objects.select_related("region", "api_key")))


def received_batches(scope: Scope, limit: int = 30) -> list[ReceivedBatch]:
    return list(scope.filter(ReceivedBatch.objects.select_related("subordinate"))[:limit])


def case_outcome_counts(scope: Scope) -> list[dict[str, Any]]:
    """Per subordinate: cases reported, closed, with an outcome, on time (from the received case outcomes)."""
    rows = (
        scope.filter(CaseOutcome.objects.all())
        .values("subordinate__name", "subordinate__code")
        .annotate(
            n_total=Count("id"),
            n_closed=Count("id", filter=Q(state="closed")),
            n_outcome=Count("id", filter=~Q(outcome="")),
            n_on_time=Count("id", filter=Q(on_time=True)),
            n_late=Count("id", filter=Q(on_time=False)),
        )
        .order_by("subordinate__code")
    )
    return list(rows)


def drop_files(scope: Scope, limit: int = 30) -> list[DropFile]:
    return list(scope.filter(DropFile.objects.select_related("api_key"))[:limit])


def metrics() -> dict[str, float]:
    """Gauges for /metrics (haochaping_exchange_<name>): cheap aggregate queries only."""
    status = OutboxEntry.objects.aggregate(
        pending=Count("id", filter=Q(failed_at__isnull=True)),
        failed=Count("id", filter=Q(failed_at__isnull=False)),
        oldest=Min("created_at", filter=Q(failed_at__isnull=True)),
    )
    state = UpstreamState.objects.filter(pk=1).first()
    lag = (timezone.now() - status["oldest"]).total_seconds() if status["oldest"] else 0.0
    return {
        "outbox_pending": float(status["pending"]),
        "outbox_failed": float(status["failed"]),
        "lag_seconds": lag,
        "push_failures": float(state.failures if state else 0),
        "subordinates": float(Subordinate.objects.count()),
    }
