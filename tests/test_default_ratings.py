"""Default ratings (默认评价): per-region policy, inheritance, the periodic sweep and its command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib.errors import Gone
from haochaping.ratings import defaults
from haochaping.ratings.codes import CaseStatus, Channel, Grade, Stage, Target
from haochaping.ratings.defaults import applicable_policy, default_ratings_sweep
from haochaping.ratings.intake import submit_one
from haochaping.ratings.models import DefaultRatingPolicy, EvaluationToken, Rating
from haochaping.ratings.services import service_case_register, token_lookup


def completed(world, case_no: str, *, days_ago: float = 10, county=None):
    county = county or world.a
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=county.item.implementation_code,
        status=CaseStatus.COMPLETED,
        completed_at=timezone.now() - timedelta(days=days_ago),
    )


def policy(region, *, after_days: int = 7, grade: int = Grade.BASIC, enabled: bool = True) -> DefaultRatingPolicy:
    return DefaultRatingPolicy.objects.create(region=region, after_days=after_days, grade=grade, enabled=enabled)


def test_it_records_nothing_without_a_policy(world):
    completed(world, "DEF-NOPOLICY")
    report = default_ratings_sweep()
    assert report.rated == [] and report.policies == 0
    assert not Rating.objects.exists()


def test_it_applies_the_city_policy_to_a_county_without_its_own(world):
    city_policy = policy(world.city)
    completed(world, "DEF-A", county=world.a)
    completed(world, "DEF-B", county=world.b)
    assert applicable_policy(world.a.region) == city_policy
    report = default_ratings_sweep()
    assert sorted(report.rated) == ["DEF-A", "DEF-B"]


def test_it_lets_a_disabled_county_policy_override_the_city(world):
    policy(world.city)
    own = policy(world.a.region, enabled=False)
    completed(world, "DEF-A", county=world.a)
    completed(world, "DEF-B", county=world.b)
    assert applicable_policy(world.a.region) == own
    report = default_ratings_sweep()
    assert report.rated == ["DEF-B"]
    assert not Rating.objects.filter(service_case__case_no="DEF-A").exists()


def test_it_uses_the_nearest_policys_delay_and_grade(world):
    policy(world.province, after_days=30, grade=Grade.SATISFIED)
    policy(world.a.region, after_days=3, grade=Grade.BASIC)
    completed(world, "DEF-A", county=world.a, days_ago=5)  # past the county's 3 days
    completed(world, "DEF-B", county=world.b, days_ago=5)  # not yet past the province's 30 days
    completed(world, "DEF-B-OLD", county=world.b, days_ago=31)
    report = default_ratings_sweep()
    assert sorted(report.rated) == ["DEF-A", "DEF-B-OLD"]
    grades = dict(Rating.objects.values_list("service_case__case_no", "grade"))
    assert grades == {"DEF-A": Grade.BASIC, "DEF-B-OLD": Grade.SATISFIED}


def test_it_rates_only_completed_overdue_cases_without_a_completion_rating(world):
    policy(world.city, after_days=7)
    completed(world, "DEF-DUE", days_ago=8)
    completed(world, "DEF-FRESH", days_ago=6)
    service_case_register(scope=ALL_SCOPE, case_no="DEF-OPEN", item_code=world.a.item.implementation_code)
    completed(world, "DEF-RATED", days_ago=8)
    submit_one(
        {"case_no": "DEF-RATED", "stage": "complete", "grade": "satisfied", "channel": "qr"},
        scope=ALL_SCOPE,
        client="test",
    )
    # Rated at 受理 only: the 办结 stage is still unrated, so it is due.
    service_case_register(scope=ALL_SCOPE, case_no="DEF-ACCEPT-RATED", item_code=world.a.item.implementation_code)
    submit_one(
        {"case_no": "DEF-ACCEPT-RATED", "stage": "accept", "grade": "satisfied", "channel": "qr"},
        scope=ALL_SCOPE,
        client="test",
    )
    completed(world, "DEF-ACCEPT-RATED", days_ago=9)
    report = default_ratings_sweep()
    assert sorted(report.rated) == ["DEF-ACCEPT-RATED", "DEF-DUE"]


def test_it_marks_the_rating_as_default_of_the_case(world):
    policy(world.city)
    case = completed(world, "DEF-MARK").case
    now = timezone.now()
    default_ratings_sweep(now=now)
    rating = Rating.objects.get()
    assert rating.is_default is True
    assert rating.channel == Channel.DEFAULT
    assert rating.target == Target.CASE
    assert rating.service_case_id == case.pk
    assert (rating.stage, rating.sequence, rating.grade) == (Stage.COMPLETE, 1, Grade.BASIC)
    assert rating.client == "system:default"
    assert rating.idempotency_key == "default:DEF-MARK:complete"
    assert rating.rated_at == now
    assert (rating.tags, rating.comment) == ([], "")
    assert (rating.unit_id, rating.region_id) == (world.a.dept.pk, world.a.region.pk)


def test_it_stores_nothing_twice_when_run_again(world):
    policy(world.city)
    completed(world, "DEF-AGAIN")
    assert default_ratings_sweep().rated == ["DEF-AGAIN"]
    again = default_ratings_sweep()
    assert again.rated == [] and again.failed == []
    assert Rating.objects.count() == 1


def test_it_answers_an_overlapping_sweep_from_the_stored_rating(world):
    # Two sweeps that both saw the 办件 as due: the second's insert meets the idempotency key and is a retry.
    pol = policy(world.city)
    completed(world, "DEF-RACE")
    now = timezone.now()
    report = defaults.DefaultRatingReport()
    defaults._rate_batch(pol, ["DEF-RACE"], now=now, report=report)
    defaults._rate_batch(pol, ["DEF-RACE"], now=now, report=report)
    assert report.rated == ["DEF-RACE"] and report.skipped == ["DEF-RACE"] and report.failed == []
    assert Rating.objects.count() == 1


def test_it_skips_a_case_the_applicant_rated_in_between(world):
    pol = policy(world.city)
    completed(world, "DEF-BEAT")
    submit_one(
        {"case_no": "DEF-BEAT", "stage": "complete", "grade": "very_satisfied", "channel": "qr"},
        scope=ALL_SCOPE,
        client="token",
    )
    report = defaults.DefaultRatingReport()
    defaults._rate_batch(pol, ["DEF-BEAT"], now=timezone.now(), report=report)
    assert report.rated == [] and report.skipped == ["DEF-BEAT"]
    assert Rating.objects.get().is_default is False


def test_it_expires_the_applicants_unused_token(world):
    policy(world.city)
    registration = completed(world, "DEF-TOKEN")
    assert registration.token
    report = default_ratings_sweep()
    assert report.tokens_expired == 1
    with pytest.raises(Gone):
        token_lookup(registration.token)
    response = Client().post(
        f"/api/v1/evaluations/{registration.token}",
        {"grade": "satisfied"},
        content_type="application/json",
    )
    assert response.status_code == 410
    assert Rating.objects.count() == 1


def test_it_writes_nothing_on_a_dry_run(world):
    policy(world.city)
    completed(world, "DEF-DRY")
    report = default_ratings_sweep(dry_run=True)
    assert report.would_rate == ["DEF-DRY"] and report.rated == []
    assert not Rating.objects.exists()
    assert EvaluationToken.objects.filter(expires_at__gt=timezone.now()).count() == 1


def test_it_stops_at_the_limit_and_pages_in_batches(world, monkeypatch):
    monkeypatch.setattr(defaults, "BATCH_SIZE", 2)
    policy(world.city)
    for n in range(5):
        completed(world, f"DEF-LIM-{n}")
    assert len(default_ratings_sweep(limit=3).rated) == 3
    assert len(default_ratings_sweep().rated) == 2
    assert Rating.objects.filter(is_default=True).count() == 5


def test_it_runs_as_a_command(world, capsys):
    policy(world.city)
    completed(world, "DEF-CMD")
    call_command("sweep_default_ratings", "--dry-run")
    assert "DEF-CMD" in capsys.readouterr().out
    assert not Rating.objects.exists()
    call_command("sweep_default_ratings", "--limit", "10")
    assert "已记录默认评价 1 条" in capsys.readouterr().out
    assert Rating.objects.filter(is_default=True).count() == 1


def test_it_lets_a_system_administrator_set_a_policy_in_the_admin(world):
    client = Client()
    client.force_login(world.users["root"])
    response = client.post(
        "/admin/ratings/defaultratingpolicy/add/",
        {"region": world.city.pk, "enabled": "on", "after_days": "7", "grade": str(Grade.BASIC), "stage": "complete"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DefaultRatingPolicy.objects.get().after_days == 7
    assert client.get("/admin/ratings/defaultratingpolicy/").status_code == 200
    refused = client.post(
        "/admin/ratings/defaultratingpolicy/add/",
        {"region": world.a.region.pk, "enabled": "on", "after_days": "0", "grade": "3", "stage": "complete"},
    )
    assert refused.status_code == 200 and not DefaultRatingPolicy.objects.filter(region=world.a.region).exists()
