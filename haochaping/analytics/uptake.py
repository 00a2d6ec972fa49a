"""Uptake (评价率, 邀评转化率): how many completed 办件 are rated, and how many offers to rate are taken up.

Two small rollups (analytics/models.py), each by day and by month, kept exact like the rating cubes:

- ``CompletionDay``/``CompletionMonth``: 办件 completed per day (month) of completion × region × unit, and how many of
  them have a rating by the rater (``rated``) or any rating, default included (``rated_any``). Changed when a 办件
  is registered as completed (``case_changed``, in the registration's transaction) and when its first rating lands
  (``ratings_added``, intake's after-write hook, in the rating's transaction).
- ``OfferDay``/``OfferMonth``: offers per day × region × unit × channel, and per month × region × channel
  (``offer_added``, in the offer's transaction).

A period of whole months is answered from the month tables (a province's year: a few thousand rows), any other
from the day tables.

``recompute`` derives both from the 办件, ratings and offers with GROUP BY; ``rebuild`` stores that, ``verify``
compares it with what is stored (``haochaping rollups rebuild|verify`` run both with the rating cubes).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from haochaping.analytics import selectors
from haochaping.analytics.models import UPTAKE_CUBES, CompletionDay, CompletionMonth, OfferDay, OfferMonth
from haochaping.analytics.rollups import upsert_rows
from haochaping.analytics.selectors import Slice
from haochaping.lib.rollup_check import table_differences
from haochaping.ratings.codes import CaseStatus
from haochaping.ratings.models import Rating, RatingOffer, ServiceCase
from haochaping.ratings.rowwriter import RowWriter

__all__ = [
    "Uptake",
    "case_changed",
    "offer_added",
    "ratings_added",
    "rebuild",
    "uptake_for",
    "uptake_for_slice",
    "verify",
]


def _local_day(at: datetime) -> date:
    return timezone.localtime(at).date() if timezone.is_aware(at) else at.date()


def completion_key(status: int, completed_at: datetime | None, region_id: int, unit_id: int) -> tuple | None:
    """The CompletionDay row a 办件 counts in, or None while it is not completed."""
    if status != CaseStatus.COMPLETED or completed_at is None:
        return None
    return (_local_day(completed_at), region_id, unit_id)


def _rated_flags(case_id: int) -> tuple[int, int]:
    """(has a rating by the rater, has any rating) of one 办件."""
    row = Rating.objects.filter(service_case_id=case_id).aggregate(
        n=Count("id"), a=Count("id", filter=Q(is_default=False))
    )
    return int(bool(row["a"])), int(bool(row["n"]))


# --- keeping them: hooks called in the writers' transactions ------------------------------------------------


def case_changed(before: tuple | None, case: ServiceCase) -> None:
    """A 办件 was registered or updated; ``before`` is its (status, completed_at, region_id, unit_id) before the
    change (None: it is new)."""
    before = completion_key(*before) if before else None
    after = completion_key(case.status, case.completed_at, case.region_id, case.unit_id)
    if before == after:
        return
    rated, rated_any = _rated_flags(case.pk)
    deltas: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for key, sign in ((before, -1), (after, +1)):
        if key is not None:
            d = deltas[key]
            d[0] += sign
            d[1] += sign * rated
            d[2] += sign * rated_any
    _upsert_day_and_month(CompletionDay, CompletionMonth, deltas)


def _month_key(month_cube: type, day_cube: type, day_key: tuple) -> tuple:
    """The month rollup's key of a day rollup's key: the month, then the dimensions the month rollup keeps."""
    values = dict(zip(day_cube.DIMENSIONS, day_key, strict=True))
    values["month"] = values.pop("day").replace(day=1)
    return tuple(values[d] for d in month_cube.DIMENSIONS)


def _to_months(month_cube: type, day_cube: type, rows: dict[tuple, Any]) -> dict[tuple, list[int]]:
    months: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(day_cube.MEASURES))
    for key, values in rows.items():
        m = months[_month_key(month_cube, day_cube, key)]
        for i, v in enumerate(values):
            m[i] += v
    return months


def _upsert_day_and_month(day_cube: type, month_cube: type, deltas: dict[tuple, list[int]]) -> None:
    """Add per-day deltas (keys start with the day) to the day rollup and to its month rollup."""
    months = _to_months(month_cube, day_cube, deltas)
    upsert_rows(day_cube, [(*k, *v) for k, v in deltas.items() if any(v)])
    upsert_rows(month_cube, [(*k, *v) for k, v in months.items() if any(v)])


def wants_case_ratings(row: dict) -> bool:
    return bool(row.get("service_case_id"))


def ratings_added(rows: Iterable[dict]) -> None:
    """Intake's hook: ratings of 办件 just stored — a 办件's first rating makes a completed 办件 rated."""
    new_any: Counter[int] = Counter()
    new_active: Counter[int] = Counter()
    for row in rows:
        new_any[row["service_case_id"]] += 1
        if not row["is_default"]:
            new_active[row["service_case_id"]] += 1
    ids = sorted(new_any)
    q = connection.ops.quote_name
    mark = "?" if connection.vendor == "sqlite" else "%s"
    marks = ", ".join([mark] * len(ids))
    # One query with the driver's cursor (intake's hot path: a single 办件 rating paid two ORM queries here).
    # PostgreSQL locks the 办件 rows first: a concurrent transaction adding another stage's first rating of the same
    # 办件 waits, then sees this one's rating in its count, so the 办件 is counted rated exactly once. SQLite
    # writers are serialised already.
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id FROM {q(ServiceCase._meta.db_table)} WHERE id IN ({marks}) ORDER BY id FOR UPDATE", ids
            )
        cursor.execute(
            f"SELECT c.id, c.completed_at, c.region_id, c.unit_id, COUNT(r.id), "
            f"SUM(CASE WHEN r.is_default THEN 0 ELSE 1 END) "
            f"FROM {q(ServiceCase._meta.db_table)} c JOIN {q(Rating._meta.db_table)} r ON r.service_case_id = c.id "
            f"WHERE c.id IN ({marks}) AND c.status = {mark} AND c.completed_at IS NOT NULL "
            f"GROUP BY c.id, c.completed_at, c.region_id, c.unit_id",
            [*ids, int(CaseStatus.COMPLETED)],
        )
        found = cursor.fetchall()
    finally:
        cursor.close()
    if not found:
        return
    convert = getattr(connection.ops, "convert_datetimefield_value", lambda value, *_: value)
    cases = {r[0]: {"completed_at": convert(r[1], None, connection), "region_id": r[2], "unit_id": r[3]} for r in found}
    counts = [{"service_case_id": r[0], "n": r[4], "a": int(r[5] or 0)} for r in found]
    deltas: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in counts:
        case_id, now_any, now_active = row["service_case_id"], row["n"], row["a"]
        rated = (now_active > 0) - (now_active - new_active[case_id] > 0)
        rated_any = (now_any > 0) - (now_any - new_any[case_id] > 0)
        if rated or rated_any:
            c = cases[case_id]
            d = deltas[(_local_day(c["completed_at"]), c["region_id"], c["unit_id"])]
            d[1] += rated
            d[2] += rated_any
    _upsert_day_and_month(CompletionDay, CompletionMonth, deltas)


def offer_added(offer: RatingOffer) -> None:
    """An offer was recorded (in its transaction)."""
    key = (_local_day(offer.offered_at), offer.region_id, offer.unit_id, offer.channel)
    _upsert_day_and_month(OfferDay, OfferMonth, {key: [1]})


# --- recomputation: rebuild and verify ----------------------------------------------------------------------


def _day_of_stream() -> Callable[[datetime], date]:
    """Local date of a datetime, memoised per quarter hour (every UTC offset in use is a multiple of 15 min)."""
    cache: dict[tuple, date] = {}

    def day(at: datetime) -> date:
        key = (at.year, at.month, at.day, at.hour, at.minute // 15)
        if key not in cache:
            cache[key] = _local_day(at)
        return cache[key]

    return day


def _recomputed(cube: type) -> dict[tuple, tuple]:
    """The rollup's rows recomputed from the 办件, ratings and offers: one streamed query, summed in memory
    (SQLite's time-zone conversion in SQL is a Python call per row; here it is one per quarter hour). A month
    rollup is the sum of its day rollup's recomputation."""
    if cube in (CompletionMonth, OfferMonth):
        day_cube = CompletionDay if cube is CompletionMonth else OfferDay
        return {k: tuple(v) for k, v in _to_months(cube, day_cube, _recomputed(day_cube)).items() if any(v)}
    day = _day_of_stream()
    out: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(cube.MEASURES))
    with connection.cursor() as cursor:
        if cube is CompletionDay:
            q = connection.ops.quote_name
            cursor.execute(
                f"SELECT c.completed_at, c.region_id, c.unit_id, r.active, r.n "
                f"FROM {q(ServiceCase._meta.db_table)} c LEFT JOIN ("
                f"  SELECT service_case_id, SUM(CASE WHEN is_default THEN 0 ELSE 1 END) AS active, COUNT(*) AS n"
                f"  FROM {q(Rating._meta.db_table)} WHERE service_case_id IS NOT NULL GROUP BY service_case_id"
                f") r ON r.service_case_id = c.id "
                f"WHERE c.status = %s AND c.completed_at IS NOT NULL",
                [CaseStatus.COMPLETED],
            )
            # A raw query gets SQLite's stored text (UTC): the backend's own converter makes it a datetime.
            convert = getattr(connection.ops, "convert_datetimefield_value", lambda value, *_: value)
            for completed_at, region_id, unit_id, active, n in _fetch(cursor):
                counts = out[(day(convert(completed_at, None, connection)), region_id, unit_id)]
                counts[0] += 1
                counts[1] += 1 if active else 0
                counts[2] += 1 if n else 0
        else:
            rows = RatingOffer.objects.values_list("offered_at", "region_id", "unit_id", "channel").order_by()
            for offered_at, region_id, unit_id, channel in rows.iterator(chunk_size=20_000):
                out[(day(offered_at), region_id, unit_id, channel)][0] += 1
    return {k: tuple(v) for k, v in out.items() if any(v)}


def _fetch(cursor, size: int = 20_000):
    while batch := cursor.fetchmany(size):
        yield from batch


@transaction.atomic
def rebuild() -> dict[str, int]:
    """Recompute both uptake rollups from the 办件, ratings and offers. Returns rows per rollup."""
    sizes = {}
    for cube in UPTAKE_CUBES:
        rows = _recomputed(cube)
        cube.objects.all().delete()
        RowWriter(cube).insert(
            [
                {**dict(zip(cube.DIMENSIONS, k, strict=True)), **dict(zip(cube.MEASURES, v, strict=True))}
                for k, v in rows.items()
            ]
        )
        sizes[cube.__name__] = len(rows)
    return sizes


def verify() -> list[tuple[str, tuple, tuple, tuple]]:
    """Every (rollup, key, expected, stored) that differs (empty: exact)."""
    return [
        d for cube in UPTAKE_CUBES for d in table_differences(cube, _recomputed(cube), cube.DIMENSIONS, cube.MEASURES)
    ]


# --- reading -----------------------------------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class Uptake:
    """评价率 and offers of one slice. ``offers`` per channel; ratings per channel come from the rating cubes."""

    completed: int = 0
    rated: int = 0
    rated_any: int = 0
    offers: dict[str, int] = field(default_factory=dict)

    def rating_rate(self, *, with_default: bool = False) -> float | None:
        """评价率: rated 办件 ÷ completed 办件 (with_default: a default rating counts as rated)."""
        return _rate(self.rated_any if with_default else self.rated, self.completed)

    @property
    def offered(self) -> int:
        return sum(self.offers.values())

    def conversion(self, active_by_channel: dict[str, int]) -> tuple[int, float | None]:
        """邀评转化率 over the channels that recorded offers: (their active ratings, ratings ÷ offers)."""
        rated = sum(n for channel, n in active_by_channel.items() if self.offers.get(channel))
        return rated, _rate(rated, self.offered)


def uptake_for(
    start: date, end: date, *, region_ids: list[int] | None = None, unit_ids: Iterable[int] | None = None
) -> Uptake:
    """Uptake of a period (inclusive days) in some regions (None: all) and units (None: all)."""
    whole_months = Slice(start, end).is_whole_months
    completion = CompletionMonth if whole_months else CompletionDay
    offer = OfferMonth if whole_months and unit_ids is None else OfferDay  # OfferMonth has no unit

    def where(table: type) -> Q:
        time_col = "month" if "month" in table.DIMENSIONS else "day"
        q = Q(**{f"{time_col}__gte": start, f"{time_col}__lte": end})
        if region_ids is not None:
            q &= Q(region_id__in=region_ids)
        if unit_ids is not None:
            q &= Q(unit_id__in=list(unit_ids))
        return q

    done = completion.objects.filter(where(completion)).aggregate(
        c=Sum("completed"), r=Sum("rated"), a=Sum("rated_any")
    )
    offers = {
        row["channel"]: int(row["n"] or 0)
        for row in offer.objects.filter(where(offer)).values("channel").annotate(n=Sum("offers")).order_by()
    }
    return Uptake(int(done["c"] or 0), int(done["r"] or 0), int(done["a"] or 0), offers)


def uptake_for_slice(s: Slice) -> Uptake:
    """Uptake of a dashboard slice (region subtree and/or units). A staff member's slice has none: None."""
    if s.staff_id is not None:
        raise ValueError("uptake is kept per unit, not per staff member")
    region_ids = None
    if s.region_path and not selectors.is_everywhere(s.region_path):
        region_ids = selectors.region_ids(s.region_path)
    return uptake_for(s.start, s.end, region_ids=region_ids, unit_ids=s.unit_ids)
