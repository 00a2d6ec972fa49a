"""The staff case pages: queue scoping and filters, every page action through its form, errors by the field,
read-only roles, scoped evidence download and the reminders page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from haochaping.cases import services, workdays
from haochaping.cases.models import Case, CaseAttachment, CaseEvent, Notification, State
from tests.cases_helpers import PNG, evidence, open_bad_review

pytestmark = pytest.mark.django_db


def client_for(world, username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="pw-" + username)
    return client


def detail_url(case: Case) -> str:
    return reverse("cases:detail", args=[case.pk])


def act_url(case: Case, action: str) -> str:
    return reverse("cases:act", args=[case.pk, action])


def now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def assigned_case(world) -> Case:
    case = open_bad_review(world)
    services.case_act(
        case_id=case.pk,
        action="assign",
        user=world.users["a_dept_admin"],
        data={"handler": world.users["a_handler"].pk},
    )
    return case


def verified_case(world) -> Case:
    case = assigned_case(world)
    handler = world.users["a_handler"]
    services.case_act(
        case_id=case.pk,
        action="callback",
        user=handler,
        data={"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "排队一小时"},
    )
    services.case_act(case_id=case.pk, action="verify", user=handler, data={"facts": "属实"})
    return case


# --- queue ------------------------------------------------------------------------------------------------


def test_queue_needs_login(world):
    response = Client().get(reverse("cases:queue"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_queue_scoping(world):
    mine = assigned_case(world)
    waiting = open_bad_review(world, phone="13900139000")
    handler_page = client_for(world, "a_handler").get(reverse("cases:queue"))
    assert handler_page.status_code == 200
    body = handler_page.content.decode()
    assert mine.number in body and waiting.number not in body

    admin_body = client_for(world, "a_dept_admin").get(reverse("cases:queue")).content.decode()
    assert mine.number in admin_body and waiting.number in admin_body and "待分派" in admin_body

    for username in ("a_admin", "a_auditor", "a_inspector", "city_admin", "root"):
        body = client_for(world, username).get(reverse("cases:queue")).content.decode()
        assert mine.number in body and waiting.number in body, username

    b_admin = client_for(world, "b_admin")
    assert mine.number not in b_admin.get(reverse("cases:queue")).content.decode()
    assert b_admin.get(detail_url(mine)).status_code == 404
    # a handler cannot open a case of their unit that is not theirs
    assert client_for(world, "a_handler").get(detail_url(waiting)).status_code == 404
    # window staff are not part of the case workflow
    assert client_for(world, "a_clerk").get(detail_url(mine)).status_code == 404


def test_queue_filters_counts_and_order(world):
    first = assigned_case(world)
    second = open_bad_review(world, phone="13900139000")
    yesterday = workdays.today() - timedelta(days=1)
    Case.objects.filter(pk=second.pk).update(due_on=yesterday)  # overdue (the sweep is not under test here)
    client = client_for(world, "a_dept_admin")

    body = client.get(reverse("cases:queue")).content.decode()
    assert body.index(second.number) < body.index(first.number)  # overdue first
    assert "已超期" in body

    body = client.get(reverse("cases:queue"), {"overdue": "1"}).content.decode()
    assert second.number in body and first.number not in body
    body = client.get(reverse("cases:queue"), {"state": "assigned"}).content.decode()
    assert first.number in body and second.number not in body
    body = client.get(reverse("cases:queue"), {"q": first.number}).content.decode()
    assert first.number in body and second.number not in body
    body = client.get(reverse("cases:queue"), {"mine": "1"}).content.decode()
    assert first.number not in body and second.number not in body
    body = client.get(reverse("cases:queue"), {"unit": world.b.dept.pk}).content.decode()
    assert first.number not in body
    body = client.get(reverse("cases:queue"), {"kind": "complaint"}).content.decode()
    assert first.number not in body and second.number not in body
    # a tampered filter is reported and ignored, not a 500
    response = client.get(reverse("cases:queue"), {"state": "nonsense"})
    assert response.status_code == 200 and first.number in response.content.decode()

    response = client.get(reverse("cases:queue"))
    counts = {c["state"]: c["count"] for c in response.context["counts"]}
    assert counts["new"] == 1 and counts["assigned"] == 1 and counts["closed"] == 0


def test_queue_due_soon_uses_the_policy(world):
    case = assigned_case(world)
    today = workdays.today()
    soon = workdays.add_workdays(today, services.policy_of(case).due_soon_days)
    Case.objects.filter(pk=case.pk).update(due_on=soon)
    body = client_for(world, "a_handler").get(reverse("cases:queue"), {"due_soon": "1"}).content.decode()
    assert case.number in body and "临期" in body
    Case.objects.filter(pk=case.pk).update(due_on=workdays.add_workdays(soon, 3))
    body = client_for(world, "a_handler").get(reverse("cases:queue"), {"due_soon": "1"}).content.decode()
    assert case.number not in body


# --- the case page ----------------------------------------------------------------------------------------


def test_detail_shows_rating_masked_contact_and_forms(world):
    case = open_bad_review(world, phone="13800138000")
    response = client_for(world, "a_dept_admin").get(detail_url(case))
    assert response.status_code == 200
    body = response.content.decode()
    assert "13800138000" not in body
    assert case.contact_phone_masked in body
    assert "排队太久，窗口人员态度差" in body
    assert "待分派" in body and "未整改" in body
    assert f'action="{act_url(case, "assign")}"' in body
    assert f'<option value="{world.users["a_handler"].pk}">' in body
    assert f'action="{act_url(case, "transfer")}"' in body
    assert f'value="{world.b.dept.pk}"' in body and f'<option value="{world.a.dept.pk}"' not in body
    assert response.context["unread_notifications"] == 0


def test_every_action_through_the_pages(world, media):
    admin, handler = client_for(world, "a_dept_admin"), client_for(world, "a_handler")
    case = open_bad_review(world)

    response = admin.post(act_url(case, "assign"), {"handler": world.users["a_handler"].pk})
    assert response.status_code == 302 and response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.state == State.ASSIGNED and case.handler == world.users["a_handler"]
    assert "分派处理人" in admin.get(detail_url(case)).content.decode()

    response = handler.post(
        act_url(case, "callback"), {"at": now_local(), "channel": "phone", "reached": "1", "rater_said": "等了很久"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.called_back_at is not None and case.callbacks.count() == 1

    response = handler.post(act_url(case, "verify"), {"facts": "高峰期窗口不足，情况属实"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.VERIFIED

    page = handler.get(detail_url(case))
    form = next(f for f in page.context["forms"] if f.action == "open_ledger")
    policy = services.policy_of(case)
    latest = workdays.add_workdays(workdays.today(), policy.rectify_days)
    assert form["deadline"].value() == latest
    assert f'max="{latest:%Y-%m-%d}"' in page.content.decode()

    deadline = workdays.add_workdays(workdays.today(), 1)
    response = handler.post(act_url(case, "open_ledger"), {"measures": "增开窗口", "deadline": deadline.isoformat()})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.RECTIFYING and case.rectify_deadline == deadline

    page = handler.get(detail_url(case))
    form = next(f for f in page.context["forms"] if f.action == "extend")
    extended = workdays.add_workdays(deadline, policy.extension_days)
    assert form["deadline"].value() == extended
    response = handler.post(act_url(case, "extend"), {"deadline": extended.isoformat(), "reason": "设备采购"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.extended_deadline == extended
    assert "不能再次延期" in handler.get(detail_url(case)).content.decode()

    events = CaseEvent.objects.filter(case=case).count()
    again = workdays.add_workdays(extended, 1)
    response = handler.post(act_url(case, "extend"), {"deadline": again.isoformat(), "reason": "再延"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "每项整改只能延期一次" in body
    assert 'id="id_extend_deadline_errors"' in body
    case.refresh_from_db()
    assert case.extended_deadline == extended and CaseEvent.objects.filter(case=case).count() == events

    # complete without evidence: the error stands at the file input
    response = handler.post(act_url(case, "complete"), {"measures": "已增开2个窗口"})
    assert response.status_code == 422
    assert 'id="id_complete_files_errors"' in response.content.decode()
    response = handler.post(
        act_url(case, "complete"), {"measures": "已增开2个窗口", "files": [evidence("现场.png"), evidence("b.png")]}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.FEEDBACK and case.is_fixed
    assert case.attachments.count() == 2
    body = handler.get(detail_url(case)).content.decode()
    assert "已反馈待评价" in body and "已整改" in body and "现场.png" in body
    assert reverse("cases:attachment", args=[case.attachments.first().pk]) in body

    # the rater's answer by phone, recorded by the handler
    response = handler.post(act_url(case, "rate_handling"), {"feedback_grade": "3", "comment": "电话回复满意"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.feedback_grade == 3
    body = handler.get(detail_url(case)).content.decode()
    assert "已办结" in body and "已整改" in body and "记录评价人电话反馈" in body


@pytest.mark.parametrize("which", ["holiday", "too_late", "garbled"])
def test_bad_deadline_is_a_field_error_and_changes_nothing(world, which):
    case = verified_case(world)
    handler = client_for(world, "a_handler")
    today = workdays.today()
    latest = workdays.add_workdays(today, services.policy_of(case).rectify_days)
    if which == "holiday":
        day = next(
            today + timedelta(days=n) for n in range(1, 15) if not workdays.is_workday(today + timedelta(days=n))
        )
        assert day < latest
        value, text = day.isoformat(), "不是工作日"
    elif which == "too_late":
        value, text = workdays.add_workdays(latest, 1).isoformat(), "整改期限最长"
    else:
        value, text = "31/02/2026", "日期"
    events = CaseEvent.objects.filter(case=case).count()
    response = handler.post(act_url(case, "open_ledger"), {"measures": "增开窗口", "deadline": value})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_open_ledger_deadline_errors"' in body and text in body
    assert 'aria-invalid="true"' in body
    assert '<details class="action" id="action-open_ledger" open>' in body
    case.refresh_from_db()
    assert case.state == State.VERIFIED and case.rectify_deadline is None and case.outcome == ""
    assert CaseEvent.objects.filter(case=case).count() == events


def test_transfer_and_reassign_through_the_pages(world):
    case = assigned_case(world)
    admin = client_for(world, "a_dept_admin")
    response = admin.post(act_url(case, "reassign"), {"handler": world.users["a_dept_admin"].pk, "reason": "人手调整"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.handler == world.users["a_dept_admin"]
    response = admin.post(act_url(case, "transfer"), {"to_unit": world.b.dept.pk, "reason": "非本单位事项"})
    assert response.status_code == 302 and response["Location"] == reverse("cases:queue")  # now out of sight
    case.refresh_from_db()
    assert case.unit == world.b.dept and case.state == State.NEW
    assert client_for(world, "b_admin").get(detail_url(case)).status_code == 200


def test_read_only_roles_see_no_forms_and_get_403(world):
    case = open_bad_review(world)
    auditor = client_for(world, "a_auditor")
    response = auditor.get(detail_url(case))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<form method="post" action="/cases/' not in body and "办理操作" not in body
    response = auditor.post(act_url(case, "assign"), {"handler": world.users["a_handler"].pk})
    assert response.status_code == 403
    assert "无权" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.NEW and case.handler is None
    assert client_for(world, "a_inspector").post(act_url(case, "note"), {"note": "x"}).status_code == 403


def test_wrong_state_is_409_and_unknown_action_404_and_get_405(world):
    case = open_bad_review(world)
    admin = client_for(world, "a_dept_admin")
    response = admin.post(act_url(case, "verify"), {"facts": "x"})
    assert response.status_code in (403, 409)
    assert admin.post(act_url(case, "explode"), {}).status_code == 404
    assert admin.get(act_url(case, "assign")).status_code == 405
    assert client_for(world, "b_admin").post(act_url(case, "assign"), {"handler": 1}).status_code == 404
    response = admin.post(act_url(case, "assign"), {"handler": ""})
    assert response.status_code == 422 and 'id="id_assign_handler_errors"' in response.content.decode()


def test_attachment_download_is_scoped(world, media):
    case = verified_case(world)
    services.case_act(
        case_id=case.pk,
        action="fix_now",
        user=world.users["a_handler"],
        data={"measures": "当场补办"},
        files=[evidence()],
    )
    item = CaseAttachment.objects.get(case=case)
    url = reverse("cases:attachment", args=[item.pk])
    response = client_for(world, "a_handler").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline") and "photo.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PNG
    assert client_for(world, "a_auditor").get(url).status_code == 200
    assert client_for(world, "b_admin").get(url).status_code == 404
    assert client_for(world, "nobody").get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_notifications_page(world):
    case = assigned_case(world)
    handler = client_for(world, "a_handler")
    response = handler.get(reverse("cases:notifications"))
    assert response.status_code == 200
    body = response.content.decode()
    assert case.number in body and detail_url(case) in body and "未读" in body
    assert response.context["unread_notifications"] == 1
    assert 'class="badge">1<' in handler.get(reverse("cases:queue")).content.decode()
    response = handler.post(reverse("cases:notifications"))
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=world.users["a_handler"], read_at__isnull=True).exists()
    response = handler.get(reverse("cases:notifications"))
    assert response.context["unread_notifications"] == 0 and "未读" not in response.content.decode()
    # someone else's reminders are not shown
    assert case.number not in client_for(world, "a_auditor").get(reverse("cases:notifications")).content.decode()


def test_not_adopted_is_clear_and_appeal_decided_on_the_page(world, media):
    u = world.users
    case = open_bad_review(world, phone=None)
    services.case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    services.case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "评价人误按"})
    handler = client_for(world, "a_handler")
    response = handler.post(
        act_url(case, "appeal"), {"ground": "mistaken", "reason": "监控显示误触", "files": [evidence("监控.png")]}
    )
    assert response.status_code == 302
    body = handler.get(detail_url(case)).content.decode()
    assert "申诉复核中" in body and "监控显示误触" in body and "approve_appeal" not in body
    agency = client_for(world, "a_admin")
    assert 'id="action-approve_appeal"' in agency.get(detail_url(case)).content.decode()
    response = agency.post(act_url(case, "approve_appeal"), {"note": "经核实系误评"})
    assert response.status_code == 302
    body = agency.get(detail_url(case)).content.decode()
    assert "不予采纳" in body and "同意不予采纳" in body and "匿名，无联系方式" in body
    assert "已反馈待评价" in body and "未整改" in body


def test_queue_shows_work_in_hand_by_default_and_closed_ones_on_request(world):
    open_case = open_bad_review(world)
    closed = open_bad_review(world, grade="very_dissatisfied")
    Case.objects.filter(pk=closed.pk).update(state=State.CLOSED, outcome="explained", notified_at=timezone.now())
    client = client_for(world, "a_dept_admin")
    page = client.get(reverse("cases:queue")).content.decode()
    assert open_case.number in page and closed.number not in page
    page = client.get(reverse("cases:queue") + "?state=all").content.decode()
    assert open_case.number in page and closed.number in page
    page = client.get(reverse("cases:queue") + "?state=closed").content.decode()
    assert open_case.number not in page and closed.number in page
