"""服务调查 staff pages (/surveys/…) and the respondent's page (/s/<token>/): one test or more per view."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from haochaping.messaging.models import SmsMessage
from haochaping.surveys import services
from haochaping.surveys.models import Invitation, Question, Response, Survey
from tests.test_surveys import answers_for, completed_cases, link_tokens, make_survey

pytestmark = pytest.mark.django_db


def client_for(world, name: str) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- staff pages -------------------------------------------------------------------------------------------------


def test_list_shows_surveys_in_scope_with_rates(world):
    make_survey(world)
    other = make_survey(world, side="b", actor="b_admin")
    Survey.objects.filter(pk=other.pk).update(title="拱墅区调查")
    page = client_for(world, "a_inspector").get(reverse("surveys:list"))
    assert page.status_code == 200
    assert "政务服务满意度调查" in page.content.decode() and "拱墅区调查" not in page.content.decode()
    assert "新建调查" not in page.content.decode()  # inspectors read only
    assert "新建调查" in client_for(world, "a_admin").get(reverse("surveys:list")).content.decode()
    assert client_for(world, "a_handler").get(reverse("surveys:list")).status_code == 403


def test_create_page_validates_and_redirects_to_builder(world):
    c = client_for(world, "a_admin")
    assert c.get(reverse("surveys:create")).status_code == 200
    bad = c.post(reverse("surveys:create"), {"title": "", "region": world.a.region.pk})
    assert bad.status_code == 422 and "请填写问卷标题" in bad.content.decode()
    ok = c.post(reverse("surveys:create"), {"title": "窗口服务调查", "region": world.a.region.pk,
                                            "unit": world.a.dept.pk, "closes_on": ""})  # fmt: skip
    survey = Survey.objects.get(title="窗口服务调查")
    assert ok.status_code == 302 and ok["Location"] == reverse("surveys:builder", args=[survey.pk])
    assert survey.unit == world.a.dept and survey.created_by == world.users["a_admin"]
    assert client_for(world, "a_auditor").get(reverse("surveys:create")).status_code == 403


def test_builder_adds_edits_moves_and_removes_questions(world):
    c = client_for(world, "a_admin")
    survey = make_survey(world, open_it=False, questions=[])
    url = reverse("surveys:builder", args=[survey.pk])
    assert c.get(url).status_code == 200
    bad = c.post(url, {"action": "add", "kind": "single", "text": "等候时间", "options": "只有一个"})
    assert bad.status_code == 422 and "2至20个选项" in bad.content.decode()
    c.post(url, {"action": "add", "kind": "single", "text": "等候时间", "options": "短\n中\n长", "required": "on"})
    c.post(url, {"action": "add", "kind": "scale", "text": "总体满意度", "scale_max": "10", "required": "on"})
    first, second = survey.questions.order_by("order")
    assert first.options == ["短", "中", "长"] and second.scale_max == 10
    c.post(url, {"action": "up", "question": second.pk})
    missing = c.post(url, {"action": "remove", "question": 999999})
    assert missing.status_code == 422 and "题目不存在" in missing.content.decode()
    assert list(survey.questions.order_by("order").values_list("pk", flat=True)) == [second.pk, first.pk]
    edit = c.post(url, {"action": "update", "question": first.pk, "kind": "text", "text": "意见建议"})
    assert edit.status_code == 302
    first.refresh_from_db()
    assert (first.kind, first.required) == ("text", False)
    c.post(url, {"action": "remove", "question": first.pk})
    assert survey.questions.count() == 1
    settings_post = c.post(url, {"action": "survey", "title": "改名", "region": world.a.region.pk})
    assert settings_post.status_code == 302
    survey.refresh_from_db()
    assert survey.title == "改名"
    assert client_for(world, "a_inspector").get(url).status_code == 403
    assert client_for(world, "b_admin").get(url).status_code == 404


def test_builder_after_opening_is_frozen(world):
    survey = make_survey(world)
    c = client_for(world, "a_admin")
    page = c.get(reverse("surveys:builder", args=[survey.pk]))
    assert "题目已固定" in page.content.decode()
    refused = c.post(reverse("surveys:builder", args=[survey.pk]), {"action": "add", "kind": "text", "text": "x"})
    assert refused.status_code == 422 and survey.questions.count() == 4
    assert "问卷已发布，题目和设置不能再修改" in refused.content.decode()


def test_detail_opens_distributes_by_sms_and_closes(world, settings):
    settings.HAOCHAPING_SMS_BACKEND = "console"
    completed_cases(world, "a", 5)
    survey = make_survey(world, open_it=False)
    c = client_for(world, "a_admin")
    url = reverse("surveys:detail", args=[survey.pk])
    assert c.post(url, {"action": "open"}).status_code == 302
    survey.refresh_from_db()
    assert survey.state == Survey.State.OPEN
    posted = c.post(url, {"action": "distribute", "channel": "sms", "size": "3", "days": "30"})
    assert posted.status_code == 302
    page = c.get(url)
    assert "实际抽取 3 份" in page.content.decode() and "短信发送成功 3 条" in page.content.decode()
    assert "实际抽取" not in c.get(url).content.decode()  # shown once
    assert SmsMessage.objects.filter(kind=SmsMessage.Kind.SURVEY).count() == 3
    too_many = c.post(url, {"action": "distribute", "channel": "sms", "size": "999999", "days": "30"})
    assert too_many.status_code == 422 and "一次最多发放" in too_many.content.decode()
    # the console shows the survey messages, link redacted
    console = c.get(reverse("messaging:console"))
    assert "邀请您参加政务服务满意度调查" in console.content.decode()
    assert c.post(url, {"action": "close"}).status_code == 302
    survey.refresh_from_db()
    assert survey.state == Survey.State.CLOSED
    # readers cannot act
    assert client_for(world, "a_auditor").post(url, {"action": "open"}).status_code == 403


def test_link_and_qr_downloads_are_offered_once(world):
    completed_cases(world, "a", 3)
    survey = make_survey(world)
    c = client_for(world, "a_admin")
    detail = reverse("surveys:detail", args=[survey.pk])
    c.post(detail, {"action": "distribute", "channel": "qr", "size": "2", "days": "30"})
    assert "下载链接（CSV）" in c.get(detail).content.decode()
    rows = _csv(c.get(reverse("surveys:links_csv", args=[survey.pk])))
    assert len(rows) == 3 and rows[1][1].startswith("http") and "/s/" in rows[1][1]
    token = rows[1][1].rstrip("/").rsplit("/", 1)[1]
    assert Invitation.objects.filter(token_hash=services.token_hash(token), channel="qr").exists()
    sheet = c.get(reverse("surveys:qr_sheet", args=[survey.pk]))
    assert sheet.status_code == 200 and sheet.content.decode().count("<svg") == 2
    c.post(detail, {"action": "forget_links"})
    assert c.get(reverse("surveys:links_csv", args=[survey.pk])).status_code == 410
    assert c.get(reverse("surveys:qr_sheet", args=[survey.pk])).status_code == 410
    # another administrator's session never had them
    assert client_for(world, "root").get(reverse("surveys:links_csv", args=[survey.pk])).status_code == 410
    assert client_for(world, "a_inspector").get(reverse("surveys:links_csv", args=[survey.pk])).status_code == 403


def test_detail_results_and_csv_exports(world):
    completed_cases(world, "a", 3)
    survey = make_survey(world)
    tokens = link_tokens(survey, 3)
    services.response_submit(tokens[0], answers_for(survey, scale=5, text="大厅指引清楚 13912345678"))
    services.response_submit(tokens[1], answers_for(survey, scale=2))
    page = client_for(world, "a_dept_admin").get(reverse("surveys:detail", args=[survey.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "按单位" in html and world.a.dept.name in html and "66.7%" in html
    assert "13912345678" not in html and "大厅指引清楚" in html
    assert "发放邀请" not in html  # department administrators read only
    results = _csv(client_for(world, "a_auditor").get(reverse("surveys:results_csv", args=[survey.pk])))
    assert results[0][0] == "部分" and results[1][2:5] == ["3", "2", "2"]
    assert any(row[:2] == ["办理单位", world.a.dept.name] for row in results)
    answers = _csv(client_for(world, "a_inspector").get(reverse("surveys:answers_csv", args=[survey.pk])))
    assert len(answers) == 3 and answers[0][5] == "满意度得分"
    assert not any("13912345678" in cell for row in answers for cell in row)


# --- the respondent's page ---------------------------------------------------------------------------------------


def test_respondent_get_marks_opened_post_stores_second_refused(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    url = reverse("survey_public:respond", args=[token])
    c = Client()
    page = c.get(url)
    assert page.status_code == 200 and "政务服务满意度调查" in page.content.decode()
    invitation = Invitation.objects.get()
    assert invitation.opened_at is not None and invitation.responded_at is None
    posted = {f"q{pk}": values for pk, values in answers_for(survey, scale=4, text="很好").items()}
    done = c.post(url, posted)
    assert done.status_code == 302 and done["Location"].endswith("?done=1")
    assert "感谢您的参与" in c.get(done["Location"]).content.decode()
    assert Response.objects.get().score == 75
    again = c.post(url, posted)
    assert again.status_code == 409 and "您已完成本问卷" in again.content.decode()
    assert "您已完成本问卷" in c.get(url).content.decode()
    assert Response.objects.count() == 1


def test_respondent_sees_an_error_per_question(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    scale = survey.questions.get(kind=Question.Kind.SCALE)
    single = survey.questions.get(kind=Question.Kind.SINGLE)
    page = Client().post(reverse("survey_public:respond", args=[token]), {f"q{scale.pk}": "9"})
    html = page.content.decode()
    assert page.status_code == 422
    assert f'id="q{scale.pk}_errors"' in html and "请打1至5分" in html
    assert f'id="q{single.pk}_errors"' in html and "此题为必答题" in html
    assert not Response.objects.exists()


def test_respondent_unknown_closed_and_honeypot(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    assert Client().get(reverse("survey_public:respond", args=["nope"])).status_code == 404
    url = reverse("survey_public:respond", args=[token])
    assert Client().post(url, {"website": "http://spam"}).status_code == 400
    services.survey_close(survey)
    closed = Client().get(url)
    assert closed.status_code == 410 and "本次调查已结束" in closed.content.decode()
