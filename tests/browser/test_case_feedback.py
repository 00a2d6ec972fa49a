"""The rater's feedback link on a phone: see the outcome, choose 满意, see the thanks; the link then is spent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.cases import services
from haochaping.cases.models import CloseReason, State
from haochaping.cases.services import case_act
from tests.cases_helpers import open_bad_review, verify_case

pytestmark = pytest.mark.browser


def feedback_link(world, monkeypatch) -> tuple[str, int]:
    sent: list[str] = []
    real = services.feedback_url
    monkeypatch.setattr(services, "feedback_url", lambda token: sent.append(token) or real(token))
    u = world.users
    case = open_bad_review(world)
    verify_case(world, case, rater_said="等了一个小时", facts="属实")
    case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "高峰期已增开窗口"})
    return f"/cases/feedback/{sent[-1]}/", case.pk


def test_rater_rates_the_handling_on_a_phone(world, phone_page, monkeypatch):
    from haochaping.cases.models import Case

    url, pk = feedback_link(world, monkeypatch)
    page = phone_page
    page.goto(url)
    expect(page.get_by_role("heading", name="请您评价处理结果")).to_be_visible()
    expect(page.get_by_text("高峰期已增开窗口")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_text("满意", exact=True).tap()
    expect(page.get_by_role("radio", name="满意", exact=True)).to_be_checked()
    page.get_by_label("意见（可选）").fill("谢谢")
    page.get_by_role("button", name="提交评价").tap()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    case = Case.objects.get(pk=pk)
    assert (case.state, case.close_reason, case.feedback_grade) == (State.CLOSED, CloseReason.RATED, 3)

    response = page.goto(url)
    assert response.status == 404
    expect(page.get_by_role("heading", name="链接无效或已评价")).to_be_visible()


def test_feedback_page_reflows_at_200_percent_zoom(world, new_page, monkeypatch):
    """WCAG 1.4.10: a 360px phone zoomed to 200% is 180 CSS px wide; nothing scrolls sideways."""
    url, _ = feedback_link(world, monkeypatch)
    page = new_page(viewport={"width": 180, "height": 400})
    page.goto(url)
    expect(page.get_by_role("button", name="提交评价")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 180
    page.get_by_text("基本满意", exact=True).click()
    expect(page.get_by_role("radio", name="基本满意")).to_be_checked()
