"""The admin in Chinese and the language switch in the page header."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_it_shows_the_admin_in_chinese_even_to_an_english_browser(world, new_page):
    page = new_page(locale="en-US")
    page.goto("/admin/login/")
    page.get_by_label("用户名").fill("root")
    page.get_by_label("密码").fill("pw-root")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="政务服务“好差评”管理系统")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    for name in ("行政区划", "机构/部门", "政务服务事项", "服务大厅", "办件", "评价记录"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()


def test_it_switches_the_home_page_to_english_and_back(world, page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("政务服务“好差评”平台")
    page.get_by_label("语言").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Government Service Review Platform")
    expect(page.get_by_role("link", name="Staff sign-in")).to_be_visible()
    page.goto("/")  # the choice is remembered in a cookie
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("政务服务“好差评”平台")
