"""Window QR codes: issue/reset, the mobile rating page, rate limits, offers, printable signs, admin actions."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.directory.models import Staff
from haochaping.messaging import verification
from haochaping.qrcodes import signs
from haochaping.qrcodes.demo import seed_demo
from haochaping.qrcodes.models import WindowCode
from haochaping.qrcodes.services import window_code_issue
from haochaping.ratings.models import Rating, RatingOffer
from haochaping.ratings.services import service_case_register
from tests.conftest import api_client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # rate-limit counters live in the cache and would carry over between tests
    yield
    cache.clear()


def page_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode()).group(1)


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def test_it_issues_a_code_and_reset_retires_the_old_one(world):
    first = window_code_issue(window=world.a.window)
    assert len(first.slug) >= 16 and first.is_active
    assert Client().get(f"/q/w/{first.slug}/").status_code == 200

    second = window_code_issue(window=world.a.window)
    first.refresh_from_db()
    assert second.slug != first.slug and first.revoked_at is not None
    assert WindowCode.objects.filter(window=world.a.window, revoked_at=None).get() == second
    old = Client().get(f"/q/w/{first.slug}/")
    assert old.status_code == 410 and "已停用" in old.content.decode()
    assert Client().get("/q/w/not-a-code/").status_code == 404


def test_it_shows_the_window_staff_and_five_grades(world):
    code = window_code_issue(window=world.a.window)
    page = Client().get(f"/q/w/{code.slug}/").content.decode()
    for text in (world.a.hall.name, "01号窗口", world.a.window.name, world.a.dept.name, "王小明"):
        assert text in page
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert label in page
    assert "排队等候时间长" in page  # on-site tags


def test_it_lets_the_rater_pick_among_several_staff_or_not_sure(world):
    Staff.objects.create(code="S33010202", name="李华", unit=world.a.dept, window=world.a.window)
    code = window_code_issue(window=world.a.window)
    r = Client().get(f"/q/w/{code.slug}/")
    page = r.content.decode()
    assert 'value="S33010202"' in page and "李华" in page and "不确定" in page

    Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "staff": "S33010202", "idempotency_key": "k1"})
    Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "staff": "unsure", "idempotency_key": "k2"})
    staff = [r.staff.name if r.staff else None for r in Rating.objects.order_by("id")]
    assert staff == ["李华", None]
    other = Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "staff": world.b.clerk.code})
    assert other.status_code == 422 and "请选择本窗口的工作人员" in other.content.decode()


def test_it_stores_a_qr_rating_of_the_window_and_staff(world, monkeypatch):
    monkeypatch.setattr(verification, "new_code", lambda: "246810")  # the real-name phone needs its SMS code
    code = window_code_issue(window=world.a.window)
    key = page_key(Client().get(f"/q/w/{code.slug}/"))
    verification.verification_send("13800001111")
    data = {
        "grade": "very_dissatisfied",
        "tags": ["OS11"],
        "comment": "排队一个多小时",
        "phone": "13800001111",
        "sms_code": "246810",
        "public": "on",
        "idempotency_key": key,
    }
    r = Client().post(f"/q/w/{code.slug}/", data)
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    rating = Rating.objects.get()
    assert (rating.channel, rating.target, rating.grade, rating.tags) == ("qr", "window", 1, ["OS11"])
    assert rating.window == world.a.window and rating.staff == world.a.clerk and rating.unit == world.a.dept
    assert rating.client == f"qr:{code.id}" and rating.idempotency_key == key
    assert rating.is_public and not rating.is_anonymous and rating.rater_phone_masked.startswith("138")
    assert "13800001111" not in rating.rater_phone_enc  # stored encrypted


def test_it_is_anonymous_without_a_phone_and_rejects_a_bad_phone(world):
    code = window_code_issue(window=world.a.window)
    Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied"})
    assert Rating.objects.get().is_anonymous
    bad = Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "phone": "12345"})
    assert bad.status_code == 422 and "手机号码" in bad.content.decode()
    assert Rating.objects.count() == 1


def test_it_stores_a_double_submit_once(world):
    code = window_code_issue(window=world.a.window)
    data = {"grade": "satisfied", "idempotency_key": page_key(Client().get(f"/q/w/{code.slug}/"))}
    first = Client().post(f"/q/w/{code.slug}/", data)
    second = Client().post(f"/q/w/{code.slug}/", data)
    assert first.status_code == second.status_code == 200
    assert Rating.objects.count() == 1


def test_it_shows_a_form_error_for_a_bad_grade_or_tag(world):
    code = window_code_issue(window=world.a.window)
    r = Client().post(f"/q/w/{code.slug}/", {"grade": "great", "comment": "很好", "idempotency_key": "abc"})
    page = r.content.decode()
    assert r.status_code == 422 and 'role="alert"' in page and "满意度" in page
    assert "很好" in page and 'value="abc"' in page  # the form keeps its input and its key
    r = Client().post(f"/q/w/{code.slug}/", {"grade": "very_satisfied", "tags": ["OS11"]})
    assert r.status_code == 422 and "不适用于所选等级" in r.content.decode()
    assert Rating.objects.count() == 0


@override_settings(QR_RATE_LIMITS={"submit_ip": (3, 600), "open_ip": (5, 600)})
def test_it_rate_limits_per_ip_with_a_429_page(world):
    code = window_code_issue(window=world.a.window)
    statuses = [Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert Rating.objects.count() == 3
    opens = [Client().get(f"/q/w/{code.slug}/") for _ in range(6)]
    assert [r.status_code for r in opens] == [200] * 5 + [429]
    assert "请求过于频繁" in opens[-1].content.decode() and int(opens[-1]["Retry-After"]) > 0
    other_ip = Client(REMOTE_ADDR="10.0.0.9").get(f"/q/w/{code.slug}/")
    assert other_ip.status_code == 200


@override_settings(QR_RATE_LIMITS={"submit_code": (2, 3600)})
def test_it_rate_limits_per_code(world):
    code = window_code_issue(window=world.a.window)
    statuses = [
        Client(REMOTE_ADDR=f"10.0.0.{i}").post(f"/q/w/{code.slug}/", {"grade": "satisfied"}).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_it_records_an_offer_when_the_page_is_opened(world):
    code = window_code_issue(window=world.a.window)
    Client().get(f"/q/w/{code.slug}/")
    Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied"})
    offer = RatingOffer.objects.get()
    assert (offer.kind, offer.channel, offer.window, offer.unit) == ("qr_scan", "qr", world.a.window, world.a.dept)
    assert offer.region == world.a.region and offer.source == f"qr:{code.id}"


def test_it_records_a_link_offer_when_a_case_token_page_is_opened(world):
    reg = service_case_register(
        scope=ALL_SCOPE, case_no="BJ-Q1", item_code=world.a.item.implementation_code, staff_code=world.a.clerk.code
    )
    Client().get(f"/r/{reg.token}/")
    offer = RatingOffer.objects.get()
    assert (offer.kind, offer.channel, offer.service_case.case_no) == ("link", "qr", "BJ-Q1")


def test_it_serves_the_sign_pdf_to_a_scoped_user_only(world):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/sign.pdf"
    for username in ("a_admin", "a_dept_admin", "city_admin", "root"):
        r = login(world, username).get(url)
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
    assert login(world, "b_admin").get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    window_code_issue(window=world.a.window)
    assert login(world, "a_admin").get(url).status_code == 404  # reset: the old sign is gone


def test_it_draws_signs_with_the_builtin_cid_font_when_no_cjk_font_is_installed(world, monkeypatch):
    code = WindowCode.objects.select_related("window__hall", "window__unit").get(
        pk=window_code_issue(window=world.a.window).pk
    )
    monkeypatch.setattr(signs, "_fc_match", lambda family: None)
    signs.sign_font.cache_clear()
    try:
        pdf = signs.render_signs([code])
        assert signs.sign_font() == "STSong-Light"
    finally:
        signs.sign_font.cache_clear()
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf


def test_it_resets_codes_and_downloads_signs_from_the_admin(world):
    a = window_code_issue(window=world.a.window)
    b = window_code_issue(window=world.b.window)
    root = login(world, "root")
    r = root.post("/admin/qrcodes/windowcode/", {"action": "download_signs", "_selected_action": [a.pk, b.pk]})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", r.content)) == 2  # one page per window

    r = root.post("/admin/qrcodes/windowcode/", {"action": "reset_codes", "_selected_action": [a.pk]})
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.revoked_at is not None
    assert WindowCode.objects.filter(window=world.a.window, revoked_at=None).count() == 1

    r = root.post("/admin/qrcodes/windowcode/add/", {"window": world.b.window.pk})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.revoked_at is not None and WindowCode.objects.filter(revoked_at=None).count() == 2


def test_it_limits_the_admin_list_to_the_users_scope(world):
    window_code_issue(window=world.a.window)
    window_code_issue(window=world.b.window)
    user = world.users["a_admin"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="qrcodes"))
    page = login(world, "a_admin").get("/admin/qrcodes/windowcode/").content.decode()
    assert world.a.hall.name in page and world.b.hall.name not in page


def test_it_seeds_one_code_per_window_for_the_demo(world):
    window_code_issue(window=world.a.window)
    assert seed_demo() == 1
    assert seed_demo() == 0
    assert WindowCode.objects.filter(revoked_at=None).count() == 2


def test_it_serves_the_qr_code_as_svg(world):
    code = window_code_issue(window=world.a.window)
    r = Client().get(f"/q/w/{code.slug}/qr.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml" and b"<svg" in r.content
    window_code_issue(window=world.a.window)
    assert Client().get(f"/q/w/{code.slug}/qr.svg").status_code == 410


def test_it_tells_a_business_system_its_windows_code(world):
    code = window_code_issue(window=world.a.window)
    window_code_issue(window=world.b.window)
    url = f"/api/v1/qr/windows/{world.a.hall.code}/01"
    r = api_client(world.key_a).get(url)
    assert r.status_code == 200
    body = r.json()
    assert body["slug"] == code.slug and body["url"].endswith(f"/q/w/{code.slug}/")
    assert body["qr_svg_url"].endswith("/qr.svg")
    assert api_client(world.key_b).get(url).status_code == 404
    assert api_client(world.key_city).get(url).status_code == 200
    assert Client().get(url).status_code == 401


def test_it_issues_codes_and_prints_signs_from_the_command(world, tmp_path):
    out = io.StringIO()
    pdf = tmp_path / "signs.pdf"
    call_command("window_qrcodes", "--hall", world.a.hall.code, "--pdf", str(pdf), "--list", stdout=out)
    assert "新生成 1 个" in out.getvalue() and "/q/w/" in out.getvalue()
    assert pdf.read_bytes().startswith(b"%PDF")
    first = WindowCode.objects.get()
    call_command("window_qrcodes", stdout=out)
    assert WindowCode.objects.filter(revoked_at=None).count() == 2
    call_command("window_qrcodes", "--hall", world.a.hall.code, "--reset", stdout=out)
    first.refresh_from_db()
    assert first.revoked_at is not None
    with pytest.raises(CommandError, match="H999"):
        call_command("window_qrcodes", "--hall", "H999", stdout=out)
