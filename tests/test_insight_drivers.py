"""差评成因 (driver analysis): tags and questionnaire answers ranked by how much they distinguish bad ratings."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.insight import drivers
from haochaping.ratings.intake import submit_ratings

pytestmark = pytest.mark.django_db

GRADES = {1: "very_dissatisfied", 2: "dissatisfied", 4: "satisfied", 5: "very_satisfied"}


def rate(county, grade: int, *, tags=(), answers=None, days_ago: int = 3) -> None:
    item = {
        "window": {"hall": county.hall.code, "code": county.window.code},
        "grade": GRADES[grade],
        "channel": "hall_tablet",
        "rated_at": (timezone.now() - timedelta(days=days_ago)).isoformat(),
        "tags": list(tags),
    }
    if answers:
        item["answers"] = answers
    [result] = submit_ratings([item], scope=ALL_SCOPE, client="t")
    assert result.ok, result.errors


@pytest.fixture
def rated(world):
    a = world.a
    for _ in range(20):
        rate(a, 2, tags=["OS11"], answers={"guidance_clear": "no"})  # 排队等候时间长: the main driver
    for _ in range(6):
        rate(a, 1, tags=["OS13"])
    for _ in range(4):
        rate(a, 2)
    for _ in range(30):
        rate(a, 5, tags=["OS01"], answers={"guidance_clear": "yes"})
    for _ in range(30):
        rate(a, 4)
    for _ in range(3):
        rate(a, 4, answers={"guidance_clear": "no"})
    rate(world.b, 1, tags=["OS12"])  # another county: out of a's focus
    return world


def login(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


def test_the_statistics_of_one_feature_use_the_haldane_correction():
    s = drivers.compare(20, 30, 0, 63)
    assert s["bad_share"] == pytest.approx(20 / 30) and s["good_share"] == 0
    assert s["log_odds"] == pytest.approx(math.log(20.5 * 63.5 / (10.5 * 0.5)))
    se = math.sqrt(1 / 20.5 + 1 / 10.5 + 1 / 0.5 + 1 / 63.5)
    assert s["ci_low"] == pytest.approx(s["log_odds"] - 1.959964 * se)
    assert s["lift"] == pytest.approx(1 / (30 / 93))
    assert s["test"] == "chi2" and s["p_value"] < 0.001
    rare = drivers.compare(5, 30, 0, 63)
    assert rare["test"] == "fisher" and rare["p_value"] < 0.01  # an expected cell below 5
    balanced = drivers.compare(30, 100, 30, 100)
    assert balanced["log_odds"] == pytest.approx(0) and balanced["test"] == "chi2" and balanced["p_value"] > 0.5


def test_the_tag_over_represented_in_bad_ratings_ranks_first(rated):
    with translation.override("zh-hans"):  # answer labels (是/否) follow the active language
        report = drivers.analyse(ALL_SCOPE, {"unit": str(rated.a.dept.pk), "period": "last_12"})
    assert (report.bad_total, report.good_total) == (30, 63)
    codes = [f.code for f in report.tags]
    assert codes[0] == "OS11" and codes[-1] == "OS01"
    first = report.tags[0]
    assert first.label == "排队等候时间长" and first.bad == 20 and first.good == 0 and first.significant
    assert report.tags[-1].log_odds < 0
    assert "OS12" not in codes  # another unit's rating; and below the minimum support anyway
    answers = {f.code: f for f in report.answers}
    assert answers["guidance_clear=no"].bad == 20 and answers["guidance_clear=no"].good == 3
    assert answers["guidance_clear=no"].label.endswith("：否")
    assert report.answers[0].code == "guidance_clear=no"


def test_the_page_shows_both_tables_to_a_supervisor_in_scope(rated):
    r = login("a_admin").get("/insight/drivers/", {"unit": rated.a.dept.pk})
    assert r.status_code == 200
    html = r.content.decode()
    assert "排队等候时间长" in html and "分项评价" in html and rated.a.dept.name in html
    assert login("a_dept_admin").get("/insight/drivers/").status_code == 200
    item = login("a_admin").get("/insight/drivers/", {"item": rated.a.item.pk, "period": "this_year"})
    assert item.status_code == 200


def test_only_supervisors_may_look_and_only_within_their_scope(rated):
    assert login("a_handler").get("/insight/drivers/").status_code == 403
    assert login("a_clerk").get("/insight/drivers/").status_code == 403
    assert login("nobody").get("/insight/drivers/").status_code == 403
    assert Client().get("/insight/drivers/").status_code == 302
    assert login("b_admin").get("/insight/drivers/", {"unit": rated.a.dept.pk}).status_code == 404
    assert login("b_admin").get("/insight/drivers/", {"item": rated.a.item.pk}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"unit": "x"}, "unit"),
        ({"item": "1;"}, "item"),
        ({"period": "forever"}, "period"),
        ({"start": "2026-13-01"}, "start"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(rated, params, field):
    r = login("city_admin").get("/insight/drivers/", params)
    assert r.status_code == 400
    assert field in r.content.decode()
