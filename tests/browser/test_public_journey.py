"""The issue's acceptance journey, as an anonymous reader on a phone: the province's figures, drill to a department
and a 事项, the moderated rectification list, a monthly open-data download, and a rater following their own case
with its number and lookup code, then rating the handling."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from haochaping.cases import lookup
from haochaping.cases.models import Case, State
from haochaping.ratings.models import Rating
from tests.browser.test_public_a11y import build_public_data

pytestmark = pytest.mark.browser


def test_an_anonymous_reader_drills_down_reads_rectifications_downloads_data_and_a_rater_follows_a_case(
    world, phone_page
):
    data = build_public_data(world)
    assert data.publication_id, "the handled case's public copy is published"
    page = phone_page

    # The province: its figures, with the default-rating share and the chain digest beside them.
    page.goto("/open/")
    assert page.locator("h1").inner_text().startswith(world.province.name)
    assert page.get_by_text("默认评价占比").count() >= 1
    assert page.get_by_text("统计期间").count() >= 1 and page.get_by_text("数据更新于").count() >= 1

    # Drill: province → city → county → department → 事项.
    page.get_by_role("link", name=world.city.name, exact=True).first.click()
    assert world.city.name in page.locator("h1").inner_text()
    page.get_by_role("link", name=world.a.region.name, exact=True).first.click()
    assert world.a.region.name in page.locator("h1").inner_text()
    page.get_by_role("link", name=world.a.dept.name, exact=True).first.click()
    assert world.a.dept.name in page.locator("h1").inner_text()
    counted = Rating.objects.filter(unit=world.a.dept).count()
    assert f"{counted:,}" in page.locator("main").inner_text() or str(counted) in page.locator("main").inner_text()
    page.get_by_role("link", name=world.a.item.name, exact=True).first.click()
    assert world.a.item.name in page.locator("h1").inner_text()

    # The moderated rectification list: the handled case's outcome, never the rater's text (not allowed public).
    page.get_by_role("link", name="差评整改公开").first.click()
    main = page.locator("main").inner_text()
    assert "解释说明" in main and "依法须提交原件" in main
    assert "排队太久" not in main and world.a.clerk.name not in main

    # Open data: this month's region dataset as CSV, downloaded by the browser.
    page.get_by_role("link", name="开放数据").first.click()
    month = f"{timezone.localdate():%Y-%m}"
    link = page.locator(f'a[href$="/open/data/region/{month}.csv"]').first
    with page.expect_download() as download_info:
        link.click()
    text = open(download_info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["region_code"] == world.province.code for r in rows)

    # The rater: number and code from the thank-you page or the SMS, then the verdict on the handling.
    case = data.case
    code = lookup.lookup_code(case.pk)
    page.get_by_role("link", name="差评进度查询").first.click()
    page.get_by_label("工单编号").fill(case.number)
    page.get_by_label("查询码").fill(code.lower().replace("-", " "))  # as typed on a phone: any case, any spacing
    page.get_by_role("button", name="查询").click()
    main = page.locator("main").inner_text()
    assert case.number in main and "依法须提交原件，已当面说明" in main
    assert world.users["a_handler"].username not in main
    page.get_by_text("满意", exact=True).click()
    page.get_by_role("button", name="提交评价").click()
    assert "感谢" in page.locator("main").inner_text()
    case = Case.objects.get(pk=case.pk)
    assert case.state == State.CLOSED and case.feedback_grade == 3
