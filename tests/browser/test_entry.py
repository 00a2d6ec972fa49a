"""The paper-form entry page on a 360-px phone: signed in as a case handler, keyboard-labelled, no sideways scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.entry.models import KeyedEntry

pytestmark = pytest.mark.browser


def test_a_case_handler_keys_a_paper_form_on_a_phone(world, phone_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = phone_page
    page.goto("/entry/paper/")
    page.get_by_label("用户名").fill("a_handler")
    page.get_by_label("密码").fill("pw-a_handler")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="纸质评价表录入")).to_be_visible()
    page.get_by_label("表单编号").fill("ZP-B1")
    page.get_by_label("窗口").select_option(f"{world.a.hall.code}|{world.a.window.code}")
    page.get_by_label("不满意", exact=True).check()
    page.get_by_role("group", name="服务指引是否清晰").get_by_label("是", exact=True).check()
    page.get_by_label("文字评价").fill("排队太久")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="保存评价").click()
    expect(page.get_by_role("status")).to_contain_text("已保存纸质评价表评价")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    entry = KeyedEntry.objects.select_related("rating").get()
    assert entry.form_no == "ZP-B1" and entry.rating.grade == 2 and entry.rating.answers == {"guidance_clear": "yes"}
    # keyed twice: the error stands next to the form number
    page.goto("/entry/paper/")
    page.get_by_label("表单编号").fill("ZP-B1")
    page.get_by_label("窗口").select_option(f"{world.a.hall.code}|{world.a.window.code}")
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="保存评价").click()
    expect(page.locator(".field.invalid").first).to_contain_text("该纸质评价表（编号ZP-B1）已录入")
    assert KeyedEntry.objects.count() == 1
