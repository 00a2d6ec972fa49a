"""差评进度查询 (/open/track/): the lookup code, the public status of one's own case, rating the handling."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import lookup
from haochaping.cases.models import CloseReason, FeedbackGrade, State
from haochaping.cases.services import case_act
from haochaping.lib.errors import NotFound
from haochaping.messaging.models import SmsMessage
from haochaping.ratings.services import service_case_register
from tests.cases_helpers import open_bad_review

URL = "/open/track/"
CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def explained(world, case, explanation: str = "依法须提交原件，已当面说明"):
    """Assign, call back (with internal notes), verify and explain: the case waits for the rater's rating."""
    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    data = {"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "内部备注：评价人情绪激动"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "内部核实：窗口人员推诿"})
    case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": explanation})
    case.refresh_from_db()
    return case


def get(case, code=None, client=None):
    return (client or Client()).get(URL, {"n": case.number, "c": code or lookup.lookup_code(case.pk)})


# --- the code ---------------------------------------------------------------------------------------------------


def test_code_is_deterministic_keyed_and_readable(settings):
    code = lookup.lookup_code(123)
    assert CODE_RE.match(code) and code == lookup.lookup_code(123)
    assert len({lookup.lookup_code(i) for i in range(1, 400)}) == 399
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert lookup.lookup_code(123) != code  # rotating SECRET_KEY changes every code


def test_normalise_accepts_what_people_type():
    assert lookup.normalise(" ab0l-oi9z ") == "AB01019Z"
    assert lookup.normalise("ＡＢＣＤ－ＥＦＧＨ") == "ABCDEFGH"  # full-width from a Chinese input method


def test_lookup_checks_number_and_code_with_one_message(world):
    case = open_bad_review(world)
    code = lookup.lookup_code(case.pk)
    assert lookup.case_for_lookup(case.number, code.lower().replace("-", " ")) == case
    other_day = case.number.replace(case.number[2:10], "19990101")
    messages = set()
    for number, given in (
        (case.number, "AAAA-AAAA"),
        (case.number.replace("CP", "TS"), code),
        (other_day, code),
        (case.number[:-6] + f"{case.pk + 1:06d}", code),
        ("CP20260101-999999999999", code),
        ("not a number", code),
    ):
        with pytest.raises(NotFound) as exc:
            lookup.case_for_lookup(number, given)
        messages.add((exc.value.message, exc.value.field))
    assert messages == {(lookup.NOT_FOUND_MESSAGE, "code")}


# --- the page ---------------------------------------------------------------------------------------------------


def test_empty_form_is_labelled(world):
    r = Client().get(URL)
    assert r.status_code == 200
    page = r.content.decode()
    assert '<label for="track-n">工单编号</label>' in page and '<label for="track-c">查询码</label>' in page
    assert r["Referrer-Policy"] == "strict-origin" and "no-cache" in r["Cache-Control"]


def test_missing_fields_are_named(world):
    r = Client().get(URL, {"n": "CP20260101-000001"})
    assert r.status_code == 422
    page = r.content.decode()
    assert 'aria-describedby="track-c-help track-c-errors"' in page and "请填写查询码" in page


def test_wrong_code_and_unknown_number_answer_404_alike(world):
    case = open_bad_review(world)
    wrong = Client().get(URL, {"n": case.number, "c": "AAAA-AAAA"})
    unknown = Client().get(URL, {"n": "CP20200101-424242", "c": lookup.lookup_code(424242)})
    for r in (wrong, unknown):
        assert r.status_code == 404
        page = r.content.decode()
        assert lookup.NOT_FOUND_MESSAGE in page and 'id="track-c-errors"' in page and 'aria-invalid="true"' in page
        assert "责任单位" not in page
        assert r["Referrer-Policy"] == "strict-origin"


def test_found_page_shows_status_and_outcome_but_nothing_internal(world):
    case = explained(world, open_bad_review(world))
    r = get(case)
    assert r.status_code == 200
    page = r.content.decode()
    for shown in (case.number, "差评", world.a.dept.name, "已反馈待评价", "已受理", "回访核实", "作出处理", "告知结果",
                  "解释说明", "依法须提交原件，已当面说明", "评价期限", "满意", "基本满意", "不满意"):  # fmt: skip
        assert shown in page, shown
    handler = world.users["a_handler"]
    for hidden in ("内部备注", "内部核实", "13800138000", handler.username, "排队太久"):
        assert hidden not in page, hidden
    if handler.get_full_name():
        assert handler.get_full_name() not in page
    assert 'aria-current="step"' in page
    assert r["Referrer-Policy"] == "strict-origin"


def test_open_case_shows_the_current_step_and_deadlines(world):
    case = open_bad_review(world)
    page = get(case).content.decode()
    assert "待分派" in page and "回访时限" in page and f"{case.callback_due:%Y-%m-%d}" in page
    assert "请您评价处理结果" not in page


def test_rating_in_feedback_state_closes_and_a_second_attempt_is_refused(world):
    case = explained(world, open_bad_review(world))
    client = Client(enforce_csrf_checks=True)
    page = get(case, client=client).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = {"csrfmiddlewaretoken": token, "n": case.number, "c": lookup.lookup_code(case.pk),
            "feedback_grade": "3", "comment": "解释清楚了"}  # fmt: skip
    r = client.post(URL, data)
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.feedback_grade) == (State.CLOSED, CloseReason.RATED, 3)
    again = client.post(URL, {**data, "feedback_grade": "1"})
    assert again.status_code == 409 and "不在评价阶段" in again.content.decode()
    case.refresh_from_db()
    assert case.feedback_grade == 3


def test_dissatisfied_reopens_once_with_a_note(world):
    case = explained(world, open_bad_review(world))
    data = {"n": case.number, "c": lookup.lookup_code(case.pk), "feedback_grade": str(int(FeedbackGrade.DISSATISFIED))}
    r = Client().post(URL, data)
    assert r.status_code == 200 and "重新办理" in r.content.decode()
    case.refresh_from_db()
    assert case.state != State.CLOSED and case.reopen_count == 1
    page = get(case).content.decode()  # the status goes back to 回访核实, the old outcome is gone
    assert "已重新办理" in page and "请您评价处理结果" not in page and "依法须提交原件" not in page
    steps = lookup.steps_of(case)
    assert [s["done"] for s in steps] == [True, False, False, False, False] and steps[1]["current"]


def test_rating_errors_and_wrong_code_on_post(world):
    case = explained(world, open_bad_review(world))
    base = {"n": case.number, "c": lookup.lookup_code(case.pk)}
    r = Client().post(URL, {**base, "comment": "x"})
    assert r.status_code == 422 and 'id="track-grade-errors"' in r.content.decode()
    r = Client().post(URL, {**base, "feedback_grade": "3", "comment": "长" * 501})
    assert r.status_code == 422 and "500" in r.content.decode()
    r = Client().post(URL, {**base, "c": "AAAA-AAAA", "feedback_grade": "3"})
    assert r.status_code == 404
    assert Client().post(URL, {**base, "feedback_grade": "3", "website": "http://spam"}).status_code == 400
    case.refresh_from_db()
    assert case.state == State.FEEDBACK


def test_lookups_are_rate_limited_per_address(world, settings):
    settings.HAOCHAPING_TRACK_PER_HOUR = 3
    case = open_bad_review(world)
    client = Client()
    for _ in range(3):
        assert client.get(URL, {"n": case.number, "c": "AAAA-AAAA"}).status_code == 404
    r = get(case, client=client)  # even the right code, once the address is over the limit
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert (
        Client(REMOTE_ADDR="10.1.2.3").get(URL, {"n": case.number, "c": lookup.lookup_code(case.pk)}).status_code == 200
    )
    assert client.get(URL).status_code == 200  # the empty form is not counted


# --- where the rater gets the code -------------------------------------------------------------------------------


def _follow(page: str) -> str:
    path = re.search(r'href="(/open/track/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    r = Client().get(path)
    assert r.status_code == 200
    return r.content.decode()


def test_thanks_page_after_a_bad_review_gives_a_working_code(world):
    reg = service_case_register(
        scope=ALL_SCOPE,
        case_no="BJ-TRACK",
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
    )
    data = {"grade": "dissatisfied", "tags": ["OS11"], "comment": "排队太久", "idempotency_key": "track-1"}
    r = Client().post(f"/r/{reg.token}/", data)
    page = r.content.decode()
    assert r.status_code == 200 and "查询码" in page
    code = re.search(r"查询码：<code>([^<]+)</code>", page).group(1)
    assert CODE_RE.match(code)
    number = re.search(r"差评工单号：<code>([^<]+)</code>", page).group(1)
    assert lookup.case_for_lookup(number, code).number == number
    assert number in _follow(page)


def test_complaint_done_page_gives_a_working_code(world):
    client = Client()
    data = {"unit_id": world.a.dept.pk, "case_no": "", "content": "窗口人员推诿", "contact_name": "",
            "contact_phone": "13800138000"}  # fmt: skip
    r = client.post("/cases/complaint/", data)
    assert r.status_code == 302
    page = client.get(r["Location"]).content.decode()
    code = re.search(r"查询码：<strong><code>([^<]+)</code>", page).group(1)
    number = re.search(r"工单编号：<strong><code>([^<]+)</code>", page).group(1)
    assert number.startswith("TS") and lookup.case_for_lookup(number, code)
    shown = _follow(page)
    assert "投诉" in shown and world.a.dept.name in shown


def test_outcome_sms_carries_the_code_but_the_log_does_not(world, monkeypatch, django_capture_on_commit_callbacks):
    from haochaping.messaging import gateway

    sent: list[str] = []
    monkeypatch.setattr(gateway, "deliver", lambda message, phone, text, backend=None: sent.append(text))
    case = open_bad_review(world)
    with django_capture_on_commit_callbacks(execute=True):
        case = explained(world, case)
    code = lookup.lookup_code(case.pk)
    assert len(sent) == 1 and f"进度查询码{code}" in sent[0] and case.number in sent[0]
    stored = SmsMessage.objects.get(kind=SmsMessage.Kind.CASE_FEEDBACK)
    assert code not in stored.text and case.number in stored.text
