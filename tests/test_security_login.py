"""Login throttling (django-axes) and the TOTP second factor (django-otp) for staff accounts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from haochaping.accounts import twofactor


def code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def login_post(client: Client, username: str, password: str, url: str = "/login/"):
    return client.post(url, {"username": username, "password": password, "next": "/"})


# --- login throttling -------------------------------------------------------------------------------------


def test_client_login_still_works_with_the_throttle_backend(world):
    assert Client().login(username="a_clerk", password="pw-a_clerk")


def test_site_login_locks_a_username_and_address_after_repeated_failures(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        assert login_post(client, "a_handler", "wrong").status_code == 200
    locked = login_post(client, "a_handler", "wrong")
    assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
    assert "15分钟" in locked.content.decode() and locked["Retry-After"] == "900"
    # Even the right password is refused during the cool-off …
    assert login_post(client, "a_handler", "pw-a_handler").status_code == 429
    # … for that username from that address only: another user from the same address still logs in.
    assert login_post(Client(), "a_clerk", "pw-a_clerk").status_code == 302
    other_address = Client(REMOTE_ADDR="10.9.9.9")
    assert login_post(other_address, "a_handler", "pw-a_handler").status_code == 302


def test_a_successful_login_resets_the_failure_count(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    login_post(client, "a_handler", "wrong")
    login_post(client, "a_handler", "wrong")
    assert login_post(client, "a_handler", "pw-a_handler").status_code == 302
    client = Client()
    login_post(client, "a_handler", "wrong")
    assert login_post(client, "a_handler", "wrong").status_code == 200  # counting from zero again


def test_admin_login_is_throttled_too(world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    assert login_post(client, "root", "wrong", url="/admin/login/").status_code == 200
    assert login_post(client, "root", "wrong", url="/admin/login/").status_code == 429
    assert login_post(client, "root", "pw-root", url="/admin/login/").status_code == 429


# --- TOTP second factor -----------------------------------------------------------------------------------


def enrol(client: Client) -> TOTPDevice:
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth://totp/" in html  # QR code drawn here, and the URI as text
    device = TOTPDevice.objects.get(confirmed=False)
    wrong = "000000" if code_of(device) != "000000" else "111111"
    assert client.post("/account/two-factor/", {"code": wrong}).status_code == 400
    # django-otp throttles the device after a wrong code (1 s, doubling); the test does not wait.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    done = client.post("/account/two-factor/", {"code": code_of(device), "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_a_staff_member_enrols_and_then_needs_a_code_at_every_login(world):
    client = Client()
    assert login_post(client, "a_handler", "pw-a_handler").status_code == 302
    device = enrol(client)
    assert client.get("/").status_code == 200  # verified in this session by the confirming code

    fresh = Client()
    assert login_post(fresh, "a_handler", "pw-a_handler").status_code == 302
    blocked = fresh.get("/cases/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/account/two-factor/verify/?next=/cases/")
    assert fresh.get("/api/v1/cases").status_code == 403
    assert fresh.post("/account/two-factor/verify/", {"code": "12345x"}).status_code == 400
    device.refresh_from_db()
    device.last_t = -1  # the enrolment used this period's code; a code is accepted once (replay protection)
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None  # the wrong code's back-off
    device.save()
    ok = fresh.post("/account/two-factor/verify/", {"code": code_of(device), "next": "/cases/"})
    assert ok.status_code == 302 and ok["Location"] == "/cases/"
    assert fresh.get("/cases/").status_code == 200


def test_a_code_cannot_be_used_twice(world):
    user = world.users["a_handler"]
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    code = code_of(device)
    first, second = Client(), Client()
    for c in (first, second):
        login_post(c, "a_handler", "pw-a_handler")
    assert first.post("/account/two-factor/verify/", {"code": code}).status_code == 302
    assert second.post("/account/two-factor/verify/", {"code": code}).status_code == 400


def test_without_enforcement_administrators_need_no_second_factor(world, settings):
    settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS = False
    client = Client()
    login_post(client, "root", "pw-root")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("username", ["root", "a_admin", "city_admin"])
def test_with_enforcement_administrators_must_enrol_first(world, settings, username):
    settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS = True
    client = Client()
    login_post(client, username, "pw-" + username)
    blocked = client.get("/admin/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/account/two-factor/?next=/admin/")
    page = client.get("/account/two-factor/")
    assert "管理员账号必须启用两步验证" in page.content.decode()
    enrol(client)
    assert client.get("/admin/").status_code == 200
    # An administrator cannot switch it off while it is required.
    device = TOTPDevice.objects.get(user=world.users[username])
    refused = client.post("/account/two-factor/", {"action": "disable", "code": code_of(device)})
    assert refused.status_code == 400 and TOTPDevice.objects.filter(pk=device.pk).exists()


def test_with_enforcement_other_staff_are_not_forced(world, settings):
    settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS = True
    client = Client()
    login_post(client, "a_handler", "pw-a_handler")
    assert client.get("/cases/").status_code == 200


def test_enforcement_applies_to_sessions_started_by_force_login(world, settings):
    settings.HAOCHAPING_REQUIRE_2FA_FOR_ADMINS = True
    client = Client()
    client.force_login(world.users["a_admin"])
    assert client.get("/").status_code == 302


def test_the_next_parameter_cannot_leave_the_site(world):
    user = world.users["a_handler"]
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = Client()
    login_post(client, "a_handler", "pw-a_handler")
    r = client.post("/account/two-factor/verify/", {"code": code_of(device), "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/"


def test_a_staff_member_can_switch_it_off_with_a_current_code(world):
    user = world.users["a_handler"]
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = Client()
    login_post(client, "a_handler", "pw-a_handler")
    client.post("/account/two-factor/verify/", {"code": code_of(device)})
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    assert client.post("/account/two-factor/", {"action": "disable", "code": code_of(device)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_code_guessing_is_rate_limited(world):
    TOTPDevice.objects.create(user=world.users["a_handler"], name="app", confirmed=True)
    client = Client()
    login_post(client, "a_handler", "pw-a_handler")
    for _ in range(twofactor.CODE_ATTEMPTS_PER_10_MIN):
        client.post("/account/two-factor/verify/", {"code": "000001"})
    last = client.post("/account/two-factor/verify/", {"code": "000001"})
    assert last.status_code == 400 and re.search("请求过于频繁", last.content.decode())
