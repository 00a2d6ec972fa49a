"""Surge alerts (激增预警): a word or a concentrated problem whose volume in the last 7 days is significantly above its
baseline, raised to the management agency of the region.

For every region that has a management agency (Organisation.kind == agency), lowest regions first:

- window: the 7 days ending ``today`` (inclusive); baseline: the 8 weeks before it (56 days);
- subjects: every term of the bad comments (差评 and complaints) of the region's subtree, and every concentrated
  problem of the region (its member comments, ProblemMember, written by problems.py);
- observed = comments in the window; expected = the mean weekly baseline count, at least ``EXPECTED_FLOOR``;
- test: one-sided Poisson upper tail, p = P(X >= observed | lambda = expected) = poisson.sf(observed - 1, expected);
- raised when p < HAOCHAPING_SURGE_P (default 0.001) and observed >= HAOCHAPING_SURGE_MIN (default 8) and
  observed >= 2 x expected.

Terms that surge together (mostly the same comments: 空调, 大厅, 闷) are one alert, led by the most frequent,
with the others listed in its evidence. A subject already raised for a lower region in the same window is not
raised again for the regions above it: the lowest agency where the surge is significant is responsible. A rerun
updates the counts of the window's alert (one per region, kind, subject and window start) and never resets an
acknowledgement.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy.stats import poisson

from haochaping.accounts.scope import Scope
from haochaping.cases import workdays
from haochaping.directory.models import Organisation, Region
from haochaping.insight.models import CommentDoc, Problem, ProblemMember, SurgeAlert
from haochaping.lib.errors import NotFound, ValidationFailed

WINDOW_DAYS = 7
BASELINE_WEEKS = 8
EXPECTED_FLOOR = 0.5


def surge_p() -> float:
    return float(getattr(settings, "HAOCHAPING_SURGE_P", 0.001))


def surge_min() -> int:
    return int(getattr(settings, "HAOCHAPING_SURGE_MIN", 8))


@dataclass(frozen=True)
class Windows:
    today: date

    @property
    def start(self) -> date:  # first day of the current window
        return self.today - timedelta(days=WINDOW_DAYS - 1)

    @property
    def base_start(self) -> date:
        return self.start - timedelta(days=7 * BASELINE_WEEKS)

    def week(self, day: date) -> int:
        """0..7: baseline weeks, 8: the current window."""
        return (day - self.base_start).days // 7

    def weeks(self) -> list[tuple[date, date]]:
        return [
            (self.base_start + timedelta(days=7 * k), self.base_start + timedelta(days=7 * k + 6))
            for k in range(BASELINE_WEEKS + 1)
        ]


@dataclass(frozen=True)
class Finding:
    observed: int
    expected: float
    p_value: float
    weeks: list[int]


def test(weeks: list[int]) -> Finding:
    """The Poisson upper-tail test of the last week against the mean of the ones before."""
    observed = weeks[-1]
    expected = max(sum(weeks[:-1]) / BASELINE_WEEKS, EXPECTED_FLOOR)
    p_value = float(poisson.sf(observed - 1, expected)) if observed > 0 else 1.0
    return Finding(observed, expected, p_value, weeks)


def significant(f: Finding) -> bool:
    return f.p_value < surge_p() and f.observed >= surge_min() and f.observed >= 2 * f.expected


def _evidence(w: Windows, f: Finding) -> dict:
    return {
        "weeks": [
            {"start": a.isoformat(), "end": b.isoformat(), "n": n} for (a, b), n in zip(w.weeks(), f.weeks, strict=True)
        ],
        "test": "poisson_upper_tail",
        "p_threshold": surge_p(),
        "min_observed": surge_min(),
    }


def term_weeks(region: Region, w: Windows, window_docs: dict[str, set[int]] | None = None) -> dict[str, list[int]]:
    """Term → bad comments containing it per week (8 baseline weeks, then the window), for the region's subtree.
    Only terms with at least HAOCHAPING_SURGE_MIN comments in the window are kept; ``window_docs``, when given, is
    filled with the window's comment ids per kept term."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * (BASELINE_WEEKS + 1))
    docs = CommentDoc.objects.filter(
        region__path__startswith=region.path, is_bad=True, day__gte=w.base_start, day__lte=w.today
    ).values_list("pk", "day", "tokens")
    window: dict[str, set[int]] = defaultdict(set)
    for pk, day, tokens in docs.iterator(chunk_size=5000):
        k = w.week(day)
        terms = tokens.split()
        for term in terms:
            counts[term][k] += 1
        if k == BASELINE_WEEKS:
            for term in terms:
                window[term].add(pk)
    floor = surge_min()
    kept = {t for t, ids in window.items() if len(ids) >= floor}
    if window_docs is not None:
        window_docs.update({t: window[t] for t in kept})
    return {t: counts[t] for t in kept}


CO_OCCURRENCE = 0.5  # a surging term whose window comments are mostly another's is reported with it, not alone


def group_terms(findings: dict[str, Finding], docs: dict[str, set[int]]) -> list[tuple[str, list[str]]]:
    """The significant terms of one region and window as (lead term, related terms): one surge is reported once.
    Terms go in order of their count (the longer first on a tie); a term joins the first lead whose window
    comments overlap its own by at least CO_OCCURRENCE of the smaller set (空调, 大厅, 闷 from the same comments
    are one surge, led by the most frequent), else it leads a group of its own."""
    groups: list[tuple[str, list[str]]] = []
    for term in sorted(findings, key=lambda t: (-findings[t].observed, -len(t), t)):
        mine = docs.get(term, set())
        for lead, related in groups:
            theirs = docs.get(lead, set())
            if mine and theirs and len(mine & theirs) >= CO_OCCURRENCE * min(len(mine), len(theirs)):
                related.append(term)
                break
        else:
            groups.append((term, []))
    return groups


def problem_weeks(problem: Problem, w: Windows) -> list[int]:
    weeks = [0] * (BASELINE_WEEKS + 1)
    days = ProblemMember.objects.filter(problem=problem, doc__day__gte=w.base_start, doc__day__lte=w.today).values_list(
        "doc__day", flat=True
    )
    for day in days:
        weeks[w.week(day)] += 1
    return weeks


def agency_regions() -> list[Region]:
    """Regions with a management agency, lowest first."""
    ids = Organisation.objects.filter(kind=Organisation.Kind.AGENCY).values("region_id")
    return sorted(Region.objects.filter(pk__in=ids), key=lambda r: (-len(r.path), r.path))


def _keywords(problem: Problem | None) -> frozenset[str]:
    return frozenset(problem.keywords or []) if problem is not None else frozenset()


def _upsert(
    region: Region, kind: str, subject: str, w: Windows, f: Finding, problem: Problem | None, related=()
) -> bool:
    """Create or update the window's alert; True when it is new. Status and acknowledgement are left alone."""
    values = {
        "window_end": w.today,
        "observed": f.observed,
        "expected": round(f.expected, 4),
        "p_value": f.p_value,
        "evidence": {**_evidence(w, f), "related_terms": list(related)},
        "problem": problem,
    }
    if problem is not None:  # the problem's label may change between runs: find its alert by the problem
        existing = SurgeAlert.objects.filter(region=region, subject_kind=kind, problem=problem, window_start=w.start)
        if existing.update(**values):
            return False
    _alert, created = SurgeAlert.objects.update_or_create(
        region=region, subject_kind=kind, subject=subject, window_start=w.start, defaults=values
    )
    return created


def problem_subject(problem: Problem) -> str:
    return f"{problem.label[:48]} #{problem.pk}"


def raise_alerts(today: date | None = None) -> int:
    """Test every term and problem of every agency region for the window ending ``today``; returns new alerts."""
    w = Windows(today or workdays.today())
    created = 0
    # What lower regions raised for this window (this run or an earlier one): path → terms, problem key words.
    raised_terms: list[tuple[str, str]] = []
    raised_problems: list[tuple[str, frozenset[str]]] = []
    for a in SurgeAlert.objects.filter(window_start=w.start).select_related("region", "problem"):
        if a.subject_kind == SurgeAlert.Subject.TERM:
            raised_terms.append((a.region.path, a.subject))
        else:
            raised_problems.append((a.region.path, _keywords(a.problem)))

    def below(path: str, own: str) -> bool:
        return path.startswith(own) and path != own

    for region in agency_regions():
        lower_terms = {t for p, t in raised_terms if below(p, region.path)}
        lower_problems = [k for p, k in raised_problems if below(p, region.path)]
        with transaction.atomic():
            docs: dict[str, set[int]] = {}
            findings = {t: f for t, weeks in term_weeks(region, w, docs).items() if significant(f := test(weeks))}
            for lead, related in group_terms(findings, docs):
                if lead in lower_terms or lower_terms.intersection(related):
                    continue
                related_counts = [{"term": t, "n": findings[t].observed} for t in related]
                created += _upsert(region, SurgeAlert.Subject.TERM, lead[:60], w, findings[lead], None, related_counts)
                raised_terms.extend((region.path, t) for t in (lead, *related))
            problems = Problem.objects.filter(region=region, period_end__gte=w.base_start).exclude(
                status=Problem.Status.DISMISSED
            )
            for problem in problems:
                f = test(problem_weeks(problem, w))
                if not significant(f):
                    continue
                keys = _keywords(problem)
                if any(_overlap(keys, k) for k in lower_problems):
                    continue
                created += _upsert(region, SurgeAlert.Subject.PROBLEM, problem_subject(problem), w, f, problem)
                raised_problems.append((region.path, keys))
    return created


def _overlap(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two problems' key words mostly shared (Jaccard >= 0.5): the same problem seen from two levels."""
    return bool(a and b) and len(a & b) / len(a | b) >= 0.5


# --- acknowledgement --------------------------------------------------------------------------------------------


def alert_acknowledge(*, alert: SurgeAlert, user, scope: Scope, note: str) -> SurgeAlert:
    """Mark an alert as known (已知悉) with a note. Read-only roles and out-of-scope alerts are refused."""
    scope.require_write()
    if not scope.filter(SurgeAlert.objects.filter(pk=alert.pk)).exists():
        raise NotFound(_("预警不存在或不在您的数据范围内"))
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("请填写处理说明"), field="note")
    alert.status = SurgeAlert.Status.ACKNOWLEDGED
    alert.note = note[:2000]
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["status", "note", "acknowledged_by", "acknowledged_at"])
    return alert
