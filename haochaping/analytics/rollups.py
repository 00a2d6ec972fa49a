"""Keeping the rollups (analytics/models.py) exactly equal to the ratings.

- New ratings: intake's after-write hook (``ratings_added``) adds them in the transaction that stores them.
- A rating set aside or counted again (``adoption``): ``ratings.services.rating_set_adoption`` calls
  ``adoption_changed`` in the transaction of the appeal decision, which moves its count between groups.
- Ratings written around intake (the demo generator, a restore): ``haochaping rollups rebuild``.
- The uptake rollups (评价率, 邀评转化率; analytics/uptake.py) and the case figures by day of opening
  (cases/rollup.py) are rebuilt and verified with these.

Each change is aggregated in memory per cube and key first, then written with one upsert per key
(``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n``), which is atomic on SQLite and PostgreSQL alike,
so concurrent writers never lose a count. ``verify`` recomputes every cube from the ratings with GROUP BY and lists
each difference: it is the proof that the incremental path is exact (tests/test_rollups.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from haochaping.analytics.models import CUBES, GRADES, MEASURES, Cube, StaffMonth, UnitDay, UnitMonth
from haochaping.lib.rollup_check import table_differences
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating

# The rating columns the cubes are computed from (intake's row dicts carry them under these names).
FIELDS = (
    "rated_at", "region_id", "unit_id", "hall_id", "window_id", "staff_id", "service_item_id", "channel",
    "rater_kind", "grade", "is_default", "adoption",
)  # fmt: skip
_INDEX = {m: i for i, m in enumerate(MEASURES)}


def group_of(is_default: bool, adoption: str) -> str:
    if adoption == Adoption.NOT_ADOPTED:
        return "out"
    return "def" if is_default else "act"


def _keys(row: dict, day: date) -> tuple[tuple, tuple, tuple, tuple, tuple]:
    # In the order of models.CUBES.
    month = day.replace(day=1)
    region, unit, channel, kind = row["region_id"], row["unit_id"], row["channel"], row["rater_kind"]
    return (
        (day, region, unit, channel, kind),
        (month, region, unit),
        (month, region, channel, kind),
        (month, region, unit, row["hall_id"] or 0, row["window_id"] or 0, row["staff_id"] or 0),
        (month, region, unit, row["service_item_id"] or 0),
    )


class Delta:
    """Count changes per cube and key, accumulated in memory before one upsert per key."""

    def __init__(self) -> None:
        self.by_cube: dict[type[Cube], dict[tuple, list[int]]] = {c: defaultdict(lambda: [0] * 15) for c in CUBES}
        self._day_of: tuple[Any, date] = (None, date.min)

    def _day(self, rated_at: datetime) -> date:
        # A batch stamps most rows with the same datetime: convert each distinct one once.
        seen, day = self._day_of
        if seen is not rated_at:
            day = timezone.localtime(rated_at).date() if timezone.is_aware(rated_at) else rated_at.date()
            self._day_of = (rated_at, day)
        return day

    def add(self, row: dict, sign: int, *, adoption: str | None = None) -> None:
        index = _INDEX[f"{group_of(row['is_default'], adoption or row['adoption'])}_{row['grade']}"]
        keys = _keys(row, self._day(row["rated_at"]))
        for cube, key in zip(CUBES, keys, strict=True):
            self.by_cube[cube][key][index] += sign

    def write(self) -> None:
        for cube, rows in self.by_cube.items():
            upsert_rows(cube, [(*key, *counts) for key, counts in rows.items() if any(counts)])


def upsert_rows(model: type, rows: list[tuple]) -> None:
    """Add each row's measures to the stored row with the same key (dimensions first, then the measures).

    The driver's own cursor, not Django's wrapper: on a single rating the wrapper's query conversion cost as much
    as the upserts themselves (docs/performance.md). Same connection, same transaction.
    """
    if not rows:
        return
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(_upsert_sql(model), rows)
    finally:
        cursor.close()


_SQL: dict[tuple[str, str], str] = {}
_MARK = {"sqlite": "?", "postgresql": "%s"}  # the drivers' own parameter styles


def _upsert_sql(model: type) -> str:
    key = (model._meta.db_table, connection.vendor)
    if key not in _SQL:
        q = connection.ops.quote_name
        table = q(model._meta.db_table)
        measures = getattr(model, "MEASURES", MEASURES)  # the rating cubes share the module's grade counts
        columns = [*model.DIMENSIONS, *measures]
        _SQL[key] = (
            f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
            f"VALUES ({', '.join([_MARK[connection.vendor]] * len(columns))}) "
            f"ON CONFLICT ({', '.join(q(c) for c in model.DIMENSIONS)}) DO UPDATE SET "
            + ", ".join(f"{q(m)} = {table}.{q(m)} + excluded.{q(m)}" for m in measures)
        )
    return _SQL[key]


def wants_all(row: dict) -> bool:
    return True


def ratings_added(rows: Iterable[dict]) -> None:
    """Intake's hook: count the ratings just stored (in their transaction)."""
    delta = Delta()
    for row in rows:
        delta.add(row, +1)
    delta.write()


def adoption_changed(row: dict, adoption: str) -> None:
    """A rating's adoption changes from ``row["adoption"]`` to ``adoption``: move its count between groups."""
    if group_of(row["is_default"], row["adoption"]) == group_of(row["is_default"], adoption):
        return  # e.g. adopted → under review: it still counts where it did
    delta = Delta()
    delta.add(row, -1)
    delta.add(row, +1, adoption=adoption)
    delta.write()


# --- recomputation from the ratings: rebuild and verify -------------------------------------------------


def _measures() -> dict[str, Count]:
    out = {}
    for group in ("act", "def", "out"):
        if group == "out":
            q = Q(adoption=Adoption.NOT_ADOPTED)
        else:
            q = ~Q(adoption=Adoption.NOT_ADOPTED) & Q(is_default=(group == "def"))
        for g in GRADES:
            out[f"{group}_{g}"] = Count("id", filter=q & Q(grade=g))
    return out


def _recomputed(cube: type[Cube]) -> Iterable[dict]:
    """The cube's rows as a GROUP BY over the ratings (local dates, 0 for a missing dimension)."""
    qs = Rating.objects.all()
    if "day" in cube.DIMENSIONS:
        qs = qs.annotate(day=TruncDate("rated_at", tzinfo=timezone.get_current_timezone()))
    else:
        qs = qs.annotate(month=TruncMonth("rated_at", tzinfo=timezone.get_current_timezone()))
    names = [d for d in cube.DIMENSIONS]
    for row in qs.values(*names).annotate(**_measures()).order_by():
        for d in ("hall_id", "window_id", "staff_id", "service_item_id"):
            if d in row and row[d] is None:
                row[d] = 0
        if "month" in row and isinstance(row["month"], datetime):
            row["month"] = row["month"].date()
        yield row


def _recomputed_by_key(cube: type[Cube]) -> dict[tuple, tuple]:
    # Keys with a 0 for a missing dimension can come from NULL and 0 alike: add them up.
    out: dict[tuple, list[int]] = {}
    for row in _recomputed(cube):
        key = tuple(row[d] for d in cube.DIMENSIONS)
        counts = out.setdefault(key, [0] * len(MEASURES))
        for i, m in enumerate(MEASURES):
            counts[i] += row[m]
    return {k: tuple(v) for k, v in out.items() if any(v)}


@transaction.atomic
def rebuild(*, chunk: int = 20_000) -> dict[str, int]:
    """Recompute every cube from the ratings (after writes around intake). Returns rows per cube.

    One pass over the ratings through the same ``Delta`` as intake (so the demo and a restore produce exactly
    what intake would have), then a plain bulk insert. ``verify`` checks the result by an independent GROUP BY.
    """
    from haochaping.ratings.rowwriter import RowWriter

    delta = Delta()
    for values in Rating.objects.order_by().values_list(*FIELDS).iterator(chunk_size=chunk):
        delta.add(dict(zip(FIELDS, values, strict=True)), +1)
    sizes = {}
    for cube in CUBES:
        cube.objects.all().delete()
        rows = [
            {**dict(zip(cube.DIMENSIONS, key, strict=True)), **dict(zip(MEASURES, counts, strict=True))}
            for key, counts in delta.by_cube[cube].items()
            if any(counts)
        ]
        RowWriter(cube).insert(rows)
        sizes[cube.__name__] = len(rows)
    from haochaping.analytics import uptake  # it builds on this module
    from haochaping.cases import rollup as case_rollup

    sizes.update(uptake.rebuild())
    sizes.update(case_rollup.rebuild())
    _analyze()
    return sizes


def _analyze() -> None:
    """Fresh planner statistics for the tables just rewritten: without them PostgreSQL plans the dashboards'
    queries for empty tables until autovacuum catches up (measured: 172 ms instead of 91 for a province's page)."""
    from haochaping.analytics.models import UPTAKE_CUBES
    from haochaping.cases.models import CaseDay, CaseMonth

    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in (*CUBES, *UPTAKE_CUBES, CaseDay, CaseMonth):
            cursor.execute(f"ANALYZE {q(model._meta.db_table)}")


@dataclass
class Difference:
    cube: str
    key: tuple
    expected: tuple
    stored: tuple


def verify() -> list[Difference]:
    """Every difference between the stored cubes and a recomputation from the ratings (empty: exact)."""
    differences = [
        Difference(*d)
        for cube in CUBES
        for d in table_differences(cube, _recomputed_by_key(cube), cube.DIMENSIONS, MEASURES)
    ]
    from haochaping.analytics import uptake  # it builds on this module
    from haochaping.cases import rollup as case_rollup

    differences.extend(Difference(*d) for d in uptake.verify())
    differences.extend(Difference(*d) for d in case_rollup.verify())
    return differences


__all__ = ["FIELDS", "StaffMonth", "UnitDay", "UnitMonth", "rebuild", "verify"]
