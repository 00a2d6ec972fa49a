"""Reads of the society app: third-party assessments within a scope, per-unit scores, suggestion counts.

A department administrator's scope is its units: it sees the imports that assess one of them, and only their rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet

from haochaping.accounts.scope import Scope
from haochaping.cases import metrics
from haochaping.cases.models import Case, Kind, State
from haochaping.lib.errors import NotFound
from haochaping.society.models import AssessmentImport, AssessmentScore


def imports_for(scope: Scope) -> QuerySet[AssessmentImport]:
    """The imports a scope may read: a region's (and those below it), or those that assess one of its units."""
    qs = AssessmentImport.objects.select_related("region", "uploaded_by", "superseded_by")
    if scope.kind == "units":
        return qs.filter(pk__in=scope.filter(AssessmentScore.objects.all()).values("assessment_id"))
    return scope.filter(qs)


def import_in_scope(scope: Scope, pk: int) -> AssessmentImport:
    """One import, or NotFound (404) when it is outside the scope."""
    found = imports_for(scope).filter(pk=pk).first()
    if found is None:
        raise NotFound("评估导入不存在", field="pk")
    return found


def scores_of(scope: Scope, assessment: AssessmentImport) -> QuerySet[AssessmentScore]:
    """The import's rows the scope may read, best first."""
    qs = assessment.scores.select_related("unit", "unit__region")
    if scope.kind == "units":
        qs = qs.filter(unit_id__in=scope.unit_ids)
    return qs.order_by("rank", "-score", "unit__name")


def unit_scores(scope: Scope, start: date, end: date) -> dict[int, dict[str, Any]]:
    """{unit_id: {"score": mean overall score, "assessments": n}} over the current (not superseded) imports whose
    period overlaps [start, end], for the units of the scope. Scores are 0–100, rounded to one decimal."""
    qs = scope.filter(
        AssessmentScore.objects.filter(
            assessment__superseded_by__isnull=True,
            assessment__period_start__lte=end,
            assessment__period_end__gte=start,
        )
    )
    rows = qs.order_by().values("unit_id").annotate(mean=Avg("score"), n=Count("assessment_id", distinct=True))
    return {r["unit_id"]: {"score": round(float(r["mean"]), 1), "assessments": r["n"]} for r in rows}


def suggestions_in(scope: Scope, start: date, end: date) -> QuerySet[Case]:
    """The scope's suggestions (意见建议) opened in [start, end] (local dates)."""
    return metrics.cases_in(scope, metrics.Period(start, end)).filter(kind=Kind.SUGGESTION)


def suggestion_counts(scope: Scope, start: date, end: date) -> dict[int, dict[str, int]]:
    """{unit_id: {"opened": n, "closed": n}}: suggestions opened in [start, end] per responsible unit, and how many
    of those are closed now (the cases' own convention: figures by day of opening)."""
    rows = (
        suggestions_in(scope, start, end)
        .order_by()
        .values("unit_id")
        .annotate(opened=Count("pk"), closed=Count("pk", filter=Q(state=State.CLOSED)))
    )
    return {r["unit_id"]: {"opened": r["opened"], "closed": r["closed"]} for r in rows}
