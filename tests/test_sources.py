"""The evaluation sources beside 好差评 (analytics/sources.py): figures per scope, period and unit; weights."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, Scope, scope_for_user
from haochaping.analytics import sources
from haochaping.analytics.models import PerformanceWeights
from haochaping.cases import workdays
from haochaping.cases.models import Case, Kind, Outcome, Rectification, State
from haochaping.inspections.models import Checklist, ChecklistItem, Inspection, ItemScore, Mode
from haochaping.society.models import AssessmentImport, AssessmentScore
from haochaping.surveys.models import Invitation, Response, Survey


def at(d: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(hour)))


def month_of(d: date) -> tuple[date, date]:
    first = d.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def add_inspection(world, county: str, day: date, score: str, *, failed: int = 0, rectify: int = 0, draft=False):
    c = getattr(world, county)
    checklist = Checklist.objects.filter(region=world.city).first() or Checklist.objects.create(
        name="窗口服务检查表", region=world.city
    )
    inspection = Inspection.objects.create(
        checklist=checklist,
        mode=Mode.UNANNOUNCED,
        region=c.region,
        hall=c.hall,
        window=c.window,
        unit=c.dept,
        inspector=world.users["a_inspector"],
        state=Inspection.State.DRAFT if draft else Inspection.State.SUBMITTED,
        started_at=at(day, 9),
        submitted_at=None if draft else at(day),
        score=None if draft else Decimal(score),
        failed_items=failed,
    )
    for i in range(rectify):
        extra = ChecklistItem.objects.create(checklist=checklist, order=i + 1, text=f"检查项{i}", max_score=10)
        rect = Rectification.objects.create(
            title="整改", region=c.region, unit=c.dept, deadline=day + timedelta(days=10),
            created_by=world.users["root"],
        )  # fmt: skip
        ItemScore.objects.create(inspection=inspection, item=extra, score=0, passed=False, rectification=rect)
    return inspection


def add_survey(world, county: str, day: date, scores: list[str | None], *, unanswered: int = 0, answered_on=None):
    """Invitations created on ``day`` (one per score + ``unanswered``); each score is a response on answered_on."""
    c = getattr(world, county)
    survey = Survey.objects.filter(region=world.city).first() or Survey.objects.create(
        title="办事体验调查", region=world.city, state=Survey.State.OPEN, created_by=world.users["root"]
    )
    for score in [*scores, *["-"] * unanswered]:
        inv = Invitation.objects.create(
            survey=survey, channel=Invitation.Channel.SMS, token_hash=secrets.token_hex(32), region=c.region,
            unit=c.dept, created_at=at(day, 10),
        )  # fmt: skip
        if score != "-":
            when = at(answered_on or day, 15)
            inv.responded_at = when
            inv.save(update_fields=["responded_at"])
            Response.objects.create(
                invitation=inv, survey=survey, submitted_at=when, score=None if score is None else Decimal(score)
            )


def add_suggestion(world, county: str, day: date, *, closed_on: date | None = None):
    c = getattr(world, county)
    return Case.objects.create(
        kind=Kind.SUGGESTION, unit=c.dept, region=c.region, channel="pc", summary="建议增加自助填表机",
        opened_at=at(day), callback_due=day, resolve_due=day + timedelta(days=15),
        state=State.CLOSED if closed_on else State.NEW, closed_at=at(closed_on) if closed_on else None,
        outcome=Outcome.EXPLAINED if closed_on else "", notified_at=at(closed_on) if closed_on else None,
    )  # fmt: skip


def add_assessment(world, start: date, end: date, scores: dict[str, str], *, firm="浙江某评估公司", superseded=None):
    imp = AssessmentImport.objects.create(
        firm=firm, region=world.city, period_start=start, period_end=end, file_name="x.xlsx", sha256="0" * 64,
        rows=len(scores), uploaded_by=world.users["root"], superseded_by=superseded,
    )  # fmt: skip
    for county, score in scores.items():
        AssessmentScore.objects.create(assessment=imp, unit=getattr(world, county).dept, score=Decimal(score))
    return imp


def seed_sources(world, month: date) -> None:
    """A month of every source for counties a and b (and some records outside the month)."""
    start, end = month_of(month)
    d = start + timedelta(days=4)
    add_inspection(world, "a", d, "90.0", failed=1, rectify=1)
    add_inspection(world, "a", d + timedelta(days=1), "70.0", failed=2)
    add_inspection(world, "a", d, "0", draft=True)  # a draft: never counted
    add_inspection(world, "b", d, "80.0")
    add_inspection(world, "a", start - timedelta(days=3), "10.0")  # the month before
    add_survey(world, "a", d, ["100.0", "50.0", None], unanswered=1)  # 4 invited, 3 answered, 2 scored
    add_survey(world, "b", d, ["60.0"], unanswered=3)
    add_survey(world, "a", start - timedelta(days=5), ["20.0"], answered_on=d)  # invited before, answered in
    add_suggestion(world, "a", d)
    add_suggestion(world, "a", d, closed_on=d + timedelta(days=2))
    add_suggestion(world, "a", start - timedelta(days=20), closed_on=d)  # opened before, closed in the month
    add_suggestion(world, "b", d)
    old = add_assessment(world, start, end, {"a": "10.0"})
    add_assessment(world, start, end, {"a": "88.0", "b": "76.0"}, firm="第三方A")
    old.superseded_by = AssessmentImport.objects.filter(firm="第三方A").first()
    old.save()
    add_assessment(world, end + timedelta(days=1), end + timedelta(days=30), {"a": "1.0"}, firm="下月公司")


@pytest.fixture
def month() -> date:
    return month_of(workdays.today().replace(day=1) - timedelta(days=1))[0]


def test_figures_per_unit_and_in_total(world, month):
    seed_sources(world, month)
    start, end = month_of(month)
    with CaptureQueriesContext(connection) as queries:
        s = sources.sources_for(ALL_SCOPE, start, end)
    assert len(queries) <= 8  # grouped queries, whatever the number of records
    a, b = s.unit(world.a.dept.pk), s.unit(world.b.dept.pk)
    assert (a.inspections, a.inspection_score, a.failed_items, a.rectifications) == (2, 80.0, 3, 1)
    assert (b.inspections, b.inspection_score, b.failed_items) == (1, 80.0, 0)
    assert (a.invited, a.responded, a.response_rate) == (4, 3, 0.75)
    assert a.responses == 4  # three of this month's invitations and last month's one answered in the month
    assert a.survey_score == pytest.approx((100 + 50 + 20) / 3, abs=0.01)
    assert (b.invited, b.responded, b.responses, b.survey_score) == (4, 1, 1, 60.0)
    assert (a.suggestions, a.suggestions_closed, a.suggestions_open) == (2, 2, 1)
    assert (b.suggestions, b.suggestions_open) == (1, 1)
    assert (a.assessment_score, b.assessment_score) == (88.0, 76.0)
    t = s.total
    assert (t.inspections, t.inspection_score, t.failed_items) == (3, 80.0, 3)
    assert (t.invited, t.responded, t.responses) == (8, 4, 5)
    assert t.assessment_score == 82.0
    assert (s.units_inspected, s.units_assessed, s.firms) == (2, 2, ["第三方A"])


def test_scope_filters_every_source(world, month):
    seed_sources(world, month)
    start, end = month_of(month)
    a_scope = scope_for_user(world.users["a_admin"])
    s = sources.sources_for(a_scope, start, end)
    assert set(s.units) == {world.a.dept.pk}
    dept = scope_for_user(world.users["a_dept_admin"])
    assert set(sources.sources_for(dept, start, end).units) == {world.a.dept.pk}
    b_units = Scope(kind="units", unit_ids=frozenset({world.b.dept.pk}))
    assert sources.sources_for(b_units, start, end).total.inspections == 1
    assert sources.sources_for(Scope(kind="none"), start, end).units == {}


def test_by_region_adds_units_up_per_child(world, month):
    seed_sources(world, month)
    start, end = month_of(month)
    s = sources.sources_for(ALL_SCOPE, start, end)
    per = s.by_region(world.city)
    assert per[world.a.region.pk].inspections == 2 and per[world.b.region.pk].inspections == 1
    assert s.by_region(None)[world.province.pk].inspections == 3


def test_an_empty_period_has_no_figures(world):
    s = sources.sources_for(ALL_SCOPE, date(2001, 1, 1), date(2001, 1, 31))
    assert s.units == {} and s.total.inspection_score is None and s.total.response_rate is None


def test_weights_nearest_region_up_else_defaults(world):
    book = sources.WeightBook()
    assert book.for_path(world.a.region.path) == sources.DEFAULTS
    PerformanceWeights.objects.create(region=world.city, ratings=50, inspections=30, surveys=10, assessments=10)
    w = sources.weights_for(world.a.region)
    assert (w.ratings, w.inspections, w.region_id) == (50, 30, world.city.pk)
    PerformanceWeights.objects.create(region=world.a.region, ratings=100, inspections=0, surveys=0, assessments=0)
    assert sources.weights_for(world.a.region).ratings == 100
    assert sources.weights_for(world.b.region).ratings == 50
    assert "杭州市" in sources.weights_for(world.b.region).text


def test_composite_is_the_weighted_mean_over_the_sources_present():
    w = sources.DEFAULTS
    value, missing = sources.composite({"ratings": 90, "inspections": 60, "surveys": 80, "assessments": 70}, w)
    assert value == pytest.approx((90 * 60 + 60 * 20 + 80 * 10 + 70 * 10) / 100)
    value, missing = sources.composite({"ratings": 90, "inspections": 60}, w)
    assert value == pytest.approx((90 * 60 + 60 * 20) / 80) and missing == ["surveys", "assessments"]
    assert sources.composite({}, w) == (None, ["ratings", "inspections", "surveys", "assessments"])
    zero = sources.Weights(ratings=0, inspections=100, surveys=0, assessments=0)
    assert sources.composite({"ratings": 90}, zero) == (None, ["inspections", "surveys", "assessments"])
