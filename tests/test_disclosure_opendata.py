"""Open data (issue #8): monthly datasets from the rollups, suppression in CSV and JSON, the Data Package, bad input,
the rate limit on downloads, and the published periodic reports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from haochaping.analytics import reports as report_service
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import ItemMonth, Report, UnitMonth
from haochaping.analytics.selectors import Slice, counts_by
from haochaping.cases import rollup as case_rollup
from haochaping.cases.models import CaseMonth
from haochaping.directory.models import Organisation, ServiceItem
from haochaping.disclosure import opendata, periods
from haochaping.lib.uscc import make_uscc

pytestmark = pytest.mark.django_db

THIS_MONTH = periods.today().replace(day=1)
MONTH = periods.add_months(THIS_MONTH, -2)
M = f"{MONTH:%Y-%m}"
START, END = opendata.month_bounds(MONTH)


def cube(model, *, region, unit, good=0, basic=0, bad=0, defaults=0, out=0, month=MONTH, **dims):
    return model.objects.create(
        month=month,
        region_id=region.id,
        unit_id=unit.id,
        act_5=good,
        act_3=basic,
        act_1=bad,
        def_3=defaults,
        out_1=out,
        **dims,
    )


def extra_unit(county, serial: int, name: str) -> Organisation:
    return Organisation.objects.create(
        uscc=make_uscc("1", "1", county.region.code[:6], f"{serial:04d}0009"), name=name, region=county.region
    )


@pytest.fixture
def data(world):
    return make_data(world)


def make_data(world) -> dict:
    """County A: its department 40 ratings (35 good, 3 bad, 2 default) + a small unit with 3; county B: 25."""
    a, b = world.a, world.b
    small = extra_unit(a, 7, "上城区小单位")
    cube(UnitMonth, region=a.region, unit=a.dept, good=30, bad=3, defaults=2, out=1)
    cube(UnitMonth, region=a.region, unit=a.dept, good=5, month=periods.add_months(MONTH, -1))
    cube(UnitMonth, region=a.region, unit=small, good=3)
    cube(UnitMonth, region=b.region, unit=b.dept, good=20, basic=5)
    # 事项 of county A's department: the catalogue item 30, an item with 2, unlinked 4
    item2 = ServiceItem.objects.create(
        basic_code="000101002000",
        implementation_code=f"{a.dept.uscc}000101002000",
        name="食品经营许可（变更）",
        item_type="01",
        service_objects="1",
        unit=a.dept,
        region=a.region,
    )
    cube(ItemMonth, region=a.region, unit=a.dept, good=27, bad=3, service_item_id=a.item.id)
    cube(ItemMonth, region=a.region, unit=a.dept, good=2, service_item_id=item2.id)
    cube(ItemMonth, region=a.region, unit=a.dept, good=1, defaults=2, out=1, service_item_id=0)
    cube(ItemMonth, region=b.region, unit=b.dept, good=20, basic=5, service_item_id=b.item.id)
    return {"small": small, "item2": item2}


def get(path: str, **headers):
    return Client(**headers).get(path)


def csv_rows(response) -> tuple[list[str], list[dict[str, str]]]:
    body = response.content
    assert body.startswith("\ufeff".encode()), "CSV must start with a UTF-8 BOM"
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    return list(reader.fieldnames or []), list(reader)


def by(rows, key, value):
    [row] = [r for r in rows if r[key] == value]
    return row


# --- the datasets equal the rollups ----------------------------------------------------------------------------


def test_region_dataset_equals_the_rollups_for_every_region(world, data):
    rows = opendata.build("region", MONTH)
    codes = [r["region_code"] for r in rows]
    assert codes == ["330000000000", "330100000000", "330102000000", "330105000000"]
    for region in (world.province, world.city):
        expected = opendata.rating_figures(counts_by(Slice(START, END, region_path=region.path)).total)
        row = by(rows, "region_code", region.code)
        assert {k: row[k] for k in expected} == expected
        assert row["month"] == M and row["suppressed"] is False
    city = by(rows, "region_code", world.city.code)
    assert city["ratings"] == 35 + 3 + 25 and city["default_ratings"] == 2 and city["set_aside"] == 1
    assert city["very_satisfied"] == 53 and city["very_dissatisfied"] == 3 and city["basic"] == 5
    assert city["good_rate"] == round(53 / 61, 4) and city["default_share"] == round(2 / 63, 4)


def test_unit_and_item_datasets_equal_the_rollups(world, data):
    units = opendata.build("unit", MONTH)
    answer = counts_by(Slice(START, END), "unit")
    dept = by(units, "unit_uscc", world.a.dept.uscc)
    # the department is secondarily suppressed (see below): compare the county B department, shown
    b = by(units, "unit_uscc", world.b.dept.uscc)
    assert {k: b[k] for k in opendata.rating_figures(Counts())} == opendata.rating_figures(answer.rows[world.b.dept.id])
    assert dept["region_code"] == world.a.region.code and dept["unit_name"] == world.a.dept.name
    items = opendata.build("item", MONTH)
    item_answer = counts_by(Slice(START, END, unit_ids=frozenset({world.b.dept.id})), "item")
    row = by(items, "item_code", world.b.item.implementation_code)
    assert row["ratings"] == 25 and row["score"] == round(item_answer.rows[world.b.item.id].score(), 2)
    assert row["unit_uscc"] == world.b.dept.uscc and row["item_name"] == world.b.item.name
    unlinked = [r for r in items if r["item_name"] == opendata.UNLINKED_ITEM]
    assert len(unlinked) == 1 and unlinked[0]["item_code"] == "" and unlinked[0]["unit_uscc"] == world.a.dept.uscc


def test_the_running_month_is_published_to_date(world, data):
    cube(UnitMonth, region=world.b.region, unit=world.b.dept, good=12, month=THIS_MONTH)
    rows = opendata.build("region", THIS_MONTH)
    assert by(rows, "region_code", world.b.region.code)["ratings"] == 12
    payload = json.loads(get(f"/open/data/region/{THIS_MONTH:%Y-%m}.json").content)
    assert payload["to_date"] is True and payload["month"] == f"{THIS_MONTH:%Y-%m}"


def test_cases_dataset_equals_the_case_rollup(world, data):
    counts = {"opened": 12, "closed": 10, "fixed": 7, "explained": 3, "adopted_bad": 10, "fixed_bad": 7}
    counts.update(callback_possible=4, called_back=3)
    CaseMonth.objects.create(month=MONTH, region_id=world.a.region.id, unit_id=world.a.dept.id, **counts)
    CaseMonth.objects.create(month=MONTH, region_id=world.b.region.id, unit_id=world.b.dept.id, opened=2, closed=2)
    rows = opendata.build("cases", MONTH)
    city = by(rows, "region_code", world.city.code)
    ids = [world.city.id, world.a.region.id, world.b.region.id]
    expected = case_rollup.figures(START, END, region_ids=ids)
    assert city["opened"] == expected["opened"] == 14
    assert city["fix_rate"] == round(expected["fix_rate"], 4) == 0.7
    assert city["callback_rate"] == 0.75 and city["suppressed"] is False
    # county B has 2 cases (< k): suppressed; then county A too (2 could be recovered from the city's 14)
    assert by(rows, "region_code", world.b.region.code)["opened"] is None
    a = by(rows, "region_code", world.a.region.code)
    assert a["suppressed"] is True and a["opened"] is None and a["region_name"] == "上城区"


# --- suppression -----------------------------------------------------------------------------------------------


def test_small_cells_are_suppressed_primary_and_secondary_in_csv_and_json(world, data):
    # Units of county A: department 38 (+1 set aside), small unit 3 → small unit primary, department secondary.
    fields, rows = csv_rows(get(f"/open/data/unit/{M}.csv"))
    small = by(rows, "unit_uscc", data["small"].uscc)
    dept = by(rows, "unit_uscc", world.a.dept.uscc)
    for row in (small, dept):
        assert row["suppressed"] == "true"
        assert row["unit_name"] and row["region_code"] == world.a.region.code and row["month"] == M
        figures = [f.name for f in opendata.FIELDS["unit"] if f.name not in (*opendata.KEYS["unit"], "suppressed")]
        assert all(row[f] == "" for f in figures)
    assert by(rows, "unit_uscc", world.b.dept.uscc)["ratings"] == "25"
    payload = json.loads(get(f"/open/data/unit/{M}.json").content)
    small = by(payload["rows"], "unit_uscc", data["small"].uscc)
    assert small["suppressed"] is True and small["ratings"] is None and small["good_rate"] is None
    assert by(payload["rows"], "unit_uscc", world.a.dept.uscc)["ratings"] is None
    # 事项 of county A's department: item2 (2) primary; unlinked (3 + 1 set aside = 4); hidden 6 < 10 → the
    # catalogue item (30) is suppressed too
    items = json.loads(get(f"/open/data/item/{M}.json").content)["rows"]
    a_items = [r for r in items if r["unit_uscc"] == world.a.dept.uscc]
    assert len(a_items) == 3 and all(r["suppressed"] for r in a_items)
    assert by(items, "item_code", world.b.item.implementation_code)["suppressed"] is False
    # regions: A 40 (+1), B 25: none small, nothing suppressed
    regions = json.loads(get(f"/open/data/region/{M}.json").content)["rows"]
    assert not any(r["suppressed"] for r in regions)


def test_a_small_region_suppresses_its_sibling(world, settings):
    cube(UnitMonth, region=world.a.region, unit=world.a.dept, good=40)
    cube(UnitMonth, region=world.b.region, unit=world.b.dept, good=4)
    rows = opendata.build("region", MONTH)
    assert by(rows, "region_code", world.b.region.code)["suppressed"] is True
    a = by(rows, "region_code", world.a.region.code)
    assert a["suppressed"] is True and a["ratings"] is None and a["parent_code"] == world.city.code
    assert by(rows, "region_code", world.city.code)["ratings"] == 44  # the city's total is shown
    settings.HAOCHAPING_OPEN_DATA_MIN_CELL = 3
    rows = opendata.build("region", MONTH)
    assert not any(r["suppressed"] for r in rows)


def test_no_personal_data_in_any_dataset(world, data):
    world.a.clerk.name = "李大伟"
    world.a.clerk.save()
    forbidden = ("staff", "rater", "phone", "comment", "name_of", "window", "id_number", "user")
    for name in opendata.DATASETS:
        for f in opendata.FIELDS[name]:
            assert not any(word in f.name for word in forbidden), f.name
        for fmt in ("csv", "json"):
            body = get(f"/open/data/{name}/{M}.{fmt}").content.decode("utf-8-sig")
            assert "李大伟" not in body and world.a.clerk.code not in body and "13800138000" not in body


# --- formats and schema ----------------------------------------------------------------------------------------


def test_csv_has_bom_header_and_parses(world, data):
    for name in opendata.DATASETS:
        response = get(f"/open/data/{name}/{M}.csv")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        fields, rows = csv_rows(response)
        assert fields == [f.name for f in opendata.FIELDS[name]]
        assert rows, name
    _, rows = csv_rows(get(f"/open/data/region/{M}.csv"))
    assert by(rows, "region_code", world.a.region.code)["region_name"] == "上城区"


def test_json_rows_match_the_data_package_fields_exactly(world, data):
    CaseMonth.objects.create(month=MONTH, region_id=world.a.region.id, unit_id=world.a.dept.id, opened=12)
    package = json.loads(get("/open/data/datapackage.json").content)
    assert package["profile"] == "tabular-data-package" and package["name"]
    [lic] = package["licenses"]
    assert lic["name"] == "CC-BY-4.0" and lic["path"] and "署名" in lic["title"]
    resources = {r["name"]: r for r in package["resources"]}
    assert set(resources) == set(opendata.DATASETS)
    python_types = {"integer": int, "number": (int, float), "boolean": bool, "string": str, "yearmonth": str}
    for name in opendata.DATASETS:
        schema = resources[name]["schema"]
        names = [f["name"] for f in schema["fields"]]
        assert schema["missingValues"] == [""]
        assert all(f["title"] and f["type"] and "description" in f for f in schema["fields"])
        assert set(schema["primaryKey"]) <= set(names)
        assert any(p.endswith(f"/{name}/{M}.csv") for p in resources[name]["path"])
        payload = json.loads(get(f"/open/data/{name}/{M}.json").content)
        assert payload["dataset"] == name and payload["month"] == M and payload["generated_at"]
        assert payload["schema"].endswith("/open/data/datapackage.json") and payload["licence"]["name"] == "CC-BY-4.0"
        assert payload["rows"], name
        types = {f["name"]: f["type"] for f in schema["fields"]}
        for row in payload["rows"]:
            assert list(row) == names, name  # every column produced is described, in order, and nothing more
            for key, value in row.items():
                assert value is None or isinstance(value, python_types[types[key]]), (name, key, value)
        _, csv_body = csv_rows(get(f"/open/data/{name}/{M}.csv"))
        assert len(csv_body) == len(payload["rows"])


def test_rates_are_rounded_to_four_places(world, data):
    for row in opendata.build("region", MONTH):
        for f in ("good_rate", "bad_rate", "active_rate", "default_share"):
            if row[f] is not None:
                assert row[f] == round(row[f], 4) and 0 <= row[f] <= 1


# --- bad input and limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        (f"/open/data/staff/{M}.csv", 404, "dataset"),
        (f"/open/data/region/{M}.xml", 404, "format"),
        ("/open/data/region/2026-13.csv", 400, "month"),
        ("/open/data/region/202605.csv", 400, "month"),
        ("/open/data/region/abcd-ef.json", 400, "month"),
        (f"/open/data/region/{periods.add_months(THIS_MONTH, 1):%Y-%m}.csv", 400, "month"),
        ("/open/data/region/2001-01.csv", 404, "month"),
    ],
)
def test_bad_input_is_a_clear_4xx(world, data, path, status, field):
    response = get(path)
    assert response.status_code == status
    body = response.json()
    assert body["message"] and body["errors"][0]["field"] == field


def test_downloads_are_cached_and_rate_limited(world, data, settings):
    settings.HAOCHAPING_OPEN_API_PER_HOUR = 3
    settings.HAOCHAPING_PUBLIC_CACHE_SECONDS = 120
    client = Client()
    first = client.get(f"/open/data/region/{M}.csv")
    assert first["Cache-Control"] == "public, max-age=120" and first["ETag"]
    again = client.get(f"/open/data/region/{M}.csv", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    client.get(f"/open/data/region/{M}.json")
    limited = client.get(f"/open/data/region/{M}.csv")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "频繁" in limited.json()["message"]


# --- the index page --------------------------------------------------------------------------------------------


def test_index_lists_datasets_months_schema_licence_and_links(world, data, settings):
    settings.HAOCHAPING_OPEN_DATA_MIN_CELL = 7
    response = get("/open/data/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="licence"' in html and "CC-BY-4.0" in html and "署名" in html
    assert "截至今日" in html and f"/open/data/region/{M}.csv" in html and f"/open/data/item/{M}.json" in html
    assert "/open/data/datapackage.json" in html and "/api/open/v1/docs" in html and "/open/reports/" in html
    assert "少于 7 条" in html
    for f in opendata.FIELDS["cases"]:
        assert f.name in html
    assert len(response.content) < 60_000


def test_index_without_any_data(world):
    response = get("/open/data/")
    assert response.status_code == 200 and "暂无评价数据" in response.content.decode()


# --- published periodic reports --------------------------------------------------------------------------------


@pytest.fixture
def published(world, data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    root = world.users["root"]
    region = report_service.report_generate("monthly", MONTH, region=world.city, user=root).report
    report_service.report_transition(region.pk, "submit", root)
    region = report_service.report_transition(region.pk, "publish", root)
    draft = report_service.report_generate("monthly", MONTH, region=world.a.region, user=root).report
    unit = report_service.report_generate("monthly", MONTH, unit=world.a.dept, user=root).report
    report_service.report_transition(unit.pk, "submit", root)
    unit = report_service.report_transition(unit.pk, "publish", root)
    return {"region": region, "draft": draft, "unit": unit}


def test_reports_lists_and_serves_only_published_region_reports(published, world):
    html = get("/open/reports/").content.decode()
    region, draft, unit = published["region"], published["draft"], published["unit"]
    assert region.xlsx_sha256 in html and region.pdf_sha256 in html and "杭州市" in html
    assert draft.xlsx_sha256 not in html
    assert unit.xlsx_sha256 not in html  # unit reports name window staff: never public
    response = get(f"/open/reports/{region.pk}.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert get(f"/open/reports/{region.pk}.pdf").status_code == 200
    assert get(f"/open/reports/{draft.pk}.xlsx").status_code == 404
    assert get(f"/open/reports/{unit.pk}.pdf").status_code == 404
    assert get(f"/open/reports/{region.pk}.docx").status_code == 404
    assert get("/open/reports/99999.pdf").status_code == 404


def test_reports_filter_by_region(published, world):
    assert published["region"].xlsx_sha256 in get(f"/open/reports/?region={world.province.code}").content.decode()
    other = get(f"/open/reports/?region={world.b.region.code}").content.decode()
    assert published["region"].xlsx_sha256 not in other and "暂无已发布的定期报告" in other
    bad = get("/open/reports/?region=999")
    assert bad.status_code == 400 and "999" in bad.content.decode()


def test_a_changed_report_file_is_refused(published):
    report = published["region"]
    with open(report.pdf.path, "ab") as handle:
        handle.write(b"tampered")
    response = get(f"/open/reports/{report.pk}.pdf")
    assert response.status_code == 409 and report.pdf_sha256 in response.content.decode()


def test_region_reports_hold_no_staff_names(published, world):
    from openpyxl import load_workbook

    wb = load_workbook(published["region"].xlsx.path)
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert world.a.clerk.name not in cells and world.a.clerk.code not in cells
    unit_wb = load_workbook(published["unit"].xlsx.path)
    assert "人员" in unit_wb.sheetnames  # why unit reports stay internal


def test_demo_publishes_the_last_complete_month(world, data, settings, tmp_path):
    from haochaping.disclosure.demo_reports import seed_demo

    settings.MEDIA_ROOT = tmp_path
    lines: list[str] = []
    report = seed_demo(lines.append)
    assert report.state == Report.State.PUBLISHED and report.region == world.province and report.unit is None
    assert report.period_start == periods.add_months(THIS_MONTH, -1) and lines
    assert seed_demo(lines.append).pk == report.pk  # idempotent
    assert report.xlsx_sha256 in get("/open/reports/").content.decode()
