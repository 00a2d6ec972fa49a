"""追评: one follow-up rating, within HAOCHAPING_FOLLOW_UP_DAYS of the first rating."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib.errors import ValidationFailed
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating
from haochaping.ratings.schemas import TokenRatingIn
from haochaping.ratings.services import rating_submit_with_token, service_case_register, token_reissue
from tests.conftest import api_client, post_json


def register(world, case_no: str = "FU-1"):
    return service_case_register(scope=ALL_SCOPE, case_no=case_no, item_code=world.a.item.implementation_code).case


def rate(world, case_no: str, *, sequence: int = 1, days_ago: float | None = None, grade: str = "dissatisfied"):
    item = {"case_no": case_no, "sequence": sequence, "grade": grade, "channel": "pc"}
    if days_ago is not None:
        item["rated_at"] = (timezone.now() - timedelta(days=days_ago)).isoformat()
    return post_json(api_client(world.key_a), "/api/v1/ratings", item)


def test_it_accepts_a_follow_up_within_the_period(world):
    register(world)
    assert rate(world, "FU-1", days_ago=14).status_code == 201
    response = rate(world, "FU-1", sequence=2, grade="satisfied")
    assert response.status_code == 201, response.content
    assert Rating.objects.filter(service_case__case_no="FU-1").count() == 2


def test_it_refuses_a_follow_up_after_the_period(world):
    register(world)
    rate(world, "FU-1", days_ago=16)
    response = rate(world, "FU-1", sequence=2)
    assert response.status_code == 422
    assert response.json()["message"] == "追评须在首次评价后15天内"
    assert response.json()["errors"][0]["field"] == "sequence"
    assert not Rating.objects.filter(sequence=2).exists()


def test_it_reads_the_period_from_settings(world, settings):
    settings.HAOCHAPING_FOLLOW_UP_DAYS = 3
    register(world)
    rate(world, "FU-1", days_ago=4)
    assert rate(world, "FU-1", sequence=2).json()["message"] == "追评须在首次评价后3天内"


def test_it_measures_the_period_to_the_follow_ups_own_time(world):
    # Imported history: a follow-up rated 10 days after a first rating 40 days ago is within the period.
    register(world)
    rate(world, "FU-1", days_ago=40)
    assert rate(world, "FU-1", sequence=2, days_ago=30).status_code == 201


def test_it_checks_a_follow_up_batched_with_its_first_rating(world):
    register(world)
    now = timezone.now()
    items = [
        {"case_no": "FU-1", "grade": "basic", "channel": "pc", "rated_at": now - timedelta(days=20)},
        {"case_no": "FU-1", "sequence": 2, "grade": "basic", "channel": "pc", "rated_at": now},
    ]
    first, second = submit_ratings(items, scope=ALL_SCOPE, client="test")
    assert first.status == 201 and second.status == 422


def test_it_issues_a_follow_up_token_only_within_the_period(world):
    register(world, "FU-1")
    register(world, "FU-2")
    rate(world, "FU-1", days_ago=2)
    rate(world, "FU-2", days_ago=20)
    assert token_reissue(scope=ALL_SCOPE, case_no="FU-1", follow_up=True).token
    with pytest.raises(ValidationFailed) as exc:
        token_reissue(scope=ALL_SCOPE, case_no="FU-2", follow_up=True)
    assert exc.value.message == "追评须在首次评价后15天内" and exc.value.status == 422


def test_it_refuses_a_follow_up_token_used_after_the_period(world, settings):
    register(world)
    rate(world, "FU-1", days_ago=10)
    token = token_reissue(scope=ALL_SCOPE, case_no="FU-1", follow_up=True).token
    settings.HAOCHAPING_FOLLOW_UP_DAYS = 5  # the period has passed by the time the applicant answers
    result = rating_submit_with_token(token, TokenRatingIn(grade="satisfied"))
    assert result.status == 422 and result.message == "追评须在首次评价后5天内"
    settings.HAOCHAPING_FOLLOW_UP_DAYS = 15
    assert rating_submit_with_token(token, TokenRatingIn(grade="satisfied")).status == 201  # the token stayed unused


def test_it_still_allows_only_one_follow_up(world):
    register(world)
    rate(world, "FU-1", days_ago=1)
    assert rate(world, "FU-1", sequence=2).status_code == 201
    assert rate(world, "FU-1", sequence=2).status_code == 409
