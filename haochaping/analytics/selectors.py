"""Reading the rollups: grade counts for a slice of ratings, grouped by one dimension (the dashboards' one query).

A ``Slice`` says which ratings (period, region subtree, units, channel, rater kind); ``counts_by`` answers
"the Counts of that slice per <dimension>" from the smallest cube that can answer exactly:

- by day or week → ``UnitDay``;
- by month / quarter / year, region, unit → ``UnitMonth`` when the period is whole months, else ``UnitDay``;
- by channel or rater kind, or filtered by them → ``ChannelMonth`` (whole months, no unit restriction), else
  ``UnitDay`` (a unit's or a few units' channel mix: few rows there);
- by hall, window, staff member → ``StaffMonth``; by 事项 → ``ItemMonth``. These are per month, so such a slice is
  widened to whole months (``Slice.whole_months``) and the answer says so (``Answer.start/end``).

Every query is one GROUP BY over a cube, filtered by indexed columns; never a scan of the ratings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import MEASURES, ChannelMonth, Cube, ItemMonth, StaffMonth, UnitDay, UnitMonth
from haochaping.directory.models import Region

TIME_DIMENSIONS = ("day", "week", "month", "quarter", "year")
DIMENSIONS = (*TIME_DIMENSIONS, "region", "unit", "channel", "rater_kind", "hall", "window", "staff", "item")


@dataclass(frozen=True)
class Slice:
    start: date
    end: date  # inclusive
    region_path: str = ""  # "" = everywhere; else the subtree of this region (materialised path)
    unit_ids: frozenset[int] | None = None  # None = every unit
    channel: str = ""
    rater_kind: int | None = None
    staff_id: int | None = None

    @property
    def whole_months(self) -> Slice:
        first = self.start.replace(day=1)
        nxt = (self.end.replace(day=1) + timedelta(days=32)).replace(day=1)
        return replace(self, start=first, end=nxt - timedelta(days=1))

    @property
    def is_whole_months(self) -> bool:
        return self.whole_months == self


def slice_for_scope(scope: Scope, start: date, end: date, **extra: Any) -> Slice:
    """The slice a user or key may see: their region subtree, or their units (window staff: themselves)."""
    if scope.kind == "all":
        return Slice(start, end, **extra)
    if scope.kind == "region":
        return Slice(start, end, region_path=scope.region_path, **extra)
    if scope.kind == "units":
        return Slice(start, end, unit_ids=scope.unit_ids, **extra)
    if scope.kind == "staff":
        return Slice(start, end, staff_id=scope.staff_id, **extra)
    return Slice(start, end, unit_ids=frozenset(), **extra)


@dataclass
class Answer:
    by: str
    start: date
    end: date
    rows: dict[Any, Counts]  # key → counts (keys: dates for time, ids for directory dimensions, codes otherwise)

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.rows.values():
            total += counts
        return total


def _cube_for(by: str, s: Slice) -> tuple[type[Cube], Slice]:
    if by in ("hall", "window", "staff") or s.staff_id is not None:
        return StaffMonth, s.whole_months
    if by == "item":
        return ItemMonth, s.whole_months
    if by in ("day", "week") or not s.is_whole_months:
        return UnitDay, s
    if by in ("channel", "rater_kind") or s.channel or s.rater_kind:
        # ChannelMonth has no unit: questions about units with a channel go to the day cube.
        return (UnitDay, s) if s.unit_ids is not None or by == "unit" else (ChannelMonth, s)
    return UnitMonth, s


def is_everywhere(path: str) -> bool:
    """A top-level region with no sibling: its subtree is every rating (no filter needed, the cube is scanned)."""
    return path.count("/") == 1 and not Region.objects.filter(parent__isnull=True).exclude(path=path).exists()


def region_ids(path: str) -> list[int]:
    return list(Region.objects.filter(path__startswith=path).values_list("id", flat=True))


def _filter(cube: type[Cube], s: Slice) -> Q:
    time_col = "day" if cube is UnitDay else "month"
    q = Q(**{f"{time_col}__gte": s.start, f"{time_col}__lte": s.end})
    if s.region_path and not is_everywhere(s.region_path):
        q &= Q(region_id__in=region_ids(s.region_path))
    if s.unit_ids is not None:
        assert "unit_id" in cube.DIMENSIONS, f"{cube.__name__} cannot filter by unit"
        q &= Q(unit_id__in=s.unit_ids)
    if s.staff_id is not None:
        q &= Q(staff_id=s.staff_id)
    if s.channel and "channel" in cube.DIMENSIONS:
        q &= Q(channel=s.channel)
    if s.rater_kind and "rater_kind" in cube.DIMENSIONS:
        q &= Q(rater_kind=s.rater_kind)
    return q


_COLUMN = {
    "region": "region_id",
    "unit": "unit_id",
    "channel": "channel",
    "rater_kind": "rater_kind",
    "hall": "hall_id",
    "window": "window_id",
    "staff": "staff_id",
    "item": "service_item_id",
}


def _period_key(by: str, d: date) -> date:
    if by == "day":
        return d
    if by == "week":
        return d - timedelta(days=d.weekday())  # the Monday
    if by == "month":
        return d.replace(day=1)
    if by == "quarter":
        return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    return d.replace(month=1, day=1)  # year


def counts_by(s: Slice, by: str | None = None, *, region_level_of: str = "") -> Answer:
    """Counts of the slice per ``by`` (None: one total under the key None).

    by="region" groups into the direct children of ``region_level_of`` (a region path; default: the slice's own
    region) — the drill-down from a province to its cities, from a city to its counties; ratings of the region
    itself (its own departments) come under the region's own id.
    """
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    cube, s = _cube_for(by or "", s)
    if s.unit_ids is not None and not s.unit_ids:  # no unit at all (an empty IN would not compile to SQL)
        return Answer(by or "", s.start, s.end, {} if by is not None else {None: Counts()})
    time_col = "day" if cube is UnitDay else "month"
    group: list[str] = []
    if by in TIME_DIMENSIONS:
        group = [time_col]
    elif by is not None:
        group = [_COLUMN[by]]
    sums = {m: Sum(m) for m in MEASURES}
    base = cube.objects.filter(_filter(cube, s))
    if not group:  # one total: an aggregate (values() without names would group by every column)
        return Answer(by or "", s.start, s.end, {None: Counts.from_row(base.aggregate(**sums))})
    qs = base.values(*group).annotate(**sums).order_by()
    rows: dict[Any, Counts] = {}
    parent_path = region_level_of or s.region_path
    child_of = _child_map(parent_path) if by == "region" else {}
    for row in _fetch(qs):
        if by in TIME_DIMENSIONS:
            key = _period_key(by, _as_date(row[time_col]))
        elif by == "region":
            key = child_of.get(row["region_id"], row["region_id"])
        elif by is not None:
            key = row[_COLUMN[by]]
        if key in rows:
            rows[key] += Counts.from_row(row)
        else:
            rows[key] = Counts.from_row(row)
    return Answer(by or "", s.start, s.end, dict(rows))


def _fetch(qs) -> list[dict[str, Any]]:
    """The rows of a values() queryset through the plain cursor: the per-value converters of the ORM cost more
    than the query itself on a unit or staff list (every row has fifteen sums)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite gives dates back as text


def unit_channel_active(s: Slice) -> dict[int, dict[str, int]]:
    """Active ratings per unit and channel (coverage's one-channel check): one GROUP BY over UnitDay."""
    acts = [f"act_{g}" for g in range(1, 6)]
    qs = UnitDay.objects.filter(_filter(UnitDay, s)).values("unit_id", "channel").annotate(**{a: Sum(a) for a in acts})
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for row in qs.order_by():
        n = sum(row[a] or 0 for a in acts)
        if n:
            out[row["unit_id"]][row["channel"]] = n
    return out


def _child_map(parent_path: str) -> dict[int, int]:
    """region id → the id of the child of ``parent_path`` it lies under (or of the parent itself)."""
    regions = list(Region.objects.filter(path__startswith=parent_path).values_list("id", "path", "code"))
    by_code = {code: rid for rid, _, code in regions}
    depth = parent_path.count("/")
    out = {}
    for rid, path, _ in regions:
        codes = path.strip("/").split("/")
        out[rid] = by_code.get(codes[depth], rid) if len(codes) > depth else rid
    return out


__all__ = ["DIMENSIONS", "Answer", "Slice", "counts_by", "slice_for_scope", "unit_channel_active"]
