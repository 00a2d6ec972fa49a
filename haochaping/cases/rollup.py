"""The closed loop's figures by day of opening (工单立案日汇总): dashboards read them instead of scanning the cases.

A province's year holds hundreds of thousands of cases; ``metrics.case_metrics`` over them takes seconds. Here the
same counts are kept per day of opening × region × unit (``CaseDay``) and per month (``CaseMonth``):

- Every write that can change a figure marks its key dirty (``mark``) in its own transaction: ``services.case_act``
  (the one write path of the machine; before and after, since a transfer moves the case to another unit), case
  opening from intake and complaints (``opening``).
- ``refresh`` recomputes the dirty keys with the very aggregates of ``metrics`` (the definitions exist once), then
  the months they fall in. Readers refresh before reading, and the worker does every minute, so a reader finds
  little to do.
- Counts that move with the calendar alone (``overdue``; ledger cases whose deadline has passed unrectified) are
  counted live from the open cases, which are few and indexed by state.

``figures`` gives what ``metrics.case_metrics`` gives for the same cases (except the working-day mean);
``verify`` and ``rebuild`` compare with, or recompute from, the cases (``haochaping rollups verify|rebuild``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from haochaping.cases import metrics, workdays
from haochaping.cases.models import CASE_COUNTS, OPEN_STATES, Case, CaseDay, CaseDayDirty, CaseMonth, Outcome, State
from haochaping.lib.rollup_check import table_differences

__all__ = ["figures", "key_of", "mark", "rebuild", "refresh", "verify"]

Key = tuple[date, int, int]  # (day of opening, region id, unit id)


def key_of(opened_at: datetime, region_id: int, unit_id: int) -> Key:
    day = timezone.localtime(opened_at).date() if timezone.is_aware(opened_at) else opened_at.date()
    return (day, region_id, unit_id)


def mark(keys: Iterable[Key]) -> None:
    """Mark keys dirty, in the caller's transaction (idempotent)."""
    rows = sorted(set(keys))
    if not rows:
        return
    q = connection.ops.quote_name
    mark_ = "?" if connection.vendor == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {q(CaseDayDirty._meta.db_table)} (day, region_id, unit_id) VALUES ({mark_}, {mark_}, {mark_}) "
        "ON CONFLICT (day, region_id, unit_id) DO NOTHING"
    )
    connection.ensure_connection()
    cursor = connection.connection.cursor()  # the driver's cursor: this runs on intake's path (rollups.py)
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def mark_case(case: Case) -> None:
    mark([key_of(case.opened_at, case.region_id, case.unit_id)])


# --- recomputation ------------------------------------------------------------------------------------------


def _stable_aggregates() -> dict[str, Any]:
    """metrics' aggregates for the counts kept here (ledger_done = the rectified part of ledger_due)."""
    aggs = metrics._aggregates()
    wanted = {name: aggs[name] for name in CASE_COUNTS if name in aggs}
    q = metrics._q()
    wanted["ledger_done"] = Count("pk", filter=q["in_ledger"] & Q(rectified_at__isnull=False))
    wanted["closed_us"] = Sum(
        ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField()), filter=Q(state=State.CLOSED)
    )
    return wanted


def _micro(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    return int(value)  # a backend that sums durations as microseconds


def _computed(cases) -> dict[Key, tuple[int, ...]]:
    """CaseDay rows for a queryset of cases, keyed (day, region, unit)."""
    tz = timezone.get_current_timezone()
    rows = (
        metrics._annotated(cases)
        .annotate(_day=TruncDate("opened_at", tzinfo=tz))
        .values("_day", "region_id", "unit_id")
        .annotate(**_stable_aggregates())
    )
    out = {}
    for row in rows.order_by():
        values = tuple(_micro(row[m]) if m == "closed_us" else int(row[m] or 0) for m in CaseDay.MEASURES)
        if any(values):
            out[(row["_day"], row["region_id"], row["unit_id"])] = values
    return out


def _store_days(computed: dict[Key, tuple[int, ...]], keys: set[Key]) -> None:
    """Replace the CaseDay rows of ``keys`` with ``computed`` (a key absent there has no cases now)."""
    by_unit: dict[int, list[date]] = defaultdict(list)
    for day, _region, unit in keys:
        by_unit[unit].append(day)
    for unit, days in by_unit.items():
        CaseDay.objects.filter(unit_id=unit, day__in=days).filter(
            region_id__in={r for d, r, u in keys if u == unit}
        ).delete()
    CaseDay.objects.bulk_create(
        [
            CaseDay(day=k[0], region_id=k[1], unit_id=k[2], **dict(zip(CaseDay.MEASURES, v, strict=True)))
            for k, v in computed.items()
            if k in keys
        ],
        batch_size=1000,
    )


def _store_months(months: set[tuple[date, int, int]]) -> None:
    """Recompute the CaseMonth rows of (month, region, unit) as the sums of their CaseDay rows."""
    by_unit: dict[int, set[date]] = defaultdict(set)
    for month, _region, unit in months:
        by_unit[unit].add(month)
    sums = {m: Sum(m) for m in CaseDay.MEASURES}
    for unit, firsts in by_unit.items():
        lo, hi = min(firsts), max(firsts)
        hi_end = (hi.replace(day=28) + timedelta(days=4)).replace(day=1)
        rows = (
            CaseDay.objects.filter(unit_id=unit, day__gte=lo, day__lt=hi_end)
            .values("day", "region_id")
            .annotate(**sums)
            .order_by()
        )
        totals: dict[tuple[date, int], list[int]] = {}
        for row in rows:
            key = (row["day"].replace(day=1), row["region_id"])
            if (key[0], key[1], unit) not in months:
                continue
            t = totals.setdefault(key, [0] * len(CaseDay.MEASURES))
            for i, m in enumerate(CaseDay.MEASURES):
                t[i] += int(row[m] or 0)
        CaseMonth.objects.filter(unit_id=unit, month__in=firsts).filter(
            region_id__in={r for mo, r, u in months if u == unit}
        ).delete()
        CaseMonth.objects.bulk_create(
            [
                CaseMonth(month=k[0], region_id=k[1], unit_id=unit, **dict(zip(CaseDay.MEASURES, v, strict=True)))
                for k, v in totals.items()
                if any(v)
            ]
        )


def _cases_for(keys: set[Key]):
    """The cases that can fall under ``keys``: their units, opened within their days (local dates)."""
    days = [k[0] for k in keys]
    lo, hi = metrics.Period(min(days), max(days)).bounds()
    return Case.objects.filter(unit_id__in={k[2] for k in keys}, opened_at__gte=lo, opened_at__lt=hi)


def refresh() -> int:
    """Recompute every dirty key (and its month). Returns how many keys were recomputed."""
    with transaction.atomic():
        dirty = list(CaseDayDirty.objects.select_for_update().values_list("pk", "day", "region_id", "unit_id"))
        if not dirty:
            return 0
        CaseDayDirty.objects.filter(pk__in=[d[0] for d in dirty]).delete()
        keys = {(d, r, u) for _pk, d, r, u in dirty}
        # Keys of a unit on far-apart days: one query per unit and contiguous stretch keeps each small.
        computed: dict[Key, tuple[int, ...]] = {}
        for group in _groups(keys):
            computed.update(_computed(_cases_for(group)))
        _store_days(computed, keys)
        _store_months({(d.replace(day=1), r, u) for d, r, u in keys})
    return len(keys)


def _groups(keys: set[Key], span: int = 31) -> Iterable[set[Key]]:
    """Keys grouped per unit and runs of days no more than ``span`` days long."""
    by_unit: dict[int, list[Key]] = defaultdict(list)
    for k in keys:
        by_unit[k[2]].append(k)
    for unit_keys in by_unit.values():
        unit_keys.sort()
        group: set[Key] = set()
        first = None
        for k in unit_keys:
            if first is not None and (k[0] - first).days > span:
                yield group
                group, first = set(), None
            first = first or k[0]
            group.add(k)
        if group:
            yield group


@transaction.atomic
def rebuild() -> dict[str, int]:
    """Recompute both tables from all cases."""
    CaseDayDirty.objects.all().delete()
    computed = _computed(Case.objects.all())
    CaseDay.objects.all().delete()
    CaseMonth.objects.all().delete()
    _store_days(computed, set(computed))
    _store_months({(d.replace(day=1), r, u) for d, r, u in computed})
    return {"CaseDay": CaseDay.objects.count(), "CaseMonth": CaseMonth.objects.count()}


def verify() -> list[tuple[str, tuple, tuple, tuple]]:
    """Every (table, key, expected, stored) that differs, after a refresh (empty: exact)."""
    refresh()
    expected_days = _computed(Case.objects.all())
    expected_months: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(CaseDay.MEASURES))
    for (d, r, u), values in expected_days.items():
        m = expected_months[(d.replace(day=1), r, u)]
        for i, v in enumerate(values):
            m[i] += v
    expected = {CaseDay: expected_days, CaseMonth: {k: tuple(v) for k, v in expected_months.items()}}
    return [
        d for table, rows in expected.items() for d in table_differences(table, rows, table.DIMENSIONS, table.MEASURES)
    ]


# --- reading ------------------------------------------------------------------------------------------------


def figures(
    start: date, end: date, *, region_ids: list[int] | None = None, unit_ids: Iterable[int] | None = None
) -> dict[str, Any]:
    """``metrics.case_metrics`` of the cases opened in [start, end] in these regions (None: all) and units
    (None: all), from the rollup plus the live calendar-driven counts; ``avg_workdays`` is None."""
    refresh()
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    table, time_col = (CaseMonth, "month") if whole_months else (CaseDay, "day")
    q = Q(**{f"{time_col}__gte": start, f"{time_col}__lte": end})
    if region_ids is not None:
        q &= Q(region_id__in=region_ids)
    if unit_ids is not None:
        q &= Q(unit_id__in=list(unit_ids))
    sums = table.objects.filter(q).aggregate(**{m: Sum(m) for m in table.MEASURES})
    row: dict[str, Any] = {m: int(sums[m] or 0) for m in table.MEASURES}
    lo, hi = metrics.Period(start, end).bounds()
    live = Case.objects.filter(opened_at__gte=lo, opened_at__lt=hi)
    if region_ids is not None:
        live = live.filter(region_id__in=region_ids)
    if unit_ids is not None:
        live = live.filter(unit_id__in=list(unit_ids))
    # The calendar-driven counts, from the open cases only (the (state, due_on) index): overdue is defined on the
    # states before feedback, and a ledger case not yet rectified is always in one of them (rectifying, or appealing
    # from there): completing the ledger sets rectified_at on the way to feedback.
    today = workdays.today()
    ledger_pending = Q(outcome=Outcome.LEDGER, rectified_at__isnull=True, _deadline__lt=today)
    live_counts = (
        live.filter(state__in=OPEN_STATES)
        .annotate(_deadline=Coalesce("extended_deadline", "rectify_deadline"))
        .aggregate(
            overdue=Count("pk", filter=Q(due_on__lt=today, paused_at__isnull=True)),
            passed=Count("pk", filter=ledger_pending),
        )
    )
    row["overdue"] = live_counts["overdue"]
    passed = live_counts["passed"]
    row["ledger_due"] = row.pop("ledger_done") + passed
    closed_us = row.pop("closed_us")
    row["_avg_duration"] = timedelta(microseconds=closed_us / row["closed"]) if row["closed"] else None
    return metrics._derive(row, None)
