"""The suggestion box on a 360-px phone: choosing a region narrows the unit list (static/society/suggestion.js), an
anonymous suggestion is filed, and the thank-you page gives the number and 查询码 that open its tracking page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.cases.models import Case, Kind
from tests.browser.a11y import axe_violations

pytestmark = pytest.mark.browser


def test_filing_a_suggestion_on_a_phone(world, phone_page):
    page = phone_page
    page.goto("/suggestions/")
    expect(page.get_by_role("heading", name="政务服务意见箱")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []

    page.get_by_role("button", name="提交意见建议").click()
    expect(page.get_by_text("请选择所在地区").first).to_be_visible()

    page.get_by_label("所在地区").select_option(label="拱墅区")
    units = page.get_by_label("涉及单位（可选）")
    visible = units.evaluate("s => [...s.options].filter(o => !o.hidden && o.value).map(o => o.textContent)")
    assert set(visible) == {world.b.agency.name, world.b.dept.name}  # 拱墅区's units only
    units.select_option(label=world.b.dept.name)
    page.get_by_label("意见类别（可选）").select_option(label="办事流程")
    page.get_by_label("意见建议").fill("建议把预约放号分成早中晚三个时段")
    page.get_by_role("button", name="提交意见建议").click()

    expect(page.get_by_role("heading", name="感谢您的意见建议")).to_be_visible()
    case = Case.objects.get()
    assert (case.kind, case.unit, case.real_name) == (Kind.SUGGESTION, world.b.dept, False)
    expect(page.get_by_text(case.number)).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="查询办理进度").first.click()
    # The tracking page (/open/track/) opens with the number and code filled in: the suggestion's public status.
    expect(page.get_by_text(world.b.dept.name).first).to_be_visible()
    expect(page.get_by_text("意见建议").first).to_be_visible()
