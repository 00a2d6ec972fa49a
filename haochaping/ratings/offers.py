"""Invitation accounting (邀评记录): every channel records when it offered a rating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from haochaping.directory.models import Window
from haochaping.ratings.models import RatingOffer, ServiceCase

_offer_hooks: list[Callable[[RatingOffer], Any]] = []


def register_offer_hook(hook: Callable[[RatingOffer], Any]) -> None:
    """``hook(offer)`` runs in the transaction that records an offer (analytics counts it)."""
    if hook not in _offer_hooks:
        _offer_hooks.append(hook)


def offer_record(
    *,
    kind: str,
    channel: str,
    service_case: ServiceCase | None = None,
    stage: str = "",
    window: Window | None = None,
    staff_id: int | None = None,
    source: str = "",
    at: datetime | None = None,
) -> RatingOffer:
    """Record one offer. Give the 办件 when there is one; otherwise the window (walk-in offers)."""
    if service_case is not None:
        unit_id, region_id = service_case.unit_id, service_case.region_id
        window = window or service_case.window
        staff_id = staff_id or service_case.staff_id
        stage = stage or service_case.stage
    elif window is not None:
        unit_id, region_id = window.unit_id, window.hall.region_id
    else:
        raise ValueError("an offer needs a 办件 or a window")
    with transaction.atomic():
        offer = RatingOffer.objects.create(
            kind=kind,
            channel=channel,
            service_case=service_case,
            stage=stage,
            unit_id=unit_id,
            region_id=region_id,
            window=window,
            staff_id=staff_id,
            source=source[:60],
            offered_at=at or timezone.now(),
        )
        for hook in _offer_hooks:
            hook(offer)
    return offer
