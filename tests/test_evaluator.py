"""The counter evaluator (评价器, 一次一评): pairing, pushes, the device's poll and ratings, the clerk page."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from haochaping.accounts.roles import assign_role_group, sync_role_groups
from haochaping.accounts.scope import ALL_SCOPE
from haochaping.evaluator import services
from haochaping.evaluator.api import COOKIE, RATING_LIMIT
from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt, PairingCode
from haochaping.ratings.models import Rating, RatingOffer
from haochaping.ratings.services import service_case_register
from tests.conftest import api_client, post_json


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # rate-limit counters are keyed by device id and IP, which repeat between tests


def pair(world, window=None) -> tuple[Client, EvaluatorDevice]:
    _, code = services.pairing_code_create(window=window or world.a.window)
    client = Client()
    r = client.post("/evaluator/pair/", {"code": code, "name": "一号窗评价器"})
    assert r.status_code == 302 and r["Location"] == "/evaluator/"
    return client, EvaluatorDevice.objects.latest("id")


def register(world, case_no="BJ-E1", county=None):
    county = county or world.a
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=county.item.implementation_code,
        hall_code=county.hall.code,
        window_code="01",
        staff_code=county.clerk.code,
    )


def push(world, key=None, **body):
    data = {"hall": world.a.hall.code, "window": "01", **body}
    return post_json(api_client(key or world.key_a), "/api/v1/evaluator/push", data)


def device_rate(client: Client, **body):
    data = {"idempotency_key": str(uuid.uuid4()), "grade": "satisfied", **body}
    return client.post("/api/v1/evaluator/device/ratings", data, content_type="application/json", HTTP_X_EVALUATOR="1")


def test_it_pairs_a_device_with_a_one_time_code(world):
    row, code = services.pairing_code_create(window=world.a.window)
    assert len(code) == 6 and code.isdigit() and code not in row.code_hash
    client = Client()
    r = client.post("/evaluator/pair/", {"code": code})
    assert r.status_code == 302
    cookie = r.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie.value.startswith("hce_")
    device = EvaluatorDevice.objects.get()
    assert device.window == world.a.window and cookie.value not in device.credential_hash
    page = client.get("/evaluator/")
    assert page.status_code == 200
    assert "市场准入" in page.content.decode() and "请对本窗口服务进行评价" in page.content.decode()

    again = Client().post("/evaluator/pair/", {"code": code})
    assert again.status_code == 410 and "已使用" in again.content.decode()
    assert EvaluatorDevice.objects.count() == 1


def test_it_refuses_an_expired_or_wrong_code(world):
    row, code = services.pairing_code_create(window=world.a.window)
    PairingCode.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = Client().post("/evaluator/pair/", {"code": code})
    assert r.status_code == 410 and "已过期" in r.content.decode()
    wrong = "000000" if code != "000000" else "111111"
    assert Client().post("/evaluator/pair/", {"code": wrong}).status_code == 404
    assert Client().post("/evaluator/pair/", {"code": "12"}).status_code == 422
    assert not EvaluatorDevice.objects.exists()


def test_it_rate_limits_pairing_attempts_per_address(world):
    client = Client()
    statuses = [client.post("/evaluator/pair/", {"code": "999999"}).status_code for _ in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429


def test_it_sends_an_unpaired_tablet_to_pairing(world):
    assert Client().get("/evaluator/")["Location"] == "/evaluator/pair/"
    r = Client().get("/api/v1/evaluator/device/prompt")
    assert r.status_code == 401


def test_it_locks_out_a_revoked_device(world):
    client, device = pair(world)
    assert client.get("/api/v1/evaluator/device/prompt").status_code == 200
    services.device_revoke(device=device)
    assert client.get("/api/v1/evaluator/device/prompt").status_code == 401
    assert device_rate(client).status_code == 401
    assert client.get("/evaluator/")["Location"] == "/evaluator/pair/"


def test_it_requires_the_evaluator_header_on_posts(world):
    client, _ = pair(world)
    r = client.post(
        "/api/v1/evaluator/device/ratings",
        {"idempotency_key": str(uuid.uuid4()), "grade": "basic"},
        content_type="application/json",
    )
    assert r.status_code == 401


def test_it_delivers_a_pushed_case_to_the_device_and_records_the_offer(world):
    register(world)
    client, device = pair(world)
    first = client.get("/api/v1/evaluator/device/prompt")
    assert first.json() == {"prompt": None} and first["ETag"] == '"p0"'
    assert client.get("/api/v1/evaluator/device/prompt", HTTP_IF_NONE_MATCH='"p0"').status_code == 304

    r = push(world, case_no="BJ-E1")
    assert r.status_code == 201, r.content
    assert r.json()["devices"] == 1
    got = client.get("/api/v1/evaluator/device/prompt", HTTP_IF_NONE_MATCH='"p0"')
    assert got.status_code == 200
    prompt = got.json()["prompt"]
    assert prompt["case_no"] == "BJ-E1" and prompt["staff_name"] == "王小明"
    assert prompt["item"] == world.a.item.name
    assert client.get("/api/v1/evaluator/device/prompt", HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304
    client.get("/api/v1/evaluator/device/prompt")  # shown twice, offered once
    offer = RatingOffer.objects.get()
    assert (offer.kind, offer.channel, offer.service_case.case_no) == ("evaluator", "hall_tablet", "BJ-E1")
    assert EvaluatorPrompt.objects.get().shown_at is not None


def test_it_refuses_a_push_to_another_countys_window(world):
    register(world, "BJ-B", county=world.b)
    r = push(world, key=world.key_b, case_no="BJ-B")  # county b's key, county a's window
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "window"
    register(world)
    r = post_json(
        api_client(world.key_b),
        "/api/v1/evaluator/push",
        {"hall": world.b.hall.code, "window": "01", "case_no": "BJ-E1"},
    )
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "case_no"  # county a's case
    assert not EvaluatorPrompt.objects.exists()
    assert push(world, key=world.key_city).status_code == 201  # the city's platform covers both counties


def test_it_stores_a_device_rating_of_the_pushed_case(world):
    register(world)
    client, device = pair(world)
    prompt_id = push(world, case_no="BJ-E1").json()["prompt_id"]
    r = device_rate(client, prompt_id=prompt_id, grade="very_dissatisfied", tags=["OS11"], comment="排队太久")
    assert r.status_code == 201, r.content
    rating = Rating.objects.get()
    assert (rating.channel, rating.grade, rating.tags, rating.comment) == ("hall_tablet", 1, ["OS11"], "排队太久")
    assert rating.service_case.case_no == "BJ-E1"
    assert (rating.window, rating.staff, rating.client) == (world.a.window, world.a.clerk, f"device:{device.pk}")
    assert EvaluatorPrompt.objects.get().rated_at is not None
    assert client.get("/api/v1/evaluator/device/prompt").json() == {"prompt": None}


def test_it_stores_a_resent_rating_once(world):
    register(world)
    client, _ = pair(world)
    prompt_id = push(world, case_no="BJ-E1").json()["prompt_id"]
    key = str(uuid.uuid4())
    first = device_rate(client, prompt_id=prompt_id, idempotency_key=key)
    again = device_rate(client, prompt_id=prompt_id, idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["rating_id"] == again.json()["rating_id"] and again.json()["created"] is False
    assert Rating.objects.count() == 1


def test_it_takes_a_walk_in_rating_of_the_window_and_its_staff(world):
    client, device = pair(world)
    earlier = timezone.now() - timedelta(minutes=5)
    r = device_rate(client, grade="basic", rated_at=earlier.isoformat())
    assert r.status_code == 201, r.content
    rating = Rating.objects.get()
    assert rating.service_case is None and rating.target == "window"
    assert (rating.window, rating.staff, rating.channel) == (world.a.window, world.a.clerk, "hall_tablet")
    assert abs((rating.rated_at - earlier).total_seconds()) < 1
    assert RatingOffer.objects.get().window == world.a.window


def test_it_refuses_a_prompt_of_another_window(world):
    register(world, "BJ-B", county=world.b)
    other = services.prompt_push(window=world.b.window, case_no="BJ-B", scope=ALL_SCOPE, source="test")
    client, _ = pair(world)
    r = device_rate(client, prompt_id=other.pk)
    assert r.status_code == 404 and not Rating.objects.exists()
    assert device_rate(client, idempotency_key="not-a-uuid").status_code == 422


def test_it_rate_limits_device_ratings(world):
    client, _ = pair(world)
    # The limit counts per fixed minute: start well inside one, so the 32 requests cannot straddle two.
    if time.time() % 60 > 40:
        time.sleep(60.5 - time.time() % 60)
    statuses = [device_rate(client).status_code for _ in range(RATING_LIMIT + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {201}
    r = device_rate(client)
    assert r.status_code == 429 and int(r["Retry-After"]) > 0 and "频繁" in r.json()["message"]


def test_it_lets_the_clerk_push_but_never_rate_or_see_the_grade(world):
    register(world)
    device_client, _ = pair(world)
    clerk = Client()
    clerk.force_login(world.users["a_clerk"])
    page = clerk.get("/evaluator/clerk/")
    assert page.status_code == 200 and "请评价" in page.content.decode()
    r = clerk.post("/evaluator/clerk/", {"case_no": "BJ-E1"})
    assert r.status_code == 201 and "已推送办件 BJ-E1" in r.content.decode()
    prompt = EvaluatorPrompt.objects.get()
    assert (prompt.window, prompt.staff, prompt.source) == (
        world.a.window,
        world.a.clerk,
        f"clerk:{world.users['a_clerk'].pk}",
    )

    # The clerk's session is not a device credential: the rating endpoint refuses it.
    assert device_rate(clerk, prompt_id=prompt.pk).status_code == 401
    device_rate(device_client, prompt_id=prompt.pk, grade="very_dissatisfied")
    after = clerk.get("/evaluator/clerk/").content.decode()
    assert "已评价" in after and "非常不满意" not in after and "very_dissatisfied" not in after


def test_it_refuses_the_clerk_page_to_users_without_a_window(world):
    assert Client().get("/evaluator/clerk/").status_code == 302  # login first
    other = Client()
    other.force_login(world.users["a_handler"])
    assert other.get("/evaluator/clerk/").status_code == 403
    clerk = Client()
    clerk.force_login(world.users["a_clerk"])
    register(world, "BJ-B", county=world.b)
    r = clerk.post("/evaluator/clerk/", {"case_no": "BJ-B"})  # another county's case
    assert r.status_code == 422 and not EvaluatorPrompt.objects.exists()


def test_it_lets_a_new_push_supersede_an_open_one(world):
    register(world)
    register(world, "BJ-E2")
    client, _ = pair(world)
    push(world, case_no="BJ-E1")
    push(world, case_no="BJ-E2")
    assert client.get("/api/v1/evaluator/device/prompt").json()["prompt"]["case_no"] == "BJ-E2"
    assert EvaluatorPrompt.objects.filter(expired_at__isnull=False).count() == 1


def test_it_drops_a_stale_prompt(world):
    client, _ = pair(world)
    push(world)
    EvaluatorPrompt.objects.update(created_at=timezone.now() - services.PROMPT_TTL - timedelta(seconds=1))
    assert client.get("/api/v1/evaluator/device/prompt").json() == {"prompt": None}


def test_it_serves_the_service_worker_for_the_kiosk_scope(world):
    r = Client().get("/evaluator/sw.js")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/javascript")
    assert r["Service-Worker-Allowed"] == "/evaluator/"


def test_it_creates_a_pairing_code_in_the_admin_shown_once(world):
    groups = sync_role_groups()
    assign_role_group(world.users["a_admin"], groups)
    assign_role_group(world.users["b_admin"], groups)
    admin = Client()
    admin.force_login(world.users["a_admin"])
    r = admin.post("/admin/evaluator/pairingcode/add/", {"window": world.a.window.pk}, follow=True)
    assert r.status_code == 200
    text = r.content.decode()
    assert "配对码：" in text
    code = text.split("配对码：", 1)[1][:6]
    assert Client().post("/evaluator/pair/", {"code": code}).status_code == 302

    other = Client()
    other.force_login(world.users["b_admin"])
    assert (
        other.post("/admin/evaluator/pairingcode/add/", {"window": world.a.window.pk}).status_code == 200
    )  # form error
    assert PairingCode.objects.count() == 1


def test_it_seeds_a_demo_pairing_code(world):
    from haochaping.evaluator.demo import seed_demo

    lines = []
    code = seed_demo(lines.append)
    assert code and code in lines[0]
    assert Client().post("/evaluator/pair/", {"code": code}).status_code == 302


def test_it_revokes_devices_from_the_admin(world):
    _, device = pair(world)
    admin = Client()
    admin.force_login(world.users["root"])
    r = admin.post(
        "/admin/evaluator/evaluatordevice/", {"action": "revoke", "_selected_action": [device.pk]}, follow=True
    )
    assert r.status_code == 200
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_it_answers_an_unchanged_poll_with_two_queries(world, django_assert_num_queries):
    client, _ = pair(world)
    push(world)
    etag = client.get("/api/v1/evaluator/device/prompt")["ETag"]
    with django_assert_num_queries(2):  # the device by its credential, the window's newest open prompt
        assert client.get("/api/v1/evaluator/device/prompt", HTTP_IF_NONE_MATCH=etag).status_code == 304
