"""The public open data API (/api/open/v1/, issue #8): no key, figures equal the rollups, suppression, errors,
caching headers and ETag, the rate limit, the published rectifications only, and the OpenAPI schema."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.analytics.models import ItemMonth, UnitDay, UnitMonth
from haochaping.analytics.selectors import Slice, counts_by
from haochaping.cases import rollup as case_rollup
from haochaping.cases.models import CaseMonth
from haochaping.disclosure import opendata, periods
from haochaping.disclosure.api import api
from haochaping.disclosure.models import Publication
from haochaping.seal.models import DailyDigest
from tests.cases_helpers import open_bad_review
from tests.test_disclosure_opendata import MONTH, THIS_MONTH, cube, extra_unit, make_data

pytestmark = pytest.mark.django_db

M = f"{MONTH:%Y-%m}"
BASE = "/api/open/v1"


@pytest.fixture
def data(world):
    return make_data(world)


def get(path: str, client: Client | None = None, **headers):
    return (client or Client()).get(BASE + path, **headers)


def test_regions_is_the_tree(world):
    body = get("/regions").json()
    assert body["count"] == 4
    rows = {r["code"]: r for r in body["regions"]}
    assert rows[world.province.code] == {"code": "330000000000", "name": "浙江省", "level": 1, "parent_code": ""}
    assert rows[world.a.region.code]["parent_code"] == world.city.code and rows[world.a.region.code]["level"] == 3


def test_figures_equal_the_rollups(world, data):
    start, end = opendata.month_bounds(MONTH)
    CaseMonth.objects.create(month=MONTH, region_id=world.a.region.id, unit_id=world.a.dept.id, opened=12, closed=9)
    body = get(f"/figures?region={world.city.code}&period={M}").json()
    expected = opendata.rating_figures(counts_by(Slice(start, end, region_path=world.city.path)).total)
    assert body["ratings"] == expected and body["suppressed"] is False
    assert body["ratings"]["ratings"] == 63 and body["ratings"]["default_share"] == round(2 / 63, 4)
    assert body["period"] == {"code": M, "label": f"{MONTH.year}年{MONTH.month}月", "start": str(start),
                              "end": str(end), "to_date": False}  # fmt: skip
    ids = [world.city.id, world.a.region.id, world.b.region.id]
    assert body["cases"]["opened"] == case_rollup.figures(start, end, region_ids=ids)["opened"] == 12
    assert body["cases"]["closed"] == 9 and body["min_cell"] == 10
    # the default period: the last twelve months, to date (a period that is not whole months: the day cube)
    UnitDay.objects.create(day=MONTH + timedelta(days=3), region_id=world.b.region.id, unit_id=world.b.dept.id,
                           channel="qr", rater_kind=1, act_5=12)  # fmt: skip
    body = get(f"/figures?region={world.province.code}").json()
    assert body["period"]["code"] == "12m" and body["period"]["to_date"] is True
    assert body["ratings"]["ratings"] == 12 and body["ratings"]["good_rate"] == 1.0


def test_figures_are_suppressed_among_siblings(world):
    cube(UnitMonth, region=world.a.region, unit=world.a.dept, good=40)
    cube(UnitMonth, region=world.b.region, unit=world.b.dept, good=4)
    for county in (world.a, world.b):
        body = get(f"/figures?region={county.region.code}&period={M}").json()
        assert body["suppressed"] is True and body["ratings"] is None
        assert body["region"]["name"] == county.region.name
    assert get(f"/figures?region={world.city.code}&period={M}").json()["ratings"]["ratings"] == 44


def test_units_and_items_with_suppression(world, data):
    body = get(f"/regions/{world.a.region.code}/units?period={M}").json()
    rows = {r["uscc"]: r for r in body["units"]}
    assert set(rows) == {world.a.agency.uscc, world.a.dept.uscc, data["small"].uscc}
    assert rows[data["small"].uscc]["suppressed"] and rows[data["small"].uscc]["ratings"] is None
    assert rows[world.a.dept.uscc]["suppressed"] and rows[world.a.dept.uscc]["name"] == world.a.dept.name
    assert rows[world.a.agency.uscc] | {} == {**rows[world.a.agency.uscc], "ratings": 0, "suppressed": False}
    b = get(f"/regions/{world.b.region.code}/units?period={M}").json()["units"]
    [b_dept] = [r for r in b if r["uscc"] == world.b.dept.uscc]
    assert b_dept["ratings"] == 25 and b_dept["basic"] == 5 and b_dept["good_rate"] == 0.8
    items = get(f"/units/{world.b.dept.id}/items?period={M}").json()
    assert items["unit"]["uscc"] == world.b.dept.uscc
    [item] = items["items"]
    assert item["item_code"] == world.b.item.implementation_code and item["ratings"] == 25
    a_items = get(f"/units/{world.a.dept.id}/items?period={M}").json()["items"]
    assert len(a_items) == 3 and all(r["suppressed"] and r["ratings"] is None for r in a_items)
    assert {r["item_name"] for r in a_items} >= {opendata.UNLINKED_ITEM, world.a.item.name}


def test_no_personal_data_in_answers(world, data):
    world.a.clerk.name = "李大伟"
    world.a.clerk.save()
    for path in (
        "/regions",
        f"/figures?region={world.a.region.code}&period={M}",
        f"/regions/{world.a.region.code}/units?period={M}",
        f"/units/{world.a.dept.id}/items?period={M}",
        f"/datasets/item/{M}",
    ):
        text = get(path).content.decode()
        assert "李大伟" not in text and world.a.clerk.code not in text, path


def test_datasets_list_and_rows(world, data):
    body = get("/datasets").json()
    assert [d["name"] for d in body["datasets"]] == list(opendata.DATASETS)
    assert M in body["months"] and body["datapackage"].endswith("/open/data/datapackage.json")
    assert body["datasets"][0]["csv"].endswith("/open/data/region/{month}.csv")
    rows = get(f"/datasets/unit/{M}").json()
    download = Client().get(f"/open/data/unit/{M}.json").json()
    assert rows["rows"] == download["rows"] and rows["dataset"] == "unit"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/figures?region=999999999999", 404, "region"),
        ("/figures?region=330000000000&period=2026-13", 400, "period"),
        (f"/figures?region=330000000000&period={periods.add_months(THIS_MONTH, 2):%Y-%m}", 400, "period"),
        ("/figures", 422, "region"),
        ("/regions/123/units", 404, "region"),
        ("/units/999999/items", 404, "unit_id"),
        ("/units/abc/items", 422, "unit_id"),
        (f"/datasets/staff/{M}", 404, "dataset"),
        ("/datasets/region/2026-1", 400, "month"),
        ("/datasets/region/2001-01", 404, "month"),
        ("/digests?days=0", 422, "days"),
        ("/rectifications?page=0", 422, "page"),
        ("/rectifications?region=1", 404, "region"),
    ],
)
def test_errors_have_the_single_shape(world, data, path, status, field):
    response = get(path)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["message"] and body["errors"] and body["errors"][0]["field"] == field


def test_digests(world):
    today = timezone.localdate()
    for i in range(3):
        DailyDigest.objects.create(day=today - timedelta(days=i), last_block=10 - i, block_hash=f"{i:064d}",
                                   blocks=1, seals=5, updated_at=timezone.now())  # fmt: skip
    body = get("/digests?days=2").json()
    assert [d["day"] for d in body["digests"]] == [str(today), str(today - timedelta(days=1))]
    assert body["digests"][0] == {"day": str(today), "last_block": 10, "block_hash": "0" * 64, "blocks": 1,
                                  "seals": 5}  # fmt: skip


def _publish(case, **extra) -> Publication:
    values = {
        "case": case,
        "kind": case.kind,
        "region": case.region,
        "unit": case.unit,
        "opened_on": date(2026, 5, 1),
        "outcome": "fixed_now",
        "outcome_on": date(2026, 5, 3),
        "comment_auto": "排队太久",
        "comment": "排队太久",
        "response": "已增加窗口",
        "status": Publication.Status.PUBLISHED,
        "published_at": timezone.now(),
        "source_updated_at": timezone.now(),
        **extra,
    }
    return Publication.objects.create(**values)


def test_rectifications_only_published_and_public_fields(world):
    shown = _publish(open_bad_review(world, phone="13800138001"), comment_allowed=True)
    hidden_text = _publish(open_bad_review(world, phone="13800138002"), comment_allowed=False, comment="不该公开")
    _publish(open_bad_review(world, phone="13800138003"), status=Publication.Status.PENDING, comment="待审核文字")
    _publish(open_bad_review(world, phone="13800138004"), status=Publication.Status.WITHHELD, comment="不予公开文字")
    body = get("/rectifications").json()
    assert body["count"] == 2 and body["pages"] == 1
    results = {r["id"]: r for r in body["results"]}
    assert set(results) == {shown.pk, hidden_text.pk}
    assert results[shown.pk]["comment"] == "排队太久" and results[shown.pk]["response"] == "已增加窗口"
    assert results[hidden_text.pk]["comment"] is None
    assert results[shown.pk]["unit"]["uscc"] == world.a.dept.uscc and results[shown.pk]["region"]["code"]
    text = get("/rectifications").content.decode()
    for secret in ("13800138001", "待审核文字", "不予公开文字", "不该公开", "rater", "phone", "case_id"):
        assert secret not in text
    assert get(f"/rectifications?region={world.b.region.code}").json()["count"] == 0
    assert get(f"/rectifications?region={world.city.code}").json()["count"] == 2
    assert get(f"/rectifications?unit={world.a.dept.id}").json()["count"] == 2
    assert get("/rectifications?page=2").json()["results"] == []


def test_caching_headers_etag_and_server_cache(world, data, settings):
    settings.HAOCHAPING_PUBLIC_CACHE_SECONDS = 77
    first = get("/regions")
    assert first["Cache-Control"] == "public, max-age=77" and first["ETag"].startswith('"')
    assert get("/regions", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert get("/regions", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # computed once per cache period: a change shows after the cache expires, not before
    before = get(f"/figures?region={world.city.code}&period={M}").json()
    cube(UnitMonth, region=world.b.region, unit=extra_unit(world.b, 8, "拱墅区新单位"), good=50)
    assert get(f"/figures?region={world.city.code}&period={M}").json() == before
    errors = get("/figures?region=1")
    assert errors["Cache-Control"] == "no-store"


def test_rate_limit_answers_429(world, settings):
    settings.HAOCHAPING_OPEN_API_PER_HOUR = 3
    client = Client()
    for _ in range(3):
        assert get("/regions", client).status_code == 200
    response = get("/regions", client)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["message"] and response.json()["errors"] == []
    # the downloads share the budget
    assert Client().get(f"/open/data/region/{M}.csv").status_code == 429
    # another address is not affected
    assert Client(REMOTE_ADDR="10.0.0.9").get(BASE + "/regions").status_code == 200


def test_openapi_lists_every_endpoint_without_auth(world):
    schema = api.get_openapi_schema()
    paths = schema["paths"]
    expected = {
        "/api/open/v1/regions",
        "/api/open/v1/figures",
        "/api/open/v1/regions/{code}/units",
        "/api/open/v1/units/{unit_id}/items",
        "/api/open/v1/datasets",
        "/api/open/v1/datasets/{dataset}/{month}",
        "/api/open/v1/digests",
        "/api/open/v1/rectifications",
    }
    assert set(paths) == expected
    for path, methods in paths.items():
        assert set(methods) == {"get"}, path
        assert not methods["get"].get("security"), path
    assert not schema.get("components", {}).get("securitySchemes")
    assert schema["info"]["title"] == "haochaping 公开数据接口"
    assert Client().get(BASE + "/docs").status_code == 200
    assert Client().get(BASE + "/openapi.json").status_code == 200


def test_item_cube_keys_are_whole_months(world):
    cube(ItemMonth, region=world.a.region, unit=world.a.dept, good=12, service_item_id=world.a.item.id)
    body = get(f"/units/{world.a.dept.id}/items?period={M}").json()
    assert body["period"]["start"] == str(MONTH) and body["items"][0]["ratings"] == 12
