"""The counter evaluator in a real browser: pairing, a pushed case, faces, tags, debounce, offline queue."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.evaluator import services
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register

pytestmark = pytest.mark.browser

BAD_ONSITE_TAGS = ["排队等候时间长", "业务不熟悉", "态度冷漠生硬", "一次性告知不到位"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def pair(world, page) -> None:
    _, code = services.pairing_code_create(window=world.a.window)
    page.goto("/evaluator/")
    expect(page.get_by_role("heading", name="评价器配对")).to_be_visible()
    page.get_by_label("配对码").fill(code)
    page.get_by_role("button", name="配对").click()
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible()
    # The button is painted before kiosk.js has wired it: a key pressed earlier would do nothing.
    expect(page.locator("html")).to_have_attribute("data-kiosk", "ready")


def push_case(world, page, live_server, case_no: str = "BJ-K1") -> None:
    service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=world.a.item.implementation_code,
        hall_code=world.a.hall.code,
        window_code="01",
        staff_code=world.a.clerk.code,
    )
    r = page.request.post(
        f"{live_server.url}/api/v1/evaluator/push",
        data={"hall": world.a.hall.code, "window": "01", "case_no": case_no},
        headers={"Authorization": f"Bearer {world.key_a}"},
    )
    assert r.status == 201, r.text()


def test_it_shows_a_pushed_case_and_takes_one_rating_then_resets(world, page, live_server):
    pair(world, page)
    expect(page.get_by_text("王小明")).to_be_visible()
    push_case(world, page, live_server)
    expect(page.get_by_role("heading", name="请对本次服务进行评价")).to_be_visible()
    expect(page.locator("#case-no")).to_have_text("BJ-K1")
    expect(page.locator("#case-item")).to_have_text(world.a.item.name)
    expect(page.locator("#case-staff")).to_have_text("王小明")
    expect(page.locator("#tag-list .tag:visible")).to_have_count(0)

    page.get_by_role("button", name="非常不满意").click()
    expect(page.get_by_role("button", name="非常不满意")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tag-list .tag")).to_have_text(BAD_ONSITE_TAGS)
    page.get_by_label("排队等候时间长").check()
    page.get_by_label("意见建议（可选）").fill("等了一个小时")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    expect(page.get_by_text("您的评价已提交。")).to_be_visible()
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible()  # reset to idle

    rating = Rating.objects.get()
    assert (rating.channel, rating.grade, rating.tags, rating.comment) == ("hall_tablet", 1, ["OS11"], "等了一个小时")
    assert (rating.service_case.case_no, rating.window, rating.staff) == ("BJ-K1", world.a.window, world.a.clerk)
    page.wait_for_timeout(2500)  # a further poll does not bring the rated case back
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible()


def test_it_stores_one_rating_for_ten_fast_presses(world, page):
    pair(world, page)
    page.get_by_role("button", name="请对本窗口服务进行评价").click()
    face = page.get_by_role("button", name="满意", exact=True)
    for _ in range(10):
        face.click(delay=0)
    page.get_by_role("button", name="不满意", exact=True).click()  # within the debounce window: ignored
    expect(face).to_have_attribute("aria-pressed", "true")
    page.evaluate("for (let i = 0; i < 10; i++) document.getElementById('submit').click()")
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    page.wait_for_timeout(500)
    rating = Rating.objects.get()
    assert (rating.grade, rating.target, rating.staff) == (4, "window", world.a.clerk)


def test_it_queues_ratings_offline_and_delivers_each_once(world, page, live_server):
    pair(world, page)
    push_case(world, page, live_server)
    expect(page.locator("#case-no")).to_have_text("BJ-K1")
    page.context.set_offline(True)

    page.get_by_role("button", name="基本满意").click()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("评价已保存在本机")).to_be_visible()
    expect(page.locator("#pending")).to_have_text("1 条待发送")

    page.get_by_role("button", name="请对本窗口服务进行评价").click()
    page.get_by_role("button", name="非常满意").click()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#pending")).to_have_text("2 条待发送")
    assert Rating.objects.count() == 0

    page.context.set_offline(False)
    expect(page.locator("#pending")).to_be_hidden()
    grades = sorted(Rating.objects.values_list("grade", "service_case__case_no"), key=lambda r: r[0])
    assert grades == [(3, "BJ-K1"), (5, None)]
    page.evaluate("window.dispatchEvent(new Event('online'))")  # another flush sends nothing again
    page.wait_for_timeout(500)
    assert Rating.objects.count() == 2


def test_it_works_by_keyboard_on_a_phone(world, phone_page):
    page = phone_page
    pair(world, page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="请对本窗口服务进行评价").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="请对本窗口服务进行评价")).to_be_visible()
    page.get_by_role("button", name="非常满意").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="非常满意")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="提交评价").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    assert Rating.objects.get().grade == 5


def test_it_returns_to_the_idle_screen_when_left_alone(world, page, settings):
    settings.HAOCHAPING_EVALUATOR_IDLE_SECONDS = 1
    pair(world, page)
    page.get_by_role("button", name="请对本窗口服务进行评价").click()
    page.get_by_role("button", name="满意", exact=True).click()
    expect(page.get_by_role("button", name="提交评价")).to_be_visible()
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible(timeout=4000)
    assert not Rating.objects.exists()


def test_it_reopens_the_kiosk_without_network_from_the_service_worker(world, page):
    pair(world, page)
    url = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert url.endswith("/evaluator/sw.js")
    page.reload()  # now controlled by the service worker, which caches the shell
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible()
    page.wait_for_timeout(300)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("button", name="请对本窗口服务进行评价")).to_be_visible()
    expect(page.get_by_text("网络已断开")).to_be_visible()


def test_it_fits_a_tablet_at_200_percent_zoom(world, new_page):
    page = new_page(viewport={"width": 640, "height": 400})  # a 1280×800 tablet at 200% zoom
    pair(world, page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 640
    page.get_by_role("button", name="请对本窗口服务进行评价").click()
    page.get_by_role("button", name="非常不满意").click()
    expect(page.locator("#tag-list .tag")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 640
    page.get_by_role("button", name="提交评价").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="提交评价")).to_be_in_viewport()
