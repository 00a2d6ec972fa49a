"""The comment index: incremental, exactly once, masked, with term counts kept exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.insight import text
from haochaping.insight.index import catch_up, index_new
from haochaping.insight.models import CommentDoc, IndexCursor, Source, TermMonth
from haochaping.ratings.codes import Channel
from haochaping.ratings.services import submit_ratings

GRADES = {1: "very_dissatisfied", 2: "dissatisfied", 3: "neutral", 4: "satisfied", 5: "very_satisfied"}


@pytest.fixture(autouse=True)
def _fresh_pipeline():
    text.reset()
    yield
    text.reset()


def rate(county, grade: int, comment: str, when: datetime | None = None) -> None:
    when = when or timezone.now() - timedelta(hours=1)
    item = {
        "window": {"hall": county.hall.code, "code": county.window.code},
        "grade": GRADES[grade],
        "channel": "hall_tablet",
        "rated_at": when.isoformat(),
        "comment": comment,
    }
    [result] = submit_ratings([item], scope=ALL_SCOPE, client="test")
    assert result.ok, result.errors


def counts() -> dict[tuple[str, bool], int]:
    return {(t.term, t.is_bad): t.docs for t in TermMonth.objects.all()}


def test_ratings_and_complaints_are_indexed_once_and_incrementally(world):
    rate(world.a, 1, "叫号机坏了，排队两个小时")
    rate(world.a, 5, "工作人员很耐心")
    rate(world.a, 4, "")  # no comment: not indexed
    complaint_open(
        ComplaintIn(content="叫号机一直坏着没人修", contact_phone="13900001111", channel=Channel.PHONE,
                    unit_id=world.a.dept.pk),
        scope=ALL_SCOPE,
    )  # fmt: skip
    assert index_new() == {Source.RATING: 2, Source.COMPLAINT: 1}
    assert index_new() == {Source.RATING: 0, Source.COMPLAINT: 0}
    assert counts()[("叫号机", True)] == 2
    assert counts()[("耐心", False)] == 1

    rate(world.a, 2, "叫号机还是坏的")
    assert index_new()[Source.RATING] == 1  # only the new one
    assert counts()[("叫号机", True)] == 3
    assert (
        IndexCursor.objects.get(source=Source.RATING).last_id
        == CommentDoc.objects.filter(source=Source.RATING)
        .order_by("-source_id")
        .values_list("source_id", flat=True)
        .first()
    )
    complaint = CommentDoc.objects.get(source=Source.COMPLAINT)
    assert complaint.is_bad and complaint.grade is None and complaint.unit_id == world.a.dept.pk


def test_catch_up_indexes_rows_the_cursor_passed_without_double_counting(world):
    rate(world.a, 1, "停车位太少")
    rate(world.a, 1, "停车位根本没有")
    index_new()
    # A row that committed after the cursor passed its id: simulate by removing its document.
    late = CommentDoc.objects.order_by("source_id").first()
    late.delete()
    TermMonth.objects.filter(term="停车位").update(docs=1)
    assert catch_up(days=2) == {Source.RATING: 1, Source.COMPLAINT: 0}
    assert catch_up(days=2) == {Source.RATING: 0, Source.COMPLAINT: 0}
    assert counts()[("停车位", True)] == 2


def test_personal_data_never_reaches_the_analysis_tables(world):
    rate(world.a, 1, "王小明态度恶劣，我叫张大山，电话13812345678，身份证330106199001011234")
    index_new()
    doc = CommentDoc.objects.get()
    for secret in ("王小明", "张大山", "13812345678", "330106199001011234"):
        assert secret not in doc.text and secret not in doc.tokens
        assert not TermMonth.objects.filter(term__contains=secret).exists()
    assert "[姓名]" in doc.text and "[手机号]" in doc.text and "[证件号]" in doc.text


def test_local_day_and_month(world):
    # 2026-10-31 23:30 in Shanghai is 15:30 UTC: the comment belongs to October.
    when = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)
    rate(world.a, 2, "系统老是闪退", when)
    index_new()
    doc = CommentDoc.objects.get()
    assert doc.day.isoformat() == "2026-10-31"
    assert TermMonth.objects.filter(term="闪退", month="2026-10-01").exists()


def test_index_command(world, capsys):
    rate(world.a, 1, "材料要求反复变")
    call_command("insight", "index", "--catch-up", "1")
    assert "indexed: ratings 1, complaints 0" in capsys.readouterr().out
