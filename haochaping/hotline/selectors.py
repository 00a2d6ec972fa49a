"""Reads of the hotline link: the links and work orders a scope may see, with counts."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.hotline.models import Callback, HotlineLink, WorkOrder


def links(scope: Scope) -> list[HotlineLink]:
    """The links of regions in scope, and those up the hierarchy that decide for it (read only)."""
    if scope.kind == "all":
        return list(HotlineLink.objects.select_related("region", "updated_by"))
    if scope.kind != "region":
        return []
    return [
        link
        for link in HotlineLink.objects.select_related("region", "updated_by")
        if link.region.path.startswith(scope.region_path) or scope.region_path.startswith(link.region.path)
    ]


def overview(scope: Scope, *, limit: int = 200) -> dict[str, Any]:
    orders = scope.filter(WorkOrder.objects.all())
    counts = dict(orders.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {
        "counts": [(label, counts.get(value, 0)) for value, label in WorkOrder.State.choices],
        "total": sum(counts.values()),
        "cancel_pending": orders.filter(cancel_pending=True).count(),
        "waiting": orders.filter(state=WorkOrder.State.QUEUED, attempts__gt=0).count(),
        "orders": list(orders.select_related("case", "case__unit", "link__region").order_by("-id")[:limit]),
        "callbacks": list(scope.filter(Callback.objects.all()).select_related("case").order_by("-id")[:50]),
        "now": timezone.now(),
    }
