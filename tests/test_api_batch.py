"""POST /api/v1/ratings/batch: up to 1,000 items, each accepted or rejected on its own."""

from __future__ import annotations

from django.test import override_settings

from haochaping.ratings.models import Rating
from tests.conftest import api_client, post_json


def window_item(world, **extra):
    return {
        "window": {"hall": world.a.hall.code, "code": "01"},
        "grade": "satisfied",
        "channel": "hall_tablet",
        **extra,
    }


def test_it_reports_a_result_per_item_and_stores_the_good_ones(world):
    items = [
        window_item(world, idempotency_key="b-1"),
        {"grade": "satisfied"},
        window_item(world, grade="meh"),
        window_item(world, idempotency_key="b-1"),
        window_item(world, staff_code="NOPE"),
    ]
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": items})
    assert r.status_code == 200
    body = r.json()
    statuses = [x["status"] for x in body["results"]]
    assert statuses == [201, 422, 422, 200, 404]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 1, 3)
    assert body["results"][1]["errors"][0]["field"] == "channel"
    assert body["results"][2]["errors"][0]["field"] == "grade"
    assert body["results"][4]["errors"][0]["field"] == "staff_code"
    assert body["results"][3]["rating_id"] == body["results"][0]["rating_id"]
    assert Rating.objects.count() == 1


def test_it_accepts_a_thousand_items(world):
    items = [window_item(world, idempotency_key=f"k{i}") for i in range(1000)]
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": items})
    assert r.status_code == 200 and r.json()["accepted"] == 1000
    assert Rating.objects.count() == 1000
    again = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": items})
    assert again.json()["duplicates"] == 1000 and Rating.objects.count() == 1000


@override_settings(HAOCHAPING_BATCH_MAX=3)
def test_it_refuses_an_oversized_batch_whole(world):
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": [window_item(world)] * 4})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items"
    assert Rating.objects.count() == 0


def test_it_refuses_an_empty_batch(world):
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": []})
    assert r.status_code == 422


def test_it_refuses_two_ratings_of_one_case_stage_within_a_batch(world):
    post_json(
        api_client(world.key_a), "/api/v1/cases", {"case_no": "C-9", "item_code": world.a.item.implementation_code}
    )
    items = [
        {"case_no": "C-9", "grade": "satisfied", "channel": "sms"},
        {"case_no": "C-9", "grade": "dissatisfied", "channel": "sms"},
    ]
    r = post_json(api_client(world.key_a), "/api/v1/ratings/batch", {"items": items})
    assert [x["status"] for x in r.json()["results"]] == [201, 409]
