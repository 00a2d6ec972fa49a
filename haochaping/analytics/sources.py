"""The evaluation sources beside 好差评 (评价来源): inspections, surveys, suggestions and third-party assessments.

The one place that defines their figures for a scope and a period [start, end] (local dates, both inclusive),
for the dashboard, the periodic reports and the performance sheet. Each figure is counted straight from the
source's own records, grouped by unit with aggregates (a handful of GROUP BY queries; never a Python pass over the
rows), and scoped through ``Scope.filter`` with each model's SCOPE_LOOKUPS.

- 监督查评 (inspections): inspections *submitted* in the period: ``inspections`` (count), ``inspection_score``
  (mean of their 0–100 scores), ``failed_items`` (items below their pass score), ``rectifications`` (整改事项
  opened by those failed items) and, for totals, ``units_inspected``.
- 服务调查 (surveys): ``invited`` = invitations created in the period; ``responded`` = those of them answered (at
  any time); ``response_rate`` = responded ÷ invited; ``responses`` = responses *submitted* in the period and
  ``survey_score`` = the mean of their 0–100 scores (responses without a scale answer have no score).
- 意见建议 (suggestions: cases of kind ``suggestion``): ``suggestions`` opened in the period, ``suggestions_closed``
  closed in the period (whenever opened), ``suggestions_open`` not closed at the end of the period.
- 第三方评估 (assessments): the scores of imports that are not superseded and whose assessment period overlaps the
  period: ``assessment_score`` (mean), ``units_assessed``, and the firms' names.

Means are kept as (sum, n) so that units add up into regions and totals exactly; a mean with nothing behind it is
None (pages show "—"), never 0: a unit nobody inspected is not a unit that failed its inspections.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_noop

from haochaping.accounts.scope import Scope
from haochaping.cases import metrics as case_figures
from haochaping.cases.models import Case, Kind
from haochaping.directory.models import Organisation, Region
from haochaping.inspections.models import Inspection, ItemScore
from haochaping.society.models import AssessmentScore
from haochaping.surveys.models import Invitation, Response

# The sources in the order pages show them: (code, label). "ratings" is 好差评 itself (满意度指数).
SOURCES: tuple[tuple[str, str], ...] = (
    ("ratings", gettext_noop("好差评")),
    ("inspections", gettext_noop("监督查评")),
    ("surveys", gettext_noop("服务调查")),
    ("assessments", gettext_noop("第三方评估")),
)


def _float(value: Decimal | float | int | None) -> float:
    return float(value or 0)


@dataclass
class Figures:
    """One entity's figures (a unit, a region, the whole scope). Counts add; means are sums over counts."""

    inspections: int = 0
    inspection_sum: float = 0.0
    inspection_scored: int = 0
    failed_items: int = 0
    rectifications: int = 0
    invited: int = 0
    responded: int = 0
    responses: int = 0
    survey_sum: float = 0.0
    survey_scored: int = 0
    suggestions: int = 0
    suggestions_closed: int = 0
    suggestions_open: int = 0
    assessment_sum: float = 0.0
    assessment_scored: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @staticmethod
    def _mean(total: float, n: int) -> float | None:
        return round(total / n, 2) if n else None

    @property
    def inspection_score(self) -> float | None:
        return self._mean(self.inspection_sum, self.inspection_scored)

    @property
    def survey_score(self) -> float | None:
        return self._mean(self.survey_sum, self.survey_scored)

    @property
    def assessment_score(self) -> float | None:
        return self._mean(self.assessment_sum, self.assessment_scored)

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.invited if self.invited else None

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, Any]:
        return {
            "inspections": self.inspections,
            "inspection_score": self.inspection_score,
            "failed_items": self.failed_items,
            "rectifications": self.rectifications,
            "invited": self.invited,
            "responded": self.responded,
            "response_rate": self.response_rate,
            "responses": self.responses,
            "survey_score": self.survey_score,
            "suggestions": self.suggestions,
            "suggestions_closed": self.suggestions_closed,
            "suggestions_open": self.suggestions_open,
            "assessment_score": self.assessment_score,
        }


@dataclass
class Sources:
    """The sources' figures of a scope and period: per unit (key None: records without a unit) and in total."""

    start: date
    end: date
    units: dict[int | None, Figures] = field(default_factory=dict)
    firms: list[str] = field(default_factory=list)

    @property
    def total(self) -> Figures:
        if not hasattr(self, "_total"):
            total = Figures()
            for f in self.units.values():
                total.add(f)
            self._total = total
        return self._total

    @property
    def units_inspected(self) -> int:
        return sum(1 for k, f in self.units.items() if k is not None and f.inspections)

    @property
    def units_assessed(self) -> int:
        return sum(1 for k, f in self.units.items() if k is not None and f.assessment_scored)

    def unit(self, unit_id: int) -> Figures:
        return self.units.get(unit_id) or Figures()

    def by_region(self, parent: Region | None) -> dict[int, Figures]:
        """The units' figures added up per direct child region of ``parent`` (its own units under its own id)."""
        ids = [k for k in self.units if k is not None]
        if not ids:
            return {}
        depth = len(parent.path) if parent is not None else 0
        children = {
            r.path: r.pk
            for r in Region.objects.filter(
                **({"parent": parent} if parent is not None else {"parent__isnull": True})
            ).only("pk", "path")
        }
        out: dict[int, Figures] = defaultdict(Figures)
        for pk, path in Organisation.objects.filter(pk__in=ids).values_list("pk", "region__path"):
            rest = path[depth:]
            child = path[: depth + rest.find("/") + 1] if rest else path
            key = children.get(child, parent.pk if parent is not None and not rest else None)
            if key is not None:
                out[key].add(self.units[pk])
        return dict(out)


def _bounds(start: date, end: date):
    return case_figures.Period(start, end).bounds()


def sources_for(scope: Scope, start: date, end: date) -> Sources:
    """All four sources of ``scope`` for [start, end]: seven grouped queries, whatever the number of records."""
    lo, hi = _bounds(start, end)
    units: dict[int | None, Figures] = defaultdict(Figures)

    # 监督查评: submitted in the period.
    inspections = scope.filter(
        Inspection.objects.filter(state=Inspection.State.SUBMITTED, submitted_at__gte=lo, submitted_at__lt=hi)
    )
    for row in (
        inspections.order_by()
        .values("unit_id")
        .annotate(n=Count("pk"), total=Sum("score"), scored=Count("score"), failed=Sum("failed_items"))
    ):
        f = units[row["unit_id"]]
        f.inspections = row["n"]
        f.inspection_sum, f.inspection_scored = _float(row["total"]), row["scored"]
        f.failed_items = row["failed"] or 0
    for row in (
        ItemScore.objects.filter(inspection__in=inspections.values("pk"), rectification__isnull=False)
        .order_by()
        .values("inspection__unit_id")
        .annotate(n=Count("pk"))
    ):
        units[row["inspection__unit_id"]].rectifications = row["n"]

    # 服务调查: invitations created in the period (and how many of them were answered); responses submitted in it.
    for row in (
        scope.filter(Invitation.objects.filter(created_at__gte=lo, created_at__lt=hi))
        .order_by()
        .values("unit_id")
        .annotate(n=Count("pk"), answered=Count("pk", filter=Q(response__isnull=False)))
    ):
        f = units[row["unit_id"]]
        f.invited, f.responded = row["n"], row["answered"]
    for row in (
        scope.filter(Response.objects.filter(submitted_at__gte=lo, submitted_at__lt=hi))
        .order_by()
        .values("invitation__unit_id")
        .annotate(n=Count("pk"), total=Sum("score"), scored=Count("score"))
    ):
        f = units[row["invitation__unit_id"]]
        f.responses, f.survey_sum, f.survey_scored = row["n"], _float(row["total"]), row["scored"]

    # 意见建议: one pass over the suggestions alive during the period.
    opened_in = Q(opened_at__gte=lo, opened_at__lt=hi)
    for row in (
        scope.filter(Case.objects.filter(kind=Kind.SUGGESTION, opened_at__lt=hi))
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=lo))
        .order_by()
        .values("unit_id")
        .annotate(
            opened=Count("pk", filter=opened_in),
            closed=Count("pk", filter=Q(closed_at__gte=lo, closed_at__lt=hi)),
            still_open=Count("pk", filter=Q(closed_at__isnull=True) | Q(closed_at__gte=hi)),
        )
    ):
        f = units[row["unit_id"]]
        f.suggestions, f.suggestions_closed, f.suggestions_open = row["opened"], row["closed"], row["still_open"]

    # 第三方评估: current (not superseded) imports whose period overlaps ours.
    scores = scope.filter(
        AssessmentScore.objects.filter(
            assessment__superseded_by__isnull=True,
            assessment__period_start__lte=end,
            assessment__period_end__gte=start,
        )
    )
    for row in scores.order_by().values("unit_id").annotate(n=Count("pk"), total=Sum("score")):
        f = units[row["unit_id"]]
        f.assessment_sum, f.assessment_scored = _float(row["total"]), row["n"]
    firms = sorted(set(scores.order_by().values_list("assessment__firm", flat=True).distinct()))

    return Sources(start, end, {k: v for k, v in units.items() if not v.empty}, firms)


# --- the composite score of the performance sheet -----------------------------------------------------------

DEFAULT_WEIGHTS: dict[str, int] = {"ratings": 60, "inspections": 20, "surveys": 10, "assessments": 10}
WEIGHT_KEYS = tuple(DEFAULT_WEIGHTS)


@dataclass(frozen=True)
class Weights:
    """The four weights and where they come from (the region whose row applies; None: the defaults)."""

    ratings: int
    inspections: int
    surveys: int
    assessments: int
    region_id: int | None = None
    region_name: str = ""

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in WEIGHT_KEYS}

    @property
    def text(self) -> str:
        """e.g. "好差评60/监督查评20/服务调查10/第三方评估10（杭州市）" or "…（默认）"."""
        parts = "/".join(f"{label}{getattr(self, code)}" for code, label in SOURCES)
        return f"{parts}（{self.region_name or '默认'}）"


DEFAULTS = Weights(**DEFAULT_WEIGHTS)


class WeightBook:
    """Every region's weights row, read once: ``for_path`` walks a unit's region path up to the nearest row."""

    def __init__(self) -> None:
        from haochaping.analytics.models import PerformanceWeights

        self.by_path: dict[str, Weights] = {
            row["region__path"]: Weights(
                **{k: row[k] for k in WEIGHT_KEYS}, region_id=row["region_id"], region_name=row["region__name"]
            )
            for row in PerformanceWeights.objects.values("region_id", "region__path", "region__name", *WEIGHT_KEYS)
        }

    def for_path(self, path: str) -> Weights:
        segments = [s for s in path.split("/") if s]
        for n in range(len(segments), 0, -1):
            found = self.by_path.get("/".join(segments[:n]) + "/")
            if found is not None:
                return found
        return DEFAULTS


def weights_for(region: Region) -> Weights:
    """The weights that apply to a region: its own row, else the nearest ancestor's, else the defaults."""
    return WeightBook().for_path(region.path)


def composite(figures: dict[str, float | None], weights: Weights) -> tuple[float | None, list[str]]:
    """The weighted mean over the sources with a figure, and the codes of the sources without one.

    ``figures``: 0–100 per source code (None: the unit has no figure from that source). A source weighted 0 plays
    no part. None when no weighted source has a figure.
    """
    total = weight = 0.0
    missing = []
    for code, _label in SOURCES:
        value, w = figures.get(code), getattr(weights, code)
        if value is None:
            missing.append(code)
            continue
        if w:
            total += value * w
            weight += w
    return (round(total / weight, 2) if weight else None), missing


def source_labels(codes: list[str]) -> str:
    labels = dict(SOURCES)
    return "、".join(labels[c] for c in codes)


__all__ = [
    "DEFAULTS",
    "DEFAULT_WEIGHTS",
    "SOURCES",
    "WEIGHT_KEYS",
    "Figures",
    "Sources",
    "WeightBook",
    "Weights",
    "composite",
    "source_labels",
    "sources_for",
    "weights_for",
]
