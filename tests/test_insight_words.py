"""Hot words and the word cloud: weighting against the installation, the comments of a word (masked, in scope),
the PNG, bad parameters and access."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.analytics import dashboard as dash
from haochaping.cases import workdays
from haochaping.insight import cloud, text, words
from haochaping.insight.index import index_new
from haochaping.ratings.intake import submit_ratings

GRADES = {1: "very_dissatisfied", 2: "dissatisfied", 3: "basic", 4: "satisfied", 5: "very_satisfied"}
PHONE, NAME = "13812345678", "李建国"


def rate(county, grade: int, comment: str, when: datetime) -> None:
    item = {
        "window": {"hall": county.hall.code, "code": county.window.code},
        "grade": GRADES[grade],
        "channel": "hall_tablet",
        "rated_at": when.isoformat(),
        "comment": comment,
    }
    [result] = submit_ratings([item], scope=ALL_SCOPE, client="t")
    assert result.ok, result.errors


def yesterday(minute: int) -> datetime:
    day = workdays.today() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(9))) + timedelta(minutes=minute)


@pytest.fixture
def comments(world):
    """County a: 排队 (distinctive) in 8 bad comments, 窗口 (common everywhere) in all of them; county b: 窗口 only."""
    n = 0
    for _ in range(7):
        rate(world.a, 1, "窗口排队时间太长", yesterday(n := n + 1))
    rate(world.a, 2, f"窗口排队太久了，我叫{NAME}，电话{PHONE}，王小明态度不好", yesterday(n := n + 1))
    for _ in range(4):
        rate(world.a, 2, "窗口态度不好", yesterday(n := n + 1))
    for _ in range(10):
        rate(world.b, 1, "窗口态度不好", yesterday(n := n + 1))
        rate(world.b, 5, "窗口服务很方便", yesterday(n := n + 1))
    text.reset()
    index_new()
    return world


def login(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


def county_focus(world, county) -> dash.Focus:
    return dash.Focus("region", region=county.region, label=county.region.name)


def recent_period() -> dash.Period:
    today = workdays.today()
    return dash.Period(today - timedelta(days=9), today)


# --- selectors ----------------------------------------------------------------------------------------------


def test_distinctive_word_ranks_above_common_one(comments):
    hot = words.hot_words(county_focus(comments, comments.a), recent_period(), band="bad")
    terms = [w.term for w in hot]
    assert "排队" in terms
    assert "窗口" not in terms or terms.index("排队") < terms.index("窗口")
    paidui = hot[terms.index("排队")]
    assert paidui.docs == 8 and paidui.share == pytest.approx(8 / 12) and paidui.score > 0


def test_whole_month_counts_match_the_index(comments):
    """A whole-month period counts from TermMonth, a partial one from CommentDoc: the same counts."""
    day = workdays.today() - timedelta(days=1)
    month = dash.quick_period("this_month", day)
    focus = county_focus(comments, comments.a)
    by_month = {w.term: w.docs for w in words.hot_words(focus, month)}
    by_days = {w.term: w.docs for w in words.hot_words(focus, dash.Period(day, day))}
    assert by_month["排队"] == by_days["排队"] == 8


def test_split_period():
    from datetime import date

    partial, months = words.split_period(date(2026, 1, 15), date(2026, 4, 10))
    assert partial == [(date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 4, 1), date(2026, 4, 10))]
    assert months == (date(2026, 2, 1), date(2026, 3, 1))
    assert words.split_period(date(2026, 1, 3), date(2026, 1, 20)) == ([(date(2026, 1, 3), date(2026, 1, 20))], None)
    assert words.split_period(date(2026, 1, 1), date(2026, 2, 28)) == ([], (date(2026, 1, 1), date(2026, 2, 1)))


def test_staff_focus_is_refused(comments):
    focus = dash.Focus("staff", staff=comments.a.clerk, label="x")
    with pytest.raises(dash.DashboardError) as e:
        words.hot_words(focus, recent_period())
    assert e.value.field == "staff"


def test_comments_for_term_in_focus_newest_first(comments):
    docs = list(words.comments_for_term(county_focus(comments, comments.a), recent_period(), "排队"))
    assert len(docs) == 8 and all(d.region_id == comments.a.region.pk for d in docs)
    assert [d.id for d in docs] == sorted((d.id for d in docs), reverse=True)
    assert not list(words.comments_for_term(county_focus(comments, comments.b), recent_period(), "排队"))


# --- pages ----------------------------------------------------------------------------------------------------


def test_index_page_lists_hot_words_and_links(comments):
    r = login("a_admin").get("/insight/", {"period": "last_12"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "排队" in page and "/insight/words/comments/?" in page and "/insight/problems/" in page
    assert "/insight/drivers/" in page and "/insight/routing/" in page and "words.js" in page
    assert PHONE not in page and NAME not in page


def test_comments_page_is_masked_and_in_scope(comments):
    r = login("a_admin").get("/insight/words/comments/", {"term": "排队", "period": "last_12"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "窗口排队时间太长" in page and "[手机号]" in page and "[姓名]" in page
    for secret in (PHONE, NAME, "王小明"):
        assert secret not in page
    r = login("b_admin").get("/insight/words/comments/", {"term": "排队", "period": "last_12"})
    assert r.status_code == 200 and "窗口排队" not in r.content.decode()
    r = login("city_admin").get("/insight/words/comments/", {"term": "排队", "region": comments.b.region.pk})
    assert r.status_code == 200 and "窗口排队" not in r.content.decode()


def test_words_json_has_no_personal_data(comments):
    r = login("root").get("/insight/words/data.json", {"period": "last_12", "band": "all"})
    assert r.status_code == 200
    data = r.json()
    assert any(w["term"] == "排队" for w in data["words"]) and data["band"] == "all"
    body = r.content.decode()
    for secret in (PHONE, NAME, "王小明", "李建", "1381234"):
        assert secret not in body
    for w in words.hot_words(dash.Focus("region"), recent_period(), band="all", min_docs=1):
        assert PHONE not in w.term and NAME not in w.term and "王小明" not in w.term


def test_cloud_png_renders_chinese(comments):
    if cloud.cjk_font_path() is None:
        pytest.skip("no CJK font on this machine")
    c = login("a_admin")
    r = c.get("/insight/words/cloud.png", {"period": "last_12"})
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    from PIL import Image

    image = Image.open(io.BytesIO(r.content)).convert("L")
    assert image.size == (cloud.WIDTH, cloud.HEIGHT)
    assert image.getextrema()[0] < 128  # something dark drawn on the white background
    again = c.get("/insight/words/cloud.png", {"period": "last_12"})
    assert again.content == r.content  # deterministic, and from the cache


def test_cloud_without_font_says_so(comments, monkeypatch):
    monkeypatch.setattr(cloud, "cjk_font_path", lambda: None)
    c = login("a_admin")
    assert c.get("/insight/words/cloud.png").status_code == 404
    page = c.get("/insight/").content.decode()
    assert "服务器未安装中文字体" in page and "cloud.png" not in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        ({"start": "2026-02-01"}, "end"),
        ({"period": "forever"}, "period"),
        ({"band": "worst"}, "band"),
        ({"region": "abc"}, "region"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(comments, params, field):
    c = login("a_admin")
    r = c.get("/insight/words/data.json", params)
    assert r.status_code == 400 and r.json()["field"] == field and r.json()["error"]
    r = c.get("/insight/", params)
    assert r.status_code == 400 and f'data-field="{field}"' in r.content.decode()


def test_comments_need_a_term(comments):
    r = login("a_admin").get("/insight/words/comments/", {"term": ""})
    assert r.status_code == 400 and 'data-field="term"' in r.content.decode()


def test_staff_focus_is_400(comments):
    r = login("a_admin").get("/insight/words/data.json", {"staff": comments.a.clerk.pk})
    assert r.status_code == 400 and r.json()["field"] == "staff"


def test_out_of_scope_focus_is_404(comments):
    c = login("a_admin")
    assert c.get("/insight/", {"region": comments.b.region.pk}).status_code == 404
    assert c.get("/insight/words/data.json", {"unit": comments.b.dept.pk}).status_code == 404
    assert c.get("/insight/words/comments/", {"term": "窗口", "unit": comments.b.dept.pk}).status_code == 404


@pytest.mark.parametrize("username", ["nobody", "a_handler", "a_clerk"])
def test_non_supervisors_are_refused(comments, username):
    c = login(username)
    for url in ("/insight/", "/insight/words/cloud.png", "/insight/words/comments/?term=排队", "/insight/alerts/"):
        assert c.get(url).status_code == 403, url
    assert c.get("/insight/words/data.json").status_code == 403


def test_anonymous_is_sent_to_login(comments):
    r = Client().get("/insight/")
    assert r.status_code == 302


@pytest.mark.parametrize("username", ["a_dept_admin", "a_inspector", "a_auditor", "city_admin"])
def test_supervisors_may_read(comments, username):
    c = login(username)
    assert c.get("/insight/").status_code == 200
    assert c.get("/insight/words/data.json").status_code == 200
    assert c.get("/insight/words/comments/", {"term": "排队"}).status_code == 200
    assert c.get("/insight/alerts/").status_code == 200


def test_department_admin_sees_only_their_units(comments):
    data = login("a_dept_admin").get("/insight/words/data.json").json()
    assert data["focus"]["kind"] == "unit" and any(w["term"] == "排队" for w in data["words"])
