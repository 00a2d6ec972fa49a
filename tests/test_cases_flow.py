"""The closed loop end to end through the services: 差评 → case → assign → call-back → ledger → extend → done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from haochaping.cases import workdays
from haochaping.cases.models import CaseEvent, FeedbackGrade, Notification, Outcome, State
from haochaping.cases.services import case_act, case_rate_by_token
from haochaping.lib.errors import Conflict, PermissionDenied, ValidationFailed
from haochaping.messaging.models import SmsMessage
from haochaping.ratings.codes import Adoption
from tests.cases_helpers import evidence, open_bad_review, verify_case

pytestmark = pytest.mark.django_db(transaction=False)


def test_bad_review_opens_case_in_same_transaction(world):
    case = open_bad_review(world)
    assert case.state == State.NEW
    assert case.unit == world.a.dept
    assert case.real_name
    assert workdays.is_workday(case.callback_due)
    assert case.events.get().action == "open"


def test_good_and_default_ratings_open_no_case(world):
    from haochaping.cases.models import Case

    open_bad_review(world, grade="satisfied") if False else None
    before = Case.objects.count()
    from tests.cases_helpers import ApiKey, scope_for_api_key, submit_ratings  # noqa: F401

    key = ApiKey.objects.get(name="上城区审批系统")
    items = [
        {"grade": "satisfied", "channel": "qr", "window": {"hall": world.a.hall.code, "code": "01"}},
        {"grade": "basic", "channel": "qr", "window": {"hall": world.a.hall.code, "code": "01"}},
    ]
    results = submit_ratings(items, scope=scope_for_api_key(key), client="t")
    assert all(r.ok for r in results)
    assert Case.objects.count() == before


def test_full_ledger_flow(world, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    u = world.users
    case = open_bad_review(world)
    with pytest.raises(PermissionDenied):
        case_act(case_id=case.pk, action="assign", user=u["a_handler"], data={"handler": u["a_handler"].pk})
    case = case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    assert case.state == State.ASSIGNED and case.handler == u["a_handler"]
    assert Notification.objects.filter(recipient=u["a_handler"], kind="assigned").exists()
    with pytest.raises(ValidationFailed) as exc:
        case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"})
    assert exc.value.field == "facts"
    now = timezone.now()
    case_act(
        case_id=case.pk,
        action="callback",
        user=u["a_handler"],
        data={"at": now.isoformat(), "channel": "phone", "reached": "1", "rater_said": "等了一个小时"},
    )
    case = case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "高峰期窗口不足，情况属实"})
    assert case.state == State.VERIFIED
    deadline = workdays.add_workdays(now, 3)
    case = case_act(
        case_id=case.pk,
        action="open_ledger",
        user=u["a_handler"],
        data={"measures": "增开窗口，实行预约", "deadline": deadline.isoformat()},
    )
    assert case.state == State.RECTIFYING and case.due_on == deadline
    new_deadline = workdays.add_workdays(deadline, 2)
    case = case_act(
        case_id=case.pk,
        action="extend",
        user=u["a_handler"],
        data={"deadline": new_deadline.isoformat(), "reason": "设备采购需要时间"},
    )
    assert case.deadline == new_deadline
    with pytest.raises(Conflict):
        case_act(
            case_id=case.pk,
            action="extend",
            user=u["a_handler"],
            data={"deadline": workdays.add_workdays(new_deadline, 1).isoformat(), "reason": "再延"},
        )
    with pytest.raises(ValidationFailed) as exc:
        case_act(case_id=case.pk, action="complete", user=u["a_handler"], data={"measures": "已增开"})
    assert exc.value.field == "files"
    with django_capture_on_commit_callbacks(execute=True):
        case = case_act(
            case_id=case.pk,
            action="complete",
            user=u["a_handler"],
            data={"measures": "已增开2个窗口"},
            files=[evidence()],
        )
    assert case.state == State.FEEDBACK and case.is_fixed and case.notified_via == "sms"
    assert case.attachments.count() == 1
    sms = SmsMessage.objects.filter(kind="feedback").get()
    assert "…" in sms.text  # the link is redacted in the stored copy
    assert case.state != State.CLOSED


def test_rater_feedback_dissatisfied_reopens_once(world, settings):
    captured = {}
    from haochaping.cases import services

    real = services.feedback_url

    def spy(token):
        captured["token"] = token
        return real(token)

    settings.HAOCHAPING_SMS_BACKEND = "console"
    u = world.users
    case = open_bad_review(world)
    verify_case(world, case, rater_said="态度差", facts="属实")
    services.feedback_url = spy
    try:
        case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "依法须提交原件"})
    finally:
        services.feedback_url = real
    case = case_rate_by_token(captured["token"], feedback_grade=FeedbackGrade.DISSATISFIED, comment="没解决")
    assert case.state == State.ASSIGNED and case.reopen_count == 1 and case.escalation_level == 2
    assert case.outcome == ""
    assert Notification.objects.filter(recipient=u["a_admin"], kind="reopened").exists()


def test_appeal_approved_marks_rating_not_adopted(world):
    u = world.users
    case = open_bad_review(world, phone=None)
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "评价人误按"})
    case = case_act(
        case_id=case.pk,
        action="appeal",
        user=u["a_handler"],
        data={"ground": "mistaken", "reason": "监控显示误触"},
        files=[evidence("video-still.png")],
    )
    case.rating.refresh_from_db()
    assert case.rating.adoption == Adoption.UNDER_REVIEW
    with pytest.raises(PermissionDenied):  # the city agency is not the same level
        case_act(case_id=case.pk, action="approve_appeal", user=u["city_admin"], data={"note": "同意"})
    case = case_act(case_id=case.pk, action="approve_appeal", user=u["a_admin"], data={"note": "同意，不予采纳"})
    case.rating.refresh_from_db()
    assert case.rating.adoption == Adoption.NOT_ADOPTED
    assert case.outcome == Outcome.NOT_ADOPTED and case.state == State.FEEDBACK and case.notified_via == "public"
    assert Notification.objects.filter(recipient=u["a_admin"], kind="not_adopted").exists()
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["open", "assign", "verify", "appeal", "approve_appeal"]


def test_transfer_needs_reason_and_other_unit(world):
    u = world.users
    case = open_bad_review(world)
    with pytest.raises(ValidationFailed) as exc:
        case_act(case_id=case.pk, action="transfer", user=u["a_dept_admin"], data={"to_unit": world.a.agency.pk})
    assert exc.value.field == "reason"
    case = case_act(
        case_id=case.pk,
        action="transfer",
        user=u["a_dept_admin"],
        data={"to_unit": world.b.dept.pk, "reason": "该窗口由拱墅区派驻"},
    )
    assert case.unit == world.b.dept and case.state == State.NEW and case.region == world.b.region
    assert case.callback_due >= timezone.localdate() - timedelta(days=0)


def test_token_page_bad_rating_opens_real_name_case_and_shows_its_number(world):
    from django.test import Client

    from haochaping.accounts.scope import ALL_SCOPE
    from haochaping.cases.models import Case
    from haochaping.ratings.services import service_case_register

    reg = service_case_register(
        scope=ALL_SCOPE,
        case_no="BJ-CASE-1",
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
        applicant_phone="13900139000",
    )
    r = Client().post(f"/r/{reg.token}/", {"grade": "very_dissatisfied", "comment": "材料被退回三次"})
    assert r.status_code == 200
    case = Case.objects.get()
    assert case.number in r.content.decode()
    assert case.real_name and case.contact_phone_masked == "139****9000"
    assert case.service_case.case_no == "BJ-CASE-1" and case.unit == world.a.dept
