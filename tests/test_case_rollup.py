"""The closed-loop figures by day of opening (cases/rollup.py) equal metrics.case_metrics over the same cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.analytics import rollups
from haochaping.cases import metrics, rollup, workdays
from haochaping.cases.models import Case, CaseDay, CaseDayDirty, CaseMonth, FeedbackGrade
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.directory.models import Region
from tests.cases_helpers import open_bad_review
from tests.test_case_metrics import act, assigned, ledger, rate

pytestmark = pytest.mark.django_db

COMPARED = [
    *metrics.RATES, "opened", "open", "overdue", "closed", "fixed", "explained", "not_adopted", "in_ledger",
    "satisfied", "basic", "dissatisfied", "no_response", "ledger_due", "ledger_on_time", "reopened",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _live(start, end, region=None):
    qs = Case.objects.all()
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    lo, hi = metrics.Period(start, end).bounds()
    return metrics.case_metrics(qs.filter(opened_at__gte=lo, opened_at__lt=hi))


def _rolled(start, end, region=None):
    ids = list(Region.objects.filter(path__startswith=region.path).values_list("id", flat=True)) if region else None
    return rollup.figures(start, end, region_ids=ids)


def _same(start, end, region=None):
    live, rolled = _live(start, end, region), _rolled(start, end, region)
    assert {k: rolled[k] for k in COMPARED} == {k: live[k] for k in COMPARED}
    assert rolled["avg_days"] == live["avg_days"]


def test_figures_follow_every_kind_of_change(world):
    today = workdays.today()
    month = today.replace(day=1)
    _same(today, today)  # nothing yet
    c1 = assigned(world, open_bad_review(world))
    act(world, c1, "fix_now", measures="当场补办")
    rate(world, c1, FeedbackGrade.SATISFIED)
    ledger(world, assigned(world, open_bad_review(world)), late=True)
    c3 = assigned(world, open_bad_review(world, phone=None), callback=None)
    act(world, c3, "appeal", ground="mistaken", reason="误触")
    act(world, c3, "approve_appeal", note="同意")
    c4 = assigned(world, open_bad_review(world))
    act(world, c4, "explain", explanation="依法须提交原件")
    rate(world, c4, FeedbackGrade.DISSATISFIED)  # reopened
    open_bad_review(world)
    complaint = ComplaintIn(
        content="窗口推诿", contact_name="张三", contact_phone="13900139000", unit_id=world.b.dept.pk
    )
    complaint_open(complaint, scope=ALL_SCOPE)
    assert CaseDayDirty.objects.exists()
    _same(today, today)
    _same(month, today)
    _same(today, today, world.a.region)
    assert not CaseDayDirty.objects.exists()  # reading refreshed them
    assert CaseDay.objects.exists() and CaseMonth.objects.exists()
    assert rollup.verify() == []


def test_the_calendar_moves_overdue_and_ledger_deadlines_without_a_write(world):
    late = open_bad_review(world)
    pending = assigned(world, open_bad_review(world))
    act(
        world,
        pending,
        "open_ledger",
        measures="增开窗口",
        deadline=workdays.add_workdays(timezone.now(), 3).isoformat(),
    )
    today = workdays.today()
    _same(today, today)
    assert _rolled(today, today)["ledger_due"] == 0
    # As if days had passed: a step overdue, and a ledger deadline gone by without the rectification.
    Case.objects.filter(pk=late.pk).update(due_on=today - timedelta(days=2))
    Case.objects.filter(pk=pending.pk).update(rectify_deadline=today - timedelta(days=1))
    rolled = _rolled(today, today)
    assert rolled["overdue"] >= 1 and rolled["ledger_due"] == 1 and rolled["on_time_rate"] == 0.0
    _same(today, today)


def test_a_transfer_moves_the_case_to_the_other_unit(world):
    case = open_bad_review(world)
    before = case.unit_id
    u = world.users
    act_user = u["a_dept_admin"]
    from haochaping.cases.services import case_act

    other = world.a.agency
    case_act(case_id=case.pk, action="transfer", user=act_user, data={"to_unit": other.pk, "reason": "不属本单位"})
    today = workdays.today()
    assert _rolled(today, today)["opened"] == 1
    assert not CaseDay.objects.filter(unit_id=before).exclude(opened=0).exists()
    assert rollup.verify() == []


def test_whole_months_read_the_month_table_and_rebuild_restores(world):
    open_bad_review(world)
    today = workdays.today()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    _same(first, last)
    CaseMonth.objects.update(opened=99)
    assert _rolled(first, last)["opened"] == 99  # proof that the month table answered
    assert any(d[0] == "CaseMonth" for d in rollup.verify())
    rollups.rebuild()
    assert rollup.verify() == [] and rollups.verify() == []
    _same(first, last)


def test_back_dated_cases_land_on_their_own_day(world):
    case = open_bad_review(world)
    past = timezone.now() - timedelta(days=40)
    Case.objects.filter(pk=case.pk).update(opened_at=past)  # e.g. a paper form keyed late
    rollup.mark([rollup.key_of(t, case.region_id, case.unit_id) for t in (past, case.opened_at)])
    d = timezone.localtime(past).date()
    _same(d, d)
    assert rollup.verify() == []
