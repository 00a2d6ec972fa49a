"""The insight page in a real browser: the county agency admin sees the PNG word cloud and the interactive ECharts
cloud; a click on the biggest word (drawn at the centre) opens that word's comments, with personal data masked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.insight import text
from haochaping.insight.cloud import cjk_font_path
from haochaping.insight.index import index_new
from haochaping.ratings.services import submit_ratings
from tests.browser.test_case_loop import log_in, no_sideways_scroll

pytestmark = pytest.mark.browser

COMMENTS = [
    ("dissatisfied", "叫号机坏了，等了一上午，电话13812345678"),
    ("very_dissatisfied", "叫号机又坏了，王小明说没办法"),
    ("dissatisfied", "叫号机故障，排队混乱"),
    ("dissatisfied", "叫号机不叫号，白等"),
    ("very_dissatisfied", "叫号机死机，没人管"),
    ("dissatisfied", "材料要求反复变"),
    ("satisfied", "工作人员很耐心"),
    ("very_satisfied", "效率很高"),
]


def _seed(world) -> None:
    now = timezone.now() - timedelta(hours=2)
    items = [
        {
            "window": {"hall": world.a.hall.code, "code": world.a.window.code},
            "grade": grade,
            "channel": "hall_tablet",
            "rated_at": (now - timedelta(minutes=i)).isoformat(),
            "comment": comment,
        }
        for i, (grade, comment) in enumerate(COMMENTS * 2)
    ]
    assert all(r.ok for r in submit_ratings(items, scope=ALL_SCOPE, client="browser"))
    text.reset()
    index_new()


def test_word_cloud_renders_and_a_word_opens_its_comments(world, new_page, phone_page):
    _seed(world)
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto("/insight/?period=this_month")
    log_in(page, "a_admin")
    expect(page.get_by_role("heading", name="意见挖掘").first).to_be_visible()
    expect(page.locator("table")).to_contain_text("叫号机")
    if cjk_font_path():
        cloud = page.locator("img.word-cloud")
        expect(cloud).to_be_visible()
        page.wait_for_function("() => { const i = document.querySelector('img.word-cloud'); "
                               "return i && i.complete && i.naturalWidth === 800; }")  # fmt: skip
    box = page.locator(".insight-cloud.cloud-ready")
    expect(box).to_have_count(1)
    expect(box.locator("canvas")).to_have_count(1)
    box.locator("canvas").click()  # the centre: the first (biggest) word, 叫号机
    expect(page).to_have_url(re.compile(r"/insight/words/comments/\?.*term="))
    expect(page.locator("main")).to_contain_text("叫号机")
    body = page.locator("body").inner_text()
    assert "13812345678" not in body and "王小明" not in body

    phone_page.goto("/insight/?period=this_month")
    log_in(phone_page, "a_admin")
    expect(phone_page.locator("table").first).to_be_visible()
    no_sideways_scroll(phone_page)
