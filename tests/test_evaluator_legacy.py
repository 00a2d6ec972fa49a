"""Legacy button evaluators (按键评价器): mappings, presses → grades, timeouts, the bridge API, the page and figures."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, scope_for_api_key, scope_for_user
from haochaping.audit.models import AdminAction
from haochaping.directory.models import Window
from haochaping.evaluator import legacy, legacy_selectors
from haochaping.evaluator import services as evaluator
from haochaping.evaluator.models import EvaluatorPrompt, LegacyDevice, LegacyDeviceModel, LegacyPress
from haochaping.lib.errors import NotFound, PermissionDenied, ValidationFailed
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating, RatingOffer
from haochaping.ratings.services import service_case_register
from tests.conftest import api_client, post_json

EVENTS = "/api/v1/evaluator/legacy/events"


@pytest.fixture
def devices(world):
    """A 3-button device on county A's window 01 and a 4-button one on its window 02."""
    legacy.default_models()
    w2 = Window.objects.create(hall=world.a.hall, code="02", name="综合受理", unit=world.a.dept)
    d3 = legacy.device_register(ALL_SCOPE, serial="B3-0001", model_code="btn3-std", hall=world.a.hall.code, window="01")
    d4 = legacy.device_register(ALL_SCOPE, serial="B4-0001", model_code="btn4-std", hall=world.a.hall.code, window="02")
    return d3, d4, w2


def key() -> str:
    return str(uuid.uuid4())


def send(world, *events, api_key=None):
    return post_json(api_client(api_key or world.key_a), EVENTS, {"events": list(events)})


# --- mapping ---------------------------------------------------------------------------------------------------


def test_the_default_models_map_buttons_by_name(db):
    m3, m4 = legacy.default_models()
    assert [(e["label"], e["grade"]) for e in m3.mapping] == [("满意", 4), ("基本满意", 3), ("不满意", 2)]
    assert [e["grade"] for e in m4.mapping] == [5, 4, 3, 2]
    assert (m3.device_kind, m4.device_kind) == ("buttons3", "buttons4")
    assert legacy.default_models()[0].pk == m3.pk  # idempotent


@pytest.mark.parametrize(
    ("buttons", "mapping", "field"),
    [
        (5, [], "buttons"),
        (3, [{"button": 1, "label": "满意", "grade": 4}], "mapping"),  # one entry per button
        (3, [{"button": b, "label": "x", "grade": 6} for b in (1, 2, 3)], "mapping"),  # grades 1–5
        (3, [{"button": b, "label": " ", "grade": 3} for b in (1, 2, 3)], "mapping"),  # labels non-empty
        (3, [{"button": b, "label": "x", "grade": 3} for b in (1, 1, 2)], "mapping"),  # each button once
        (3, [{"button": b, "label": "x", "grade": 3} for b in (1, 2, 4)], "mapping"),  # buttons 1..N
        (3, "满意=5", "mapping"),
    ],
)
def test_a_mapping_is_validated(buttons, mapping, field):
    with pytest.raises(ValidationFailed) as exc:
        legacy.mapping_clean(buttons, mapping)
    assert exc.value.field == field


def test_a_mapping_change_bumps_the_version_and_is_audited(world):
    m3 = legacy.default_models()[0]
    mapping = [dict(e) for e in m3.mapping]
    mapping[0]["grade"] = 5  # 满意 → 非常满意
    saved = legacy.model_save(ALL_SCOPE, model=m3, name=m3.name, buttons=3, mapping=mapping)
    assert saved.version == 2 and saved.mapping[0]["grade"] == 5
    log = AdminAction.objects.filter(model="legacydevicemodel", object_id=str(m3.pk)).latest("id")
    assert log.changes["version"] == [1, 2] and log.changes["mapping"][1][0]["grade"] == 5
    # Saving the same mapping again changes nothing.
    assert legacy.model_save(ALL_SCOPE, model=saved, name=m3.name, buttons=3, mapping=mapping).version == 2


def test_only_administrators_of_the_models_region_edit_it(world):
    legacy.default_models()
    a_admin = scope_for_user(world.users["a_admin"])
    mine = legacy.model_save(
        a_admin, model=None, code="a-btn3", name="上城三键", buttons=3,
        mapping=[{"button": b, "label": f"键{b}", "grade": g} for b, g in ((1, 5), (2, 3), (3, 1))],
    )  # fmt: skip
    assert mine.region_id == world.a.region.pk
    with pytest.raises(PermissionDenied):
        legacy.model_save(
            a_admin, model=LegacyDeviceModel.objects.get(code="btn3-std"), name="x", buttons=3, mapping=[]
        )
    with pytest.raises(PermissionDenied):
        legacy.model_save(scope_for_user(world.users["b_admin"]), model=mine, name="x", buttons=3, mapping=[])
    with pytest.raises(PermissionDenied):
        legacy.model_save(scope_for_user(world.users["a_inspector"]), model=None, name="x", buttons=3, mapping=[])
    # County B cannot use county A's model.
    key_b = scope_for_api_key(ApiKey.objects.get(name="拱墅区审批系统"))
    with pytest.raises(NotFound) as exc:
        legacy.device_register(key_b, serial="X1", model_code="a-btn3", hall=world.b.hall.code, window="01")
    assert exc.value.field == "model"


# --- presses and timeouts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("which", "button", "grade"), [(0, 1, 4), (0, 2, 3), (0, 3, 2), (1, 1, 5), (1, 4, 2)])
def test_a_press_is_stored_as_its_mapped_grade(world, devices, which, button, grade):
    device = devices[which]
    result = legacy.press_record(device, button, key())
    assert result.status == 201 and result.grade == grade
    rating = Rating.objects.get(public_id=result.rating_id)
    assert rating.grade == grade and rating.channel == "hall_tablet"
    assert rating.device_kind == ("buttons3" if which == 0 else "buttons4")
    assert rating.window_id == device.window_id and rating.target == "window"
    assert rating.staff_id == (world.a.clerk.pk if which == 0 else None)
    press = LegacyPress.objects.get()
    assert press.kind == "press" and press.button == button and press.grade == grade
    assert press.mapping_version == 1 and press.mapping_entry["grade"] == grade
    assert str(press.rating_public_id) == result.rating_id
    # A walk-in press records its offer, as the tablet does.
    assert RatingOffer.objects.filter(window=device.window, kind="evaluator").count() == 1


def test_a_press_uses_the_current_mapping_and_keeps_the_one_it_used(world, devices):
    d3 = devices[0]
    first = legacy.press_record(d3, 1, key())
    model = d3.model
    mapping = [dict(e) for e in model.mapping]
    mapping[0]["grade"] = 5
    legacy.model_save(ALL_SCOPE, model=model, name=model.name, buttons=3, mapping=mapping)
    d3.refresh_from_db()
    second = legacy.press_record(d3, 1, key())
    assert (first.grade, second.grade) == (4, 5)
    rows = list(LegacyPress.objects.order_by("id").values_list("mapping_version", "grade"))
    assert rows == [(1, 4), (2, 5)]


def test_a_press_is_idempotent_per_device_and_key(world, devices):
    d3, d4, _ = devices
    k = key()
    first = legacy.press_record(d3, 1, k)
    again = legacy.press_record(d3, 1, k)
    assert (first.status, again.status) == (201, 200) and again.rating_id == first.rating_id and again.grade == 4
    assert Rating.objects.count() == 1 and LegacyPress.objects.count() == 1
    # The same key on another device is another event.
    assert legacy.press_record(d4, 1, k).status == 201
    # The key of a press cannot be reused for a timeout.
    assert legacy.timeout_record(d3, k).status == 409


def test_a_button_the_model_lacks_is_refused_naming_button(world, devices):
    for button in (0, 4, None):
        with pytest.raises(ValidationFailed) as exc:
            legacy.press_record(devices[0], button, key())
        assert exc.value.field == "button"
    assert not Rating.objects.exists() and not LegacyPress.objects.exists()


def test_a_timeout_records_the_offer_and_never_a_rating(world, devices):
    d3 = devices[0]
    result = legacy.timeout_record(d3, key())
    assert result.status == 201 and result.rating_id is None and result.grade is None
    assert not Rating.objects.exists()
    press = LegacyPress.objects.get()
    assert press.kind == "timeout" and press.grade is None and press.button is None and press.rating_public_id is None
    offer = RatingOffer.objects.get()
    assert offer.kind == "evaluator" and offer.channel == "hall_tablet" and offer.window_id == d3.window_id


def test_a_press_answers_the_pushed_case_and_fires_the_prompt_hooks(world, devices, monkeypatch):
    d3 = devices[0]
    service_case_register(
        scope=ALL_SCOPE, case_no="BJ-L1", item_code=world.a.item.implementation_code,
        hall_code=world.a.hall.code, window_code="01", staff_code=world.a.clerk.code,
    )  # fmt: skip
    seen = []
    monkeypatch.setattr(
        evaluator, "PROMPT_RATED_HOOKS", [*evaluator.PROMPT_RATED_HOOKS, lambda p, r: seen.append(p.pk)]
    )
    prompt = evaluator.prompt_push(window=world.a.window, case_no="BJ-L1", scope=ALL_SCOPE, source="test")
    result = legacy.press_record(d3, 3, key())  # no prompt id: the window's open prompt
    rating = Rating.objects.get(public_id=result.rating_id)
    assert rating.service_case.case_no == "BJ-L1" and rating.grade == 2 and rating.device_kind == "buttons3"
    prompt.refresh_from_db()
    assert prompt.rated_at is not None and prompt.shown_at is not None
    assert seen == [prompt.pk]
    assert LegacyPress.objects.get().prompt_id == prompt.pk
    assert RatingOffer.objects.filter(service_case__case_no="BJ-L1").count() == 1
    # The 办件 is rated: another press for the same prompt conflicts.
    assert legacy.press_record(d3, 1, key(), prompt_id=prompt.pk).status == 409
    assert LegacyPress.objects.count() == 1


def test_a_timeout_expires_the_prompt_it_showed(world, devices):
    d3 = devices[0]
    prompt = evaluator.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
    legacy.timeout_record(d3, key(), prompt_id=prompt.pk)
    prompt.refresh_from_db()
    assert prompt.expired_at is not None and prompt.rated_at is None and prompt.shown_at is not None
    assert RatingOffer.objects.count() == 1 and not Rating.objects.exists()
    # A press after the timeout is a walk-in rating, not one of the expired prompt.
    result = legacy.press_record(d3, 1, key())
    assert Rating.objects.get(public_id=result.rating_id).service_case_id is None


def test_a_buffered_press_long_after_a_push_is_not_joined_to_it(world, devices):
    d3 = devices[0]
    prompt = evaluator.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
    result = legacy.press_record(d3, 2, key(), pressed_at=timezone.now() - timedelta(hours=2))
    assert result.status == 201
    prompt.refresh_from_db()
    assert prompt.rated_at is None and LegacyPress.objects.get().prompt_id is None


def test_a_revoked_device_is_refused(world, devices):
    d3 = devices[0]
    legacy.device_revoke(ALL_SCOPE, d3)
    r = send(world, {"type": "press", "device": d3.serial, "button": 1, "idempotency_key": key()})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == 403
    assert not Rating.objects.exists()


def test_the_public_api_cannot_set_the_device_kind(world):
    item = {"grade": "satisfied", "channel": "hall_tablet", "window": {"hall": world.a.hall.code, "code": "01"}}
    r = post_json(api_client(world.key_a), "/api/v1/ratings", {**item, "device_kind": "buttons3"})
    assert r.status_code == 201
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": [{**item, "device_kind": "tablet"}]})
    assert r.status_code == 200
    assert set(Rating.objects.values_list("device_kind", flat=True)) == {""}
    with pytest.raises(ValueError):
        submit_ratings([item], scope=ALL_SCOPE, client="x", device_kind="pigeon")


def test_the_tablet_stores_its_kind(world):
    _, code = evaluator.pairing_code_create(window=world.a.window)
    device, _ = evaluator.device_pair(code=code)
    result = evaluator.device_rating_submit(
        device=device, rating=evaluator.DeviceRating(idempotency_key=str(uuid.uuid4()), grade="very_satisfied")
    )
    assert Rating.objects.get(public_id=result.rating_id).device_kind == "tablet"


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_bridge_posts_presses_and_timeouts(world, devices):
    d3, d4, _ = devices
    k = key()
    events = [
        {"type": "press", "device": d3.serial, "button": 1, "idempotency_key": k, "at": timezone.now().isoformat()},
        {"type": "press", "device": d4.serial, "button": 1, "idempotency_key": key()},
        {"type": "timeout", "device": d3.serial, "idempotency_key": key()},
        {"type": "press", "device": d3.serial, "button": 1, "idempotency_key": k},  # re-sent in the same batch
    ]
    r = send(world, *events)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 1, 0)
    res = body["results"]
    assert [x["status"] for x in res] == [201, 201, 201, 200]
    assert (res[0]["grade"], res[1]["grade"], res[2]["grade"]) == ("satisfied", "very_satisfied", None)
    assert res[3]["rating_id"] == res[0]["rating_id"] and res[2]["rating_id"] is None
    assert Rating.objects.count() == 2
    # Sent again (the answer was lost): nothing new.
    again = send(world, *events).json()
    assert again["duplicates"] == 4 and Rating.objects.count() == 2 and LegacyPress.objects.count() == 3


def test_the_api_names_the_fields_it_refuses(world, devices):
    d3 = devices[0].serial
    r = send(
        world,
        {"type": "press", "device": d3, "button": 9, "idempotency_key": key()},
        {"type": "press", "device": d3, "idempotency_key": key()},
        {"type": "wink", "device": d3, "idempotency_key": key()},
        {"type": "press", "device": d3, "button": 1},
        {"type": "press", "device": d3, "button": 1, "idempotency_key": key(), "at": "yesterday"},
        {"type": "press", "device": "NOPE", "button": 1, "idempotency_key": key()},
        "not an object",
    )
    res = r.json()["results"]
    fields = [(x["status"], [e["field"] for e in x["errors"]]) for x in res]
    assert fields[0] == (422, ["button"]) and fields[1] == (422, ["button"])
    assert fields[2][0] == 422 and "type" in fields[2][1][0]
    assert fields[3][0] == 422 and "idempotency_key" in fields[3][1][0]
    assert fields[4][0] == 422 and "at" in fields[4][1][0]
    assert fields[5] == (404, ["device"])
    assert res[6]["status"] == 422
    assert not Rating.objects.exists()
    empty = send(world)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "events"
    many = send(world, *[{"type": "timeout", "device": d3, "idempotency_key": str(i)} for i in range(501)])
    assert many.status_code == 422 and many.json()["errors"][0]["field"] == "events"
    assert post_json(api_client(world.key_a), EVENTS, {"events": "x"}).status_code == 422


def test_another_countys_key_cannot_see_the_device(world, devices):
    r = send(
        world,
        {"type": "press", "device": devices[0].serial, "button": 1, "idempotency_key": key()},
        api_key=world.key_b,
    )
    assert r.json()["results"][0]["status"] == 404 and not Rating.objects.exists()
    assert (
        send(world, {"type": "timeout", "device": devices[0].serial, "idempotency_key": key()}).json()["accepted"] == 1
    )
    assert Client().post(EVENTS, {"events": []}, content_type="application/json").status_code == 401


def test_devices_are_registered_through_the_api_within_the_keys_scope(world):
    body = {"serial": "B3-API", "model": "btn3-std", "hall": world.a.hall.code, "window": "01", "name": "一号窗按键器"}
    r = post_json(api_client(world.key_a), "/api/v1/evaluator/legacy/devices", body)
    assert r.status_code == 201, r.content
    assert r.json()["device_kind"] == "buttons3" and r.json()["window"] == "01"
    assert post_json(api_client(world.key_a), "/api/v1/evaluator/legacy/devices", body).status_code == 409
    r = post_json(api_client(world.key_b), "/api/v1/evaluator/legacy/devices", {**body, "serial": "B3-B"})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "window"
    r = post_json(api_client(world.key_a), "/api/v1/evaluator/legacy/devices", {**body, "serial": "B3-C", "model": "x"})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "model"
    r = post_json(api_client(world.key_a), "/api/v1/evaluator/legacy/devices", {**body, "serial": "bad serial!"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "serial"
    models = api_client(world.key_a).get("/api/v1/evaluator/legacy/models").json()
    three = next(m for m in models if m["code"] == "btn3-std")
    assert three["mapping"][0] == {"button": 1, "label": "满意", "grade": "satisfied", "grade_value": 4}


# --- the page --------------------------------------------------------------------------------------------------


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def test_the_page_is_for_supervisors(world, devices):
    assert Client().get("/evaluator/legacy/").status_code == 302
    for username in ("a_clerk", "a_handler", "nobody"):
        assert login(world, username).get("/evaluator/legacy/").status_code == 403
    page = login(world, "a_inspector").get("/evaluator/legacy/")
    assert page.status_code == 200 and "B3-0001" in page.content.decode() and "停用" not in page.content.decode()
    b_page = login(world, "b_admin").get("/evaluator/legacy/").content.decode()
    assert "B3-0001" not in b_page  # county B's administrator does not see county A's devices


def test_an_agency_administrator_registers_and_revokes_a_device(world):
    client = login(world, "a_admin")
    form = {"serial": "B4-PAGE", "model": "btn4-std", "hall": world.a.hall.code, "window": "01"}
    r = client.post("/evaluator/legacy/", form)
    assert r.status_code == 302, r.content.decode()
    device = LegacyDevice.objects.get(serial="B4-PAGE")
    r = client.post("/evaluator/legacy/", {**form, "serial": "B4-OUT", "hall": world.b.hall.code})
    assert r.status_code == 422 and "不在您的数据范围内" in r.content.decode()
    assert login(world, "a_inspector").post("/evaluator/legacy/", {**form, "serial": "B4-X"}).status_code == 403
    assert (
        login(world, "b_admin").post(f"/evaluator/legacy/devices/{device.pk}/revoke/", {"confirm": "1"}).status_code
        == 404
    )
    assert client.post(f"/evaluator/legacy/devices/{device.pk}/revoke/", {}).status_code == 422
    assert client.post(f"/evaluator/legacy/devices/{device.pk}/revoke/", {"confirm": "1"}).status_code == 302
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert AdminAction.objects.filter(model="legacydevice", object_id=str(device.pk)).count() == 2


def test_the_mapping_editor(world):
    legacy.default_models()
    m3 = LegacyDeviceModel.objects.get(code="btn3-std")
    root = login(world, "root")
    page = root.get(f"/evaluator/legacy/models/{m3.pk}/")
    assert page.status_code == 200 and "基本满意" in page.content.decode()
    form = {"name": m3.name, "is_active": "1", "label_1": "满意", "grade_1": "5", "label_2": "基本满意", "grade_2": "3",
            "label_3": "不满意", "grade_3": "2"}  # fmt: skip
    assert root.post(f"/evaluator/legacy/models/{m3.pk}/", {**form, "grade_2": "9"}).status_code == 422
    assert root.post(f"/evaluator/legacy/models/{m3.pk}/", form).status_code == 302
    m3.refresh_from_db()
    assert m3.version == 2 and m3.mapping[0]["grade"] == 5
    # An agency administrator may not change the installation-wide model, but adds one for the county.
    a_admin = login(world, "a_admin")
    assert a_admin.get(f"/evaluator/legacy/models/{m3.pk}/").status_code == 403
    new = {**form, "code": "sc-btn3", "buttons": "3", "name": "上城三键"}
    assert a_admin.post("/evaluator/legacy/models/new/", new).status_code == 302
    mine = LegacyDeviceModel.objects.get(code="sc-btn3")
    assert mine.region_id == world.a.region.pk and mine.mapping[0]["grade"] == 5
    assert login(world, "b_admin").get(f"/evaluator/legacy/models/{mine.pk}/").status_code == 404
    assert login(world, "a_inspector").get("/evaluator/legacy/models/new/").status_code == 403


def test_the_figures_are_split_by_device_kind(world, devices):
    d3, d4, _ = devices
    for button in (1, 1, 2, 3):
        legacy.press_record(d3, button, key())
    for button in (1, 1, 4):
        legacy.press_record(d4, button, key())
    legacy.timeout_record(d3, key())
    legacy.timeout_record(d3, key())
    legacy.timeout_record(d4, key())
    _, code = evaluator.pairing_code_create(window=world.a.window)
    tablet, _ = evaluator.device_pair(code=code)
    evaluator.device_rating_submit(device=tablet, rating=evaluator.DeviceRating(str(uuid.uuid4()), "very_satisfied"))
    start, end = legacy_selectors.this_month()
    rows = {r.kind: r for r in legacy_selectors.counts_by_device_kind(ALL_SCOPE, start, end)}
    b3, b4 = rows["buttons3"].figures, rows["buttons4"].figures
    assert b3["counted"] == 4 and b3["by_grade"] == {1: 0, 2: 1, 3: 1, 4: 2, 5: 0}
    assert b4["counted"] == 3 and b4["by_grade"][5] == 2 and b4["by_grade"][2] == 1
    assert b3["score"] == pytest.approx((75 * 2 + 50 + 25) / 4) and b3["bad_rate"] == pytest.approx(0.25)
    assert (rows["buttons3"].timeouts, rows["buttons4"].timeouts, rows["tablet"].timeouts) == (2, 1, 0)
    assert rows["tablet"].figures["counted"] == 1 and rows[""].timeouts is None
    # County B's scope sees none of it.
    b_rows = legacy_selectors.counts_by_device_kind(scope_for_user(world.users["b_admin"]), start, end)
    assert all(r.figures["counted"] == 0 and not r.timeouts for r in b_rows)

    page = login(world, "a_admin").get("/evaluator/legacy/").content.decode()
    assert "按设备类型统计" in page and 'data-kind="buttons3"' in page
    r = login(world, "a_admin").get(f"/evaluator/legacy/figures.csv?start={start}&end={end}")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][0] == "设备类型" and table[0][-1] == "超时未评（已邀未评）"
    by_code = {row[1]: row for row in table[1:]}
    assert by_code["buttons3"][2] == "4" and by_code["buttons3"][-1] == "2" and by_code["buttons3"][-2] == "25.0%"
    assert by_code["buttons4"][2] == "3" and by_code["none"][-1] == ""


def test_prompts_of_other_windows_are_not_joined(world, devices):
    d3 = devices[0]
    other = evaluator.prompt_push(window=devices[2], case_no=None, scope=ALL_SCOPE, source="test")
    with pytest.raises(NotFound) as exc:
        legacy.press_record(d3, 1, key(), prompt_id=other.pk)
    assert exc.value.field == "prompt_id"
    assert EvaluatorPrompt.objects.get(pk=other.pk).rated_at is None


def test_the_demo_seeds_both_kinds_through_the_services(world):
    from haochaping.evaluator.demo import seed_legacy

    for code in ("02", "03", "04"):
        Window.objects.create(hall=world.a.hall, code=code, name=f"窗口{code}", unit=world.a.dept)
    lines: list[str] = []
    counts = seed_legacy(lines.append)
    assert counts["presses"] == 60 and counts["timeouts"] == 8, counts
    assert len(lines) == 2 and "/evaluator/legacy/" in lines[0]
    kinds = dict(Rating.objects.values_list("device_kind").annotate(n=Count("id")).order_by())
    assert kinds == {"buttons3": 30, "buttons4": 30}
    assert set(LegacyDevice.objects.values_list("window__code", flat=True)) == {"03", "04"}
    start, end = legacy_selectors.this_month()
    rows = {r.kind: r for r in legacy_selectors.counts_by_device_kind(ALL_SCOPE, start, end)}
    assert rows["buttons3"].figures["by_grade"][5] == 0 and rows["buttons4"].figures["by_grade"][5] > 0
