"""The closed loop on the case pages in a real browser: the department administrator assigns a 差评, the handler
(on a 360-px phone) records the call-back, opens a ledger entry, extends it once and completes it with a photo."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from haochaping.cases.models import Case, State
from tests.cases_helpers import PNG, open_bad_review

pytestmark = pytest.mark.browser


def log_in(page, username: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-" + username)
    page.get_by_role("button", name="登录").click()


def open_action(page, code: str):
    """Unfold one action's form on the case page and return it."""
    details = page.locator(f"#action-{code}")
    details.locator("summary").click()
    return details


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_assign_then_handler_closes_the_loop(world, new_page, phone_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    case = open_bad_review(world)

    # the department administrator sees it waiting in the queue and assigns it
    admin = new_page()
    admin.goto("/cases/")
    log_in(admin, "a_dept_admin")
    expect(admin.get_by_role("heading", name="工单队列")).to_be_visible()
    admin.get_by_role("link", name=case.number).click()
    expect(admin.get_by_role("heading", name=case.number)).to_be_visible()
    form = open_action(admin, "assign")
    form.get_by_label("处理人").select_option(str(world.users["a_handler"].pk))
    form.get_by_role("button", name="提交：分派处理人").click()
    expect(admin.locator(".messages")).to_contain_text("已完成：分派处理人")
    expect(admin.locator(".state")).to_contain_text("待回访核实")

    # the handler, on a phone, finds it among their reminders
    page = phone_page
    page.goto("/cases/notifications/")
    log_in(page, "a_handler")
    expect(page.get_by_role("heading", name="工单提醒")).to_be_visible()
    page.get_by_role("link", name=f"新分派工单 {case.number}").first.click()
    expect(page.get_by_role("heading", name=case.number)).to_be_visible()
    no_sideways_scroll(page)
    assert "13800138000" not in page.content()
    page.goto("/cases/")  # the queue collapses into labelled rows on a phone
    expect(page.get_by_role("link", name=case.number)).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_role("link", name=case.number).click()

    form = open_action(page, "callback")
    expect(form.get_by_label("回访时间")).not_to_have_value("")
    form.get_by_label("电话").check()
    form.get_by_label("已联系上").check()
    form.get_by_label("评价人反映的情况（联系上时必填）").fill("排队一个多小时，窗口只开一个")
    form.get_by_role("button", name="提交：记录回访").click()
    expect(page.locator(".messages")).to_contain_text("记录回访")

    form = open_action(page, "verify")
    form.get_by_label("核实情况").fill("高峰期只开一个窗口，情况属实")
    form.get_by_role("button", name="提交：核实情况").click()
    expect(page.locator(".state")).to_contain_text("已核实待处理")

    form = open_action(page, "open_ledger")
    expect(form.get_by_label("整改期限")).not_to_have_value("")  # pre-filled with the policy's latest date
    form.get_by_label("整改措施").fill("高峰期增开窗口，推行预约")
    form.get_by_role("button", name="提交：列入台账限期整改").click()
    expect(page.locator(".state")).to_contain_text("限期整改中")

    form = open_action(page, "extend")
    form.get_by_label("延期理由").fill("需采购叫号设备")
    form.get_by_role("button", name="提交：申请延期（限一次）").click()
    expect(page.get_by_text("不能再次延期")).to_be_visible()
    no_sideways_scroll(page)

    form = open_action(page, "complete")
    form.get_by_label("整改完成情况").fill("已增开2个窗口并上线预约")
    form.get_by_label("证明材料（照片或PDF，可多选）").set_input_files(
        [{"name": "现场照片.png", "mimeType": "image/png", "buffer": PNG}]
    )
    form.get_by_role("button", name="提交：整改完成").click()
    expect(page.locator(".state")).to_contain_text("已反馈待评价")
    expect(page.locator(".outcome")).to_contain_text("已整改")
    timeline = page.locator(".timeline")
    for label in ("立案", "分派处理人", "记录回访", "核实情况", "列入台账限期整改", "申请延期（限一次）", "整改完成"):
        expect(timeline).to_contain_text(label)
    expect(timeline.get_by_role("link", name="现场照片.png")).to_be_visible()
    no_sideways_scroll(page)

    case.refresh_from_db()
    assert case.state == State.FEEDBACK and case.is_fixed and case.extended_deadline is not None
    assert Case.objects.get(pk=case.pk).attachments.get().name == "现场照片.png"
