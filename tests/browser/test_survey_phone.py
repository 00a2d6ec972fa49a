"""The respondent answers a survey on a 360-px phone: a required question left out is pointed at, then the answers
are stored and the page thanks them; the link cannot be used twice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.surveys.models import Response
from tests.browser.a11y import axe_violations
from tests.test_surveys import completed_cases, link_tokens, make_survey

pytestmark = pytest.mark.browser


def test_answering_a_survey_on_a_phone(world, phone_page):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    page = phone_page
    page.goto(f"/s/{token}/")
    expect(page.get_by_role("heading", name="政务服务满意度调查")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []

    page.get_by_role("button", name="提交问卷").click()
    expect(page.get_by_text("此题为必答题").first).to_be_visible()
    assert axe_violations(page) == []

    scale = page.get_by_role("group", name="您对本次办事的总体满意度")
    scale.get_by_text("4", exact=True).click()
    page.get_by_text("10–30分钟").click()
    page.get_by_text("服务态度").click()
    page.get_by_text("线上办理").click()
    page.get_by_label("意见建议").fill("希望增加周末窗口")
    page.get_by_role("button", name="提交问卷").click()
    expect(page.get_by_role("heading", name="感谢您的参与")).to_be_visible()

    response = Response.objects.get()
    assert float(response.score) == 75.0
    chosen = {a.question.kind: a for a in response.answers.select_related("question")}
    assert chosen["single"].choices == [1] and chosen["multiple"].choices == [1, 3]
    assert chosen["text"].text == "希望增加周末窗口"

    page.goto(f"/s/{token}/")
    expect(page.get_by_role("heading", name="您已完成本问卷")).to_be_visible()
