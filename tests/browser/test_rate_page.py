"""The applicant's rating page in a real browser: phone layout, grade-dependent tags, single use, keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register

pytestmark = pytest.mark.browser

BAD_ONSITE_TAGS = ["排队等候时间长", "业务不熟悉", "态度冷漠生硬", "一次性告知不到位"]
GOOD_ONSITE_TAGS = ["办事效率高", "业务熟练", "态度热情耐心", "一次性告知清楚"]


def rate_url(world, case_no: str = "BJ-B1") -> str:
    reg = service_case_register(
        scope=ALL_SCOPE, case_no=case_no, item_code=world.a.item.implementation_code, staff_code=world.a.clerk.code
    )
    return f"/r/{reg.token}/"


def test_it_rates_a_case_on_a_phone_once(world, phone_page, new_page):
    url = rate_url(world)
    page = phone_page
    page.goto(url)
    expect(page.get_by_role("heading", name="请您对本次服务进行评价")).to_be_visible()
    expect(page.get_by_text(world.a.item.name)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.locator(".tag:visible")).to_have_count(0)  # no tags before a grade is chosen

    page.get_by_text("不满意", exact=True).tap()
    expect(page.locator(".tag:visible")).to_have_text(BAD_ONSITE_TAGS)
    page.get_by_text("满意", exact=True).tap()
    expect(page.locator(".tag:visible")).to_have_text(GOOD_ONSITE_TAGS)
    page.get_by_text("非常不满意", exact=True).tap()
    expect(page.locator(".tag:visible")).to_have_text(BAD_ONSITE_TAGS)
    page.get_by_text("排队等候时间长").tap()
    page.get_by_label("意见建议（可选）").fill("排队一个多小时")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    second = new_page(viewport={"width": 360, "height": 740})  # the same link opened again before submitting
    second.goto(url)
    second.get_by_text("满意", exact=True).click()

    page.get_by_role("button", name="提交评价").tap()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    expect(page.get_by_text("我们已收到您的差评")).to_be_visible()
    rating = Rating.objects.get()
    assert (rating.grade, rating.tags, rating.comment, rating.channel) == (1, ["OS11"], "排队一个多小时", "qr")

    with second.expect_response(lambda r: r.request.method == "POST") as posted:
        second.get_by_role("button", name="提交评价").click()
    assert posted.value.status == 410
    expect(second.get_by_role("heading", name="无法评价")).to_be_visible()
    expect(second.get_by_text("已使用")).to_be_visible()

    reloaded = page.goto(url)
    assert reloaded.status == 410
    expect(page.get_by_text("已使用")).to_be_visible()
    assert Rating.objects.count() == 1


def test_it_fits_a_phone_in_english_too(world, phone_page, live_server):
    phone_page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    phone_page.goto(rate_url(world))
    expect(phone_page.get_by_role("heading", name="Please rate the service you received")).to_be_visible()
    phone_page.get_by_text("Very dissatisfied", exact=True).tap()
    expect(phone_page.locator(".tag:visible")).to_have_text(BAD_ONSITE_TAGS)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360


def test_it_can_be_rated_with_the_keyboard_alone(world, page):
    page.goto(rate_url(world))
    for _ in range(30):  # Tab from the top of the page into the grade radio group
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "grade":
            break
    focused = page.locator("input[name=grade]:focus")
    expect(focused).to_have_value("very_satisfied")
    expect(focused).not_to_be_checked()
    page.keyboard.press("Space")
    expect(page.locator("input[value=very_satisfied]")).to_be_checked()
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[value=satisfied]")).to_be_checked()
    expect(page.locator("input[value=satisfied]")).to_be_focused()
    expect(page.locator(".tag:visible")).to_have_text(GOOD_ONSITE_TAGS)
    page.keyboard.press("Tab")  # leaves the radio group for the first visible tag
    expect(page.locator("input[value=OS01]")).to_be_focused()
    page.keyboard.press("Space")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    rating = Rating.objects.get()
    assert (rating.grade, rating.tags) == (4, ["OS01"])
