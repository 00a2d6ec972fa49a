"""The Content-Security-Policy in a real browser: the dashboard (ECharts), the counter evaluator (kiosk) and the QR
rating page work under it and report no violation (securitypolicyviolation events, console messages)."""

from __future__ import annotations

import random

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from haochaping.qrcodes.services import window_code_issue
from tests.browser.test_case_loop import log_in
from tests.browser.test_evaluator import pair, push_case
from tests.test_rollups import _item, _submit

pytestmark = pytest.mark.browser

# Recorded from the first script that runs on every page, before the page's own scripts.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def watch(page) -> list[str]:
    """Collect CSP complaints from the console too (violations in workers and frames land there)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(LISTEN)
    return messages


def assert_no_violation(page, console: list[str]) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert console == []


def test_the_dashboard_charts_draw_without_a_csp_violation(world, new_page):
    _submit(world, [_item(world, rnd) for rnd in [random.Random(3)] for _ in range(20)])
    page = new_page(viewport={"width": 1280, "height": 900})
    console = watch(page)
    page.goto("/analytics/?period=this_month")
    log_in(page, "city_admin")
    expect(page.locator(".dashboard.dash-ready")).to_have_count(1)
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    page.locator("#chart-units").get_by_text("查看表格").click()
    assert_no_violation(page, console)


def test_the_kiosk_runs_without_a_csp_violation(world, page, live_server):
    console = watch(page)
    pair(world, page)
    push_case(world, page, live_server)
    expect(page.get_by_text("满意").first).to_be_visible()
    assert_no_violation(page, console)


def test_the_qr_rating_page_runs_without_a_csp_violation(world, page):
    code = window_code_issue(window=world.a.window)
    console = watch(page)
    page.goto(f"/q/w/{code.slug}/")
    page.get_by_text("非常满意").click()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("感谢您的评价")).to_be_visible()
    assert_no_violation(page, console)
