"""The window QR code page on a 360-px phone: pick a grade and a tag, submit, see thanks."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from haochaping.messaging import verification
from haochaping.qrcodes.services import window_code_issue
from haochaping.ratings.models import Rating, RatingOffer

pytestmark = pytest.mark.browser


def test_it_rates_a_window_from_its_qr_code_on_a_phone(world, phone_page):
    cache.clear()  # rate-limit counters of earlier tests
    code = window_code_issue(window=world.a.window)
    page = phone_page
    response = page.goto(f"/q/w/{code.slug}/")
    assert response.status == 200
    expect(page.get_by_role("heading", name="请您对本窗口的服务进行评价")).to_be_visible()
    expect(page.get_by_text(world.a.hall.name)).to_be_visible()
    expect(page.get_by_text("王小明")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.locator(".tags .tag:visible")).to_have_count(0)  # no tags before a grade is chosen

    page.get_by_text("不满意", exact=True).tap()
    page.get_by_text("态度冷漠生硬").tap()
    page.get_by_label("意见建议（可选）").fill("窗口人员在玩手机")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="提交评价").tap()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()

    rating = Rating.objects.get()
    assert (rating.grade, rating.tags, rating.channel, rating.comment) == (2, ["OS13"], "qr", "窗口人员在玩手机")
    assert rating.window_id == world.a.window.id and rating.staff_id == world.a.clerk.id
    assert RatingOffer.objects.filter(kind="qr_scan", window=world.a.window).count() == 1


def test_it_works_at_200_percent_zoom_with_the_keyboard(world, new_page):
    cache.clear()
    code = window_code_issue(window=world.a.window)
    # A 360-px phone at 200% zoom lays the page out in 180 CSS pixels.
    page = new_page(viewport={"width": 180, "height": 640})
    page.goto(f"/q/w/{code.slug}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 180
    page.locator("input[name=grade]").first.focus()
    page.keyboard.press("ArrowRight")  # 非常满意 → 满意
    expect(page.locator("input[name=grade]:checked")).to_have_value("satisfied")
    page.get_by_label("意见建议（可选）").focus()
    page.keyboard.type("很好")
    page.get_by_role("button", name="提交评价").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    assert Rating.objects.get().grade == 4


def test_it_rates_real_name_after_getting_the_sms_code_in_place(world, phone_page, monkeypatch, settings):
    cache.clear()
    settings.HAOCHAPING_SMS_BACKEND = "console"
    monkeypatch.setattr(verification, "new_code", lambda: "135790")  # the code the SMS would carry
    code = window_code_issue(window=world.a.window)
    page = phone_page
    page.goto(f"/q/w/{code.slug}/")
    page.get_by_text("满意", exact=True).tap()
    page.get_by_label("手机号码（可选，便于回访；不填则匿名评价）").fill("13800001111")
    page.get_by_role("button", name="获取验证码").tap()
    expect(page.get_by_role("status")).to_have_text("验证码已发送至 138****1111，5分钟内有效")
    expect(page.get_by_role("button", name="获取验证码")).to_be_disabled()  # no second request for a minute
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("短信验证码（填写手机号码时必填）").fill("135790")
    page.get_by_role("button", name="提交评价").tap()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    rating = Rating.objects.get()
    assert rating.grade == 4 and not rating.is_anonymous and rating.rater_phone_masked == "138****1111"
