"""The applicant's rating page and the token API: single use, expiry, QR codes, follow-up tokens."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.ratings.models import EvaluationToken, Rating
from haochaping.ratings.services import service_case_register, token_reissue
from tests.conftest import api_client, post_json


def register(world, case_no="BJ-1", **extra):
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
        **extra,
    )


def test_it_shows_the_case_and_five_grades(world):
    reg = register(world)
    r = Client().get(f"/r/{reg.token}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert world.a.item.name in page and "王小明" in page
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert label in page


def test_it_stores_a_page_rating_once_and_then_says_the_token_is_used(world):
    reg = register(world)
    data = {"grade": "dissatisfied", "tags": ["OS11"], "comment": "排队太久", "idempotency_key": "page-1"}
    r = Client().post(f"/r/{reg.token}/", data)
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    again = Client().post(f"/r/{reg.token}/", data)
    assert again.status_code == 410
    assert Rating.objects.count() == 1
    rating = Rating.objects.get()
    assert rating.grade == 2 and rating.tags == ["OS11"] and rating.comment == "排队太久"
    assert rating.client == "token" and rating.channel == "qr"


def test_it_shows_form_errors_and_keeps_the_token(world):
    reg = register(world)
    r = Client().post(f"/r/{reg.token}/", {"grade": "satisfied", "tags": ["OS11"]})  # bad-grade tag
    assert r.status_code == 422 and "OS11" in r.content.decode()
    assert not EvaluationToken.objects.get().used_at
    assert Client().post(f"/r/{reg.token}/", {"grade": "satisfied"}).status_code == 200


def test_it_refuses_an_expired_token(world):
    reg = register(world)
    EvaluationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = Client().get(f"/r/{reg.token}/")
    assert r.status_code == 410 and "过期" in r.content.decode()
    api = post_json(Client(), f"/api/v1/evaluations/{reg.token}", {"grade": "basic"})
    assert api.status_code == 410 and api.json()["errors"][0]["field"] == "token"


def test_it_refuses_an_unknown_token(world):
    assert Client().get("/r/not-a-token/").status_code == 404
    assert post_json(Client(), "/api/v1/evaluations/not-a-token", {"grade": "basic"}).status_code == 404


def test_it_serves_qr_codes_for_a_live_token(world):
    reg = register(world)
    svg = Client().get(f"/r/{reg.token}/qr.svg")
    png = Client().get(f"/r/{reg.token}/qr.png")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_rates_through_the_token_api_idempotently(world):
    reg = register(world)
    body = {"grade": "very_satisfied", "channel": "app", "idempotency_key": "app-1"}
    one = post_json(Client(), f"/api/v1/evaluations/{reg.token}", body)
    two = post_json(Client(), f"/api/v1/evaluations/{reg.token}", body)
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["rating_id"] == two.json()["rating_id"]
    other = post_json(Client(), f"/api/v1/evaluations/{reg.token}", {**body, "idempotency_key": "app-2"})
    assert other.status_code == 410


def test_it_issues_a_follow_up_token_only_after_a_first_rating(world):
    reg = register(world)
    r = post_json(api_client(world.key_a), "/api/v1/cases/BJ-1/tokens", {"follow_up": True})
    assert r.status_code == 422
    post_json(Client(), f"/api/v1/evaluations/{reg.token}", {"grade": "dissatisfied"})
    r = post_json(api_client(world.key_a), "/api/v1/cases/BJ-1/tokens", {"follow_up": True})
    assert r.status_code == 201
    follow = r.json()["token"]
    assert post_json(Client(), f"/api/v1/evaluations/{follow}", {"grade": "satisfied"}).status_code == 201
    assert sorted(Rating.objects.values_list("sequence", flat=True)) == [1, 2]


def test_it_issues_one_token_per_stage_on_re_registration(world):
    first = register(world)
    again = register(world)
    assert first.token and again.token is None and not again.created
    done = register(world, status=3)
    assert done.token and done.case.stage == "complete"
    assert EvaluationToken.objects.count() == 2


def test_reissue_invalidates_the_previous_token(world):
    first = register(world)
    fresh = token_reissue(scope=ALL_SCOPE, case_no="BJ-1")
    assert Client().get(f"/r/{first.token}/").status_code == 410
    assert Client().get(f"/r/{fresh.token}/").status_code == 200


def test_it_rate_limits_the_public_token_endpoints_per_address(world, settings):
    from django.core.cache import cache

    from haochaping.ratings import views

    cache.clear()
    reg = register(world)
    client = Client(REMOTE_ADDR="10.1.2.3")
    original = views.TOKEN_REQUESTS_PER_10_MIN
    views.TOKEN_REQUESTS_PER_10_MIN = 3
    try:
        for _ in range(3):
            assert client.get(f"/r/{reg.token}/").status_code == 200
        limited = client.get(f"/r/{reg.token}/")
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        api = post_json(client, f"/api/v1/evaluations/{reg.token}", {"grade": "basic"})
        assert api.status_code == 429 and "请求过于频繁" in api.json()["message"]
        assert Client(REMOTE_ADDR="10.1.2.4").get(f"/r/{reg.token}/").status_code == 200
    finally:
        views.TOKEN_REQUESTS_PER_10_MIN = original
        cache.clear()
