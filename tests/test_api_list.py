"""GET /api/v1/ratings: filters and cursor pagination within the caller's scope."""

from __future__ import annotations

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.ratings.intake import submit_ratings
from tests.conftest import api_client


def seed(world, n=25):
    items = []
    for i in range(n):
        grade = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"][i % 5]
        items.append(
            {
                "window": {"hall": world.a.hall.code, "code": "01"},
                "grade": grade,
                "channel": "hall_tablet" if i % 2 else "qr",
                "comment": f"第{i}条",
            }
        )
    results = submit_ratings(items, scope=ALL_SCOPE, client="seed")
    assert all(r.status == 201 for r in results)


def test_it_pages_with_a_cursor_without_gaps_or_repeats(world):
    seed(world)
    client = api_client(world.key_a)
    seen, cursor = [], None
    while True:
        url = "/api/v1/ratings?limit=10" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).json()
        seen += [row["rating_id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 25 and len(set(seen)) == 25


def test_it_filters_bad_reviews_and_channels(world):
    seed(world)
    client = api_client(world.key_a)
    bad = client.get("/api/v1/ratings?bad_only=true&limit=100").json()["items"]
    assert len(bad) == 10 and all(row["is_bad"] for row in bad)
    qr = client.get("/api/v1/ratings?channel=qr&grade=very_satisfied").json()["items"]
    assert qr and all(row["channel"] == "qr" and row["grade"] == "very_satisfied" for row in qr)
    assert all(row["grade_label"] == "非常满意" for row in qr)


def test_it_rejects_a_bad_cursor_and_limit(world):
    client = api_client(world.key_a)
    r = client.get("/api/v1/ratings?cursor=%%%")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = client.get("/api/v1/ratings?limit=5000")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"


def test_it_filters_by_region_subtree(world):
    seed(world, 5)
    client = api_client(world.key_city)
    assert len(client.get(f"/api/v1/ratings?region={world.a.region.code}").json()["items"]) == 5
    assert client.get(f"/api/v1/ratings?region={world.b.region.code}").json()["items"] == []
