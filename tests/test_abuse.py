"""Abuse controls on the public endpoints: honeypot, captcha hook, body caps, per-phone/per-token limits, replays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import services as case_services
from haochaping.cases.models import Case
from haochaping.qrcodes.services import window_code_issue
from haochaping.ratings.models import EvaluationToken, Rating
from haochaping.ratings.services import service_case_register
from tests.cases_helpers import open_bad_review
from tests.test_case_feedback_page import handle_and_explain

COMPLAINT = {
    "unit_id": "",
    "case_no": "",
    "content": "窗口人员推诿，要求跑三次",
    "contact_name": "",
    "contact_phone": "",
}

# Verifier callables for HAOCHAPING_CAPTCHA_VERIFIER (dotted paths to this module).
captcha_answers: list[bool] = []


def refusing_verifier(request) -> bool:
    captcha_answers.append(False)
    return False


def passing_verifier(request) -> bool:
    captcha_answers.append(True)
    return request.POST.get("captcha") == "ok"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    captcha_answers.clear()
    yield
    cache.clear()


@pytest.fixture
def feedback_tokens(monkeypatch) -> list[str]:
    sent: list[str] = []
    real = case_services.feedback_url
    monkeypatch.setattr(case_services, "feedback_url", lambda token: sent.append(token) or real(token))
    return sent


def register(world, case_no: str = "AB-1"):
    return service_case_register(
        scope=ALL_SCOPE, case_no=case_no, item_code=world.a.item.implementation_code, staff_code=world.a.clerk.code
    )


def unit_complaint(world, **fields) -> dict:
    return COMPLAINT | {"unit_id": str(world.a.dept.pk), "contact_phone": "13800138000"} | fields


# --- honeypot -----------------------------------------------------------------------------------------------


def test_the_public_forms_carry_the_honeypot_field(world):
    code = window_code_issue(window=world.a.window)
    for url in ("/cases/complaint/", f"/q/w/{code.slug}/"):
        html = Client().get(url).content.decode()
        assert 'name="website"' in html and 'class="hp"' in html and 'tabindex="-1"' in html


def test_a_filled_honeypot_is_refused_silently_and_logged(world, caplog, feedback_tokens):
    code = window_code_issue(window=world.a.window)
    r = Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "website": "http://spam.example"})
    assert r.status_code == 400 and r.content.decode() == "无法处理该请求。"
    assert not Rating.objects.exists()
    assert "honeypot filled on qr rating" in caplog.text

    r = Client().post("/cases/complaint/", unit_complaint(world, website="x"))
    assert r.status_code == 400 and not Case.objects.exists()

    case = open_bad_review(world)
    handle_and_explain(world, case)
    r = Client().post(f"/cases/feedback/{feedback_tokens[-1]}/", {"feedback_grade": "3", "website": "x"})
    assert r.status_code == 400
    case.refresh_from_db()
    assert case.feedback_grade is None


def test_an_empty_honeypot_lets_people_through(world):
    r = Client().post("/cases/complaint/", unit_complaint(world, website=""))
    assert r.status_code == 302 and Case.objects.count() == 1


# --- captcha hook -------------------------------------------------------------------------------------------


def test_without_a_verifier_no_captcha_is_asked(world, settings):
    settings.HAOCHAPING_CAPTCHA_VERIFIER = None
    assert Client().post("/cases/complaint/", unit_complaint(world)).status_code == 302
    assert captcha_answers == []


def test_a_refusing_verifier_is_a_form_error_on_every_public_form(world, settings, feedback_tokens):
    settings.HAOCHAPING_CAPTCHA_VERIFIER = "tests.test_abuse.refusing_verifier"
    r = Client().post("/cases/complaint/", unit_complaint(world))
    assert r.status_code == 422 and "人机验证未通过" in r.content.decode() and not Case.objects.exists()

    code = window_code_issue(window=world.a.window)
    r = Client().post(f"/q/w/{code.slug}/", {"grade": "satisfied", "idempotency_key": "c1"})
    assert r.status_code == 422 and "人机验证未通过" in r.content.decode()

    reg = register(world)
    r = Client().post(f"/r/{reg.token}/", {"grade": "satisfied", "idempotency_key": "c2"})
    assert r.status_code == 422 and "人机验证未通过" in r.content.decode()
    assert not Rating.objects.exists()

    settings.HAOCHAPING_CAPTCHA_VERIFIER = None
    case = open_bad_review(world)
    handle_and_explain(world, case)
    settings.HAOCHAPING_CAPTCHA_VERIFIER = "tests.test_abuse.refusing_verifier"
    r = Client().post(f"/cases/feedback/{feedback_tokens[-1]}/", {"feedback_grade": "3"})
    assert r.status_code == 422 and "人机验证未通过" in r.content.decode()


def test_a_passing_verifier_lets_the_form_through(world, settings):
    settings.HAOCHAPING_CAPTCHA_VERIFIER = "tests.test_abuse.passing_verifier"
    assert Client().post("/cases/complaint/", unit_complaint(world, captcha="ok")).status_code == 302
    assert captcha_answers == [True]


# --- body size limits ---------------------------------------------------------------------------------------


def test_an_oversized_public_post_is_a_clear_413(world, settings):
    settings.HAOCHAPING_PUBLIC_BODY_MAX = 1000
    r = Client().post("/cases/complaint/", unit_complaint(world, content="长" * 2000))
    assert r.status_code == 413 and "请求内容过大" in r.content.decode() and "1000" in r.content.decode()
    r = Client().post("/api/v1/sms/inbound", {"phone": "1", "text": "x" * 2000}, content_type="application/json")
    assert r.status_code == 413


def test_a_body_over_the_memory_cap_elsewhere_is_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    r = Client().post("/api/v1/ratings", "{" + " " * 1000 + "}", content_type="application/json")
    assert r.status_code == 413


# --- per-phone and per-token limits -------------------------------------------------------------------------


def test_complaints_are_limited_per_phone_across_addresses(world, settings):
    settings.HAOCHAPING_PUBLIC_POSTS_PER_PHONE_PER_HOUR = 2
    for n in range(2):
        assert Client(REMOTE_ADDR=f"10.0.0.{n}").post("/cases/complaint/", unit_complaint(world)).status_code == 302
    r = Client(REMOTE_ADDR="10.0.0.9").post("/cases/complaint/", unit_complaint(world))
    assert r.status_code == 429 and r["Retry-After"]
    other_phone = Client(REMOTE_ADDR="10.0.0.9").post(
        "/cases/complaint/", unit_complaint(world, contact_phone="13900139000")
    )
    assert other_phone.status_code == 302


def test_qr_ratings_are_limited_per_phone(world, settings):
    settings.HAOCHAPING_PUBLIC_POSTS_PER_PHONE_PER_HOUR = 2
    code = window_code_issue(window=world.a.window)
    for n in range(2):
        r = Client(REMOTE_ADDR=f"10.0.1.{n}").post(f"/q/w/{code.slug}/", {"grade": "satisfied", "phone": "13800138000"})
        assert r.status_code == 422  # no SMS code: refused, but counted
    r = Client(REMOTE_ADDR="10.0.1.9").post(f"/q/w/{code.slug}/", {"grade": "satisfied", "phone": "138 0013 8000"})
    assert r.status_code == 429


def test_posts_against_one_token_are_limited_whatever_the_address(world):
    from haochaping.ratings.views import POSTS_PER_TOKEN_PER_10_MIN

    reg = register(world)
    for n in range(POSTS_PER_TOKEN_PER_10_MIN):
        assert Client(REMOTE_ADDR=f"10.0.2.{n}").post(f"/r/{reg.token}/", {"grade": "bogus"}).status_code == 422
    assert Client(REMOTE_ADDR="10.0.2.99").post(f"/r/{reg.token}/", {"grade": "bogus"}).status_code == 429


def test_sms_inbound_is_limited_per_gateway_address(world, settings, monkeypatch):
    from haochaping.messaging import api as sms_api

    settings.HAOCHAPING_SMS_INBOUND_SECRET = "s3cret"
    monkeypatch.setattr(sms_api, "INBOUND_PER_IP_PER_MINUTE", 2)
    statuses = [
        Client()
        .post(
            "/api/v1/sms/inbound",
            {"phone": f"1380013800{n}", "text": "5"},
            content_type="application/json",
            HTTP_X_SMS_SECRET="s3cret",
        )
        .status_code
        for n in range(3)
    ]
    assert statuses[:2] == [200, 200] and statuses[2] == 429


# --- replay protection --------------------------------------------------------------------------------------


def test_a_rating_token_is_single_use(world):
    reg = register(world)
    assert Client().post(f"/r/{reg.token}/", {"grade": "satisfied", "idempotency_key": "first"}).status_code == 200
    replay = Client(REMOTE_ADDR="10.0.3.1").post(f"/r/{reg.token}/", {"grade": "very_dissatisfied"})
    assert replay.status_code == 410 or replay.status_code == 409
    assert Rating.objects.count() == 1 and Rating.objects.get().grade == 4


def test_an_expired_rating_token_is_refused(world):
    reg = register(world)
    EvaluationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = Client().post(f"/r/{reg.token}/", {"grade": "satisfied"})
    assert r.status_code in (404, 409, 410) and not Rating.objects.exists()


def test_tokens_are_stored_only_as_hashes(world):
    reg = register(world)
    stored = EvaluationToken.objects.get()
    assert reg.token not in stored.token_hash and len(stored.token_hash) == 64


def test_a_feedback_token_is_single_use(world, feedback_tokens):
    case = open_bad_review(world)
    handle_and_explain(world, case)
    token = feedback_tokens[-1]
    assert Client().post(f"/cases/feedback/{token}/", {"feedback_grade": "3"}).status_code == 200
    replay = Client(REMOTE_ADDR="10.0.4.1").post(f"/cases/feedback/{token}/", {"feedback_grade": "1"})
    assert replay.status_code == 404
    case.refresh_from_db()
    assert case.feedback_grade == 3 and case.feedback_token_hash is None


def test_a_replayed_qr_submission_stores_one_rating(world):
    code = window_code_issue(window=world.a.window)
    data = {"grade": "satisfied", "idempotency_key": "qr-replay-1"}
    first = Client().post(f"/q/w/{code.slug}/", data)
    replay = Client(REMOTE_ADDR="10.0.5.1").post(f"/q/w/{code.slug}/", data)
    assert first.status_code == replay.status_code == 200
    assert Rating.objects.count() == 1
