"""第三方评估: the import service (xlsx, CSV in UTF-8 and GB18030, every error with row and column, all or nothing,
supersede), the selectors, and every view with its roles and scope."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.lib.errors import NotFound, PermissionDenied, ValidationFailed
from haochaping.society import selectors, services
from haochaping.society.models import AssessmentImport, AssessmentScore

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
HEADER = ["统一社会信用代码", "单位名称", "综合得分", "名次", "评估意见", "服务效率", "服务态度"]


def csv_bytes(rows: list[list], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def good_rows(world) -> list[list]:
    return [
        [world.a.dept.uscc, world.a.dept.name, "91.5", "1", "窗口服务规范", "93", "90"],
        [world.a.agency.uscc, world.a.agency.name, "86", "2", "", "85.25", ""],
    ]


def run(world, data: bytes, name: str = "results.csv", *, user="a_admin", period=Q3, firm="浙江公信评估咨询有限公司",
        region=None):  # fmt: skip
    u = world.users[user]
    return services.assessment_import(
        services.AssessmentIn(
            firm=firm,
            title="2026年第三季度政务服务第三方评估",
            region_id=(region or world.a.region).pk,
            period_start=period[0],
            period_end=period[1],
            file_name=name,
            data=data,
        ),
        scope=scope_for_user(u),
        user=u,
    )


# --- the service ----------------------------------------------------------------------------------------------


def test_csv_import_stores_every_row(world):
    data = csv_bytes(good_rows(world))
    outcome = run(world, data)
    assert outcome.ok and not outcome.warnings and outcome.superseded == []
    a = outcome.assessment
    assert (a.rows, a.dimensions, a.region, a.file_name) == (2, ["服务效率", "服务态度"], world.a.region, "results.csv")
    assert a.sha256 == hashlib.sha256(data).hexdigest() and a.uploaded_by == world.users["a_admin"]
    dept = AssessmentScore.objects.get(assessment=a, unit=world.a.dept)
    assert (dept.score, dept.rank, dept.remarks) == (Decimal("91.5"), 1, "窗口服务规范")
    assert dept.sub_scores == {"服务效率": 93.0, "服务态度": 90.0}
    agency = AssessmentScore.objects.get(assessment=a, unit=world.a.agency)
    assert agency.sub_scores == {"服务效率": 85.3}  # rounded to one decimal; a blank sub-score is left out
    assert agency.remarks == ""


def test_xlsx_import_with_numeric_cells(world):
    rows = [[world.a.dept.uscc, world.a.dept.name, 88.44, 1, "好", 90, 87.5]]
    outcome = run(world, xlsx_bytes(rows), "评估结果.xlsx")
    assert outcome.ok
    score = outcome.assessment.scores.get()
    assert (score.score, score.sub_scores) == (Decimal("88.4"), {"服务效率": 90.0, "服务态度": 87.5})


def test_gb18030_csv_is_read(world):
    outcome = run(world, csv_bytes(good_rows(world), encoding="gb18030"))
    assert outcome.ok and outcome.assessment.dimensions == ["服务效率", "服务态度"]


def test_template_downloads_import_as_they_are(world):
    units = [(world.a.dept.uscc, world.a.dept.name), (world.a.agency.uscc, world.a.agency.name)]
    assert services.template_csv(units).startswith(b"\xef\xbb\xbf")
    outcome = run(world, services.template_csv(units))
    assert outcome.ok and outcome.assessment.dimensions == services.EXAMPLE_DIMENSIONS
    outcome = run(world, services.template_xlsx(units), "模板.xlsx", firm="另一家评估机构")
    assert outcome.ok and outcome.assessment.rows == 2


def test_name_mismatch_is_a_warning(world):
    rows = good_rows(world)
    rows[0][1] = "上城区市场监管局（旧称）"
    outcome = run(world, csv_bytes(rows))
    assert outcome.ok
    [warning] = outcome.warnings
    assert (warning.row, warning.column) == (2, "单位名称") and world.a.dept.name in warning.message


def test_every_error_is_reported_with_row_and_column_and_nothing_is_stored(world):
    a = world.a
    rows = [
        [a.dept.uscc, "", "91", "1", "", "93", "90"],  # row 2: fine
        ["", "", "80", "", "", "", ""],  # row 3: code missing
        ["91330102MA2XXXXXX0", "", "80", "", "", "", ""],  # row 4: not a valid code
        [world.b.dept.uscc, "", "80", "", "", "", ""],  # row 5: another region's unit
        ["91330102000000009X", "", "80", "", "", "", ""],  # row 6: valid-looking but unknown (or invalid)
        [a.dept.uscc, "", "80", "", "", "", ""],  # row 7: duplicate of row 2
        [a.agency.uscc, "", "", "", "", "", ""],  # row 8: score missing
    ]
    more = [
        [a.agency.uscc, "", "101", "0", "x" * 2001, "abc", "-1"],  # row 9: score, rank, remarks, sub-scores
    ]
    outcome = run(world, csv_bytes(rows + more))
    assert not outcome.ok and outcome.assessment is None
    found = {(e.row, e.column) for e in outcome.errors}
    assert {
        (3, "统一社会信用代码"),
        (4, "统一社会信用代码"),
        (5, "统一社会信用代码"),
        (6, "统一社会信用代码"),
        (7, "统一社会信用代码"),
        (8, "综合得分"),
        (9, "综合得分"),
        (9, "名次"),
        (9, "评估意见"),
        (9, "服务效率"),
        (9, "服务态度"),
    } <= found
    text = {(e.row, e.column): e.message for e in outcome.errors}
    assert "拱墅区" in text[(5, "统一社会信用代码")] or "评估区划" in text[(5, "统一社会信用代码")]
    assert "第2行" in text[(7, "统一社会信用代码")]
    assert "第9行 [名次]" in [str(e) for e in outcome.errors if e.row == 9 and e.column == "名次"][0]
    assert not AssessmentImport.objects.exists() and not AssessmentScore.objects.exists()


def test_header_errors(world):
    outcome = run(world, csv_bytes([["x"]], header=["单位名称", "名次", "名次"]))
    columns = {(e.row, e.column) for e in outcome.errors}
    assert (1, "统一社会信用代码") in columns and (1, "综合得分") in columns and (1, "名次") in columns
    with pytest.raises(ValidationFailed) as exc:
        run(world, b"", "empty.csv")
    assert exc.value.field == "file"
    assert "没有数据" in str(run(world, b"\r\n,,\r\n", "blank.csv").errors[0])


def test_unreadable_files(world):
    assert "xls" in str(run(world, b"\xd0\xcf\x11\xe0rest", "old.xls").errors[0])
    assert "Excel" in str(run(world, b"PK\x03\x04broken", "broken.xlsx").errors[0])
    assert run(world, b"\x00\x01", "picture.png").errors
    outcome = run(world, csv_bytes([], header=HEADER))
    assert "没有数据行" in str(outcome.errors[0])


def test_reimport_supersedes_the_previous_one(world):
    first = run(world, csv_bytes(good_rows(world))).assessment
    other_firm = run(world, csv_bytes(good_rows(world)), firm="另一家评估机构").assessment
    other_period = run(world, csv_bytes(good_rows(world)), period=(date(2026, 4, 1), date(2026, 6, 30))).assessment
    rows = good_rows(world)
    rows[0][2] = "95"
    second = run(world, csv_bytes(rows), firm=" 浙江公信评估咨询有限公司 ")
    assert second.superseded == [first.pk]
    first.refresh_from_db()
    other_firm.refresh_from_db()
    other_period.refresh_from_db()
    assert first.superseded_by == second.assessment
    assert other_firm.superseded_by is None and other_period.superseded_by is None
    scores = selectors.unit_scores(ALL_SCOPE, *Q3)
    # Current imports overlapping Q3: the second import (95) and the other firm's (91.5) for the department.
    assert scores[world.a.dept.pk] == {"score": 93.2, "assessments": 2}


def test_unit_scores_by_period_and_scope(world):
    run(world, csv_bytes(good_rows(world)))
    rows_b = [[world.b.dept.uscc, "", "70", "", "", "", ""]]
    run(world, csv_bytes(rows_b), user="root", region=world.b.region)
    assert selectors.unit_scores(ALL_SCOPE, date(2026, 9, 1), date(2026, 9, 30)) == {
        world.a.dept.pk: {"score": 91.5, "assessments": 1},
        world.a.agency.pk: {"score": 86.0, "assessments": 1},
        world.b.dept.pk: {"score": 70.0, "assessments": 1},
    }
    assert selectors.unit_scores(ALL_SCOPE, date(2026, 10, 1), date(2026, 10, 31)) == {}
    scope_a = scope_for_user(world.users["a_admin"])
    assert set(selectors.unit_scores(scope_a, *Q3)) == {world.a.dept.pk, world.a.agency.pk}
    dept = scope_for_user(world.users["a_dept_admin"])
    assert set(selectors.unit_scores(dept, *Q3)) == {world.a.dept.pk}


@pytest.mark.parametrize("user", ["a_dept_admin", "a_inspector", "a_auditor", "a_handler", "a_clerk", "nobody"])
def test_only_agency_and_system_admins_import(world, user):
    with pytest.raises(PermissionDenied):
        run(world, csv_bytes(good_rows(world)), user=user)


def test_region_must_be_in_scope_and_form_fields_are_checked(world):
    with pytest.raises(NotFound) as exc:
        run(world, csv_bytes(good_rows(world)), region=world.b.region)
    assert exc.value.field == "region_id"
    with pytest.raises(ValidationFailed) as exc:
        run(world, csv_bytes(good_rows(world)), firm=" ")
    assert exc.value.field == "firm"
    with pytest.raises(ValidationFailed) as exc:
        run(world, csv_bytes(good_rows(world)), period=(date(2026, 9, 30), date(2026, 7, 1)))
    assert exc.value.field == "period_end"
    with pytest.raises(ValidationFailed) as exc:
        run(world, csv_bytes(good_rows(world)), period=(date(2099, 1, 1), date(2099, 12, 31)))
    assert exc.value.field == "period_start"


def test_a_city_admin_imports_for_a_county_of_the_city(world):
    outcome = run(world, csv_bytes(good_rows(world)), user="city_admin")
    assert outcome.ok


def test_period_codes():
    assert services.period_bounds("2026-10") == (date(2026, 10, 1), date(2026, 10, 31))
    assert services.period_bounds("2026-q3") == Q3
    assert services.period_bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert services.period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    for bad in ("2026-13", "2026-Q5", "soon", ""):
        with pytest.raises(ValidationFailed):
            services.period_bounds(bad)
    assert services.period_label(*Q3) == "2026年第3季度"
    assert services.period_label(date(2026, 10, 1), date(2026, 10, 31)) == "2026年10月"
    assert services.period_label(date(2026, 1, 1), date(2026, 12, 31)) == "2026年"
    assert services.period_label(date(2026, 1, 5), date(2026, 2, 5)) == "2026-01-05至2026-02-05"


# --- the views ------------------------------------------------------------------------------------------------


def client_for(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def test_upload_view_imports_and_redirects_to_the_detail(world):
    client = client_for(world, "a_admin")
    assert client.get("/assessments/import/").status_code == 200
    upload = SimpleUploadedFile("results.csv", csv_bytes(good_rows(world)), content_type="text/csv")
    r = client.post(
        "/assessments/import/",
        {"firm": "浙江公信评估咨询有限公司", "title": "", "region_id": world.a.region.pk, "period": "custom",
         "period_start": "2026-07-01", "period_end": "2026-09-30", "file": upload},
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    a = AssessmentImport.objects.get()
    assert r["Location"] == f"/assessments/{a.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "2026年第3季度" in page and world.a.dept.name in page and "91.5" in page and "服务效率" in page


def test_upload_view_with_a_period_code_and_errors(world):
    client = client_for(world, "a_admin")
    rows = good_rows(world)
    rows[1][2] = "abc"
    upload = SimpleUploadedFile("results.csv", csv_bytes(rows), content_type="text/csv")
    r = client.post(
        "/assessments/import/",
        {"firm": "某机构", "region_id": world.a.region.pk, "period": "2026-Q3", "file": upload},
    )
    assert r.status_code == 422
    assert "第3行 [综合得分]" in r.content.decode() and not AssessmentImport.objects.exists()
    r = client.post("/assessments/import/", {"firm": "", "region_id": world.b.region.pk, "period": "custom"})
    assert r.status_code == 422
    errors = r.context["form"].errors
    assert {"firm", "region_id", "file", "period_start", "period_end"} <= set(errors)


def test_index_lists_current_imports_and_superseded_on_request(world):
    run(world, csv_bytes(good_rows(world)))
    second = run(world, csv_bytes(good_rows(world))).assessment
    run(world, csv_bytes([[world.b.dept.uscc, "", "70", "", "", "", ""]]), user="root", region=world.b.region)
    page = client_for(world, "a_admin").get("/assessments/")
    assert page.status_code == 200
    assert [r["a"].pk for r in page.context["rows"]] == [second.pk]
    assert page.context["may_import"]
    everything = client_for(world, "a_admin").get("/assessments/", {"all": "1"})
    assert len(everything.context["rows"]) == 2
    assert not client_for(world, "a_inspector").get("/assessments/").context["may_import"]
    assert len(client_for(world, "root").get("/assessments/").context["rows"]) == 2


def test_department_admin_sees_only_its_units_rows(world):
    a = run(world, csv_bytes(good_rows(world))).assessment
    client = client_for(world, "a_dept_admin")
    assert [r["a"].pk for r in client.get("/assessments/").context["rows"]] == [a.pk]
    page = client.get(f"/assessments/{a.pk}/")
    assert [r["s"].unit_id for r in page.context["rows"]] == [world.a.dept.pk]
    export = client.get(f"/assessments/{a.pk}/export.csv").content.decode("utf-8-sig")
    assert world.a.dept.uscc in export and world.a.agency.uscc not in export


def test_export_csv(world):
    a = run(world, csv_bytes(good_rows(world))).assessment
    r = client_for(world, "a_auditor").get(f"/assessments/{a.pk}/export.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert rows[1][:4] == [world.a.dept.uscc, world.a.dept.name, "91.5", "1"]
    # The export imports again as it is (round trip).
    assert run(world, r.content).ok


def test_export_neutralises_formulas(world):
    rows = good_rows(world)
    rows[0][4] = '=HYPERLINK("http://evil.example")'
    a = run(world, csv_bytes(rows)).assessment
    text = client_for(world, "a_admin").get(f"/assessments/{a.pk}/export.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_templates_download(world):
    client = client_for(world, "a_admin")
    x = client.get("/assessments/template.xlsx")
    assert x.status_code == 200 and x.content.startswith(b"PK") and "attachment" in x["Content-Disposition"]
    c = client.get("/assessments/template.csv")
    assert c.status_code == 200 and c.content.startswith(b"\xef\xbb\xbf")
    assert "统一社会信用代码" in c.content.decode("utf-8-sig") and world.a.dept.uscc in c.content.decode("utf-8-sig")


def test_out_of_scope_import_is_404(world):
    b = run(world, csv_bytes([[world.b.dept.uscc, "", "70", "", "", "", ""]]), user="root", region=world.b.region)
    for user in ("a_admin", "a_dept_admin", "a_inspector", "a_auditor"):
        assert client_for(world, user).get(f"/assessments/{b.assessment.pk}/").status_code == 404
    assert client_for(world, "a_handler").get(f"/assessments/{b.assessment.pk}/").status_code == 403


def test_society_routes_follow_their_authorisation_rules(world):
    """The matrix for this app's routes alone (tests/test_authz_matrix.py walks them all)."""
    from tests import authz  # imported before tests.authz_society, which it merges (a cycle otherwise)
    from tests.test_authz_matrix import observe, page_routes

    [authz_society] = [m for m in authz.extra_modules() if m.__name__ == "tests.authz_society"]

    objects = authz_society.objects(world)
    routes = [r for r in page_routes() if r.name.split(":")[0] in ("suggestions", "assessments")]
    assert {r.name for r in routes} == set(authz_society.RULES)
    failures = []
    for route in routes:
        for side, kwargs in objects.get(route.name, {"in": {}}).items():
            got = observe(world, route, kwargs)
            want = authz_society.RULES[route.name][side]
            if got != want:
                failures.append((route.name, side, {r: (want[r], got[r]) for r in want if want[r] != got[r]}))
    assert not failures, failures
