"""SMS verification codes (短信验证码) and the real-name rating on the window QR page that needs one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from haochaping.lib import protect
from haochaping.lib.ratelimit import RateLimited
from haochaping.messaging import verification
from haochaping.messaging.models import PhoneVerification, SmsMessage
from haochaping.messaging.verification import verification_check, verification_send
from haochaping.qrcodes.services import window_code_issue
from haochaping.ratings.models import Rating

PHONE = "13800001111"


@pytest.fixture(autouse=True)
def _console_backend(settings):
    settings.HAOCHAPING_SMS_BACKEND = "console"
    cache.clear()  # rate-limit counters
    yield
    cache.clear()


def sent_code(capsys, phone: str = PHONE) -> str:
    """The code of the last SMS the console backend printed to this phone."""
    lines = [line for line in capsys.readouterr().out.splitlines() if f"→ {phone}:" in line]
    return re.search(r"验证码为(\d{6})", lines[-1]).group(1)


def page_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode()).group(1)


def test_it_sends_a_code_and_stores_only_its_hash(db, capsys):
    verification_send(PHONE)
    code = sent_code(capsys)
    assert len(code) == 6
    row = PhoneVerification.objects.get()
    assert code not in row.code_hash and row.phone_hash == protect.lookup_hash(PHONE)
    assert timedelta(minutes=4) < row.expires_at - timezone.now() <= timedelta(minutes=5)
    sms = SmsMessage.objects.get()
    assert sms.kind == "verification" and sms.status == "sent"
    assert code not in sms.text and sms.text == "【政务服务好差评】您的验证码为******，5分钟内有效。"
    assert PHONE not in sms.phone_enc


def test_it_accepts_the_code_once(db, capsys):
    verification_send(PHONE)
    code = sent_code(capsys)
    assert verification_check("+86 138 0000 1111", code)  # the number as a gateway or a person writes it
    assert not verification_check(PHONE, code)  # single use


def test_it_counts_wrong_codes_and_stops_after_five(db, capsys):
    verification_send(PHONE)
    code = sent_code(capsys)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert not verification_check(PHONE, wrong)
    assert PhoneVerification.objects.get().attempts == 5
    assert not verification_check(PHONE, code)  # locked: the right code no longer helps


def test_it_refuses_an_expired_code_or_another_phone(db, capsys):
    verification_send(PHONE)
    code = sent_code(capsys)
    assert not verification_check("13900002222", code)
    PhoneVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not verification_check(PHONE, code)


def test_it_keeps_only_the_latest_code(db, capsys, settings):
    settings.HAOCHAPING_SMS_VERIFY_LIMITS = {"phone_interval": 0}
    verification_send(PHONE)
    first = sent_code(capsys)
    verification_send(PHONE)
    second = sent_code(capsys)
    if first != second:
        assert not verification_check(PHONE, first)
    assert verification_check(PHONE, second)


def test_it_rate_limits_per_phone_and_per_ip(db, settings):
    verification_send(PHONE)
    with pytest.raises(RateLimited) as exc:
        verification_send(PHONE)  # 1 per minute per phone
    assert exc.value.status == 429 and exc.value.retry_after > 0
    settings.HAOCHAPING_SMS_VERIFY_LIMITS = {"phone_interval": 0, "ip_hour": (2, 3600)}
    cache.clear()
    for i in range(2):
        verification_send(f"1390000000{i}", ip="10.0.0.1")
    with pytest.raises(RateLimited):
        verification_send("13900000009", ip="10.0.0.1")
    verification_send("13900000009", ip="10.0.0.2")


def test_it_caps_codes_per_phone_per_hour(db, settings):
    settings.HAOCHAPING_SMS_VERIFY_LIMITS = {"phone_interval": 0}
    for _ in range(5):
        verification_send(PHONE)
    with pytest.raises(RateLimited):
        verification_send(PHONE)
    assert SmsMessage.objects.count() == 5


# --- the window QR page -------------------------------------------------------------------------------------


def test_it_rates_real_name_with_the_code_from_the_sms(world, capsys):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/"
    client = Client()
    page = client.get(url).content.decode()
    assert "获取验证码" in page and 'name="sms_code"' in page and f'formaction="{url}code/"' in page
    form = {"grade": "satisfied", "comment": "办事快", "phone": PHONE, "idempotency_key": page_key(client.get(url))}

    sent = client.post(f"{url}code/", form)  # the button without JavaScript: the whole form comes back
    body = sent.content.decode()
    assert sent.status_code == 200 and "验证码已发送至 138****1111" in body
    assert f'value="{PHONE}"' in body and "办事快" in body and f'value="{form["idempotency_key"]}"' in body
    sms_code = sent_code(capsys)

    r = client.post(url, form | {"sms_code": sms_code})
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    rating = Rating.objects.get()
    assert not rating.is_anonymous and rating.rater_phone_masked == "138****1111"
    assert PHONE not in rating.rater_phone_enc
    again = client.post(url, form | {"sms_code": sms_code})  # a browser retry of the same page
    assert again.status_code == 200 and Rating.objects.count() == 1


def test_it_refuses_an_unverified_phone(world, capsys):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/"
    r = Client().post(url, {"grade": "satisfied", "phone": PHONE})
    assert r.status_code == 422 and "短信验证码：" in r.content.decode()
    r = Client().post(url, {"grade": "satisfied", "phone": PHONE, "sms_code": "123456"})
    page = r.content.decode()
    assert r.status_code == 422 and "短信验证码：验证码错误或已过期" in page and f'value="{PHONE}"' in page
    assert Rating.objects.count() == 0
    Client().post(url, {"grade": "satisfied"})  # anonymous still needs nothing
    assert Rating.objects.get().is_anonymous


def test_it_keeps_the_code_usable_after_another_form_error(world, capsys):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/"
    Client().post(f"{url}code/", {"phone": PHONE})
    sms_code = sent_code(capsys)
    bad = Client().post(url, {"grade": "great", "phone": PHONE, "sms_code": sms_code})
    assert bad.status_code == 422 and "满意度" in bad.content.decode()
    good = Client().post(url, {"grade": "basic", "phone": PHONE, "sms_code": sms_code})
    assert good.status_code == 200 and not Rating.objects.get().is_anonymous


def test_it_answers_the_script_with_json_and_a_429(world):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/code/"
    r = Client().post(url, {"phone": PHONE}, HTTP_ACCEPT="application/json")
    assert r.status_code == 200 and r.json()["message"] == "验证码已发送至 138****1111，5分钟内有效"
    r = Client().post(url, {"phone": PHONE}, HTTP_ACCEPT="application/json")
    assert r.status_code == 429 and "请求过于频繁" in r.json()["message"] and int(r["Retry-After"]) > 0
    r = Client().post(url, {"phone": "12345"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "phone"
    page = Client().post(url, {"phone": PHONE})  # without JavaScript: the form again, with the reason
    assert page.status_code == 429 and "请求过于频繁" in page.content.decode()
    assert Client().get(url).status_code == 405
    assert Client().post("/q/w/nope/code/", {"phone": PHONE}).status_code == 404


@override_settings(HAOCHAPING_SMS_VERIFY_LIMITS={"ip_hour": (1, 3600)})
def test_it_rate_limits_the_button_per_ip(world):
    code = window_code_issue(window=world.a.window)
    url = f"/q/w/{code.slug}/code/"
    assert Client().post(url, {"phone": PHONE}).status_code == 200
    assert Client().post(url, {"phone": "13900002222"}).status_code == 429
    assert Client(REMOTE_ADDR="10.0.0.7").post(url, {"phone": "13900002222"}).status_code == 200


def test_it_makes_codes_with_six_digits():
    codes = {verification.new_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", c) for c in codes) and len(codes) > 150
