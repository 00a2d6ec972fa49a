"""The rater's feedback page (/cases/feedback/<token>/): the outcome, the rating, reopening once, used links."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import services
from haochaping.cases.models import CloseReason, State
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.services import case_act
from haochaping.messaging.models import SmsMessage
from tests.cases_helpers import open_bad_review


@pytest.fixture
def tokens(monkeypatch) -> list[str]:
    """Every feedback token the services send, in order (the SMS carries only the link)."""
    sent: list[str] = []
    real = services.feedback_url

    def spy(token: str) -> str:
        sent.append(token)
        return real(token)

    monkeypatch.setattr(services, "feedback_url", spy)
    return sent


def handle_and_explain(world, case, explanation: str = "依法须提交原件，已当面说明") -> None:
    """Assign (first time), call back, verify and explain: the case enters feedback and a link is sent."""
    u = world.users
    if case.state == State.NEW:
        case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(
        case_id=case.pk,
        action="callback",
        user=u["a_handler"],
        data={"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "内部备注：评价人情绪激动"},
    )
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "内部核实：窗口人员王小明推诿"})
    case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": explanation})


def url(token: str) -> str:
    return f"/cases/feedback/{token}/"


def test_valid_link_shows_the_outcome_and_nothing_internal(world, tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    r = Client().get(url(tokens[-1]))
    assert r.status_code == 200
    page = r.content.decode()
    case.refresh_from_db()
    for shown in (
        case.number,
        world.a.dept.name,
        "解释说明",
        "依法须提交原件，已当面说明",
        "满意",
        "基本满意",
        "不满意",
    ):
        assert shown in page
    for hidden in ("内部备注", "内部核实", "王小明", world.users["a_handler"].username, "13800138000"):
        assert hidden not in page
    assert r["Cache-Control"].startswith("max-age=0") or "no-cache" in r["Cache-Control"]


def test_satisfied_closes_the_case(world, tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    r = Client().post(url(tokens[-1]), {"feedback_grade": "3", "comment": "解释清楚了"})
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    assert "退回" not in r.content.decode()
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.feedback_grade) == (State.CLOSED, CloseReason.RATED, 3)
    assert case.feedback_comment == "解释清楚了"


def test_used_or_unknown_link_is_a_friendly_404(world, tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    token = tokens[-1]
    assert Client().post(url(token), {"feedback_grade": "2"}).status_code == 200
    for r in (Client().get(url(token)), Client().post(url(token), {"feedback_grade": "3"}), Client().get(url("x"))):
        assert r.status_code == 404
        assert "链接无效或已评价" in r.content.decode()
    case.refresh_from_db()
    assert case.feedback_grade == 2


def test_dissatisfied_reopens_once_then_closes_final(world, tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    r = Client().post(url(tokens[-1]), {"feedback_grade": "1", "comment": "没有解决问题"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "已退回责任单位重新办理" in page and "督办" in page
    case.refresh_from_db()
    assert (case.state, case.reopen_count, case.close_reason) == (State.ASSIGNED, 1, "")
    assert Client().get(url(tokens[-1])).status_code == 404  # the first link is spent

    handle_and_explain(world, case, explanation="已补充办理并电话致歉")
    assert len(tokens) == 2
    second = Client().get(url(tokens[-1]))
    assert "已补充办理并电话致歉" in second.content.decode() and "提交评价后将办结" in second.content.decode()
    r = Client().post(url(tokens[-1]), {"feedback_grade": "1"})
    assert r.status_code == 200 and "已退回" not in r.content.decode()
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.reopen_count) == (State.CLOSED, CloseReason.FINAL, 1)


def test_missing_grade_is_a_field_error(world, tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    r = Client().post(url(tokens[-1]), {"comment": "还行"})
    assert r.status_code == 422
    page = r.content.decode()
    assert 'id="feedback_grade_errors"' in page and "请选择您对处理结果的评价" in page
    assert "还行" in page  # what was typed is kept
    case.refresh_from_db()
    assert case.state == State.FEEDBACK


def test_posts_are_rate_limited_per_address(world, tokens, settings):
    settings.HAOCHAPING_CASE_FEEDBACK_POSTS_PER_HOUR = 2
    case = open_bad_review(world)
    handle_and_explain(world, case)
    client = Client(REMOTE_ADDR="198.51.100.4")
    for _ in range(2):
        assert client.post(url(tokens[-1]), {}).status_code == 422
    r = client.post(url(tokens[-1]), {"feedback_grade": "3"})
    assert r.status_code == 429 and r["Retry-After"]
    case.refresh_from_db()
    assert case.state == State.FEEDBACK


def test_complaint_feedback_link_comes_by_sms(world, tokens, settings, django_capture_on_commit_callbacks):
    """A 投诉 gets the same loop: the outcome is sent by SMS with a working link."""
    settings.HAOCHAPING_SMS_BACKEND = "console"
    complaint = ComplaintIn(content="拒绝受理", contact_phone="13900139000", unit_id=world.a.dept.pk)
    case = complaint_open(complaint, scope=ALL_SCOPE)
    with django_capture_on_commit_callbacks(execute=True):
        handle_and_explain(world, case)
    sms = SmsMessage.objects.get(kind="feedback")
    assert case.number in sms.text and tokens[-1] not in sms.text  # the stored copy has the link redacted
    r = Client().get(url(tokens[-1]))
    assert r.status_code == 200 and case.number in r.content.decode()
