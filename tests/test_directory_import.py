"""Bulk import of the directory from CSV and Excel: dry runs, idempotency, row errors, scope, admin page, commands."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from haochaping.accounts.scope import scope_for_user
from haochaping.directory.import_template import EXAMPLES, template_xlsx
from haochaping.directory.importer import KINDS, RowError, columns_of, import_file
from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window
from haochaping.lib.errors import PermissionDenied
from haochaping.lib.uscc import make_uscc

UNIT_HEADER = ["统一社会信用代码", "单位名称", "类型", "行政区划代码", "上级单位信用代码"]
ITEM_HEADER = ["基本编码", "实施编码", "事项名称", "事项类型", "服务对象", "实施主体信用代码", "行政区划代码"]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def run_csv(kind: str, rows: list[list[str]], **kwargs):
    return import_file(csv_bytes(rows), filename=f"{kind}.csv", kind=kind, **kwargs)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def uscc(serial: int, region6: str = "330102") -> str:
    return make_uscc("1", "1", region6, f"{serial:08d}")


def test_it_reports_row_column_and_reason_on_a_dry_run_and_writes_nothing(world):
    good, bad = uscc(501), uscc(502)[:-1] + ("0" if uscc(502)[-1] != "0" else "1")
    before = Organisation.objects.count()
    result = run_csv(
        "units",
        [
            UNIT_HEADER,
            [good, "上城区民政局", "政府部门", "330102000000", ""],
            [bad, "上城区教育局", "政府部门", "330102000000", ""],
        ],
        dry_run=True,
    )
    assert result.errors == [RowError(3, "统一社会信用代码", "统一社会信用代码校验位错误")]
    assert str(result.errors[0]) == "第3行 [统一社会信用代码] 统一社会信用代码校验位错误"
    assert result.counts["units"].created == 1
    assert Organisation.objects.count() == before


def test_it_writes_nothing_on_a_clean_dry_run(world):
    result = run_csv("units", [UNIT_HEADER, [uscc(501), "上城区民政局", "", "330102000000", ""]], dry_run=True)
    assert result.ok and result.counts["units"].created == 1 and not result.written
    assert not Organisation.objects.filter(uscc=uscc(501)).exists()


def test_it_creates_the_whole_directory_from_a_workbook(db):
    result = import_file(template_xlsx(), filename="directory.xlsx")
    assert result.ok, result.errors
    assert [c.created for c in result.counts.values()] == [len(EXAMPLES[k]) for k in result.counts]
    county = Region.objects.get(code="330102000000")
    assert county.level == Region.Level.COUNTY
    assert county.path == "330000000000/330100000000/330102000000/"
    assert Organisation.objects.get(kind="agency").region == county
    staff = Staff.objects.select_related("window__hall").get()
    assert (staff.window.hall.code, staff.window.code) == ("H330102001", "01")
    item = ServiceItem.objects.get()
    assert (item.item_type, item.service_objects, item.region) == ("01", "1,2", county)
    assert Platform.objects.get().kind == Platform.Kind.TERMINAL
    assert Hall.objects.count() == Window.objects.count() == 1


def test_it_changes_nothing_when_the_same_file_is_imported_again(db):
    data = template_xlsx()
    assert import_file(data, filename="directory.xlsx").ok
    with CaptureQueriesContext(connection) as queries:
        again = import_file(data, filename="directory.xlsx")
    assert again.ok
    assert all(c.created == c.updated == 0 and c.unchanged == c.rows for c in again.counts.values())
    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_it_updates_a_changed_row(world):
    result = run_csv(
        "units", [UNIT_HEADER, [world.a.dept.uscc, "上城区市场监管局（新）", "政府部门", "330102000000", ""]]
    )
    assert (result.counts["units"].updated, result.counts["units"].created) == (1, 0)
    world.a.dept.refresh_from_db()
    assert world.a.dept.name == "上城区市场监管局（新）"


def test_it_keeps_fields_whose_column_is_absent(world):
    world.a.dept.short_name = "市场监管"
    world.a.dept.save()
    result = run_csv("units", [["uscc", "name", "region_code"], [world.a.dept.uscc, world.a.dept.name, "330102000000"]])
    assert result.counts["units"].unchanged == 1
    world.a.dept.refresh_from_db()
    assert world.a.dept.short_name == "市场监管"


def test_it_rejects_a_bad_region_code(db):
    result = run_csv("regions", [["行政区划代码", "名称"], ["33000000000", "浙江省"], ["001100000000", "某地"]])
    assert [(e.row, e.column) for e in result.errors] == [(2, "行政区划代码"), (3, "行政区划代码")]
    assert result.errors[0].message == "行政区划代码应为12位数字"
    assert Region.objects.count() == 0


def test_it_rejects_unknown_references(world):
    rows = [
        UNIT_HEADER,
        [uscc(601), "上城区某局", "", "330102000000", uscc(999)],
        [uscc(602), "某县某局", "", "330199000000", ""],
    ]
    result = run_csv("units", rows)
    assert [(e.row, e.column) for e in result.errors] == [(2, "上级单位信用代码"), (3, "行政区划代码")]
    assert "不存在" in result.errors[0].message and uscc(999) in result.errors[0].message
    assert run_csv("units", rows, dry_run=True).errors == result.errors  # a dry run reports what a real run does
    regions = run_csv("regions", [["行政区划代码", "名称"], ["330106000000", "西湖区"], ["440106000000", "天河区"]])
    assert [(e.row, e.column) for e in regions.errors] == [(3, "上级区划代码")]
    assert not Region.objects.filter(code="330106000000").exists()  # all or nothing


def test_it_names_the_bad_row_a_reference_points_to(db):
    result = run_csv("regions", [["行政区划代码", "名称"], ["330000000000", ""], ["330100000000", "杭州市"]])
    assert [(e.row, e.column) for e in result.errors] == [(2, "名称"), (3, "上级区划代码")]
    assert "第2行" in result.errors[1].message


def test_it_rejects_an_unknown_item_type_and_service_object(world):
    row = ["000101002000", "X-0001", "食品经营许可（变更）", "行政许可证", "自然人、外星人", world.a.dept.uscc, ""]
    result = run_csv("items", [ITEM_HEADER, row])
    assert [(e.row, e.column) for e in result.errors] == [(2, "事项类型"), (2, "服务对象")]
    assert "行政许可证" in result.errors[0].message and "外星人" in result.errors[1].message


def test_it_takes_choice_labels_or_codes(world):
    rows = [
        ITEM_HEADER + ["现场办理", "网上办理"],
        ["000101002000", "X-0001", "食品经营许可（变更）", "1", "1,2", world.a.dept.uscc, "", "是", "否"],
        [
            "000101003000",
            "X-0002",
            "食品经营许可（注销）",
            "行政许可",
            "企业法人、自然人",
            world.a.dept.uscc,
            "",
            "",
            "N",
        ],
    ]
    assert run_csv("items", rows).ok
    one, two = ServiceItem.objects.filter(implementation_code__startswith="X-").order_by("implementation_code")
    assert (one.item_type, one.service_objects, one.on_site, one.online) == ("01", "1,2", True, False)
    assert (two.item_type, two.service_objects, two.region) == ("01", "2,1", world.a.region)


def test_it_rejects_a_code_twice_in_the_file(world):
    result = run_csv(
        "units",
        [UNIT_HEADER, [uscc(701), "甲局", "", "330102000000", ""], [uscc(701), "乙局", "", "330102000000", ""]],
    )
    assert [(e.row, e.column) for e in result.errors] == [(3, "统一社会信用代码")]
    assert "与第2行重复" in result.errors[0].message
    assert not Organisation.objects.filter(uscc=uscc(701)).exists()


def test_it_rejects_a_second_agency_in_a_region(world):
    result = run_csv("units", [UNIT_HEADER, [uscc(702), "上城区另一个政务办", "政务服务管理机构", "330102000000", ""]])
    assert [(e.row, e.column) for e in result.errors] == [(2, "类型")]


def test_it_resolves_references_to_rows_later_in_the_file(db):
    regions = [["行政区划代码", "名称", "上级区划代码"], ["330102000000", "上城区", ""], ["330100000000", "杭州市", ""]]
    regions.append(["330000000000", "浙江省", ""])
    assert run_csv("regions", regions).ok
    assert Region.objects.get(code="330102000000").path == "330000000000/330100000000/330102000000/"
    child, parent = uscc(801), uscc(802)
    units = [UNIT_HEADER, [child, "科室", "", "330102000000", parent], [parent, "上城区某局", "", "330102000000", ""]]
    assert run_csv("units", units).ok
    assert Organisation.objects.get(uscc=child).parent.uscc == parent


def test_it_rejects_a_cycle_of_parent_units(world):
    one, two = uscc(811), uscc(812)
    result = run_csv("units", [UNIT_HEADER, [one, "甲", "", "330102000000", two], [two, "乙", "", "330102000000", one]])
    assert [(e.row, e.column) for e in result.errors] == [(2, "上级单位信用代码"), (3, "上级单位信用代码")]


def test_it_moves_descendants_when_a_region_changes_parent(world):
    Region.objects.create(code="330102001000", name="清波街道", parent=world.a.region)
    rows = [
        ["行政区划代码", "名称", "上级区划代码"],
        ["330200000000", "宁波市", ""],
        ["330102000000", "上城区", "330200000000"],
    ]
    assert run_csv("regions", rows).ok
    assert Region.objects.get(code="330102001000").path == "330000000000/330200000000/330102000000/330102001000/"


def test_it_reads_a_gbk_csv_with_english_headers(world):
    rows = [["code", "name", "unit_uscc", "hall_code", "window_code", "title"]]
    rows.append(["S330102-9", "李晓红", world.a.dept.uscc, world.a.hall.code, "01", "综合受理"])
    result = import_file(csv_bytes(rows, "gbk"), filename="staff.csv", kind="staff")
    assert result.ok, result.errors
    staff = Staff.objects.get(code="S330102-9")
    assert (staff.name, staff.window, staff.title) == ("李晓红", world.a.window, "综合受理")


def test_it_reads_a_utf8_csv_with_bom_and_guesses_its_kind(world):
    data = b"\xef\xbb\xbf" + csv_bytes(
        [["大厅编码", "窗口编号", "窗口名称", "进驻单位信用代码"], [world.a.hall.code, "02", "社保", world.a.dept.uscc]]
    )
    result = import_file(data, filename="windows.csv")
    assert result.ok and result.counts["windows"].created == 1


def test_it_reads_numbers_excel_made_of_codes(world):
    data = xlsx_bytes(
        {
            "事项": [
                ITEM_HEADER + ["网上办理"],
                ["000101004000", "X-0009", "食品经营许可（延续）", 1, "2", world.a.dept.uscc, 330102000000, True],
            ]
        }
    )
    result = import_file(data, filename="items.xlsx")
    assert result.ok, result.errors
    item = ServiceItem.objects.get(implementation_code="X-0009")
    assert (item.item_type, item.region, item.online) == ("01", world.a.region, True)


def test_it_reports_sheet_errors_and_missing_columns(db):
    data = xlsx_bytes({"机构": [["统一社会信用代码", "单位名称", "颜色"]], "杂项": [["a"]]})
    result = import_file(data, filename="bad.xlsx")
    assert "杂项" in result.errors[0].message
    only_units = import_file(xlsx_bytes({"机构": [["统一社会信用代码", "单位名称", "颜色"]]}), filename="u.xlsx")
    assert [(e.row, e.column) for e in only_units.errors] == [(1, "颜色"), (1, "行政区划代码")]
    assert only_units.errors[1].message == "缺少必填列"


def test_it_rejects_rows_outside_an_agency_admins_scope(world):
    scope = scope_for_user(world.users["a_admin"])
    result = run_csv(
        "units",
        [
            UNIT_HEADER,
            [uscc(901), "上城区民政局", "", "330102000000", ""],
            [uscc(902, "330105"), "拱墅区民政局", "", "330105000000", ""],
            [world.b.dept.uscc, "拱墅区市场监督管理局", "", "330102000000", ""],
        ],
        scope=scope,
    )
    assert [(e.row, e.column) for e in result.errors] == [(3, "行政区划代码"), (4, "统一社会信用代码")]
    assert "不在您的数据范围内" in result.errors[0].message
    world.b.dept.refresh_from_db()
    assert world.b.dept.region == world.b.region


def test_it_refuses_an_import_to_a_department_admin(world):
    with pytest.raises(PermissionDenied):
        run_csv("units", [UNIT_HEADER], scope=scope_for_user(world.users["a_dept_admin"]))


def test_it_uses_the_same_number_of_queries_for_many_rows(world):
    def items(n: int, prefix: str) -> list[list[str]]:
        rows = [ITEM_HEADER]
        for i in range(n):
            rows.append(["000101001000", f"{prefix}{i:05d}", f"事项{i}", "01", "1", world.a.dept.uscc, ""])
        return rows

    with CaptureQueriesContext(connection) as few:
        assert run_csv("items", items(5, "F")).ok
    with CaptureQueriesContext(connection) as many:
        assert run_csv("items", items(400, "M")).ok

    def selects(ctx) -> int:
        return sum(q["sql"].startswith("SELECT") for q in ctx)

    assert selects(many) == selects(few)
    assert sum(q["sql"].startswith("INSERT") for q in many) <= 400 // 50  # batched (SQLite caps parameters)
    assert ServiceItem.objects.filter(implementation_code__startswith="M").count() == 400


def test_it_imports_from_the_admin_page_after_a_dry_run(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = Client()
    client.force_login(world.users["root"])
    url = "/admin/directory/organisation/import/"
    assert client.get(url).status_code == 200
    assert "批量导入" in client.get("/admin/directory/organisation/").content.decode()
    upload = io.BytesIO(csv_bytes([UNIT_HEADER, [uscc(951), "上城区民政局", "政府部门", "330102000000", ""]]))
    upload.name = "units.csv"
    r = client.post(url, {"file": upload, "kind": "units", "dry_run": "1"})
    assert r.status_code == 200 and "试运行通过" in r.content.decode()
    assert not Organisation.objects.filter(uscc=uscc(951)).exists()
    r = client.post(url, {"token": r.context["token"], "kind": "units", "confirm": "1"})
    assert r.status_code == 200 and r.context["result"].written
    assert Organisation.objects.get(uscc=uscc(951)).name == "上城区民政局"
    template = client.get("/admin/directory/organisation/import/template/")
    assert template.status_code == 200 and template.content.startswith(b"PK")


def agency_admin_client(world, *model_names: str) -> Client:
    user = world.users["a_admin"]
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="directory",
            content_type__model__in=model_names,
            codename__regex=r"^(add|change)_",
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_row_errors_on_the_admin_page_for_an_agency_admin(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = agency_admin_client(world, "organisation")
    upload = io.BytesIO(csv_bytes([UNIT_HEADER, [uscc(952, "330105"), "拱墅区民政局", "", "330105000000", ""]]))
    upload.name = "units.csv"
    r = client.post("/admin/directory/organisation/import/", {"file": upload, "import": "1"})
    body = r.content.decode()
    assert r.status_code == 200 and "导入失败" in body and "不在您的数据范围内" in body
    assert r.context["token"] is None
    assert not Organisation.objects.filter(uscc=uscc(952, "330105")).exists()


def test_it_refuses_kinds_the_user_may_not_change(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = agency_admin_client(world, "organisation")
    upload = io.BytesIO(csv_bytes([["行政区划代码", "名称"], ["330102001000", "清波街道"]]))
    upload.name = "regions.csv"
    r = client.post("/admin/directory/organisation/import/", {"file": upload, "kind": "regions", "import": "1"})
    assert "您没有新增和修改“行政区划”的权限" in r.content.decode()
    assert not Region.objects.filter(code="330102001000").exists()
    assert client.get("/admin/directory/organisation/import/").status_code == 200


def test_it_refuses_the_admin_page_to_a_department_admin(world):
    client = Client()
    client.force_login(world.users["a_dept_admin"])
    assert client.get("/admin/directory/organisation/import/").status_code == 403


def test_the_command_prints_every_error_and_exits_non_zero(world, tmp_path):
    path = tmp_path / "units.csv"
    bad = uscc(961)[:-1] + ("0" if uscc(961)[-1] != "0" else "1")
    path.write_bytes(csv_bytes([UNIT_HEADER, [bad, "上城区民政局", "", "330102000000", ""]]))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_directory", str(path), "--kind", "机构", stdout=out, stderr=err)
    assert "第2行 [统一社会信用代码] 统一社会信用代码校验位错误" in err.getvalue()
    assert "共 1 行" in out.getvalue() and "未写入" in out.getvalue()


def test_the_template_command_writes_a_workbook_that_imports(db, tmp_path):
    path = tmp_path / "template.xlsx"
    call_command("export_directory_template", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_directory", str(path), "--dry-run", stdout=out)
    assert "试运行" in out.getvalue() and Region.objects.count() == 0
    call_command("import_directory", str(path), stdout=out)
    assert Region.objects.count() == 3 and ServiceItem.objects.count() == 1


def test_the_samples_import_and_the_docs_name_every_column(db):
    docs = Path(__file__).resolve().parent.parent / "docs"
    assert import_file(docs / "samples" / "directory-sample.xlsx").ok
    again = import_file(docs / "samples" / "items-sample.csv", kind="items")
    assert again.ok and again.counts["items"].unchanged == 1
    text = (docs / "directory-import.md").read_text(encoding="utf-8")
    for kind in KINDS:
        for column in columns_of(kind):
            assert f"| {column.header} | {'、'.join(column.aliases)} |" in text, column
