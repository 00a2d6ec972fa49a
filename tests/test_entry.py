"""Hotline and paper entry: staff keying pages, paper-form scans, double entry, batch import and its command."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.entry.demo import seed_demo
from haochaping.entry.importer import import_paper_forms
from haochaping.entry.models import KeyedEntry
from haochaping.lib import protect
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    return settings.MEDIA_ROOT


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def window_value(county) -> str:
    return f"{county.hall.code}|{county.window.code}"


def paper_post(world, client: Client, form_no: str = "ZP-0001", **extra):
    data = {
        "form_no": form_no,
        "window": window_value(world.a),
        "grade": "dissatisfied",
        "tags": ["OS11"],
        "comment": "排队太久",
        "q_guidance_clear": "yes",
        "q_process_convenient": "",
        "rated_on": "2026-01-05",
        "idempotency_key": f"k-{form_no}",
        **extra,
    }
    return client.post("/entry/paper/", data)


def test_it_stores_a_hotline_call_as_a_phone_rating_with_who_keyed_it(world):
    client = login(world, "a_handler")
    assert client.get("/entry/hotline/").status_code == 200
    data = {
        "window": window_value(world.a),
        "grade": "satisfied",
        "comment": "回访满意",
        "caller_phone": "13800001111",
        "call_ref": "12345-0001",
        "call_at": "2026-01-06T10:30",
        "idempotency_key": "h-1",
    }
    r = client.post("/entry/hotline/", data, follow=True)
    assert r.status_code == 200
    entry = KeyedEntry.objects.get()
    rating = entry.rating
    assert rating.channel == "phone" and rating.grade == 4 and rating.window == world.a.window
    assert entry.kind == "hotline" and entry.keyed_by == world.users["a_handler"] and entry.call_ref == "12345-0001"
    assert rating.client == f"entry:{world.users['a_handler'].pk}" and rating.comment == "回访满意"
    assert timezone.localtime(rating.rated_at).strftime("%Y-%m-%d %H:%M") == "2026-01-06 10:30"
    assert protect.decrypt(rating.rater_phone_enc) == "13800001111" and "13800001111" not in rating.rater_phone_enc
    assert str(rating.public_id) in r.content.decode()  # the success message names the stored rating
    # The same page posted again (a double click, a browser retry) answers with the stored entry.
    assert client.post("/entry/hotline/", data).status_code == 302
    assert Rating.objects.count() == 1 and KeyedEntry.objects.count() == 1


def test_it_refuses_a_call_reference_keyed_twice(world):
    client = login(world, "a_handler")
    data = {"window": window_value(world.a), "grade": "basic", "call_ref": "12345-9", "call_at": "2026-01-06T10:30"}
    assert client.post("/entry/hotline/", {**data, "idempotency_key": "a"}).status_code == 302
    r = client.post("/entry/hotline/", {**data, "idempotency_key": "b"})
    assert r.status_code == 422 and "该热线工单（12345-9）已录入" in r.content.decode()
    assert Rating.objects.count() == 1


def test_it_stores_a_paper_form_with_answers_and_keeps_unanswered_questions_absent(world):
    client = login(world, "a_dept_admin")
    assert client.get("/entry/paper/").status_code == 200
    r = paper_post(world, client)
    assert r.status_code == 302, r.content.decode()
    entry = KeyedEntry.objects.get()
    rating = entry.rating
    assert rating.channel == "paper" and rating.grade == 2 and rating.tags == ["OS11"]
    assert rating.answers == {"guidance_clear": "yes"}
    assert timezone.localtime(rating.rated_at).date().isoformat() == "2026-01-05"
    assert entry.form_no == "ZP-0001" and entry.unit == world.a.dept and entry.keyed_by.username == "a_dept_admin"


def test_it_refuses_double_entry_of_a_paper_form_with_a_clear_error_and_stores_nothing(world):
    assert paper_post(world, login(world, "a_dept_admin")).status_code == 302
    r = paper_post(world, login(world, "a_handler"), idempotency_key="other-key", grade="very_satisfied", tags=[])
    assert r.status_code == 422
    page = r.content.decode()
    assert "该纸质评价表（编号ZP-0001）已录入，录入人a_dept_admin，时间" in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_form_no_errors"' in page
    assert 'id="id_form_no_errors"' in page  # the error list stands next to the field it is about
    assert Rating.objects.count() == 1 and KeyedEntry.objects.count() == 1


def test_it_stores_a_scan_and_serves_it_only_inside_the_scope(world, media):
    client = login(world, "a_handler")
    scan = SimpleUploadedFile("表单.png", PNG, content_type="image/png")
    assert paper_post(world, client, scan=scan).status_code == 302
    entry = KeyedEntry.objects.get()
    assert entry.scan.name.startswith("paper-scans/") and entry.scan.name.endswith(".png")
    assert "表单" not in entry.scan.name
    assert (media / entry.scan.name).read_bytes() == PNG
    r = client.get(f"/entry/scan/{entry.pk}/")
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and b"".join(r.streaming_content) == PNG
    assert login(world, "a_auditor").get(f"/entry/scan/{entry.pk}/").status_code == 200  # read-only, in scope
    assert login(world, "b_admin").get(f"/entry/scan/{entry.pk}/").status_code == 404
    assert Client().get(f"/entry/scan/{entry.pk}/").status_code == 302  # to the login page
    assert Client().get(f"/media/{entry.scan.name}").status_code == 404  # media is never served directly


def test_it_refuses_a_scan_that_is_not_an_image_or_pdf(world, media):
    client = login(world, "a_handler")
    fake = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    r = paper_post(world, client, scan=fake)
    assert r.status_code == 422 and "扫描件内容与文件类型不符" in r.content.decode()
    assert not KeyedEntry.objects.exists() and not Rating.objects.exists()
    assert not list(media.rglob("*.pdf"))


@pytest.mark.parametrize("username", ["a_auditor", "a_inspector", "a_clerk", "nobody"])
def test_it_answers_403_to_roles_that_may_not_key(world, username):
    client = login(world, username)
    for path in ("/entry/", "/entry/hotline/", "/entry/paper/", "/entry/paper/import/"):
        assert client.get(path).status_code == 403, path
    assert paper_post(world, client).status_code == 403
    assert not Rating.objects.exists()


def test_it_rejects_a_target_outside_the_users_scope(world):
    client = login(world, "a_handler")
    r = paper_post(world, client, window="")
    assert r.status_code == 422
    # county b's window is not even offered; posting it is refused as an invalid choice
    r = paper_post(world, client, window=window_value(world.b))
    assert r.status_code == 422 and not Rating.objects.exists()
    service_case_register(
        scope=ALL_SCOPE, case_no="B-1", item_code=world.b.item.implementation_code, staff_code=world.b.clerk.code
    )
    r = paper_post(world, client, window="", case_no="B-1")
    assert r.status_code == 422 and "不在调用方数据范围内" in r.content.decode()
    assert not Rating.objects.exists()


def test_it_lists_recent_entries_in_scope(world):
    paper_post(world, login(world, "a_handler"))
    page = login(world, "a_admin").get("/entry/").content.decode()
    assert "ZP-0001" in page and "a_handler" in page
    assert "ZP-0001" not in login(world, "b_admin").get("/entry/").content.decode()


def test_the_admin_lists_entries_read_only_with_the_channel(world):
    paper_post(world, login(world, "a_handler"))
    client = login(world, "root")
    r = client.get("/admin/entry/keyedentry/")
    assert r.status_code == 200 and "ZP-0001" in r.content.decode() and "纸质评价" in r.content.decode()
    entry = KeyedEntry.objects.get()
    assert client.get(f"/admin/entry/keyedentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/entry/keyedentry/add/").status_code == 403


def test_a_case_handler_who_is_no_admin_user_signs_in_on_the_entry_page(world):
    client = Client()
    r = client.get("/entry/paper/")
    assert r.status_code == 302 and r["Location"] == "/login/?next=/entry/paper/"
    r = client.post("/login/", {"username": "a_handler", "password": "pw-a_handler", "next": "/entry/paper/"})
    assert r.status_code == 302 and r["Location"] == "/entry/paper/"
    assert client.get("/entry/paper/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/entry/paper/").status_code == 302


def test_it_limits_sign_in_attempts_per_address(world, monkeypatch):
    from types import SimpleNamespace

    from django.core.cache import cache

    from haochaping.lib import ratelimit

    # The limit counts per fixed minute: hold the limiter's clock inside one, so the 11 posts cannot straddle two.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    cache.clear()
    client = Client(REMOTE_ADDR="10.9.8.7")
    # A different name each time: the per-name lockout (django-axes, tests/test_security_login.py) stays out of it.
    for i in range(10):
        assert client.post("/login/", {"username": f"guess{i}", "password": "wrong"}).status_code == 200
    r = client.post("/login/", {"username": "a_handler", "password": "pw-a_handler"})
    assert r.status_code == 429 and "请求过于频繁" in r.content.decode() and int(r["Retry-After"]) > 0
    cache.clear()


# --- batch import ------------------------------------------------------------------------------------------

HEADER = [
    "表单编号",
    "办件编号",
    "大厅编码",
    "窗口编号",
    "工号",
    "满意度",
    "评价标签",
    "文字评价",
    "评价日期",
    "服务指引是否清晰",
]


def csv_file(world, rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def good_rows(world) -> list[list[str]]:
    hall = world.a.hall.code
    return [
        ["ZP-1", "", hall, "01", "", "非常满意", "", "很好", "2026-01-02", "是"],
        ["ZP-2", "", "", "", world.a.clerk.code, "dissatisfied", "OS11", "", "2026/01/03", ""],
        ["ZP-3", "", hall, "01", "", "基本满意", "", "", "", "一般"],
    ]


def test_it_reports_row_errors_on_a_dry_run_and_writes_nothing(world):
    rows = good_rows(world) + [
        ["ZP-4", "", world.a.hall.code, "01", "", "5", "", "", "", ""],
        ["ZP-5", "", "", "09", "", "满意", "", "", "2026-13-01", "也许"],
        ["ZP-1", "", world.a.hall.code, "01", "", "满意", "", "", "", ""],
        ["ZP-6", "", world.b.hall.code, "01", "", "满意", "", "", "", ""],
    ]
    user = world.users["a_handler"]
    result = import_paper_forms(
        csv_file(world, rows, "gb18030"), filename="p.csv", user=user, scope=scope_for_user(user), dry_run=True
    )
    messages = [str(e) for e in result.errors]
    grades = "非常满意、满意、基本满意、不满意、非常不满意"
    assert f"第5行 [满意度] 请填写等级名称而非数字（数字代码在不同标准中方向相反）：{grades}" in messages
    assert "第6行 [大厅编码] 填写窗口编号时须同时填写大厅编码" in messages
    assert "第6行 [评价日期] 无法识别的日期：2026-13-01（如 2026-03-01）" in messages
    assert any(m.startswith("第6行 [服务指引是否清晰] 应填") for m in messages)
    assert "第7行 [表单编号] 表单编号 ZP-1 与第2行重复" in messages
    assert any(m.startswith("第8行 [窗口编号] 窗口不存在或不在调用方数据范围内") for m in messages)
    assert len(messages) == 6
    assert not Rating.objects.exists() and not KeyedEntry.objects.exists()


def test_it_imports_paper_forms_all_or_nothing_and_refuses_a_reimport_row_by_row(world):
    user = world.users["a_handler"]
    scope = scope_for_user(user)
    data = csv_file(world, good_rows(world))
    dry = import_paper_forms(data, filename="p.csv", user=user, scope=scope, dry_run=True)
    assert dry.ok and dry.counts["paper"].created == 3 and not Rating.objects.exists()
    result = import_paper_forms(data, filename="p.csv", user=user, scope=scope)
    assert result.written and result.counts["paper"].created == 3
    ratings = {e.form_no: e.rating for e in KeyedEntry.objects.select_related("rating")}
    assert set(ratings) == {"ZP-1", "ZP-2", "ZP-3"}
    assert all(r.channel == "paper" for r in ratings.values())
    assert ratings["ZP-1"].grade == 5 and ratings["ZP-1"].answers == {"guidance_clear": "yes"}
    assert ratings["ZP-2"].staff == world.a.clerk and ratings["ZP-2"].tags == ["OS11"]
    assert ratings["ZP-3"].answers == {"guidance_clear": "unsure"}
    assert KeyedEntry.objects.filter(keyed_by=user, source="import:p.csv").count() == 3

    again = import_paper_forms(data, filename="p.csv", user=user, scope=scope)
    assert not again.written and len(again.errors) == 3
    assert str(again.errors[0]).startswith("第2行 [表单编号] 该纸质评价表（编号ZP-1）已录入，录入人a_handler，时间")
    assert Rating.objects.count() == 3


def test_it_imports_an_xlsx_workbook(world):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "纸质评价表"
    ws.append(HEADER)
    ws.append(["ZP-X1", "", world.a.hall.code, "01", "", "满意", "", "", datetime(2026, 2, 3), None])
    buf = io.BytesIO()
    wb.save(buf)
    user = world.users["a_admin"]
    result = import_paper_forms(buf.getvalue(), filename="p.xlsx", user=user, scope=scope_for_user(user))
    assert result.written and KeyedEntry.objects.get().form_no == "ZP-X1"
    assert timezone.localtime(Rating.objects.get().rated_at).date().isoformat() == "2026-02-03"


def test_the_import_page_checks_then_imports(world):
    client = login(world, "a_handler")
    upload = SimpleUploadedFile("p.csv", csv_file(world, good_rows(world)), content_type="text/csv")
    r = client.post("/entry/paper/import/", {"file": upload, "check": "1"})
    assert r.status_code == 200 and "试运行" in r.content.decode() and not Rating.objects.exists()
    token = r.context["token"]
    r = client.post("/entry/paper/import/", {"token": token, "confirm": "1"})
    assert r.status_code == 200 and "导入完成" in r.content.decode()
    assert KeyedEntry.objects.count() == 3
    # the stashed file is good for one import only
    r = client.post("/entry/paper/import/", {"token": token, "confirm": "1"})
    assert r.status_code == 200 and "文件已失效" in r.content.decode() and KeyedEntry.objects.count() == 3


def test_the_command_imports_and_reports_errors(world, tmp_path, capsys):
    path = tmp_path / "forms.csv"
    path.write_bytes(csv_file(world, good_rows(world)))
    call_command("import_paper_forms", str(path), "--dry-run", "--user", "a_handler")
    assert "试运行" in capsys.readouterr().out and not Rating.objects.exists()
    call_command("import_paper_forms", str(path), "--user", "a_handler")
    assert "导入成功" in capsys.readouterr().out and KeyedEntry.objects.count() == 3
    with pytest.raises(CommandError, match="3 个错误"):
        call_command("import_paper_forms", str(path), "--user", "a_handler")
    with pytest.raises(CommandError, match="只读"):
        call_command("import_paper_forms", str(path), "--user", "a_auditor")
    assert Rating.objects.count() == 3


def test_the_demo_hook_keys_hotline_and_paper_entries_once(world):
    assert seed_demo() == 7  # no "handler" login in this world: the superuser keys them
    assert seed_demo() == 0
    assert KeyedEntry.objects.filter(kind="hotline").count() == 3
    assert set(Rating.objects.values_list("channel", flat=True)) == {"phone", "paper"}
