"""An unannounced inspection (暗访) on a 360-px phone: the inspector starts it from the plan, scores every item (one
below its threshold), photographs the finding, submits and reads the report; the failed item is now a 整改事项 of the
window's unit, which its department administrator finds among the rectifications."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.cases.models import Rectification
from haochaping.inspections.models import Inspection, Mode, Photo
from tests.browser.a11y import axe_violations
from tests.browser.conftest import PHONE
from tests.inspections_helpers import jpeg, make_plan

pytestmark = pytest.mark.browser


def log_in(page, username: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-" + username)
    page.get_by_role("button", name="登录").click()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_inspector_completes_an_unannounced_inspection_on_a_phone(world, new_page, phone_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    plan = make_plan(world, mode=Mode.UNANNOUNCED)
    items = list(plan.checklist.items.order_by("order", "id"))

    page = phone_page
    page.goto("/inspections/")
    log_in(page, "a_inspector")
    expect(page.get_by_role("heading", name="监督查评")).to_be_visible()
    expect(page.get_by_role("link", name=plan.name)).to_be_visible()
    no_sideways_scroll(page)
    assert axe_violations(page) == []
    page.locator(f"a.button[href$='?plan={plan.pk}']").click()

    card = page.get_by_role("form", name=world.a.hall.name)
    expect(card).to_contain_text("已完成 0/2 次")
    card.get_by_label("窗口（可不选）").select_option(str(world.a.window.pk))
    no_sideways_scroll(page)
    card.get_by_role("button", name="开始检查").click()

    inspection = Inspection.objects.get()
    expect(page.get_by_role("heading", name=inspection.number)).to_be_visible()
    expect(page.locator(".state")).to_contain_text("检查中")
    no_sideways_scroll(page)

    assert axe_violations(page) == []
    first, second, third = (page.locator(f"#item-{item.pk}") for item in items)
    # a score button is a big tap target
    box = first.locator("label", has_text="10").first.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 40
    first.get_by_label("2", exact=True).check()  # below the threshold of 6: fails
    first.get_by_label("检查发现").fill("2号窗口工作人员未佩戴工作牌")
    first.get_by_label("拍照").set_input_files([{"name": "工作牌.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])
    second.get_by_label("9", exact=True).check()
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".messages")).to_contain_text("已保存草稿")
    expect(page.locator(f"#item-{items[0].pk} .thumbs img")).to_have_count(1)

    # submitting with an item unscored names it
    page.get_by_role("button", name="提交检查").click()
    expect(page.locator(".errors")).to_contain_text(f"「{items[2].text}」尚未打分")
    third = page.locator(f"#item-{items[2].pk}")
    third.get_by_label("5", exact=True).check()
    page.get_by_role("button", name="提交检查").click()

    expect(page.locator(".messages")).to_contain_text("检查已提交")
    expect(page.locator(".state")).to_contain_text("已提交")
    report = page.locator(".report")
    expect(report).to_contain_text("64.0")  # (2 + 9 + 5) of 25 points
    expect(report).to_contain_text("1 项不合格")
    expect(page.get_by_role("link", name="整改中 · 查看整改")).to_be_visible()
    expect(page.locator("td img")).to_have_count(1)
    no_sideways_scroll(page)
    assert axe_violations(page) == []

    inspection.refresh_from_db()
    assert inspection.state == Inspection.State.SUBMITTED and inspection.failed_items == 1
    assert Photo.objects.get().name == "工作牌.jpg"
    rectification = Rectification.objects.get()
    assert rectification.unit == world.a.dept and rectification.source == f"监督查评 {inspection.number}"

    # the rectification, from the report, and the unit's administrator finds it
    page.get_by_role("link", name="整改中 · 查看整改").click()
    expect(page.get_by_role("heading", name=rectification.title)).to_be_visible()
    admin = new_page()
    admin.goto("/cases/rectifications/")
    log_in(admin, "a_dept_admin")
    expect(admin.get_by_role("link", name=rectification.title)).to_be_visible()


def big_jpeg() -> bytes:
    """A phone-camera-sized photo (noise compresses badly: several MB)."""
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (2400, 1800), os.urandom(2400 * 1800 * 3)).save(out, format="JPEG", quality=92)
    return out.getvalue()


def test_a_large_photo_is_shrunk_in_the_browser_before_upload(world, phone_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    plan = make_plan(world)
    item = plan.checklist.items.order_by("order", "id").first()
    page = phone_page
    page.goto("/inspections/")
    log_in(page, "a_inspector")
    page.goto(f"/inspections/new/?plan={plan.pk}")
    page.get_by_role("form", name=world.a.hall.name).get_by_role("button", name="开始检查").click()
    original = big_jpeg()
    assert len(original) > 2 * 1024 * 1024
    page.locator(f"#item-{item.pk}").get_by_label("拍照").set_input_files(
        [{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": original}]
    )
    expect(page.locator(f"#item-{item.pk} input[type=file]")).to_have_attribute("data-shrunk", "1")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".messages")).to_contain_text("已保存草稿")
    photo = Photo.objects.get()
    assert photo.content_type == "image/jpeg" and photo.name == "IMG_0001.jpg"
    assert photo.size < len(original) / 2
