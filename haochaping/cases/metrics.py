"""The closed loop's figures (差评整改闭环指标), computed with conditional aggregates over the scoped cases.

Which cases: those *opened* in the period (``opened_at``'s local date between start and end), within the scope.
Default ratings (默认评价) never open a case, so they are in none of these figures.

"Adopted" (采纳): a 差评 case counts as adopted unless its outcome is 不予采纳 or its rating was set aside
(``Rating.adoption == not_adopted``). A case under appeal still counts until the agency approves the appeal:
applying for an appeal must not lower a denominator. Not-adopted cases are left out of every 整改率
denominator and shown on their own (``not_adopted``).

"Closed" (已办结, a state) is never "fixed" (已整改, an outcome): a case can be closed after an explanation or
after being set aside. Fixed = outcome 立行立改, or outcome 限期整改 with ``rectified_at`` set.

Rates (None when the denominator is 0; pages show "—"):

- 回访率 ``callback_rate`` = cases with at least one call-back attempt ÷ cases where a call-back is possible
  (real-name 差评 and 投诉, ``real_name``).
- 实名差评回访整改率 ``real_name_rate`` = real-name adopted 差评 cases that were reached by a call-back (a
  ``CallbackAttempt`` with ``reached``) and whose outcome is fixed or explained ÷ real-name adopted 差评 cases.
  The regime's target is 100% (``REAL_NAME_TARGET``).
- 按期整改率 ``on_time_rate`` = ledger cases completed (``rectified_at``) on or before their deadline
  (``extended_deadline`` or else ``rectify_deadline``, compared on the local date) ÷ ledger cases that are
  completed or whose deadline has passed (deadline < today).
- 整改率 ``fix_rate`` = fixed adopted 差评 ÷ adopted 差评.
- 重办率 ``reopen_rate`` = cases reopened (``reopen_count`` ≥ 1) ÷ cases that reached feedback (``notified_at``
  set, closed, or reopened — a reopened case had reached feedback once even though the reopening cleared
  ``notified_at``).
- 平均办结天数 ``avg_days`` = mean elapsed calendar days ``opened_at`` → ``closed_at`` of closed cases (one
  decimal); ``avg_workdays`` = mean working days (``workdays.workdays_between``, statutory calendar), computed in
  Python only when at most ``WORKDAY_ROWS_MAX`` closed cases are concerned, else None.

Counts: opened, open, overdue (as ``services.is_overdue``: due_on < today, state not feedback/closed, not
paused), closed, fixed, explained, not_adopted, in_ledger, and the rater's feedback on the handling: satisfied,
basic, dissatisfied, no_response (closed because the feedback period ended).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.cases import workdays
from haochaping.cases.models import (
    OPEN_STATES,
    CallbackAttempt,
    Case,
    CloseReason,
    FeedbackGrade,
    Kind,
    Outcome,
    State,
)
from haochaping.directory.models import Organisation, Region
from haochaping.ratings.codes import Adoption, Grade

# 实名差评回访整改率 must reach 100% (regime: every real-name 差评 is called back and dealt with).
REAL_NAME_TARGET = 1.0
# Above this many closed cases the mean in working days (a Python pass over the rows) is skipped.
WORKDAY_ROWS_MAX = 5000
REGION_CODE_LEN = 12  # a path segment is a 12-digit code and "/"

# rate key → (numerator key, denominator key)
RATES: dict[str, tuple[str, str]] = {
    "callback_rate": ("called_back", "callback_possible"),
    "real_name_rate": ("real_name_done", "real_name_adopted"),
    "on_time_rate": ("ledger_on_time", "ledger_due"),
    "fix_rate": ("fixed_bad", "adopted_bad"),
    "reopen_rate": ("reopened", "reached_feedback"),
}


def _q() -> dict[str, Q]:
    """The conditions, built per call: ``today`` moves."""
    today = workdays.today()
    adopted_bad = Q(kind=Kind.BAD_REVIEW) & ~Q(outcome=Outcome.NOT_ADOPTED) & ~Q(rating__adoption=Adoption.NOT_ADOPTED)
    fixed = Q(outcome=Outcome.FIXED_NOW) | Q(outcome=Outcome.LEDGER, rectified_at__isnull=False)
    ledger = Q(outcome=Outcome.LEDGER)
    real_name_adopted = adopted_bad & Q(real_name=True)
    return {
        "opened": Q(),
        "open": Q(state__in=OPEN_STATES),
        "overdue": Q(due_on__lt=today, paused_at__isnull=True) & ~Q(state__in=(State.FEEDBACK, State.CLOSED)),
        "closed": Q(state=State.CLOSED),
        "fixed": fixed,
        "explained": Q(outcome=Outcome.EXPLAINED),
        "not_adopted": Q(outcome=Outcome.NOT_ADOPTED) | Q(rating__adoption=Adoption.NOT_ADOPTED),
        "in_ledger": ledger,
        "satisfied": Q(state=State.CLOSED, feedback_grade=FeedbackGrade.SATISFIED),
        "basic": Q(state=State.CLOSED, feedback_grade=FeedbackGrade.BASIC),
        "dissatisfied": Q(state=State.CLOSED, feedback_grade=FeedbackGrade.DISSATISFIED),
        "no_response": Q(close_reason=CloseReason.NO_RESPONSE),
        "callback_possible": Q(real_name=True),
        "called_back": Q(real_name=True, _any_callback=True),
        "real_name_adopted": real_name_adopted,
        "real_name_done": real_name_adopted & Q(_reached=True) & (fixed | Q(outcome=Outcome.EXPLAINED)),
        "ledger_due": ledger & (Q(rectified_at__isnull=False) | Q(_deadline__lt=today)),
        "ledger_on_time": ledger & Q(rectified_at__isnull=False, _rectified_on__lte=F("_deadline")),
        "adopted_bad": adopted_bad,
        "fixed_bad": adopted_bad & fixed,
        "reopened": Q(reopen_count__gte=1),
        "reached_feedback": Q(notified_at__isnull=False) | Q(state=State.CLOSED) | Q(reopen_count__gte=1),
    }


def _annotated(qs: QuerySet) -> QuerySet:
    """The per-case helper columns the conditions use (EXISTS sub-queries: no row multiplication by joins)."""
    attempts = CallbackAttempt.objects.filter(case=OuterRef("pk"))
    return qs.order_by().annotate(
        _any_callback=Exists(attempts),
        _reached=Exists(attempts.filter(reached=True)),
        _deadline=Coalesce("extended_deadline", "rectify_deadline"),
        _rectified_on=TruncDate("rectified_at"),  # local date (current time zone)
    )


def _aggregates() -> dict[str, Any]:
    aggs: dict[str, Any] = {name: Count("pk", filter=cond) if cond else Count("pk") for name, cond in _q().items()}
    aggs["_avg_duration"] = Avg(
        ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField()),
        filter=Q(state=State.CLOSED),
    )
    return aggs


def _derive(row: dict[str, Any], workday_means: dict | None = None, key: Any = None) -> dict[str, Any]:
    """Counts as aggregated, plus the rates and means (None where nothing to divide by)."""
    out = {k: v for k, v in row.items() if not k.startswith("_")}
    for rate, (num, den) in RATES.items():
        out[rate] = round(row[num] / row[den], 4) if row[den] else None
    duration = row.get("_avg_duration")
    if isinstance(duration, (int, float)):  # a backend that returns microseconds
        duration = timedelta(microseconds=duration)
    out["avg_days"] = round(duration.total_seconds() / 86400, 1) if duration is not None else None
    out["avg_workdays"] = workday_means.get(key) if workday_means is not None else None
    return out


def _workday_means(qs: QuerySet, key_expr: Any = None) -> dict | None:
    """Mean working days opened → closed, per group key (None for the whole set); None if too many rows."""
    closed = qs.order_by().filter(state=State.CLOSED, closed_at__isnull=False)
    if key_expr is not None:
        closed = closed.annotate(_key=key_expr)
        rows = closed.values_list("_key", "opened_at", "closed_at")
    else:
        rows = closed.values_list("pk", "opened_at", "closed_at")
    rows = list(rows[: WORKDAY_ROWS_MAX + 1])
    if len(rows) > WORKDAY_ROWS_MAX:
        return None
    sums: dict = defaultdict(lambda: [0, 0])
    for k, opened, closed_at in rows:
        k = k if key_expr is not None else None
        sums[k][0] += workdays.workdays_between(opened, closed_at)
        sums[k][1] += 1
    return {k: round(total / n, 1) for k, (total, n) in sums.items()}


def case_metrics(
    qs_cases: QuerySet, ratings_qs: QuerySet | None = None, *, workday_means: bool = True
) -> dict[str, Any]:
    """All figures for one set of cases (already scoped and limited to the period by the caller).

    With ``ratings_qs`` (ratings of the same scope and period), adds ``ratings`` (adopted ratings),
    ``bad_ratings`` (adopted 差评, defaults excluded) and ``bad_rate``. ``workday_means=False`` skips the mean in
    working days (a Python pass over up to ``WORKDAY_ROWS_MAX`` rows) for callers that do not show it.
    """
    row = _annotated(qs_cases).aggregate(**_aggregates())
    means = _workday_means(qs_cases) if workday_means else None
    out = _derive(row, means, None)
    if ratings_qs is not None:
        r = ratings_qs.order_by().aggregate(
            ratings=Count("pk", filter=Q(adoption=Adoption.ADOPTED)),
            bad_ratings=Count(
                "pk", filter=Q(adoption=Adoption.ADOPTED, is_default=False, grade__lte=Grade.DISSATISFIED)
            ),
        )
        out.update(r)
        out["bad_rate"] = round(r["bad_ratings"] / r["ratings"], 4) if r["ratings"] else None
    return out


# --- scope, period and groups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def this_year(cls, today: date | None = None) -> Period:
        today = today or workdays.today()
        return cls(date(today.year, 1, 1), today)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, end+1 00:00) in local time: the index on opened_at is used, no date cast."""
        tz = timezone.get_current_timezone()
        lo = timezone.make_aware(datetime.combine(self.start, time.min), tz)
        hi = timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min), tz)
        return lo, hi

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def cases_in(scope: Scope, period: Period | None = None) -> QuerySet:
    """The scope's cases, opened within the period if one is given."""
    qs = scope.filter(Case.objects.all())
    if period is not None:
        lo, hi = period.bounds()
        qs = qs.filter(opened_at__gte=lo, opened_at__lt=hi)
    return qs


def ratings_in(scope: Scope, period: Period) -> QuerySet:
    from haochaping.ratings.models import Rating

    lo, hi = period.bounds()
    return scope.filter(Rating.objects.filter(rated_at__gte=lo, rated_at__lt=hi))


def group_region(scope: Scope) -> Region | None:
    """The region whose direct children the per-region table shows (None: the top-level regions)."""
    if scope.kind == "region" and scope.region_id:
        return Region.objects.filter(pk=scope.region_id).first()
    return None


def metrics_by(
    scope: Scope, group: str = "unit", start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Figures per unit, or per direct child region of the scope's region, for cases opened in [start, end].

    Each row: {"key", "label", "metrics"}; rows sorted by label, the region's own cases (本级) first.
    One grouped query (plus one for the working-day means), whatever the number of groups.
    """
    if group not in ("unit", "region"):
        raise ValueError(f"unknown group {group!r}")
    period = Period(start, end) if start and end else Period.this_year()
    qs = cases_in(scope, period)
    if group == "unit":
        key_expr = F("unit_id")
    else:
        parent = group_region(scope)
        depth = len(parent.path) if parent else 0
        # The child's path is the parent's plus one code segment: a prefix of the case region's path.
        key_expr = Substr("region__path", 1, depth + REGION_CODE_LEN + 1)
    rows = _annotated(qs).annotate(_key=key_expr).values("_key").annotate(**_aggregates())
    means = _workday_means(qs, key_expr)
    result = []
    for row in rows:
        key = row.pop("_key")
        result.append({"key": key, "metrics": _derive(row, means, key)})
    labels = _labels(group, [r["key"] for r in result], scope)
    for r in result:
        r["label"], r["own"] = labels.get(r["key"], (str(r["key"]), False))
        if group == "region":
            r["region_id"] = labels.get(("id", r["key"]))
    result.sort(key=lambda r: (not r["own"], r["label"]))
    return result


def _labels(group: str, keys: Iterable, scope: Scope) -> dict:
    keys = list(keys)
    if group == "unit":
        return {pk: (name, False) for pk, name in Organisation.objects.filter(pk__in=keys).values_list("pk", "name")}
    parent = group_region(scope)
    out: dict = {}
    for pk, path, name in Region.objects.filter(path__in=keys).values_list("pk", "path", "name"):
        own = parent is not None and path == parent.path
        out[path] = (f"{name}（本级）" if own else name, own)
        out[("id", path)] = pk
    return out


# --- the board: open cases by age and state ------------------------------------------------------------------

# Age of an open case in WORKING days since it was opened (statutory calendar): (label, lowest age, highest age).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–1", 0, 1),
    ("2–5", 2, 5),
    ("6–15", 6, 15),
    (">15", 16, None),
)
OPEN_STATE_ORDER = (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING, State.APPEALING)


def age_cutoffs(today: date, ages: Iterable[int]) -> dict[int, datetime]:
    """For each age k: the instant before which a case opened is at least k working days old today.

    Age = working days in (opened date, today]. Walking back from today adds one each time a working day is
    passed, so the bucket bounds become plain ``opened_at`` comparisons the database can index.
    """
    wanted = sorted(set(ages))
    out: dict[int, datetime] = {}
    day, age = today, 0
    tz = timezone.get_current_timezone()
    for _ in range(3660):  # ten years of calendar: more than any bucket needs
        while wanted and age >= wanted[0]:
            out[wanted.pop(0)] = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
        if not wanted:
            break
        age += workdays.is_workday(day)
        day -= timedelta(days=1)
    return out


def _overdue_q(today: date) -> Q:
    return Q(due_on__lt=today, paused_at__isnull=True) & ~Q(state__in=(State.FEEDBACK, State.CLOSED))


def open_board(qs: QuerySet, today: date | None = None, *, by_unit: bool = True) -> dict[str, Any]:
    """Open cases of ``qs`` (scoped, filtered) by age bucket × state, and (``by_unit``) by unit. Two grouped
    queries; the dashboard, which shows only the states, skips the second (and its working-day ages)."""
    today = today or workdays.today()
    cut = age_cutoffs(today, [lo for _, lo, _ in AGE_BUCKETS if lo > 0])
    open_qs = qs.order_by().filter(state__in=OPEN_STATES)

    def bucket_q(lo: int, hi: int | None) -> Q:
        q = Q()
        if lo > 0:
            q &= Q(opened_at__lt=cut[lo])
        if hi is not None:
            q &= Q(opened_at__gte=cut[hi + 1]) if (hi + 1) in cut else Q()
        return q

    bucket_aggs = {f"b{i}": Count("pk", filter=bucket_q(lo, hi)) for i, (_, lo, hi) in enumerate(AGE_BUCKETS)}
    by_state = {
        row["state"]: row
        for row in open_qs.values("state").annotate(
            total=Count("pk"), overdue=Count("pk", filter=_overdue_q(today)), **bucket_aggs
        )
    }
    matrix = []
    for state in OPEN_STATE_ORDER:
        row = by_state.get(state, {})
        matrix.append(
            {
                "state": state.value,
                "label": state.label,
                "buckets": [row.get(f"b{i}", 0) for i in range(len(AGE_BUCKETS))],
                "total": row.get("total", 0),
                "overdue": row.get("overdue", 0),
            }
        )
    totals = {
        "buckets": [sum(r["buckets"][i] for r in matrix) for i in range(len(AGE_BUCKETS))],
        "total": sum(r["total"] for r in matrix),
        "overdue": sum(r["overdue"] for r in matrix),
    }
    board = {"buckets": [label for label, _, _ in AGE_BUCKETS], "matrix": matrix, "totals": totals, "units": []}
    if not by_unit:
        return board
    state_aggs = {s.value: Count("pk", filter=Q(state=s)) for s in OPEN_STATE_ORDER}
    unit_rows = list(
        open_qs.values("unit_id").annotate(
            total=Count("pk"), overdue=Count("pk", filter=_overdue_q(today)), oldest=Min("opened_at"), **state_aggs
        )
    )
    names = dict(Organisation.objects.filter(pk__in=[r["unit_id"] for r in unit_rows]).values_list("pk", "name"))
    for r in unit_rows:
        r["name"] = names.get(r["unit_id"], "")
        r["oldest_age"] = workdays.workdays_between(r["oldest"], today) if r["oldest"] else None
        r["states"] = [(s.value, r[s.value]) for s in OPEN_STATE_ORDER]
    unit_rows.sort(key=lambda r: (-r["overdue"], -(r["oldest_age"] or 0), r["name"]))
    board["units"] = unit_rows
    return board
