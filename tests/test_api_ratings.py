"""POST /api/v1/cases and /api/v1/ratings: the foundation's rules end to end through the API."""

from __future__ import annotations

from haochaping.ratings.models import Rating
from tests.conftest import api_client, post_json


def register(world, key=None, case_no="BJ2026000001", **extra):
    body = {
        "case_no": case_no,
        "item_code": world.a.item.implementation_code,
        "hall_code": world.a.hall.code,
        "window_code": "01",
        "staff_code": world.a.clerk.code,
        "applicant_phone": "13800138000",
        **extra,
    }
    return post_json(api_client(key or world.key_a), "/api/v1/cases", body)


def rate(world, key=None, **body):
    data = {"case_no": "BJ2026000001", "grade": "satisfied", "channel": "hall_tablet", **body}
    return post_json(api_client(key or world.key_a), "/api/v1/ratings", data)


def test_it_registers_a_case_and_returns_a_token_url_and_qr(world):
    r = register(world)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["token"] and body["evaluation_url"].endswith(f"/r/{body['token']}/")
    assert body["qr_svg_url"].endswith("qr.svg") and body["qr_png_url"].endswith("qr.png")
    assert body["embed_url"] == body["evaluation_url"] + "embed/"


def test_it_stores_a_rating_once_for_a_retried_idempotency_key(world):
    register(world)
    first = rate(world, idempotency_key="k-1")
    again = rate(world, idempotency_key="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["rating_id"] == again.json()["rating_id"]
    assert again.json()["created"] is False
    assert Rating.objects.count() == 1


def test_it_accepts_the_idempotency_key_header(world):
    register(world)
    client = api_client(world.key_a)
    body = {"case_no": "BJ2026000001", "grade": "basic", "channel": "sms"}
    one = client.post("/api/v1/ratings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="h-1")
    two = client.post("/api/v1/ratings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="h-1")
    assert (one.status_code, two.status_code) == (201, 200)


def test_it_refuses_a_second_rating_of_the_same_stage(world):
    register(world)
    assert rate(world).status_code == 201
    r = rate(world, grade="very_satisfied")
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "case_no"


def test_it_allows_one_follow_up_after_a_first_rating(world):
    register(world)
    assert rate(world, sequence=2).status_code == 422  # no first rating yet
    assert rate(world).status_code == 201
    assert rate(world, sequence=2, grade="dissatisfied").status_code == 201
    r = rate(world, sequence=2)
    assert r.status_code == 409


def test_it_rates_each_stage_once(world):
    register(world)
    assert rate(world).status_code == 201
    register(world, status=3)  # 办结
    assert rate(world, stage="complete").status_code == 201


def test_it_names_the_bad_grade_code(world):
    register(world)
    r = rate(world, grade=5)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "grade"


def test_it_names_an_unknown_window(world):
    r = post_json(
        api_client(world.key_a),
        "/api/v1/ratings",
        {"window": {"hall": world.a.hall.code, "code": "99"}, "grade": "basic", "channel": "hall_tablet"},
    )
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "window"


def test_it_names_an_unknown_item(world):
    r = post_json(api_client(world.key_a), "/api/v1/ratings", {"item_code": "NOPE", "grade": "basic", "channel": "pc"})
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "item_code"


def test_it_rejects_tags_that_do_not_fit_the_grade(world):
    register(world)
    r = rate(world, grade="very_satisfied", tags=["OS11"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tags"
    assert rate(world, grade="very_satisfied", tags=["OS01"]).status_code == 201


def test_it_requires_an_api_key(world):
    r = post_json(api_client("hcp_wrong"), "/api/v1/ratings", {"grade": "basic"})
    assert r.status_code == 401


def test_it_takes_a_walk_in_rating_of_a_window(world):
    r = post_json(
        api_client(world.key_a),
        "/api/v1/ratings",
        {"window": {"hall": world.a.hall.code, "code": "01"}, "grade": "very_satisfied", "channel": "hall_tablet"},
    )
    assert r.status_code == 201, r.content
    rating = Rating.objects.get()
    assert rating.target == "window" and rating.unit_id == world.a.dept.id and rating.service_case_id is None


def test_it_encrypts_rater_phone_and_never_returns_it(world):
    register(world)
    r = rate(world, rater_phone="13912345678", anonymous=False)
    assert r.status_code == 201
    stored = Rating.objects.get()
    assert "13912345678" not in stored.rater_phone_enc and stored.rater_phone_masked == "139****5678"
    listing = api_client(world.key_a).get("/api/v1/ratings").content.decode()
    assert "13912345678" not in listing and "5678" not in listing


def test_it_marks_a_rating_on_the_default_channel_as_default(world):
    register(world)
    r = rate(world, grade="basic", channel="default")
    assert r.status_code == 201
    assert Rating.objects.get().is_default is True
    rejected = rate(world, grade="basic", channel="default", stage="complete", comment="不应有文字")
    assert rejected.status_code == 422 and rejected.json()["errors"][0]["field"] == "is_default"
