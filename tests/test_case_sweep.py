"""The supervision sweep: reminders once per due date, escalation in two levels, expired feedback, the worker."""

from __future__ import annotations

from datetime import date, datetime, time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.cases import workdays
from haochaping.cases.models import Case, CaseEvent, CloseReason, Notification, State
from haochaping.cases.policy import policy_for_path
from haochaping.cases.services import case_act
from haochaping.cases.sweep import sweep
from haochaping.ratings import intake
from tests.cases_helpers import open_bad_review

pytestmark = pytest.mark.django_db(transaction=False)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def assigned(world, **kwargs) -> Case:
    u = world.users
    case = open_bad_review(world, **kwargs)
    return case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})


def notes(kind: str, username: str | None = None):
    qs = Notification.objects.filter(kind=kind)
    return qs.filter(recipient__username=username) if username else qs


def test_due_soon_reminds_the_handler_once_per_due_date(world):
    case = assigned(world)
    policy = policy_for_path(case.region.path)
    # The last working day of the due-soon window (the due date itself counts as within it).
    day = case.due_on
    assert workdays.workdays_between(day, case.due_on) <= policy.due_soon_days
    first = sweep(at(day, 9))
    second = sweep(at(day, 9) + timezone.timedelta(minutes=15))
    assert first.reminded == 1 and second.reminded == 0
    assert notes("due_soon", "a_handler").count() == 1
    assert CaseEvent.objects.filter(case=case, action="remind").count() == 1
    # A new due date (the call-back reached: the resolve deadline applies now) is reminded again, once.
    now = timezone.now()
    data = {"at": now.isoformat(), "channel": "phone", "reached": "1", "rater_said": "等了很久"}
    case = case_act(case_id=case.pk, action="callback", user=world.users["a_handler"], data=data)
    assert case.due_on == case.resolve_due
    sweep(at(case.due_on))
    sweep(at(case.due_on, 11))
    assert notes("due_soon", "a_handler").count() == 2
    assert CaseEvent.objects.filter(case=case, action="remind").count() == 2


def test_an_unassigned_case_due_soon_reminds_the_unit_heads_once(world):
    case = open_bad_review(world)
    sweep(at(case.due_on, 9))
    sweep(at(case.due_on, 11))
    assert list(notes("due_soon").values_list("recipient__username", flat=True)) == ["a_dept_admin"]
    # …and the reminder is in the case's history too.
    assert CaseEvent.objects.filter(case=case, action="remind").count() == 1


def test_overdue_escalates_to_the_unit_heads_then_to_the_agency(world):
    case = open_bad_review(world)
    policy = policy_for_path(case.region.path)
    day1 = workdays.add_workdays(case.due_on, 1)
    report = sweep(at(day1))
    case.refresh_from_db()
    assert report.overdue == 1 and case.escalation_level == 1
    assert list(notes("overdue").values_list("recipient__username", flat=True)) == ["a_dept_admin"]
    assert CaseEvent.objects.get(case=case, action="escalate").data == {"level": 1}
    assert sweep(at(day1, 15)).overdue == 0  # the same day again: nothing new
    if policy.escalate_after_days > 1:
        sweep(at(workdays.add_workdays(case.due_on, policy.escalate_after_days - 1)))
        assert not notes("escalated").exists()
    report = sweep(at(workdays.add_workdays(case.due_on, policy.escalate_after_days)))
    case.refresh_from_db()
    assert report.escalated == 1 and case.escalation_level == 2
    assert list(notes("escalated").values_list("recipient__username", flat=True)) == ["a_admin"]
    sweep(at(workdays.add_workdays(case.due_on, policy.escalate_after_days + 3)))
    assert notes("escalated").count() == 1 and notes("overdue").count() == 1
    levels = [e.data["level"] for e in CaseEvent.objects.filter(case=case, action="escalate").order_by("at", "id")]
    assert levels == [1, 2]
    assert CaseEvent.objects.filter(case=case, action="escalate", actor__isnull=True, actor_label="系统").count() == 2


def test_an_expired_feedback_period_closes_without_response(world):
    u = world.users
    case = assigned(world, phone=None)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"})
    case = case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "按规定办理"})
    assert case.state == State.FEEDBACK
    assert sweep(at(case.feedback_due, 23)).closed_no_response == 0  # the last day still counts
    report = sweep(at(workdays.add_workdays(case.feedback_due, 1)))
    case.refresh_from_db()
    assert report.closed_no_response == 1
    assert case.state == State.CLOSED and case.close_reason == CloseReason.NO_RESPONSE and case.closed_at
    assert CaseEvent.objects.filter(case=case, action="close_no_response", actor_label="系统").count() == 1


def test_a_paused_case_is_neither_reminded_nor_escalated(world):
    case = assigned(world)
    case_act(case_id=case.pk, action="pause", user=world.users["a_handler"], data={"reason": "约定下周上门"})
    sweep(at(case.due_on))
    report = sweep(at(workdays.add_workdays(case.due_on, 5)))
    case.refresh_from_db()
    assert report.reminded == report.overdue == report.escalated == 0
    assert case.escalation_level == 0 and not Notification.objects.filter(kind__in=["due_soon", "overdue"]).exists()


def test_a_pending_appeal_past_its_review_period_goes_to_the_agency_once(world, settings, tmp_path):
    from tests.cases_helpers import evidence

    settings.MEDIA_ROOT = tmp_path
    u = world.users
    case = assigned(world, phone=None)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "评价人误操作"})
    case = case_act(
        case_id=case.pk,
        action="appeal",
        user=u["a_handler"],
        data={"ground": "mistaken", "reason": "误评"},
        files=[evidence()],
    )
    before = notes("escalated").count()
    sweep(at(workdays.add_workdays(case.due_on, 1)))
    sweep(at(workdays.add_workdays(case.due_on, 4)))
    case.refresh_from_db()
    assert case.escalation_level == 2 and case.state == State.APPEALING
    assert notes("escalated").count() == before + 1
    assert notes("escalated", "a_admin").count() == 1


def test_the_worker_task_runs_the_sweep(world, settings):
    from huey.contrib.djhuey import HUEY

    from haochaping.cases.tasks import sweep_cases

    assert HUEY.immediate  # tests run tasks inline
    case = open_bad_review(world)
    yesterday = workdays.add_workdays(timezone.localdate(), 0) - timezone.timedelta(days=10)
    Case.objects.filter(pk=case.pk).update(due_on=yesterday, callback_due=yesterday)
    sweep_cases()
    case.refresh_from_db()
    assert case.escalation_level == 2


def test_sweep_cases_command_prints_the_counts(world):
    out = StringIO()
    call_command("sweep_cases", stdout=out)
    assert "临期提醒 0 件" in out.getvalue()


def test_open_cases_opens_the_missing_cases(world, monkeypatch):
    key = ApiKey.objects.get(name="上城区审批系统")
    monkeypatch.setattr(intake, "_after_write", [])  # as if the 差评 were imported around the intake hook
    item = {"grade": "dissatisfied", "channel": "qr", "window": {"hall": world.a.hall.code, "code": "01"}}
    [result] = intake.submit_ratings([item], scope=scope_for_api_key(key), client="t")
    assert result.ok and not Case.objects.exists()
    monkeypatch.undo()
    out = StringIO()
    call_command("open_cases", stdout=out)
    assert "补立案 1 件" in out.getvalue()
    case = Case.objects.get()
    assert str(case.rating.public_id) == result.rating_id and case.state == State.NEW
    call_command("open_cases", stdout=StringIO())
    assert Case.objects.count() == 1
