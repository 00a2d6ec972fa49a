"""监督查评 pages: one test (or a few) per view; access rules per role are in tests/authz_inspections.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from haochaping.cases.models import Rectification
from haochaping.inspections.models import Checklist, Inspection, ItemScore, Mode, Photo, Plan
from tests.inspections_helpers import jpeg, make_checklist, make_plan, start, submitted, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(world, name: str) -> Client:
    client = Client()
    client.force_login(world.users[name])
    return client


def items_of(inspection: Inspection):
    return list(inspection.checklist.items.filter(is_active=True).order_by("order", "id"))


# --- index ---------------------------------------------------------------------------------------------------------


def test_index_shows_the_inspectors_plans_drafts_and_records(world):
    plan = make_plan(world)
    done = submitted(world)
    draft = start(world, world.users["a_inspector"], plan=plan)
    page = client_for(world, "a_inspector").get(reverse("inspections:index")).content.decode()
    assert "我的检查计划" in page and plan.name in page and f"?plan={plan.pk}" in page
    assert draft.number in page and done.number in page and "68.0" in page


def test_index_filters(world):
    failed = submitted(world)
    clean = submitted(world, values=[10, 10, 5])
    client = client_for(world, "a_admin")
    page = client.get(reverse("inspections:index"), {"failed": "1"}).content.decode()
    assert failed.number in page and clean.number not in page
    page = client.get(reverse("inspections:index"), {"state": "draft"}).content.decode()
    assert failed.number not in page
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = client.get(reverse("inspections:index"), {"start": tomorrow, "end": "bad"}).content.decode()
    assert failed.number not in page
    page = client.get(reverse("inspections:index"), {"mode": Mode.UNANNOUNCED}).content.decode()
    assert failed.number in page and clean.number in page


def test_department_admin_sees_only_submitted_inspections_of_the_unit(world):
    done = submitted(world)
    draft = start(world, world.users["a_inspector"], plan=make_plan(world), window=False)
    other = submitted(world, user=world.users["b_admin"], county=world.b)
    client = client_for(world, "a_dept_admin")
    page = client.get(reverse("inspections:index")).content.decode()
    assert done.number in page and draft.number not in page and other.number not in page
    assert "我的检查计划" not in page
    assert client.get(reverse("inspections:detail", args=[draft.pk])).status_code == 404
    report = client.get(reverse("inspections:detail", args=[done.pk])).content.decode()
    rectification = done.scores.get(passed=False).rectification
    assert reverse("cases:rectification_detail", args=[rectification.pk]) in report


# --- checklists ----------------------------------------------------------------------------------------------


def _checklist_post(**override) -> dict:
    data = {
        "name": "大厅检查表", "description": "", "is_active": "1", "rows": "3",
        "items-0-id": "", "items-0-order": "10", "items-0-category": "窗口礼仪", "items-0-text": "着装规范",
        "items-0-guidance": "", "items-0-max_score": "10", "items-0-pass_score": "6", "items-0-is_active": "1",
        "items-1-id": "", "items-1-order": "20", "items-1-category": "", "items-1-text": "一次性告知",
        "items-1-guidance": "出具告知单", "items-1-max_score": "5", "items-1-pass_score": "3", "items-1-is_active": "1",
        "items-2-id": "", "items-2-order": "30", "items-2-text": "", "items-2-max_score": "10",
    }  # fmt: skip
    data.update(override)
    return data


def test_checklists_page_lists_visible_checklists(world):
    make_checklist(world, region=world.province, name="省级表")
    make_checklist(world, region=world.b.region, name="拱墅区表")
    page = client_for(world, "a_inspector").get(reverse("inspections:checklists")).content.decode()
    assert "省级表" in page and "拱墅区表" not in page and "新建检查表" not in page
    page = client_for(world, "a_admin").get(reverse("inspections:checklists")).content.decode()
    assert "新建检查表" in page


def test_checklist_new_creates_one_for_the_managers_region(world):
    client = client_for(world, "a_admin")
    assert "items-7-text" in client.get(reverse("inspections:checklist_new")).content.decode()  # eight blank rows
    response = client.post(reverse("inspections:checklist_new"), _checklist_post(region=str(world.a.region.pk)))
    checklist = Checklist.objects.get(name="大厅检查表")
    assert response.status_code == 302 and response.url == reverse("inspections:checklist_edit", args=[checklist.pk])
    assert checklist.region == world.a.region
    assert [(i.text, i.max_score, i.pass_score) for i in checklist.items.order_by("order")] == [
        ("着装规范", 10, 6),
        ("一次性告知", 5, 3),
    ]


def test_checklist_new_shows_the_error_and_keeps_the_input(world):
    client = client_for(world, "a_admin")
    response = client.post(reverse("inspections:checklist_new"), _checklist_post(**{"items-1-pass_score": "9"}))
    assert response.status_code == 422
    page = response.content.decode()
    assert "第2项：合格分不能高于满分" in page and 'value="一次性告知"' in page
    assert not Checklist.objects.exists()


def test_checklist_edit_by_a_manager_and_read_only_for_an_inspector(world):
    checklist = make_checklist(world, region=world.a.region)
    items = list(checklist.items.order_by("order"))
    url = reverse("inspections:checklist_edit", args=[checklist.pk])
    page = client_for(world, "a_inspector").get(url).content.decode()
    assert items[0].text in page and "保存检查表" not in page
    assert client_for(world, "a_inspector").post(url, {}).status_code == 403
    client = client_for(world, "a_admin")
    assert "保存检查表" in client.get(url).content.decode()
    data = {"name": "改名后", "is_active": "1", "rows": str(len(items))}
    for n, item in enumerate(items):
        data.update(
            {
                f"items-{n}-id": str(item.pk), f"items-{n}-order": str(item.order), f"items-{n}-text": item.text,
                f"items-{n}-max_score": str(item.max_score), f"items-{n}-pass_score": str(item.pass_score),
                f"items-{n}-is_active": "" if n == 2 else "1",
            }
        )  # fmt: skip
    assert client.post(url, data).status_code == 302
    checklist.refresh_from_db()
    assert checklist.name == "改名后" and checklist.items.filter(is_active=False).count() == 1


def test_a_higher_regions_checklist_is_read_only_for_a_county(world):
    checklist = make_checklist(world, region=world.province, name="省级表")
    url = reverse("inspections:checklist_edit", args=[checklist.pk])
    assert "保存检查表" not in client_for(world, "a_admin").get(url).content.decode()
    assert client_for(world, "a_admin").post(url, {}).status_code == 403


# --- plans --------------------------------------------------------------------------------------------------------


def test_plan_new_creates_a_plan(world):
    checklist = make_checklist(world)
    client = client_for(world, "a_admin")
    page = client.get(reverse("inspections:plan_new")).content.decode()
    assert world.a.hall.name in page and world.b.hall.name not in page and "a_inspector" in page
    assert 'value="unannounced" checked' in page
    today = timezone.localdate()
    data = {
        "name": "十一月暗访", "checklist": str(checklist.pk), "mode": Mode.UNANNOUNCED,
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=20)).isoformat(),
        "halls": [str(world.a.hall.pk)], "windows": [str(world.a.window.pk)],
        "inspectors": [str(world.users["a_inspector"].pk)], "visits": "2", "notes": "",
    }  # fmt: skip
    response = client.post(reverse("inspections:plan_new"), data)
    plan = Plan.objects.get(name="十一月暗访")
    assert response.status_code == 302 and response.url == reverse("inspections:plan_detail", args=[plan.pk])
    assert plan.region == world.a.region and plan.visits == 2 and list(plan.windows.all()) == [world.a.window]


def test_plan_new_shows_errors(world):
    checklist = make_checklist(world)
    response = client_for(world, "a_admin").post(
        reverse("inspections:plan_new"),
        {"name": "无大厅", "checklist": str(checklist.pk), "mode": "unannounced", "starts_on": "2026-01-01",
         "ends_on": "2026-02-01", "inspectors": [str(world.users["a_inspector"].pk)], "visits": "1"},
    )  # fmt: skip
    assert response.status_code == 422 and "请选择至少一个检查大厅" in response.content.decode()
    assert not Plan.objects.exists()


def test_plan_detail_shows_progress_and_the_start_button_to_its_inspector(world):
    plan = make_plan(world, visits=2)
    url = reverse("inspections:plan_detail", args=[plan.pk])
    page = client_for(world, "a_inspector").get(url).content.decode()
    assert world.a.hall.name in page and "已完成 0/2 次" in page and f"?plan={plan.pk}" in page
    assert f"?plan={plan.pk}" not in client_for(world, "a_auditor").get(url).content.decode()


# --- starting -------------------------------------------------------------------------------------------------------


def test_start_from_a_plan(world):
    plan = make_plan(world)
    client = client_for(world, "a_inspector")
    page = client.get(reverse("inspections:start"), {"plan": plan.pk}).content.decode()
    assert world.a.hall.name in page and "01号 市场准入" in page
    response = client.post(
        reverse("inspections:start"), {"plan": plan.pk, "hall": world.a.hall.pk, "window": world.a.window.pk}
    )
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response.url == reverse("inspections:detail", args=[inspection.pk])
    assert inspection.plan == plan and inspection.unit == world.a.dept


def test_start_ad_hoc_in_two_steps(world):
    checklist = make_checklist(world)
    client = client_for(world, "a_admin")
    page = client.get(reverse("inspections:start")).content.decode()
    assert world.a.hall.name in page and world.b.hall.name not in page
    page = client.get(reverse("inspections:start"), {"hall": world.a.hall.pk}).content.decode()
    assert checklist.name in page and "01号 市场准入" in page
    response = client.post(
        reverse("inspections:start"),
        {"hall": world.a.hall.pk, "window": "", "mode": Mode.MYSTERY, "checklist": checklist.pk},
    )
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and inspection.mode == Mode.MYSTERY and inspection.window is None


def test_start_errors_are_shown(world):
    make_checklist(world)
    response = client_for(world, "a_admin").post(reverse("inspections:start"), {"hall": world.b.hall.pk})
    assert response.status_code == 422 and "请选择检查方式" in response.content.decode()


# --- the form and the report --------------------------------------------------------------------------------------


def test_the_draft_form_is_made_for_a_phone(world):
    inspection = start(world, world.users["a_inspector"], plan=make_plan(world))
    page = client_for(world, "a_inspector").get(reverse("inspections:detail", args=[inspection.pk])).content.decode()
    first = items_of(inspection)[0]
    assert f'name="score-{first.pk}" value="10"' in page and 'type="radio"' in page
    assert 'accept="image/*" capture="environment"' in page and 'enctype="multipart/form-data"' in page
    assert f'name="note-{first.pk}"' in page and "提交检查" in page
    # someone else sees the draft without the form
    page = client_for(world, "a_admin").get(reverse("inspections:detail", args=[inspection.pk])).content.decode()
    assert "提交检查" not in page and "检查进行中" in page


def test_save_then_submit_through_the_form(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first, second, third = items_of(inspection)
    client = client_for(world, "a_inspector")
    url = reverse("inspections:detail", args=[inspection.pk])
    response = client.post(
        url,
        {
            "action": "save", f"score-{first.pk}": "3", f"note-{first.pk}": "未佩戴工作牌", "summary": "秩序良好",
            f"photo-{first.pk}": upload("工作牌.jpg"),
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert ItemScore.objects.get(item=first).score == 3 and Photo.objects.get().item == first
    # submitting with an item unscored: the form comes back naming it, what was posted is saved
    response = client.post(url, {"action": "submit", f"score-{second.pk}": "8"})
    assert response.status_code == 422
    assert f"「{third.text}」尚未打分" in response.content.decode()
    assert ItemScore.objects.filter(inspection=inspection).count() == 2
    response = client.post(url, {"action": "submit", f"score-{third.pk}": "5"})
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.state == Inspection.State.SUBMITTED and inspection.failed_items == 1
    report = client.get(url).content.decode()
    rectification = Rectification.objects.get()
    assert str(inspection.score) in report and "1 项不合格" in report
    assert reverse("cases:rectification_detail", args=[rectification.pk]) in report
    assert reverse("inspections:photo", args=[Photo.objects.get().pk]) in report
    # submitted: no more changes
    assert client.post(url, {"action": "save", f"score-{first.pk}": "10"}).status_code == 409
    assert ItemScore.objects.get(item=first).score == 3


def test_form_errors_keep_what_was_typed(world):
    inspection = start(world, world.users["a_inspector"], plan=make_plan(world))
    first = items_of(inspection)[0]
    response = client_for(world, "a_inspector").post(
        reverse("inspections:detail", args=[inspection.pk]),
        {"action": "save", f"score-{first.pk}": "3", f"note-{first.pk}": "记录的发现", f"photo-{first.pk}": upload(
            "x.pdf", b"%PDF-1.4")},
    )  # fmt: skip
    assert response.status_code == 422
    page = response.content.decode()
    assert "现场照片须为 JPG" in page and "记录的发现" in page and 'value="3" checked' in page
    assert not ItemScore.objects.exists()


def test_only_the_inspector_may_post_the_form(world):
    inspection = start(world, world.users["a_inspector"], plan=make_plan(world))
    url = reverse("inspections:detail", args=[inspection.pk])
    assert client_for(world, "a_admin").post(url, {"action": "save"}).status_code == 403
    assert client_for(world, "a_auditor").post(url, {"action": "save"}).status_code == 403


def test_delete_a_photo_of_the_draft(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    client = client_for(world, "a_inspector")
    url = reverse("inspections:detail", args=[inspection.pk])
    client.post(url, {"action": "save", "photo": upload("大厅.jpg")})
    photo = Photo.objects.get()
    assert client.post(url, {"action": "delete_photo", "photo": photo.pk}).status_code == 302
    assert not Photo.objects.exists()


# --- the photo file -------------------------------------------------------------------------------------------------


def test_photo_is_served_to_those_who_may_see_the_inspection(world):
    inspection = submitted(world)
    photo = inspection.photos.get()
    url = reverse("inspections:photo", args=[photo.pk])
    response = client_for(world, "a_dept_admin").get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store" and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == jpeg()
    assert client_for(world, "b_admin").get(url).status_code == 404
    assert client_for(world, "a_handler").get(url).status_code == 404


def test_deleting_an_unknown_photo_is_a_form_error(world):
    inspection = start(world, world.users["a_inspector"], plan=make_plan(world))
    url = reverse("inspections:detail", args=[inspection.pk])
    response = client_for(world, "a_inspector").post(url, {"action": "delete_photo", "photo": "x"})
    assert response.status_code == 422 and "照片不存在" in response.content.decode()


# --- admin ----------------------------------------------------------------------------------------------------------


def test_admin_lists_are_scoped_and_records_read_only(world):
    from haochaping.accounts.roles import assign_role_group, sync_role_groups

    groups = sync_role_groups()
    assign_role_group(world.users["a_admin"], groups)
    mine = submitted(world)
    submitted(world, user=world.users["b_admin"], county=world.b)
    client = client_for(world, "a_admin")
    for model in ("checklist", "plan", "inspection", "itemscore", "photo"):
        assert client.get(f"/admin/inspections/{model}/").status_code == 200, model
    page = client.get("/admin/inspections/inspection/").content.decode()
    assert mine.number in page and "拱墅区" not in page
    assert client.get(f"/admin/inspections/inspection/{mine.pk}/change/").status_code == 200
    assert client.get("/admin/inspections/inspection/add/").status_code == 403
    root = client_for(world, "root")
    assert root.get("/admin/inspections/photo/").status_code == 200
    assert root.post(f"/admin/inspections/inspection/{mine.pk}/delete/", {"post": "yes"}).status_code == 403
