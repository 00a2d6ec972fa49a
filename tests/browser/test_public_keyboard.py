"""The public pages with the keyboard only (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7): the skip link, the header's navigation
and the elderly-mode switch, the case lookup and rating form, the rectification list's filter — and a visible focus
indicator on every element that takes focus."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.cases import lookup
from tests.browser.conftest import PHONE
from tests.browser.test_public_a11y import build_public_data

pytestmark = pytest.mark.browser

# What has focus, and whether it shows: an outline (or, for a visually hidden radio, its label's outline).
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let shown = el;
  if (parseFloat(getComputedStyle(el).opacity) === 0 && el.closest("label")) shown = el.closest("label");
  const s = getComputedStyle(shown);
  return {
    tag: el.tagName.toLowerCase(), id: el.id || "", cls: el.className || "", type: el.type || "",
    name: el.getAttribute("name") || "", text: (el.innerText || el.value || "").trim().slice(0, 30),
    visible: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
  };
}"""


def focused(page) -> dict:
    info = page.evaluate(FOCUS)
    assert info is not None, "nothing has focus"
    return info


def tab(page, times: int = 1) -> dict:
    for _ in range(times):
        page.keyboard.press("Tab")
    info = focused(page)
    assert info["visible"], f"focus not visible on {info}"
    return info


def tab_to(page, match, limit: int = 40) -> dict:
    """Tab until `match(info)`; every stop on the way must show its focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        assert info["visible"], f"focus not visible on {info} after {seen}"
        seen.append(info["text"] or info["id"] or info["name"])
        if match(info):
            return info
    raise AssertionError(f"not reached by Tab; focus went through {seen}")


@pytest.fixture
def data(world):
    return build_public_data(world)


def test_skip_link_nav_and_elderly_switch_by_keyboard(data, new_page):
    page = new_page(viewport=PHONE)
    page.goto("/open/")
    first = tab(page)
    assert "skip" in first["cls"] and first["text"] == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.goto("/open/")
    tab_to(page, lambda f: f["tag"] == "button" and "长辈模式" in f["text"])
    nav = tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "差评进度查询")
    assert nav["visible"]
    page.goto("/open/")
    tab_to(page, lambda f: f["tag"] == "button" and "长辈模式" in f["text"])
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("html.elderly")).to_have_count(1)
    assert page.url.endswith("/open/")
    tab_to(page, lambda f: f["tag"] == "button" and "标准模式" in f["text"])  # and back, still by keyboard
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("html.elderly")).to_have_count(0)


def test_every_focus_stop_on_the_portal_is_visible(data, new_page):
    page = new_page(viewport=PHONE)
    page.goto("/open/")
    stops = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS)
        if info is None:  # past the last element: focus left the document
            break
        assert info["visible"], f"focus not visible on {info}"
        key = (info["tag"], info["id"], info["text"], info["name"])
        if key in stops:
            break
        stops.add(key)
    assert len(stops) > 10


def test_track_and_rate_with_the_keyboard_only(data, new_page):
    case = data.case
    page = new_page(viewport=PHONE)
    page.goto("/open/track/")
    tab_to(page, lambda f: f["id"] == "track-n")
    page.keyboard.type(case.number)
    assert tab(page)["id"] == "track-c"
    page.keyboard.type(lookup.lookup_code(case.pk).lower())  # case and hyphen do not matter
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=case.number)).to_be_visible()
    expect(page.get_by_text("依法须提交原件，已当面说明")).to_be_visible()

    grade = tab_to(page, lambda f: f["type"] == "radio")  # the first of the group: 满意
    assert grade["name"] == "feedback_grade"
    page.keyboard.press("Space")
    assert tab(page)["id"] == "track-comment"
    page.keyboard.type("解释清楚了")
    submit = tab(page)
    assert submit["tag"] == "button" and submit["text"] == "提交评价"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("感谢您的评价")
    case.refresh_from_db()
    assert case.state == "closed" and case.feedback_grade == 3


def test_rectification_filter_by_keyboard(data, new_page):
    page = new_page(viewport=PHONE)
    response = page.goto("/open/rectifications/")
    if response.status != 200 or not page.locator("form.filter select[name=outcome]").count():
        pytest.skip("the rectification list has no outcome filter (yet)")
    tab_to(page, lambda f: f["tag"] == "select" and f["name"] == "outcome")
    page.keyboard.press("ArrowDown")
    chosen = page.eval_on_selector("form.filter select[name=outcome]", "el => el.value")
    assert chosen
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "筛选")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**outcome={chosen}**")
    expect(page.locator("form.filter select[name=outcome]")).to_have_value(chosen)
