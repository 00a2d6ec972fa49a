"""监督查评 services and selectors: checklists, plans, starting, scoring, photos, submission and its 整改事项."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from haochaping.accounts.scope import scope_for_user
from haochaping.cases.models import Rectification
from haochaping.inspections import selectors, services
from haochaping.inspections.access import access_for
from haochaping.inspections.models import Inspection, ItemScore, Mode, Photo
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.inspections_helpers import PNG, item_rows, make_checklist, make_plan, score_all, start, submitted, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def items_of(inspection: Inspection):
    return list(inspection.checklist.items.filter(is_active=True).order_by("order", "id"))


# --- checklists ----------------------------------------------------------------------------------------------


def test_checklist_is_created_with_ordered_items(world):
    checklist = make_checklist(world)
    assert [(i.order, i.text, i.max_score, i.pass_score) for i in checklist.items.order_by("order")] == [
        (10, "窗口人员着装规范、佩戴工作牌", 10, 6),
        (20, "提供一次性告知材料清单", 10, 6),
        (30, "叫号等候时长不超过30分钟", 5, 3),
    ]
    assert checklist.region == world.city and checklist.created_by == world.users["root"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"pass_score": 11}, "items-1-pass_score", "合格分不能高于满分"),
        ({"max_score": 0}, "items-1-max_score", "满分应在 1–100 之间"),
        ({"max_score": "十"}, "items-1-max_score", "满分应为整数"),
        ({"text": " "}, "items-1-text", "请填写第2项的检查内容"),
        ({"order": "x"}, "items-1-order", "序号应为整数"),
    ],
)
def test_checklist_validation_names_the_field(world, change, field, message):
    rows = item_rows()
    for key, value in change.items():
        setattr(rows[1], key, value)
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(checklist=None, region=world.city, name="表", items=rows, actor=world.users["root"])
    assert exc.value.field == field and message in exc.value.message


def test_checklist_needs_a_name_and_an_active_item(world):
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(checklist=None, region=world.city, name="", items=item_rows(), actor=None)
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(checklist=None, region=world.city, name="表", items=[], actor=None)
    assert exc.value.field == "items"


def test_a_scored_item_keeps_its_scale_but_may_be_deactivated(world):
    inspection = submitted(world, values=[10, 10, 5])
    checklist = inspection.checklist
    rows = [
        services.ItemIn(i.pk, i.order, i.category, i.text, i.guidance, i.max_score, i.pass_score, i.is_active)
        for i in checklist.items.order_by("order")
    ]
    rows[0].pass_score = 8
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(checklist=checklist, region=world.city, name="表", items=rows, actor=None)
    assert exc.value.field == "items-0-pass_score" and "已有检查记录" in exc.value.message
    rows[0].pass_score, rows[0].is_active, rows[0].text = 6, False, "着装规范（旧）"
    rows.append(services.ItemIn(None, 40, "窗口纪律", "在岗在位", "", 10, 8))
    services.checklist_save(checklist=checklist, region=world.city, name="新表名", items=rows, actor=None)
    checklist.refresh_from_db()
    assert checklist.name == "新表名"
    assert [i.text for i in selectors.active_items(checklist)] == [
        "提供一次性告知材料清单",
        "叫号等候时长不超过30分钟",
        "在岗在位",
    ]


# --- plans --------------------------------------------------------------------------------------------------------


def test_plan_is_created_with_halls_windows_and_inspectors(world):
    checklist = make_checklist(world)
    today = timezone.localdate()
    plan = services.plan_create(
        region=world.a.region, name="上城区暗访", checklist_id=checklist.pk, mode=Mode.MYSTERY,
        starts_on=today, ends_on=today + timedelta(days=10), hall_ids=[world.a.hall.pk],
        window_ids=[world.a.window.pk], inspector_ids=[world.users["a_inspector"].pk, world.users["city_admin"].pk],
        visits=3, actor=world.users["a_admin"],
    )  # fmt: skip
    assert plan.mode == Mode.MYSTERY and plan.visits == 3
    assert list(plan.halls.all()) == [world.a.hall] and list(plan.windows.all()) == [world.a.window]
    assert set(plan.inspectors.values_list("username", flat=True)) == {"a_inspector", "city_admin"}


def _plan_kwargs(world, **override) -> dict:
    today = timezone.localdate()
    kwargs = {
        "region": world.a.region, "name": "计划", "checklist_id": make_checklist(world).pk, "mode": Mode.UNANNOUNCED,
        "starts_on": today, "ends_on": today + timedelta(days=5), "hall_ids": [world.a.hall.pk],
        "inspector_ids": [world.users["a_inspector"].pk], "visits": 1, "actor": world.users["a_admin"],
    }  # fmt: skip
    kwargs.update(override)
    return kwargs


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"name": ""}, "name"),
        ({"checklist_id": 999999}, "checklist"),
        ({"mode": "loud"}, "mode"),
        ({"starts_on": None}, "starts_on"),
        ({"ends_on": timezone.localdate() - timedelta(days=3)}, "ends_on"),
        ({"hall_ids": []}, "halls"),
        ({"visits": 0}, "visits"),
        ({"inspector_ids": []}, "inspectors"),
    ],
)
def test_plan_validation_names_the_field(world, override, field):
    with pytest.raises(ValidationFailed) as exc:
        services.plan_create(**_plan_kwargs(world, **override))
    assert exc.value.field == field


def test_plan_refuses_other_counties_halls_windows_and_inspectors(world):
    for override, field in (
        ({"hall_ids": [world.b.hall.pk]}, "halls"),
        ({"window_ids": [world.b.window.pk]}, "windows"),
        ({"inspector_ids": [world.users["b_admin"].pk]}, "inspectors"),
        ({"inspector_ids": [world.users["a_auditor"].pk]}, "inspectors"),  # not an inspector
    ):
        with pytest.raises(ValidationFailed) as exc:
            services.plan_create(**_plan_kwargs(world, **override))
        assert exc.value.field == field


def test_a_county_plan_cannot_use_another_countys_checklist(world):
    other = make_checklist(world, region=world.b.region, name="拱墅区表")
    with pytest.raises(ValidationFailed) as exc:
        services.plan_create(**_plan_kwargs(world, checklist_id=other.pk))
    assert exc.value.field == "checklist"


# --- starting -------------------------------------------------------------------------------------------------------


def test_start_from_plan_takes_its_checklist_mode_and_the_windows_unit(world):
    plan = make_plan(world, mode=Mode.MYSTERY)
    inspection = start(world, world.users["a_inspector"], plan=plan)
    assert inspection.plan == plan and inspection.mode == Mode.MYSTERY and inspection.checklist == plan.checklist
    assert inspection.unit == world.a.dept and inspection.region == world.a.region
    assert inspection.state == Inspection.State.DRAFT
    assert inspection.number.startswith("JC") and inspection.number.endswith(f"-{inspection.pk:05d}")
    # a second tap returns the same draft
    assert start(world, world.users["a_inspector"], plan=plan) == inspection
    whole_hall = start(world, world.users["a_inspector"], plan=plan, window=False)
    assert whole_hall != inspection and whole_hall.unit == world.a.agency  # the hall's managing unit


def test_start_from_a_plan_not_mine_or_out_of_period_is_refused(world):
    plan = make_plan(world)
    with pytest.raises(ValidationFailed) as exc:
        start(world, world.users["a_admin"], plan=plan)  # not named in the plan
    assert exc.value.field == "plan"
    plan.starts_on = plan.ends_on = timezone.localdate() + timedelta(days=3)
    plan.save()
    with pytest.raises(ValidationFailed) as exc:
        start(world, world.users["a_inspector"], plan=plan)
    assert exc.value.field == "plan" and "检查期" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_start(
            actor=world.users["a_inspector"], scope=scope_for_user(world.users["a_inspector"]),
            plan_id=make_plan(world).pk, hall_id=world.b.hall.pk,
        )  # fmt: skip
    assert exc.value.field == "hall"


def test_ad_hoc_start_is_limited_to_my_region_and_role(world):
    make_checklist(world)
    inspection = start(world, world.users["a_admin"])
    assert inspection.plan is None and inspection.mode == Mode.UNANNOUNCED and inspection.unit == world.a.dept
    with pytest.raises(ValidationFailed) as exc:
        start(world, world.users["a_inspector"], county=world.b)
    assert exc.value.field == "hall"
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_start(
            actor=world.users["a_inspector"], scope=scope_for_user(world.users["a_inspector"]),
            hall_id=world.a.hall.pk, window_id=world.b.window.pk, mode=Mode.UNANNOUNCED,
            checklist_id=make_checklist(world).pk,
        )  # fmt: skip
    assert exc.value.field == "window"
    for name in ("a_auditor", "a_dept_admin", "a_handler"):
        with pytest.raises(PermissionDenied):
            start(world, world.users[name])


def test_ad_hoc_start_validates_mode_and_checklist(world):
    user = world.users["a_inspector"]
    checklist = make_checklist(world, region=world.b.region)
    for kwargs, field in (
        ({"mode": "", "checklist_id": checklist.pk}, "mode"),
        ({"mode": Mode.ANNOUNCED, "checklist_id": checklist.pk}, "checklist"),  # another county's: not visible
    ):
        with pytest.raises(ValidationFailed) as exc:
            services.inspection_start(actor=user, scope=scope_for_user(user), hall_id=world.a.hall.pk, **kwargs)
        assert exc.value.field == field


# --- saving the draft ----------------------------------------------------------------------------------------------


def test_saving_scores_notes_and_photos_as_the_inspector_goes(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first, second, third = items_of(inspection)
    services.inspection_save(
        inspection.pk, actor=user, scores={first.pk: 4}, notes={first.pk: "未佩戴工作牌"}, summary="大厅秩序良好",
        photos=[services.PhotoIn(upload("a.jpg"), first.pk), services.PhotoIn(upload("b.png", PNG))],
    )  # fmt: skip
    score = ItemScore.objects.get(inspection=inspection, item=first)
    assert (score.score, score.passed, score.note) == (4, False, "未佩戴工作牌")
    photos = list(inspection.photos.order_by("id"))
    assert [(p.name, p.content_type, p.item_id) for p in photos] == [
        ("a.jpg", "image/jpeg", first.pk),
        ("b.png", "image/png", None),
    ]
    assert len(photos[0].sha256) == 64 and photos[0].uploaded_by == user
    services.inspection_save(inspection.pk, actor=user, scores={first.pk: 9, second.pk: "8"})
    assert ItemScore.objects.get(inspection=inspection, item=first).passed
    assert ItemScore.objects.get(inspection=inspection, item=first).note == "未佩戴工作牌"  # not posted: kept
    services.inspection_save(inspection.pk, actor=user, scores={second.pk: ""})
    assert not ItemScore.objects.filter(inspection=inspection, item=second).exists()
    inspection.refresh_from_db()
    assert inspection.summary == "大厅秩序良好"


@pytest.mark.parametrize(("value", "message"), [(11, "应在 0–10 之间"), (-1, "应在 0–10 之间"), ("好", "应为整数")])
def test_score_outside_the_items_scale_is_refused_naming_the_item(world, value, message):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first = items_of(inspection)[0]
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={first.pk: value})
    assert exc.value.field == f"score-{first.pk}" and first.text in exc.value.message and message in exc.value.message


def test_a_note_without_a_score_and_a_foreign_item_are_refused(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first = items_of(inspection)[0]
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={}, notes={first.pk: "发现"})
    assert exc.value.field == f"score-{first.pk}"
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={999999: 1})
    assert exc.value.field == "score-999999"


def test_photos_must_be_jpeg_or_png_within_the_size_limit(world, settings):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first = items_of(inspection)[0]
    pdf = upload("scan.pdf", b"%PDF-1.4 test")
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={}, photos=[services.PhotoIn(pdf, first.pk)])
    assert exc.value.field == f"photo-{first.pk}" and "JPG 或 PNG" in exc.value.message
    fake = upload("fake.jpg", b"not an image at all")
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={}, photos=[services.PhotoIn(fake)])
    assert exc.value.field == "photo"
    settings.HAOCHAPING_INSPECTION_PHOTO_MAX_MB = 0.001  # about 1 KB
    big = upload("big.jpg", b"\xff\xd8\xff" + b"0" * 4096)
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_save(inspection.pk, actor=user, scores={first.pk: 5}, photos=[services.PhotoIn(big)])
    assert exc.value.field == "photo" and "不能超过" in exc.value.message
    assert not Photo.objects.exists() and not ItemScore.objects.exists()  # all or nothing


def test_a_failed_save_leaves_no_file_behind(world, settings, tmp_path):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first = items_of(inspection)[0]
    good, bad = services.PhotoIn(upload("ok.jpg")), services.PhotoIn(upload("x.pdf", b"%PDF-1"))
    with pytest.raises(ValidationFailed):
        services.inspection_save(inspection.pk, actor=user, scores={first.pk: 5}, photos=[good, bad])
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


def test_only_the_inspections_inspector_may_save_or_submit(world):
    inspection = start(world, world.users["a_inspector"], plan=make_plan(world))
    with pytest.raises(PermissionDenied):
        services.inspection_save(inspection.pk, actor=world.users["a_admin"], scores={})
    with pytest.raises(PermissionDenied):
        services.inspection_submit(inspection.pk, actor=world.users["a_admin"])
    with pytest.raises(NotFound):
        services.inspection_submit(999999, actor=world.users["a_admin"])


def test_photo_delete_from_a_draft(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    services.inspection_save(inspection.pk, actor=user, scores={}, photos=[services.PhotoIn(upload())])
    photo = inspection.photos.get()
    with pytest.raises(PermissionDenied):
        services.photo_delete(photo.pk, actor=world.users["a_admin"])
    services.photo_delete(photo.pk, actor=user)
    assert not inspection.photos.exists()


# --- submission ------------------------------------------------------------------------------------------------


def test_submit_scores_and_opens_one_rectification_per_failed_item(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    score_all(inspection, user, [2, 6, 2])  # 2<6 fails, 6=6 passes, 2<3 fails
    now = timezone.now()
    inspection = services.inspection_submit(inspection.pk, actor=user, now=now)
    assert inspection.state == Inspection.State.SUBMITTED and inspection.submitted_at == now
    assert inspection.score == Decimal("40.0")  # 10 of 25 points
    assert inspection.failed_items == 2
    scores = list(inspection.scores.select_related("item", "rectification").order_by("item__order"))
    assert [s.passed for s in scores] == [False, True, False]
    first = scores[0].rectification
    assert first.title == "监督查评：窗口人员着装规范、佩戴工作牌"
    assert first.unit == world.a.dept and first.region == world.a.region and first.created_by == user
    assert first.source == f"监督查评 {inspection.number}"
    assert "窗口人员未佩戴工作牌" in first.description and inspection.number in first.description
    assert world.a.hall.name in first.description and "01号窗口" in first.description
    assert scores[1].rectification is None
    assert Rectification.objects.count() == 2


def test_submit_twice_conflicts_and_opens_nothing_more(world):
    inspection = submitted(world)
    assert Rectification.objects.count() == 1
    user = world.users["a_inspector"]
    with pytest.raises(Conflict):
        services.inspection_submit(inspection.pk, actor=user)
    with pytest.raises(Conflict):
        services.inspection_save(inspection.pk, actor=user, scores={})
    with pytest.raises(Conflict):
        services.photo_delete(inspection.photos.get().pk, actor=user)
    assert Rectification.objects.count() == 1


def test_submit_needs_every_active_item_and_findings_for_failures(world):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    first, second, third = items_of(inspection)
    services.inspection_save(inspection.pk, actor=user, scores={first.pk: 10, second.pk: 10})
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_submit(inspection.pk, actor=user)
    assert exc.value.field == f"score-{third.pk}" and third.text in exc.value.message
    services.inspection_save(inspection.pk, actor=user, scores={third.pk: 1})
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_submit(inspection.pk, actor=user)
    assert exc.value.field == f"note-{third.pk}"
    assert Inspection.objects.get(pk=inspection.pk).state == Inspection.State.DRAFT
    assert not Rectification.objects.exists()


def test_a_failing_rectification_rolls_the_whole_submission_back(world, monkeypatch):
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=make_plan(world))
    score_all(inspection, user, [1, 1, 1])
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValidationFailed("boom", field="unit")
        return original(*args, **kwargs)

    original = services.rectification_open
    monkeypatch.setattr(services, "rectification_open", flaky)
    with pytest.raises(ValidationFailed):
        services.inspection_submit(inspection.pk, actor=user)
    assert not Rectification.objects.exists()
    assert Inspection.objects.get(pk=inspection.pk).state == Inspection.State.DRAFT


def test_percent_rounds_half_up():
    assert services.percent(2, 3) == Decimal("66.7")
    assert services.percent(1, 8) == Decimal("12.5")
    assert services.percent(0, 0) == Decimal("0.0")


# --- selectors and scope ------------------------------------------------------------------------------------------


def test_visibility_by_role(world):
    mine = submitted(world)
    draft = start(world, world.users["a_inspector"], plan=make_plan(world), window=False)
    other = submitted(world, user=world.users["b_admin"], county=world.b)

    def visible(name):
        return set(selectors.inspections_visible(access_for(scope_for_user(world.users[name]))))

    assert visible("a_admin") == visible("a_inspector") == visible("a_auditor") == {mine, draft}
    assert visible("a_dept_admin") == {mine}  # submitted, of its unit
    assert visible("root") == {mine, draft, other}
    assert visible("a_handler") == visible("a_clerk") == visible("nobody") == set()
    assert visible("city_admin") == {mine, draft, other}


def test_checklists_of_higher_regions_are_visible_but_not_editable(world):
    province_list = make_checklist(world, region=world.province, name="省级表")
    county_b = make_checklist(world, region=world.b.region, name="拱墅区表")
    access = access_for(scope_for_user(world.users["a_admin"]))
    assert province_list in selectors.checklists_visible(access)
    assert county_b not in selectors.checklists_visible(access)
    assert province_list not in selectors.checklists_editable(access)
    inspector = access_for(scope_for_user(world.users["a_inspector"]))
    assert not selectors.checklists_editable(inspector).exists()


def test_plan_progress_counts_submitted_visits_per_hall(world):
    plan = make_plan(world, visits=2)
    user = world.users["a_inspector"]
    inspection = start(world, user, plan=plan)
    score_all(inspection, user)
    services.inspection_submit(inspection.pk, actor=user)
    start(world, user, plan=plan, window=False)  # a draft
    [row] = selectors.plan_progress(plan)
    assert (row.hall, row.planned, row.done, row.drafts, row.open) == (world.a.hall, 2, 1, 1, 1)
    assert selectors.plan_totals(plan) == (1, 2)
    assert list(selectors.plans_assigned(user)) == [plan]
    assert not selectors.plans_assigned(world.users["a_admin"]).exists()


def test_unit_scores_for_analytics(world):
    first = submitted(world, values=[2, 10, 5])  # 68.0
    second = submitted(world, values=[10, 10, 5])  # 100.0
    submitted(world, user=world.users["b_admin"], county=world.b, values=[10, 10, 5])
    today = timezone.localdate()
    figures = selectors.unit_scores(scope_for_user(world.users["a_admin"]), today, today)
    assert figures == {world.a.dept.pk: {"inspections": 2, "score": Decimal("84.0"), "failed_items": 1}}
    everything = selectors.unit_scores(scope_for_user(world.users["root"]), today, today)
    assert set(everything) == {world.a.dept.pk, world.b.dept.pk}
    Inspection.objects.filter(pk__in=[first.pk, second.pk]).update(submitted_at=timezone.now() - timedelta(days=3))
    assert selectors.unit_scores(scope_for_user(world.users["a_admin"]), today, today) == {}


def test_ancestor_paths():
    assert selectors.ancestor_paths("33/3301/330102/") == ["33/", "33/3301/", "33/3301/330102/"]
    assert selectors.ancestor_paths("") == []


# --- demo -----------------------------------------------------------------------------------------------------------


def test_demo_seeds_a_checklist_a_plan_and_submitted_inspections(world):
    from django.contrib.auth import get_user_model

    from haochaping.accounts.models import Membership, Role
    from haochaping.inspections import demo

    city_agency = Membership.objects.get(user=world.users["city_admin"]).unit
    inspector = get_user_model().objects.create_user(username="inspector", password="x")
    Membership.objects.create(user=inspector, unit=city_agency, role=Role.INSPECTOR)
    lines = []
    demo.seed_demo(lines.append, 7)
    assert lines and "监督查评" in lines[0]
    plan = selectors.plans_assigned(inspector).get()
    assert plan.mode == Mode.UNANNOUNCED and plan.checklist.items.count() == 8
    done, planned = selectors.plan_totals(plan)
    assert done == Inspection.objects.filter(state=Inspection.State.SUBMITTED).count() >= 3 and planned > done
    failed = ItemScore.objects.filter(passed=False)
    assert failed.exists() and all(s.rectification_id for s in failed)
    assert Photo.objects.filter(content_type="image/jpeg").exists()
    demo.seed_demo(lines.append, 7)  # a second run changes nothing
    assert selectors.plans_assigned(inspector).count() == 1
