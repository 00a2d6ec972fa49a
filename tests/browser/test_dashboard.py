"""The dashboard in a real browser: the city agency admin sees ECharts canvases, drills down from a child region on
the treemap to a county, then through the units table to a unit; on a 360-px phone the charts stack."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from tests.browser.test_case_loop import log_in, no_sideways_scroll
from tests.test_rollups import _item, _submit

pytestmark = pytest.mark.browser


def test_drill_down_from_city_to_unit(world, new_page, phone_page):
    rnd = random.Random(8)
    _submit(world, [_item(world, rnd) for _ in range(30)])

    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto("/analytics/?period=this_month")
    log_in(page, "city_admin")
    expect(page.get_by_role("heading", name="统计分析看板")).to_be_visible()
    expect(page.locator(".crumbs")).to_contain_text("杭州市")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    expect(page.locator(".dashboard.dash-ready")).to_have_count(1)

    # the treemap holds one child with ratings (上城区): a click on it drills down to the county
    page.locator('#chart-regions [data-box="treemap"] canvas').click()
    expect(page).to_have_url(f"/analytics/?period=this_month&region={world.a.region.pk}")
    expect(page.locator(".crumbs [aria-current=page]")).to_have_text("上城区")
    expect(page.locator("#chart-units canvas")).to_have_count(1)

    # the table behind the unit chart: hidden until toggled, then its unit link drills down again
    units = page.locator("#chart-units")
    expect(units.locator("table")).to_be_hidden()
    units.get_by_text("查看表格").click()
    expect(units.locator("table")).to_be_visible()
    units.locator("table").get_by_role("link", name=world.a.dept.name).click()
    expect(page.locator(".crumbs [aria-current=page]")).to_have_text(world.a.dept.name)
    expect(page.locator("#chart-staff canvas")).to_have_count(1)
    expect(page.locator("#chart-staff")).to_contain_text("王小明")

    # on a phone: the cards stack, the charts fit, nothing scrolls sideways
    phone_page.goto("/analytics/?period=this_month")
    log_in(phone_page, "city_admin")
    expect(phone_page.locator(".dashboard.dash-ready")).to_have_count(1)
    expect(phone_page.locator("#chart-regions canvas").first).to_be_visible()
    no_sideways_scroll(phone_page)
    width = phone_page.locator("#chart-trend canvas").evaluate("c => c.getBoundingClientRect().width")
    assert 200 < width <= 360
    phone_page.locator("#chart-overview").get_by_text("查看表格").click()
    no_sideways_scroll(phone_page)
