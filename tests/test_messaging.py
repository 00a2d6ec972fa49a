"""SMS: gateway backends, invitations (智能邀评) and inbound replies that rate."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib import protect
from haochaping.messaging import gateway
from haochaping.messaging.demo import seed_demo
from haochaping.messaging.models import SmsMessage
from haochaping.messaging.services import invitations_send, parse_reply
from haochaping.ratings.codes import CaseStatus, Grade
from haochaping.ratings.models import EvaluationToken, Rating, RatingOffer
from haochaping.ratings.services import service_case_register

SECRET = "s3cret-sms"
PHONE = "13800001111"


@pytest.fixture(autouse=True)
def _sms_settings(settings, tmp_path):
    settings.HAOCHAPING_SMS_BACKEND = "file"
    settings.DATA_DIR = tmp_path
    settings.HAOCHAPING_SMS_INBOUND_SECRET = SECRET
    cache.clear()


def outbox(tmp_path) -> list[dict]:
    path = tmp_path / "sms-outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def completed(world, case_no: str, *, phone: str = PHONE, days_ago: float = 2, county=None):
    county = county or world.a
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=county.item.implementation_code,
        status=CaseStatus.COMPLETED,
        applicant_phone=phone,
        completed_at=timezone.now() - timedelta(days=days_ago),
    ).case


def inbound(data: dict, secret: str = SECRET):
    return Client().post("/api/v1/sms/inbound", data, content_type="application/json", HTTP_X_SMS_SECRET=secret)


# --- gateway backends ---------------------------------------------------------------------------------------


def test_it_appends_json_lines_with_the_file_backend(db, tmp_path):
    message = gateway.sms_send(phone=PHONE, text="测试短信", kind=SmsMessage.Kind.REPLY)
    assert outbox(tmp_path) == [
        {"id": message.gateway_id, "phone": PHONE, "text": "测试短信", "at": outbox(tmp_path)[0]["at"]}
    ]
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT and message.sent_at is not None
    assert message.phone_masked == "138****1111" and PHONE not in message.phone_enc


def test_it_prints_and_stores_with_the_console_backend(db, settings, capsys):
    settings.HAOCHAPING_SMS_BACKEND = "console"
    message = gateway.sms_send(phone=PHONE, text="控制台短信", kind=SmsMessage.Kind.REPLY)
    assert "控制台短信" in capsys.readouterr().out
    assert SmsMessage.objects.get(pk=message.pk).gateway_id.startswith("console-")


def test_it_posts_the_template_with_the_http_backend(db, settings, monkeypatch):
    settings.HAOCHAPING_SMS_BACKEND = "http"
    settings.HAOCHAPING_SMS_URL = "https://sms.example.invalid/send"
    settings.HAOCHAPING_SMS_TEMPLATE = '{"to": "{phone}", "content": "{text}", "sign": "好差评"}'
    settings.HAOCHAPING_SMS_AUTH_HEADER = "Authorization: Bearer gw-key"
    settings.HAOCHAPING_SMS_TIMEOUT = 3
    calls = []

    def fake_post(url, body, headers, timeout):
        calls.append((url, json.loads(body), headers, timeout))
        return 200, b'{"message_id": "gw-42"}'

    monkeypatch.setattr(gateway, "_post", fake_post)
    message = gateway.sms_send(phone=PHONE, text='含"引号"的短信', kind=SmsMessage.Kind.REPLY)
    url, body, headers, timeout = calls[0]
    assert url == "https://sms.example.invalid/send" and timeout == 3
    assert body == {"to": PHONE, "content": '含"引号"的短信', "sign": "好差评"}
    assert headers["Authorization"] == "Bearer gw-key"
    assert message.gateway_id == "gw-42" and message.status == SmsMessage.Status.SENT


def test_it_marks_the_message_failed_when_the_gateway_refuses(db, settings, monkeypatch):
    settings.HAOCHAPING_SMS_BACKEND = "http"
    settings.HAOCHAPING_SMS_URL = "https://sms.example.invalid/send"
    monkeypatch.setattr(gateway, "_post", lambda *a: (503, b"busy"))
    message = gateway.sms_send(phone=PHONE, text="x", kind=SmsMessage.Kind.REPLY)
    assert message.status == SmsMessage.Status.FAILED and "503" in message.error


# --- invitations ----------------------------------------------------------------------------------------------


def test_it_invites_only_eligible_cases_once(world, tmp_path):
    due = completed(world, "SMS-DUE")
    completed(world, "SMS-FRESH", phone="13800002222", days_ago=0.1)  # completed too recently
    completed(world, "SMS-NOPHONE", phone="")
    rated = completed(world, "SMS-RATED", phone="13800003333")
    Client().post(
        "/api/v1/ratings",
        {"case_no": rated.case_no, "stage": "complete", "grade": "satisfied", "channel": "pc"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.key_a}",
    )
    service_case_register(  # accepted, not completed
        scope=ALL_SCOPE, case_no="SMS-OPEN", item_code=world.a.item.implementation_code, applicant_phone="13800004444"
    )
    report = invitations_send()
    assert report.sent == ["SMS-DUE"]
    [sms] = outbox(tmp_path)
    assert sms["phone"] == PHONE
    assert sms["text"].startswith("【政务服务好差评】您办理的食品经营许可（新办）已办结，请对本次服务评价：http")
    assert sms["text"].endswith("回复1-5直接评价（5非常满意…1非常不满意）")
    invitation = SmsMessage.objects.get(kind=SmsMessage.Kind.INVITATION)
    assert invitation.service_case == due and invitation.stage == "complete" and invitation.token.sequence == 1
    token = sms["text"].split("/r/")[1].split("/")[0]
    assert token not in invitation.text  # the stored copy cannot be used to rate
    offer = RatingOffer.objects.get()
    assert (offer.kind, offer.channel, offer.service_case, offer.stage) == ("sms", "sms", due, "complete")
    assert invitations_send().sent == []  # a second run sends nothing new
    assert len(outbox(tmp_path)) == 1


def test_it_caps_invitations_per_phone_per_day(world, settings, tmp_path):
    settings.HAOCHAPING_INVITE_PER_PHONE_PER_DAY = 2
    for n in range(3):
        completed(world, f"SMS-CAP-{n}")
    report = invitations_send()
    assert report.sent == ["SMS-CAP-0", "SMS-CAP-1"] and report.capped == ["SMS-CAP-2"]
    assert len(outbox(tmp_path)) == 2


def test_it_retries_a_failed_invitation_with_a_fresh_link(world, settings, monkeypatch):
    settings.HAOCHAPING_SMS_BACKEND = "http"
    settings.HAOCHAPING_SMS_URL = "https://sms.example.invalid/send"
    answers = iter([(503, b"busy"), (200, b'{"message_id": "gw-7"}')])
    bodies = []

    def fake_post(url, body, headers, timeout):
        bodies.append(json.loads(body)["text"])
        return next(answers)

    monkeypatch.setattr(gateway, "_post", fake_post)
    completed(world, "SMS-RETRY")
    assert invitations_send().failed == ["SMS-RETRY"]
    first_token = SmsMessage.objects.get(kind="invitation").token
    assert invitations_send().sent == ["SMS-RETRY"]
    invitation = SmsMessage.objects.get(kind="invitation")
    assert (invitation.status, invitation.attempts, invitation.gateway_id) == ("sent", 2, "gw-7")
    assert invitation.token != first_token and bodies[0] != bodies[1]
    first_token.refresh_from_db()
    assert first_token.expires_at <= timezone.now()  # the link of the failed message no longer works
    assert RatingOffer.objects.count() == 1


def test_it_lists_without_sending_on_dry_run(world, tmp_path, capsys):
    completed(world, "SMS-DRY")
    tokens = EvaluationToken.objects.count()
    call_command("send_invitations", "--dry-run", "--days", "1")
    assert "将发送 1 条：SMS-DRY" in capsys.readouterr().out
    assert outbox(tmp_path) == [] and not SmsMessage.objects.exists() and not RatingOffer.objects.exists()
    assert EvaluationToken.objects.count() == tokens
    call_command("send_invitations", "--limit", "5")
    assert "已发送 1 条" in capsys.readouterr().out
    assert len(outbox(tmp_path)) == 1


def test_it_seeds_demo_invitations_with_the_console_backend(world, capsys):
    completed(world, "SMS-DEMO")
    assert seed_demo() == ["SMS-DEMO"]
    assert "SMS-DEMO" not in capsys.readouterr().out  # the text names the 事项, not the 办件编号
    assert SmsMessage.objects.get(kind="invitation").gateway_id.startswith("console-")


# --- inbound replies ------------------------------------------------------------------------------------------


def invited(world, case_no: str = "SMS-IN", phone: str = PHONE):
    case = completed(world, case_no, phone=phone)
    invitations_send()
    return case


def test_it_rates_very_dissatisfied_on_reply_1_with_the_default_mapping(world, tmp_path):
    case = invited(world)
    response = inbound({"phone": "+86 138 0000 1111", "text": "1", "received_at": "2026-11-26T10:00:00+08:00"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rated" and body["case_no"] == case.case_no and body["grade"] == "very_dissatisfied"
    rating = Rating.objects.get(public_id=body["rating_id"])
    assert (rating.service_case, rating.stage, rating.sequence) == (case, "complete", 1)
    assert (rating.grade, rating.channel, rating.client) == (Grade.VERY_DISSATISFIED, "sms", "sms")
    assert rating.rater_phone_masked == "138****1111"
    assert SmsMessage.objects.get(kind="invitation").token.used_at is not None
    assert outbox(tmp_path)[-1]["text"] == "【政务服务好差评】感谢您的评价！"
    stored = SmsMessage.objects.get(kind="inbound")
    assert stored.rating == rating and stored.status == "rated" and stored.service_case == case


def test_it_keeps_the_text_after_the_digit_as_comment(world):
    invited(world)
    body = inbound({"phone": PHONE, "text": "５，窗口服务很耐心"}).json()
    rating = Rating.objects.get(public_id=body["rating_id"])
    assert rating.grade == Grade.VERY_SATISFIED and rating.comment == "窗口服务很耐心"


def test_it_follows_the_deployment_mapping(world, settings):
    settings.HAOCHAPING_SMS_REPLY_MAPPING = "1=very_satisfied,2=satisfied,3=basic,4=dissatisfied,5=very_dissatisfied"
    assert parse_reply("1") == ("very_satisfied", "")
    assert parse_reply("12") is None and parse_reply("好") is None
    invited(world)
    assert inbound({"phone": PHONE, "text": "1"}).json()["grade"] == "very_satisfied"


def test_it_refuses_a_bad_secret(world):
    invited(world)
    assert inbound({"phone": PHONE, "text": "1"}, secret="wrong").status_code == 401
    assert (
        Client().post("/api/v1/sms/inbound", {"phone": PHONE, "text": "1"}, content_type="application/json").status_code
        == 401
    )
    assert not Rating.objects.exists() and not SmsMessage.objects.filter(kind="inbound").exists()


def test_it_rate_limits_failed_secrets_per_address(world):
    for _ in range(20):
        assert inbound({"phone": PHONE, "text": "1"}, secret="guess").status_code == 401
    assert inbound({"phone": PHONE, "text": "1"}, secret="guess").status_code == 429


def test_it_refuses_when_no_secret_is_configured(world, settings):
    settings.HAOCHAPING_SMS_INBOUND_SECRET = ""
    assert inbound({"phone": PHONE, "text": "1"}, secret="").status_code == 401


def test_it_rate_limits_per_phone(world, settings):
    settings.HAOCHAPING_SMS_INBOUND_PER_HOUR = 2
    for n in range(2):
        assert inbound({"phone": PHONE, "text": f"hello {n}"}).status_code == 200
    response = inbound({"phone": PHONE, "text": "hello 3"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert inbound({"phone": "13900009999", "text": "hello"}).status_code == 200  # another phone is not limited


def test_it_answers_an_unparseable_reply_with_help(world, tmp_path):
    invited(world)
    body = inbound({"phone": PHONE, "text": "什么意思"}).json()
    assert body["status"] == "unparsed" and "回复1-5直接评价" in body["reply"]
    assert outbox(tmp_path)[-1]["text"] == body["reply"]
    assert SmsMessage.objects.get(kind="inbound").status == "unparsed"
    assert not Rating.objects.exists()
    assert inbound({"phone": PHONE, "text": "4"}).json()["status"] == "rated"  # the invitation is still open


def test_it_answers_politely_without_an_open_invitation(world, tmp_path):
    body = inbound({"phone": PHONE, "text": "1"}).json()
    assert body["status"] == "unmatched" and "没有待评价的办件" in body["reply"]
    assert SmsMessage.objects.get(kind="inbound").status == "unmatched" and not Rating.objects.exists()


def test_it_processes_a_duplicate_delivery_once(world, tmp_path):
    invited(world)
    data = {"phone": PHONE, "text": "3", "received_at": "2026-11-26T10:00:00+08:00"}
    first, second = inbound(data).json(), inbound(data).json()
    assert first["status"] == "rated" and second["status"] == "duplicate"
    assert second["rating_id"] == first["rating_id"]
    assert Rating.objects.count() == 1 and SmsMessage.objects.filter(kind="inbound").count() == 1
    assert [m["text"] for m in outbox(tmp_path)].count("【政务服务好差评】感谢您的评价！") == 1
    assert inbound({**data, "message_id": "gw-1"}).json()["status"] == "unmatched"  # a new message: no open invitation


def test_it_does_not_rate_twice_when_the_link_was_used(world):
    case = invited(world)
    token = SmsMessage.objects.get(kind="invitation").token
    EvaluationToken.objects.filter(pk=token.pk).update(used_at=timezone.now())  # rated through the link
    assert inbound({"phone": PHONE, "text": "5"}).json()["status"] == "unmatched"
    assert not Rating.objects.filter(service_case=case).exists()


# --- console and admin -----------------------------------------------------------------------------------------


def test_it_answers_an_invitation_from_the_console(world):
    case = invited(world)
    client = Client()
    client.force_login(world.users["a_admin"])
    page = client.get("/sms/console/")
    assert page.status_code == 200 and "138****1111" in page.content.decode() and PHONE not in page.content.decode()
    invitation = SmsMessage.objects.get(kind="invitation")
    response = client.post("/sms/console/", {"invitation": invitation.pk, "text": "1"}, follow=True)
    assert "感谢您的评价" in response.content.decode()
    assert Rating.objects.get(service_case=case).grade == Grade.VERY_DISSATISFIED


def test_it_limits_the_console_to_admins_in_scope(world, settings):
    invited(world)
    invitation = SmsMessage.objects.get(kind="invitation")
    client = Client()
    client.force_login(world.users["b_admin"])
    assert "138****1111" not in client.get("/sms/console/").content.decode()
    assert client.post("/sms/console/", {"invitation": invitation.pk, "text": "1"}).status_code == 404
    client.force_login(world.users["a_handler"])
    assert client.get("/sms/console/").status_code == 404
    settings.HAOCHAPING_SMS_BACKEND = "http"
    client.force_login(world.users["root"])
    assert client.get("/sms/console/").status_code == 404
    assert not Rating.objects.exists()


def test_it_shows_messages_read_only_in_the_admin(world):
    invited(world)
    client = Client()
    client.force_login(world.users["root"])
    page = client.get("/admin/messaging/smsmessage/")
    assert page.status_code == 200 and "138****1111" in page.content.decode()
    invitation = SmsMessage.objects.get(kind="invitation")
    detail = client.get(f"/admin/messaging/smsmessage/{invitation.pk}/change/")
    assert detail.status_code == 200 and PHONE not in detail.content.decode()


def test_it_stores_the_phone_only_encrypted(world):
    invited(world)
    row = SmsMessage.objects.get(kind="invitation")
    assert protect.decrypt(row.phone_enc) == PHONE and row.phone_hash == protect.lookup_hash(PHONE)
