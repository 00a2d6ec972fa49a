"""haochaping demo: a deterministic demo province with realistic skews, logins for every role and an API key."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from haochaping.accounts.apikeys import authenticate
from haochaping.accounts.models import Membership, Role
from haochaping.demo import generator as gen
from haochaping.demo.load import DEMO_PASSWORD, demo_generate
from haochaping.directory.models import Organisation, Region, ServiceItem, Staff
from haochaping.ratings.codes import Channel
from haochaping.ratings.models import Rating, ServiceCase, Tag

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
COL = {name: i for i, name in enumerate(gen.RATING_COLUMNS)}


def _tag_sets() -> gen.TagSets:
    """The default tag sets exactly as the migration creates them, for runs without a database."""
    migration = importlib.import_module("haochaping.ratings.migrations.0002_default_tag_sets")
    ids, tags = {}, {}
    for n, ((_, kind), (_, rows)) in enumerate(migration.TAG_SETS.items(), start=1):
        ids[kind] = n
        tags[kind] = {code: frozenset(grades) for code, _, _, grades in rows}
    return gen.TagSets(ids=ids, tags=tags)


def _stream(seed: int = 7, ratings: int = 20000, cities: int = 3):
    plan = gen.plan_directory(seed, cities)
    adapters = gen.Adapters(
        dt=lambda ts: datetime.fromtimestamp(ts, UTC),
        uuid=lambda n: f"{n:032x}",
        person=lambda i: ("n", f"p{i}", f"h{i}"),
    )
    stream = gen.ActivityGenerator(
        plan,
        gen.Ids.sequential(plan),
        ratings=ratings,
        seed=seed,
        end=gen.end_of_demo(NOW),
        tag_sets=_tag_sets(),
        adapters=adapters,
    )
    chunks = list(stream)
    return plan, stream, [r for c in chunks for r in c.ratings], [c for ch in chunks for c in ch.cases]


@pytest.fixture(scope="module")
def big():
    return _stream()


def _bad_share(rows) -> float:
    return sum(1 for r in rows if r[COL["grade"]] <= 2) / max(len(rows), 1)


def test_it_generates_the_same_province_and_ratings_for_the_same_seed():
    plan_a, _, ratings_a, cases_a = _stream(seed=3, ratings=3000)
    plan_b, _, ratings_b, cases_b = _stream(seed=3, ratings=3000)
    assert plan_a == plan_b
    assert ratings_a == ratings_b and cases_a == cases_b
    _, _, ratings_c, _ = _stream(seed=4, ratings=3000)
    assert [r[COL["comment"]] for r in ratings_c] != [r[COL["comment"]] for r in ratings_a]


def test_it_generates_exactly_the_requested_number_with_about_seventy_percent_on_cases(big):
    _, stream, ratings, cases = big
    assert len(ratings) == 20000 == stream.stats["ratings"]
    on_cases = sum(1 for r in ratings if r[COL["service_case_id"]] is not None)
    assert 0.66 <= on_cases / len(ratings) <= 0.74
    assert len(cases) == stream.stats["cases"]
    assert len({c[0] for c in cases}) == len(cases)


def test_it_uses_every_channel_with_hall_tablet_and_qr_dominant_on_site(big):
    _, _, ratings, _ = big
    channels = Counter(r[COL["channel"]] for r in ratings)
    assert set(channels) == set(Channel.values)
    on_site = {c: channels[c] for c in ("hall_tablet", "qr", "paper", "hall_terminal")}
    assert max(on_site, key=on_site.get) == "hall_tablet"
    assert channels["qr"] > channels["paper"] + channels["hall_terminal"]
    assert channels["sms"] + channels["phone"] + channels["paper"] < channels["hall_tablet"]


def test_it_makes_most_ratings_good_and_a_few_bad(big):
    _, _, ratings, _ = big
    grades = Counter(r[COL["grade"]] for r in ratings)
    assert (grades[4] + grades[5]) / len(ratings) >= 0.86
    assert 0.015 <= _bad_share(ratings) <= 0.07
    commented = sum(1 for r in ratings if r[COL["comment"]]) / len(ratings)
    assert 0.18 <= commented <= 0.32


def test_it_records_default_ratings_as_basic_without_text(big):
    _, _, ratings, _ = big
    defaults = [r for r in ratings if r[COL["is_default"]]]
    assert 0.03 <= len(defaults) / len(ratings) <= 0.08
    assert all(r[COL["grade"]] == 3 and r[COL["channel"]] == "default" for r in defaults)
    assert all(r[COL["comment"]] == "" and r[COL["tags"]] == "[]" for r in defaults)
    assert not any(r[COL["channel"]] == "default" for r in ratings if not r[COL["is_default"]])


def test_it_makes_the_worse_units_and_staff_markedly_worse_and_one_unit_perfect(big):
    plan, _, ratings, _ = big
    ids = gen.Ids.sequential(plan)
    worse_units = {ids.units[u] for u in plan.worse_units}
    worse_staff = {ids.staff[s] for s in plan.worse_staff}
    overall = _bad_share(ratings)
    for unit_id in worse_units:
        assert _bad_share([r for r in ratings if r[COL["unit_id"]] == unit_id]) > 3 * overall
    assert _bad_share([r for r in ratings if r[COL["staff_id"]] in worse_staff]) > 3 * overall
    perfect = [r for r in ratings if r[COL["unit_id"]] == ids.units[plan.perfect_unit]]
    assert len(perfect) > 50 and all(r[COL["grade"]] == 5 for r in perfect)


def test_it_writes_bad_comments_that_read_like_complaints(big):
    _, _, ratings, _ = big
    bad = [r[COL["comment"]] for r in ratings if r[COL["grade"]] <= 2 and r[COL["comment"]]]
    good = [r[COL["comment"]] for r in ratings if r[COL["grade"]] == 5 and r[COL["comment"]]]
    assert len(set(bad)) > 0.5 * len(bad)  # varied, not a handful of canned lines
    assert any("跑" in c for c in bad) and any("排队" in c or "等" in c for c in bad)
    assert not any("满意" == c or "点赞" in c for c in bad)
    assert any("点赞" in c or "满意" in c or "很好" in c for c in good)


def test_it_spreads_ratings_over_thirteen_months_mostly_on_working_days(big):
    _, _, ratings, _ = big
    times = [r[COL["rated_at"]] for r in ratings]
    end = gen.end_of_demo(NOW)
    assert max(times) <= end and (end - min(times)).days >= 380
    weekend = sum(1 for t in times if t.astimezone(end.tzinfo).weekday() >= 5)
    assert weekend / len(times) < 0.12


def _run(tmp_path, *args, **options) -> str:
    out = StringIO()
    call_command("demo", *args, api_key_file=tmp_path / "key.txt", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_it_fills_the_database_and_prints_logins_and_the_api_key(tmp_path):
    output = _run(tmp_path, ratings=1500, cities=2, verbosity=0)
    # The generated ratings, plus the few hotline and paper ratings the demo keys in to show those channels.
    assert Rating.objects.filter(client="demo").count() == 1500  # the integrity demo adds planted ratings
    assert 0 < Rating.objects.filter(keyed_entry__isnull=False).count() <= 10
    assert ServiceCase.objects.exists() and ServiceItem.objects.count() >= 200
    assert (
        Organisation.objects.filter(kind=Organisation.Kind.AGENCY).count()
        == Region.objects.filter(level__lte=3).count()
    )
    assert set(Rating.objects.values_list("channel", flat=True).distinct()) == set(Channel.values)
    assert Rating.objects.filter(sequence=2).exists() and Rating.objects.filter(stage="accept").exists()
    assert DEMO_PASSWORD in output and "/admin/" in output and "clerk" in output
    secret = (tmp_path / "key.txt").read_text().strip()
    assert secret in output
    _, scope = authenticate(secret)
    assert scope.kind == "region" and scope.region_path == "330000000000/"
    # The dashboards' rollups match the ratings, including those set aside by the demo's appeals.
    from haochaping.analytics.rollups import verify

    assert verify() == []


@pytest.mark.django_db
def test_it_stores_only_tags_valid_for_the_grade_and_defaults_apart(tmp_path):
    _run(tmp_path, ratings=1500, cities=1, verbosity=0)
    valid = {(t.tag_set_id, t.code): set(t.grades) for t in Tag.objects.all()}
    tagged = Rating.objects.exclude(tags=[]).values_list("tag_set_id", "tags", "grade")
    assert tagged
    for tag_set_id, tags, grade in tagged:
        assert all(grade in valid[(tag_set_id, code)] for code in tags)
    defaults = Rating.objects.filter(is_default=True)
    assert defaults.exists()
    assert set(defaults.values_list("grade", "channel", "comment").distinct()) == {(3, "default", "")}
    assert Rating.objects.exclude(rater_phone_enc="").exists()
    assert Rating.objects.exclude(rater_phone_enc="").first().rater_phone_masked.startswith("170")


@pytest.mark.django_db
def test_it_creates_a_login_for_every_role_with_the_demo_password(tmp_path):
    _run(tmp_path, ratings=200, cities=1, verbosity=0)
    User = get_user_model()
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.get(username="admin").is_superuser
    for user in User.objects.all():
        assert Client().login(username=user.username, password=DEMO_PASSWORD), user.username
    clerk = User.objects.get(username="clerk")
    assert Staff.objects.get(user=clerk).unit_id == clerk.membership.unit_id
    province = User.objects.get(username="province")
    assert province.has_perm("directory.change_hall") and province.has_perm("directory.add_serviceitem")
    assert not province.has_perm("directory.delete_hall")
    auditor = User.objects.get(username="auditor")
    assert auditor.is_staff and auditor.has_perm("ratings.view_rating")
    assert not auditor.has_perm("directory.change_organisation")
    assert User.objects.filter(username__startswith="county_").count() >= 2


@pytest.mark.django_db
def test_it_stores_what_the_generator_yields_for_the_seed(tmp_path):
    demo_generate(ratings=800, seed=11, cities=1, now=NOW)
    plan, _, expected, cases = _stream(seed=11, ratings=800, cities=1)
    assert set(Organisation.objects.values_list("uscc", flat=True)) == {u.uscc for u in plan.units}
    assert ServiceCase.objects.count() == len(cases)
    stored = list(Rating.objects.order_by("id").values_list("grade", "channel", "comment", "target"))
    assert stored == [(r[COL["grade"]], r[COL["channel"]], r[COL["comment"]], r[COL["target"]]) for r in expected]


@pytest.mark.django_db
def test_it_skips_a_second_run_with_if_empty_and_refuses_one_without(tmp_path):
    _run(tmp_path, ratings=100, cities=1, verbosity=0)
    output = _run(tmp_path, "--if-empty", ratings=100, cities=1)
    assert "跳过" in output
    assert Rating.objects.filter(client="demo").count() == 100
    with pytest.raises(CommandError, match="已有区划"):
        _run(tmp_path, ratings=100, cities=1)


@pytest.mark.django_db
def test_it_rejects_an_impossible_number_of_cities(tmp_path):
    with pytest.raises(CommandError, match="--cities"):
        _run(tmp_path, ratings=10, cities=9)
