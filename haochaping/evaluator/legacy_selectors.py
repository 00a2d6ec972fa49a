"""Figures by evaluator kind (按设备类型统计): ratings, grade distribution, 满意度指数 and 差评率 per device kind,
with the offers that timed out (offered, not rated). The metrics are analytics.metrics.Counts, as everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts
from haochaping.evaluator.models import EvaluatorPrompt, LegacyDevice, LegacyPress
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import DeviceKind, Rating

KINDS = (DeviceKind.TABLET, DeviceKind.BUTTONS3, DeviceKind.BUTTONS4, DeviceKind.NONE)


@dataclass
class KindFigures:
    kind: str
    label: str
    counts: Counts
    timeouts: int | None  # offered, not rated; None where the kind has no offers of its own (not via evaluator)

    @property
    def figures(self) -> dict:
        return self.counts.as_dict()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
    )


def this_month() -> tuple[date, date]:
    today = timezone.localdate()
    return today.replace(day=1), today


def counts_by_device_kind(scope: Scope, start: date, end: date) -> list[KindFigures]:
    """Per device kind, the ratings rated from ``start`` to ``end`` (local days, inclusive) in the scope."""
    lo, hi = _bounds(start, end)
    rows = (
        scope.filter(Rating.objects.filter(rated_at__gte=lo, rated_at__lt=hi))
        .values_list("device_kind", "grade", "is_default", "adoption")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {kind: Counts() for kind in KINDS}
    for kind, grade, is_default, adoption, n in rows:
        c = counts.setdefault(kind, Counts())
        if adoption == Adoption.NOT_ADOPTED:
            c.out[grade] += n
        elif is_default:
            c.default[grade] += n
        else:
            c.act[grade] += n
    timeouts = dict(
        scope.filter(LegacyPress.objects.filter(kind=LegacyPress.Kind.TIMEOUT, at__gte=lo, at__lt=hi))
        .values_list("model__buttons")
        .annotate(n=Count("id"))
        .order_by()
    )
    # A tablet's: prompts it showed that expired unrated (a button device's timeouts are LegacyPress rows above).
    tablet = (
        scope.filter(EvaluatorPrompt.objects.filter(device__isnull=False, shown_at__gte=lo, shown_at__lt=hi))
        .filter(rated_at=None, expired_at__isnull=False)
        .count()
    )
    out = []
    for kind in KINDS:
        if kind == DeviceKind.TABLET:
            timeouts_of = tablet
        elif kind in (DeviceKind.BUTTONS3, DeviceKind.BUTTONS4):
            timeouts_of = timeouts.get(int(kind[-1]), 0)
        else:
            timeouts_of = None
        out.append(KindFigures(kind, str(DeviceKind(kind).label), counts[kind], timeouts_of))
    return out


def devices(scope: Scope):
    return (
        scope.filter(LegacyDevice.objects.all())
        .select_related("window", "window__hall", "model")
        .annotate(events=Count("presses"))
        .order_by("window__hall__code", "window__code", "serial")
    )
