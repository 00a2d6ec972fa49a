"""Surge alerts: a spike over a steady baseline raises one alert for the lowest agency, reruns update it, steady
volume stays quiet, problems are tested too; acknowledging and access."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import workdays
from haochaping.insight import surge, text
from haochaping.insight.index import index_new
from haochaping.insight.models import CommentDoc, Problem, ProblemMember, SurgeAlert
from haochaping.ratings.intake import submit_ratings

GRADES = {1: "very_dissatisfied", 2: "dissatisfied", 5: "very_satisfied"}


def at(day: date, n: int) -> str:
    return (timezone.make_aware(datetime.combine(day, time(9))) + timedelta(minutes=n)).isoformat()


def rate_many(county, comments: list[tuple[date, str]], grade: int = 1) -> None:
    items = [
        {
            "window": {"hall": county.hall.code, "code": county.window.code},
            "grade": GRADES[grade],
            "channel": "hall_tablet",
            "rated_at": at(day, i),
            "comment": comment,
        }
        for i, (day, comment) in enumerate(comments)
    ]
    results = submit_ratings(items, scope=ALL_SCOPE, client="t")
    assert all(r.ok for r in results), [r.errors for r in results if not r.ok]


@pytest.fixture
def today():
    return workdays.today()


def spike(world, today: date, county=None) -> None:
    """车位: one a week for 8 weeks, then 12 in the last 7 days (all before today, so never in the future);
    态度: 10 a week throughout (steady)."""
    county = county or world.a
    w = surge.Windows(today)
    rows = []
    for k in range(surge.BASELINE_WEEKS):
        start = w.base_start + timedelta(days=7 * k)
        rows.append((start + timedelta(days=2), "车位太少"))
        rows += [(start + timedelta(days=i % 7), "工作人员态度不好") for i in range(10)]
    rows += [(today - timedelta(days=1 + i % 6), "车位太少") for i in range(12)]
    rows += [(today - timedelta(days=1 + i % 6), "工作人员态度不好") for i in range(10)]
    rate_many(county, rows)
    text.reset()
    index_new()


def test_spike_raises_one_alert_for_the_county_not_the_city(world, today):
    spike(world, today)
    assert surge.raise_alerts(today) == 1
    [alert] = SurgeAlert.objects.all()
    assert alert.region == world.a.region and alert.subject_kind == "term" and alert.subject == "车位"
    assert alert.observed == 12 and alert.expected == pytest.approx(1.0)
    assert alert.p_value < 1e-6 and alert.window_start == today - timedelta(days=6) and alert.window_end == today
    assert [w["n"] for w in alert.evidence["weeks"]] == [1] * 8 + [12]
    # rerun: no new alert, no duplicate, the acknowledgement stays
    alert.status = SurgeAlert.Status.ACKNOWLEDGED
    alert.note = "已安排"
    alert.save()
    assert surge.raise_alerts(today) == 0
    [again] = SurgeAlert.objects.all()
    assert again.pk == alert.pk and again.status == "acknowledged" and again.note == "已安排"


def test_city_raises_when_no_county_alone_is_significant(world, today, settings):
    """6 in each county: under the minimum of 8 per county, 12 for the city together."""
    w = surge.Windows(today)
    for county in (world.a, world.b):
        rows = [(w.base_start + timedelta(days=7 * k + 3), "车位太少") for k in range(0, 8, 2)]
        rows += [(today - timedelta(days=1 + i), "车位太少") for i in range(6)]
        rate_many(county, rows)
    text.reset()
    index_new()
    assert surge.raise_alerts(today) == 1
    [alert] = SurgeAlert.objects.all()
    assert alert.region == world.city and alert.subject == "车位" and alert.observed == 12


def test_steady_volume_raises_nothing(world, today):
    w = surge.Windows(today)
    rows = [(w.base_start + timedelta(days=d), "工作人员态度不好") for d in range(0, 62) for _ in range(2)]
    rate_many(world.a, rows)
    text.reset()
    index_new()
    assert surge.raise_alerts(today) == 0
    assert not SurgeAlert.objects.exists()


def test_thresholds():
    assert surge.significant(surge.test([1] * 8 + [12]))
    assert not surge.significant(surge.test([1] * 8 + [7]))  # under the minimum
    assert not surge.significant(surge.test([10] * 8 + [19]))  # under twice the baseline
    assert not surge.significant(surge.test([6] * 8 + [13]))  # not significant (p ~ 0.009)
    assert surge.test([0] * 9).expected == surge.EXPECTED_FLOOR


def test_settings_are_read(world, today, settings):
    spike(world, today)
    settings.HAOCHAPING_SURGE_MIN = 20
    assert surge.raise_alerts(today) == 0


def test_problem_surge(world, today):
    spike(world, today)
    SurgeAlert.objects.all().delete()
    problem = Problem.objects.create(
        region=world.a.region, period_start=today - timedelta(days=62), period_end=today, label="停车难",
        keywords=["车位"], size=20,
    )  # fmt: skip
    ProblemMember.objects.bulk_create(
        ProblemMember(problem=problem, doc=d) for d in CommentDoc.objects.filter(tokens__contains=" 车位 ")
    )
    assert surge.raise_alerts(today) == 2
    alert = SurgeAlert.objects.get(subject_kind="problem")
    assert alert.problem == problem and alert.region == world.a.region and alert.observed == 12
    problem.label = "停车位不足"  # a relabelled problem keeps its alert
    problem.save()
    assert surge.raise_alerts(today) == 0 and SurgeAlert.objects.filter(subject_kind="problem").count() == 1


# --- pages ----------------------------------------------------------------------------------------------------


def login(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


@pytest.fixture
def alert(world, today):
    spike(world, today)
    surge.raise_alerts(today)
    return SurgeAlert.objects.get()


def test_alert_pages_show_the_evidence(alert):
    c = login("a_admin")
    page = c.get("/insight/alerts/").content.decode()
    assert "车位" in page and f"/insight/alerts/{alert.pk}/" in page
    r = c.get(f"/insight/alerts/{alert.pk}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "<meter" in page and "车位" in page and "/insight/words/comments/?" in page
    assert "车位" in c.get("/insight/").content.decode()  # the open alert on the home page


def test_acknowledge(alert):
    c = login("a_admin")
    r = c.post(f"/insight/alerts/{alert.pk}/", {"note": "已通知停车场管理方增加车位"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by.username == "a_admin"
    assert alert.note == "已通知停车场管理方增加车位"
    assert "车位" not in c.get("/insight/alerts/").content.decode()  # default filter: open only
    assert "车位" in c.get("/insight/alerts/", {"status": "acknowledged"}).content.decode()


def test_acknowledge_needs_a_note(alert):
    r = login("a_admin").post(f"/insight/alerts/{alert.pk}/", {"note": ""})
    assert r.status_code == 400
    alert.refresh_from_db()
    assert alert.status == "open"


@pytest.mark.parametrize("username", ["a_inspector", "a_auditor"])
def test_read_only_roles_may_look_but_not_acknowledge(alert, username):
    c = login(username)
    assert c.get(f"/insight/alerts/{alert.pk}/").status_code == 200
    assert c.post(f"/insight/alerts/{alert.pk}/", {"note": "x"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


@pytest.mark.parametrize("username", ["b_admin", "a_dept_admin"])
def test_out_of_scope_alert_is_404(alert, username):
    c = login(username)
    assert c.get(f"/insight/alerts/{alert.pk}/").status_code == 404
    assert c.post(f"/insight/alerts/{alert.pk}/", {"note": "x"}).status_code == 404
    assert "车位" not in c.get("/insight/alerts/").content.decode()


@pytest.mark.parametrize("username", ["nobody", "a_handler", "a_clerk"])
def test_non_supervisors_are_refused(alert, username):
    c = login(username)
    assert c.get(f"/insight/alerts/{alert.pk}/").status_code == 403
    assert c.post(f"/insight/alerts/{alert.pk}/", {"note": "x"}).status_code == 403


def test_city_admin_may_acknowledge_a_county_alert(alert):
    r = login("city_admin").post(f"/insight/alerts/{alert.pk}/", {"note": "市级督办"})
    assert r.status_code == 302


def test_bad_status_filter_is_400(alert):
    r = login("a_admin").get("/insight/alerts/", {"status": "closed"})
    assert r.status_code == 400 and 'data-field="status"' in r.content.decode()


def test_terms_surging_in_the_same_comments_are_one_alert(world, today):
    """空调 and 闷 rise together in the same comments: one alert led by the more frequent, the other listed with it;
    a term rising in other comments the same week is an alert of its own."""
    w = surge.Windows(today)
    rows = [(w.base_start + timedelta(days=7 * k + 2), "大厅空调坏了") for k in range(surge.BASELINE_WEEKS)]
    rows += [(today - timedelta(days=1 + i % 6), "空调坏了，闷得受不了" if i % 3 else "空调不开") for i in range(15)]
    rows += [(today - timedelta(days=1 + i % 6), "停车位根本找不到") for i in range(10)]
    rate_many(world.a, rows)
    text.reset()
    index_new()
    assert surge.raise_alerts(today) == 2
    alerts = {a.subject: a for a in SurgeAlert.objects.all()}
    assert set(alerts) == {"空调", "停车位"}
    related = {r["term"] for r in alerts["空调"].evidence["related_terms"]}
    assert "闷得" in related or "闷" in related or "受不了" in related
    assert not alerts["停车位"].evidence["related_terms"] or all(
        r["term"] not in ("空调", "坏") for r in alerts["停车位"].evidence["related_terms"]
    )
