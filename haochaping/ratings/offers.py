"""Invitation accounting (邀评记录): every channel records when it offered a rating."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from haochaping.directory.models import Window
from haochaping.ratings.models import RatingOffer, ServiceCase


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
    return RatingOffer.objects.create(
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
