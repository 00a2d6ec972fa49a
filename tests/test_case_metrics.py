"""The closed-loop figures (cases/metrics.py) on hand-built cases driven through the real services."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.cases import metrics, workdays
from haochaping.cases.models import Case, FeedbackGrade
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.services import case_act
from tests.cases_helpers import evidence, open_bad_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def assigned(world, case: Case, *, callback: bool | None = True) -> Case:
    """Assign to a_handler, record a call-back (reached or not, or none) and verify."""
    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    if callback is not None:
        data = {"at": timezone.now(), "channel": "phone", "reached": callback}
        if callback:
            data["rater_said"] = "等了一个小时"
        case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    return case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "情况属实"})


def act(world, case: Case, action: str, **data) -> Case:
    files = [evidence()] if action in ("fix_now", "complete", "appeal") else []
    now = data.pop("now", None)
    user = world.users["a_admin" if action == "approve_appeal" else "a_handler"]
    return case_act(case_id=case.pk, action=action, user=user, data=data, files=files, now=now)


def ledger(world, case: Case, *, late: bool) -> Case:
    deadline = workdays.add_workdays(timezone.now(), 3)
    act(world, case, "open_ledger", measures="增开窗口", deadline=deadline.isoformat())
    done = timezone.make_aware(datetime.combine(deadline + timedelta(days=3), time(10))) if late else None
    return act(world, case, "complete", measures="已增开窗口", now=done)


def rate(world, case: Case, grade: int) -> Case:
    return act(world, case, "rate_handling", feedback_grade=grade)


@pytest.fixture
def loop(world):
    """Seven 差评 of county A at the outcomes the figures distinguish."""
    c = {}
    c["fixed_closed"] = assigned(world, open_bad_review(world))
    act(world, c["fixed_closed"], "fix_now", measures="当场补办")
    rate(world, c["fixed_closed"], FeedbackGrade.SATISFIED)
    c["explained_closed"] = assigned(world, open_bad_review(world))
    act(world, c["explained_closed"], "explain", explanation="依法须提交原件")
    rate(world, c["explained_closed"], FeedbackGrade.BASIC)
    c["ledger_late"] = ledger(world, assigned(world, open_bad_review(world)), late=True)
    c["ledger_on_time"] = ledger(world, assigned(world, open_bad_review(world)), late=False)
    c["not_adopted"] = assigned(world, open_bad_review(world, phone=None), callback=None)
    act(world, c["not_adopted"], "appeal", ground="mistaken", reason="监控显示误触")
    act(world, c["not_adopted"], "approve_appeal", note="同意")
    c["not_reached"] = assigned(world, open_bad_review(world), callback=False)
    act(world, c["not_reached"], "fix_now", measures="已整改")
    c["new"] = open_bad_review(world)
    return c


def test_definitions_on_hand_built_cases(world, loop):
    m = metrics.case_metrics(Case.objects.all())
    assert m["opened"] == 7
    assert m["open"] == 1  # only the new one: the others are in feedback or closed
    # 回访率: 5 of the 6 real-name cases have an attempt (an unreached attempt counts as an attempt).
    assert (m["called_back"], m["callback_possible"], m["callback_rate"]) == (5, 6, round(5 / 6, 4))
    # 实名差评回访整改率: reached AND fixed-or-explained; the unreached one and the new one miss.
    assert (m["real_name_done"], m["real_name_adopted"]) == (4, 6)
    assert m["real_name_rate"] == round(4 / 6, 4) and m["real_name_rate"] < metrics.REAL_NAME_TARGET
    # 按期整改率: one of the two completed ledger cases was late.
    assert (m["ledger_on_time"], m["ledger_due"], m["on_time_rate"]) == (1, 2, 0.5)
    # 整改率: the not-adopted case is out of the denominator and counted on its own.
    assert (m["fixed_bad"], m["adopted_bad"], m["fix_rate"]) == (4, 6, round(4 / 6, 4))
    assert m["not_adopted"] == 1
    assert (m["fixed"], m["explained"], m["in_ledger"]) == (4, 1, 2)
    assert (m["satisfied"], m["basic"], m["dissatisfied"], m["no_response"]) == (1, 1, 0, 0)
    assert m["reached_feedback"] == 6 and m["reopen_rate"] == 0.0
    assert m["avg_days"] == 0.0 and m["avg_workdays"] == 0.0


def test_closed_is_never_fixed(world, loop):
    m = metrics.case_metrics(Case.objects.filter(pk=loop["explained_closed"].pk))
    assert m["closed"] == 1 and m["fixed"] == 0 and m["fix_rate"] == 0.0
    m = metrics.case_metrics(Case.objects.filter(pk=loop["ledger_on_time"].pk))
    assert m["closed"] == 0 and m["fixed"] == 1


def test_not_adopted_only_case_divides_by_nothing(world, loop):
    m = metrics.case_metrics(Case.objects.filter(pk=loop["not_adopted"].pk))
    assert m["not_adopted"] == 1 and m["adopted_bad"] == 0
    assert m["fix_rate"] is None and m["real_name_rate"] is None and m["callback_rate"] is None


def test_empty_set_has_no_rates():
    m = metrics.case_metrics(Case.objects.none())
    assert m["opened"] == 0
    assert all(m[rate] is None for rate in metrics.RATES)
    assert m["avg_days"] is None and m["avg_workdays"] is None


def test_reopened_case_counts_in_reopen_rate(world):
    case = assigned(world, open_bad_review(world))
    act(world, case, "explain", explanation="依法须提交原件")
    case = rate(world, case, FeedbackGrade.DISSATISFIED)
    assert case.reopen_count == 1 and case.notified_at is None  # reopening clears the feedback
    m = metrics.case_metrics(Case.objects.all())
    assert (m["reopened"], m["reached_feedback"], m["reopen_rate"]) == (1, 1, 1.0)
    assert m["explained"] == 0  # the outcome was cleared: it is being handled again


def test_overdue_follows_is_overdue(world):
    from haochaping.cases.services import is_overdue

    late, paused = open_bad_review(world), open_bad_review(world)
    past = workdays.today() - timedelta(days=3)
    Case.objects.filter(pk__in=[late.pk, paused.pk]).update(due_on=past)
    Case.objects.filter(pk=paused.pk).update(paused_at=timezone.now())
    m = metrics.case_metrics(Case.objects.all())
    assert m["overdue"] == 1
    assert [is_overdue(c) for c in Case.objects.order_by("pk")] == [True, False]


def test_ledger_overdue_uncompleted_counts_as_not_on_time(world):
    case = assigned(world, open_bad_review(world))
    act(world, case, "open_ledger", measures="增开窗口", deadline=workdays.add_workdays(timezone.now(), 2).isoformat())
    m = metrics.case_metrics(Case.objects.all())
    assert m["ledger_due"] == 0 and m["on_time_rate"] is None  # not due yet
    Case.objects.filter(pk=case.pk).update(rectify_deadline=workdays.today() - timedelta(days=1))
    m = metrics.case_metrics(Case.objects.all())
    assert (m["ledger_on_time"], m["ledger_due"], m["on_time_rate"]) == (0, 1, 0.0)


def complaint_b(world) -> Case:
    return complaint_open(
        ComplaintIn(content="窗口推诿", contact_phone="13900139000", unit_id=world.b.dept.pk), scope=ALL_SCOPE
    )


def test_metrics_by_region_and_unit_are_scoped(world):
    open_bad_review(world)
    open_bad_review(world)
    complaint_b(world)
    city = scope_for_user(world.users["city_admin"])
    rows = {r["label"]: r["metrics"]["opened"] for r in metrics.metrics_by(city, "region")}
    assert rows == {"上城区": 2, "拱墅区": 1}
    rows = {r["label"]: r["metrics"]["opened"] for r in metrics.metrics_by(city, "unit")}
    assert rows == {"上城区市场监督管理局": 2, "拱墅区市场监督管理局": 1}
    b = scope_for_user(world.users["b_admin"])
    assert [(r["label"], r["metrics"]["opened"]) for r in metrics.metrics_by(b, "unit")] == [
        ("拱墅区市场监督管理局", 1)
    ]
    # A county's own cases are its "本级" row when grouped by region.
    assert [r["label"] for r in metrics.metrics_by(b, "region")] == ["拱墅区（本级）"]
    dept = scope_for_user(world.users["a_dept_admin"])
    assert [r["metrics"]["opened"] for r in metrics.metrics_by(dept, "unit")] == [2]


def test_period_limits_by_opening_date(world):
    old, new = open_bad_review(world), open_bad_review(world)
    today = workdays.today()
    Case.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=400))
    rows = metrics.metrics_by(ALL_SCOPE, "unit", today - timedelta(days=30), today)
    assert rows[0]["metrics"]["opened"] == 1
    period = metrics.Period(today - timedelta(days=500), today)
    assert metrics.cases_in(ALL_SCOPE, period).count() == 2
    assert list(metrics.cases_in(ALL_SCOPE, metrics.Period(today, today)).values_list("pk", flat=True)) == [new.pk]


def test_metrics_by_is_a_constant_number_of_queries(world, django_assert_max_num_queries):
    for _ in range(3):
        open_bad_review(world)
    complaint_b(world)
    with django_assert_max_num_queries(4):
        metrics.metrics_by(ALL_SCOPE, "unit")


def test_ratings_figures_count_adopted_only(world, loop):
    from haochaping.ratings.models import Rating

    m = metrics.case_metrics(Case.objects.all(), Rating.objects.all())
    assert m["ratings"] == 6 and m["bad_ratings"] == 6  # the not-adopted rating is left out


def test_age_cutoffs_count_working_days():
    from datetime import date

    today = date(2025, 10, 10)  # Friday after the National Day week (Oct 1–8 off, Sep 28 and Oct 11 worked)
    cut = metrics.age_cutoffs(today, [2, 6, 16])
    for k, boundary in cut.items():
        last = timezone.localtime(boundary).date() - timedelta(days=1)  # the latest opening date of age ≥ k
        assert workdays.workdays_between(last, today) >= k
        assert workdays.workdays_between(last + timedelta(days=1), today) < k
