"""The case API: POST /complaints (routing, scope, field errors) and the scoped 工单 queries under /tickets."""

from __future__ import annotations

import json

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.models import Case, Kind, State
from haochaping.lib import protect
from haochaping.ratings.services import service_case_register
from tests.cases_helpers import open_bad_review, verify_case
from tests.conftest import api_client, post_json

COMPLAINT = {"content": "窗口要求重复提交材料", "contact_phone": "13800138000", "contact_name": "李四"}
CONTACT_KEYS = {"contact_phone", "contact_name", "contact_phone_enc", "contact_name_enc", "phone", "name"}


def complain(key: str, **fields):
    return post_json(api_client(key), "/api/v1/complaints", {**COMPLAINT, **fields})


def test_complaint_routes_to_the_unit_of_the_service_case(world):
    service_case_register(scope=ALL_SCOPE, case_no="BJ-API-1", item_code=world.a.item.implementation_code)
    r = complain(world.key_city, case_no="BJ-API-1", channel="mini_program")
    assert r.status_code == 201, r.content
    body = r.json()
    case = Case.objects.get()
    assert body["case_number"] == case.number and body["case_number"].startswith("TS")
    assert body["state"] == "new" and body["unit"] == {"uscc": world.a.dept.uscc, "name": world.a.dept.name}
    assert body["callback_due"] == case.callback_due.isoformat()
    assert (case.kind, case.channel, case.service_case.case_no) == (Kind.COMPLAINT, "mini_program", "BJ-API-1")
    assert protect.decrypt(case.contact_phone_enc) == "13800138000"
    assert case.events.get().actor_label == "接口：杭州市统一受理平台"


def test_complaint_by_window_and_default_channel(world):
    r = complain(world.key_a, window={"hall": world.a.hall.code, "code": world.a.window.code})
    assert r.status_code == 201, r.content
    case = Case.objects.get()
    assert (case.window, case.unit, case.channel) == (world.a.window, world.a.dept, "app")


def test_out_of_scope_unit_is_not_found(world):
    r = complain(world.key_b, unit_uscc=world.a.dept.uscc)
    assert r.status_code == 404
    assert r.json()["errors"] == [{"field": "unit_uscc", "message": "被投诉单位不存在"}]
    r = complain(world.key_b, window={"hall": world.a.hall.code, "code": "01"})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "window"
    assert not Case.objects.exists()


def test_field_errors_name_the_field(world):
    body = {k: v for k, v in COMPLAINT.items() if k != "content"}
    r = post_json(api_client(world.key_a), "/api/v1/complaints", {**body, "unit_uscc": world.a.dept.uscc})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "content"
    cases = [
        ({"content": "  "}, "content"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"channel": "default"}, "channel"),
        ({"unit_uscc": None}, "unit_uscc"),  # nothing names what the complaint is about
    ]
    for fields, field in cases:
        r = complain(world.key_a, **{"unit_uscc": world.a.dept.uscc, **fields})
        assert r.status_code == 422, (fields, r.content)
        assert r.json()["errors"][0]["field"] == field, r.json()
    assert not Case.objects.exists()


def test_complaint_needs_a_key(world):
    r = post_json(api_client("hcp_nope"), "/api/v1/complaints", {**COMPLAINT, "unit_uscc": world.a.dept.uscc})
    assert r.status_code == 401


def test_list_and_get_are_scoped_and_carry_no_contact_data(world):
    bad = open_bad_review(world)
    complain(world.key_b, unit_uscc=world.b.dept.uscc)
    complaint = Case.objects.get(kind=Kind.COMPLAINT)

    page = api_client(world.key_a).get("/api/v1/tickets").json()
    assert page["count"] == 1 and [c["number"] for c in page["items"]] == [bad.number]
    item = page["items"][0]
    assert item["kind"] == "bad_review" and item["state"] == "new" and item["grade"] == "dissatisfied"
    assert item["rating_id"] == str(bad.rating.public_id) and item["adoption"] == "adopted"
    assert item["unit"] == {"uscc": world.a.dept.uscc, "name": world.a.dept.name}
    assert item["overdue"] is False and item["reopen_count"] == 0 and item["is_fixed"] is False
    assert not CONTACT_KEYS & set(item)
    assert "13800138000" not in json.dumps(page, ensure_ascii=False)

    city = api_client(world.key_city).get("/api/v1/tickets?kind=complaint").json()
    assert [c["number"] for c in city["items"]] == [complaint.number]
    assert city["items"][0]["rating_id"] is None and city["items"][0]["grade"] is None

    r = api_client(world.key_a).get(f"/api/v1/tickets/{bad.number}")
    assert r.status_code == 200 and r.json()["number"] == bad.number
    assert "13800138000" not in r.content.decode()
    assert api_client(world.key_b).get(f"/api/v1/tickets/{bad.number}").status_code == 404
    assert api_client(world.key_a).get(f"/api/v1/tickets/{complaint.number}").status_code == 404


def test_get_refuses_a_number_with_the_wrong_prefix_or_date(world):
    bad = open_bad_review(world)
    client = api_client(world.key_a)
    wrong_prefix = "TS" + bad.number[2:]
    wrong_date = bad.number[:2] + "20000101" + bad.number[10:]
    for number in (wrong_prefix, wrong_date, "CP-1", "123"):
        r = client.get(f"/api/v1/tickets/{number}")
        assert r.status_code == 404, number
        assert r.json()["errors"][0]["field"] == "number"


def test_list_filters_and_pages(world):
    first = open_bad_review(world)
    second = open_bad_review(world, phone="13900139000")
    client = api_client(world.key_city)
    page = client.get("/api/v1/tickets?limit=1").json()
    assert page["count"] == 2 and [c["number"] for c in page["items"]] == [second.number]
    page = client.get("/api/v1/tickets?limit=1&offset=1").json()
    assert [c["number"] for c in page["items"]] == [first.number]
    assert client.get(f"/api/v1/tickets?unit_uscc={world.b.dept.uscc}").json()["count"] == 0
    assert client.get("/api/v1/tickets?state=closed").json()["count"] == 0
    assert client.get("/api/v1/tickets?state=new&kind=bad_review").json()["count"] == 2
    assert client.get("/api/v1/tickets?opened_after=2999-01-01T00:00:00%2B08:00").json()["count"] == 0
    r = client.get("/api/v1/tickets?state=bogus")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "state"
    assert client.get("/api/v1/tickets?limit=0").status_code == 422


def test_openapi_lists_the_case_endpoints(db):
    from django.test import Client

    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/complaints"]
    assert "get" in paths["/api/v1/tickets"] and "get" in paths["/api/v1/tickets/{number}"]
    assert "post" in paths["/api/v1/cases"]  # the 办件 registration keeps its path


def test_state_after_handling_is_reported(world):

    from haochaping.cases.services import case_act

    u = world.users
    case = open_bad_review(world)
    verify_case(world, case, rater_said="态度差", facts="属实")
    case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "已说明"})
    item = api_client(world.key_a).get(f"/api/v1/tickets/{case.number}").json()
    assert item["state"] == State.FEEDBACK and item["outcome"] == "explained" and item["notified_at"]
    assert item["feedback_grade"] is None and item["closed_at"] is None
