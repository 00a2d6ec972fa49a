"""ratings_rating partitioned by month on PostgreSQL: layout, global uniqueness through ratings_ratingkey,
concurrent writers, DEFAULT and `haochaping partitions` (docs/partitioning.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from haochaping.accounts.apikeys import authenticate
from haochaping.ratings import intake, partitioning
from haochaping.ratings.models import Rating, RatingKey
from haochaping.ratings.rowwriter import RowWriter
from tests.test_intake_writes import _in_threads, register, submit, window

pg = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitioning applies to PostgreSQL only")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def partition_of(public_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM ratings_rating WHERE public_id = %s", [public_id])
        return cursor.fetchone()[0]


def this_month_at(day: int, hour: int = 10) -> datetime:
    now = timezone.localtime()
    return datetime(now.year, now.month, day, hour, tzinfo=SHANGHAI)


def rows_for(world, items: list[dict], *, client: str | None = None) -> list[dict]:
    """Rows built as intake builds them, before anyone else writes (a writer about to lose a race)."""
    key, scope = authenticate(world.key_a)
    parsed = [intake.parse_item(i) for i in items]
    refs = intake.References(parsed, scope)
    now = timezone.now()
    return [intake.build_row(p, refs, client=client or f"key:{key.prefix}", now=now) for p in parsed]


@pg
def test_the_table_is_partitioned_by_month_after_migrating(db):
    assert partitioning.is_partitioned(cached=False)
    names = {p.name for p in partitioning.partitions()}
    month = partitioning.current_month()
    assert partitioning.partition_name(month) in names and partitioning.DEFAULT_PARTITION in names
    assert len(names) >= 14  # this month, the next 12, DEFAULT


@pg
def test_a_rating_lands_in_its_months_partition_by_local_time(world):
    # 00:30 on the 1st in Beijing is still the previous month in UTC: the partition is the local month's.
    first = this_month_at(1, 0).replace(minute=30)
    [r] = submit(world, [window(world, rated_at=first.isoformat())])
    assert r.status == 201
    assert partition_of(r.rating_id) == partitioning.partition_name(partitioning.current_month())
    assert RatingKey.objects.filter(public_id=r.rating_id, pending=False).exists()


@pg
def test_one_rating_per_case_stage_holds_across_months(world):
    register(world, "PT-1")
    earlier = (this_month_at(1) - timedelta(days=40)).isoformat()
    # The second writer built its row before the first stored theirs; its row falls in another month.
    [late] = rows_for(world, [{"case_no": "PT-1", "grade": "basic", "channel": "qr", "rated_at": earlier}])
    [first] = submit(world, [{"case_no": "PT-1", "grade": "satisfied", "channel": "qr"}])
    assert first.status == 201
    assert intake._insert([late]) == set()
    # Through the API's checks as well: the stage is taken, whatever the month.
    [again] = submit(world, [{"case_no": "PT-1", "grade": "basic", "channel": "qr", "rated_at": earlier}])
    assert again.status == 409
    assert Rating.objects.filter(service_case__case_no="PT-1").count() == 1


@pg
def test_an_idempotency_key_holds_across_months(world):
    earlier = (this_month_at(1) - timedelta(days=70)).isoformat()
    [late] = rows_for(world, [window(world, idempotency_key="pt-k", rated_at=earlier)])
    [first] = submit(world, [window(world, idempotency_key="pt-k")])
    assert intake._insert([late]) == set()
    [retry] = submit(world, [window(world, idempotency_key="pt-k", rated_at=earlier)])
    assert (retry.status, retry.rating_id) == (200, first.rating_id)
    assert Rating.objects.count() == 1


@pg
def test_a_batch_keeps_the_rows_that_did_not_conflict(world):
    register(world, "PT-2")
    rows = rows_for(world, [{"case_no": "PT-2", "grade": "basic", "channel": "qr"}, window(world)])
    submit(world, [{"case_no": "PT-2", "grade": "satisfied", "channel": "qr"}])
    with transaction.atomic():
        assert intake._insert(rows) == {rows[1]["public_id"]}
    assert not RatingKey.objects.filter(pending=True).exists()
    # RowWriter's skip_conflicts claims the same way: nothing of these is new any more.
    with transaction.atomic():
        assert RowWriter(Rating).insert(rows, skip_conflicts=True) == 0


@pg
def test_a_duplicate_public_id_is_refused_even_in_another_month(world):
    [r] = submit(world, [window(world)])
    stored = Rating.objects.get(public_id=r.rating_id)
    stored.pk = None
    stored.rated_at = stored.rated_at - timedelta(days=95)
    with pytest.raises(IntegrityError), transaction.atomic():
        stored.save(force_insert=True)
    assert Rating.objects.count() == 1


@pg
def test_a_claim_is_consumed_once(world):
    # A rating inserted under a claim; a second insert of its public_id in the same transaction is refused.
    [row] = rows_for(world, [window(world)])
    with transaction.atomic():
        assert intake._write([row]) is None
        copy = {**row, "rated_at": row["rated_at"] - timedelta(days=40)}
        with pytest.raises(IntegrityError), transaction.atomic():
            RowWriter(Rating).insert([copy])


@pg
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_item_store_it_once(world):
    register(world, "PT-3")
    answers: list[int] = []

    def write(i: int) -> None:
        items = [{"case_no": "PT-3", "grade": "basic", "channel": "qr"}, window(world, idempotency_key="pt-same")]
        items += [window(world, idempotency_key=f"pt-{i}-{n}") for n in range(5)]
        answers.extend(r.status for r in submit(world, items)[:2])

    _in_threads(write, 6)
    assert Rating.objects.filter(service_case__case_no="PT-3").count() == 1
    assert Rating.objects.filter(idempotency_key="pt-same").count() == 1
    assert Rating.objects.count() == 2 + 6 * 5
    assert RatingKey.objects.count() == Rating.objects.count()
    assert sorted(answers).count(201) == 2
    # A lone row outside any transaction goes in one statement; the guard's unique_violation means "lost".
    [late] = rows_for(world, [{"case_no": "PT-3", "grade": "basic", "channel": "qr"}])
    assert not connection.in_atomic_block
    assert intake._insert([late]) == set()
    [fresh] = rows_for(world, [window(world)])
    assert intake._insert([fresh]) is None
    assert RatingKey.objects.count() == Rating.objects.count() == 2 + 6 * 5 + 1


@pg
def test_a_rating_outside_the_partitions_goes_to_default_and_ensure_moves_it(world):
    far = datetime(2019, 3, 15, 9, tzinfo=SHANGHAI)
    [r] = submit(world, [window(world, rated_at=far.isoformat(), idempotency_key="pt-far")])
    assert partition_of(r.rating_id) == partitioning.DEFAULT_PARTITION
    assert partitioning.default_months() == [far.date().replace(day=1)]
    report = partitioning.ensure_partitions(12, months=partitioning.default_months())
    assert report.created == report.moved_from_default == ["ratings_rating_p2019_03"]
    assert partition_of(r.rating_id) == "ratings_rating_p2019_03"
    # The keys stayed: a retry is still answered from the stored rating, and ensure is idempotent.
    [again] = submit(world, [window(world, rated_at=far.isoformat(), idempotency_key="pt-far")])
    assert (again.status, again.rating_id) == (200, r.rating_id)
    assert partitioning.ensure_partitions(12).created == []


@pg
def test_the_status_command_lists_the_partitions(world):
    submit(world, [window(world)])
    out = StringIO()
    call_command("partitions", "status", "--exact", stdout=out)
    text = out.getvalue()
    assert partitioning.partition_name(partitioning.current_month()) in text
    assert "ratings_rating_default" in text and "DEFAULT" in text
    [row] = [
        line.split()
        for line in text.splitlines()
        if line.startswith(partitioning.partition_name(partitioning.current_month()))
    ]
    assert "1" in row  # one rating, counted exactly
    out = StringIO()
    call_command("partitions", "ensure", "--months-ahead", "14", stdout=out)
    assert "新建分区 2 个" in out.getvalue()


@pytest.mark.skipif("connection.vendor == 'postgresql'", reason="SQLite's answer")
def test_on_sqlite_the_command_says_postgresql_only(db):
    out = StringIO()
    call_command("partitions", "status", stdout=out)
    assert "PostgreSQL" in out.getvalue()
    assert partitioning.ensure_partitions(12).created == []
    assert not partitioning.is_partitioned()


def test_aggregates_over_cases_with_their_ratings_still_group(world):
    """The partitioned key is (id, rated_at): Django must group by every rating column, not by id alone
    (partitioning.group_by_all_rating_columns), or PostgreSQL refuses the query."""
    from django.db.models import Count

    from haochaping.cases.models import Case

    submit(world, [{**window(world), "grade": "very_dissatisfied"}])
    rows = list(Case.objects.annotate(n_appeals=Count("appeals")).select_related("rating"))
    assert [(c.n_appeals, c.rating.grade) for c in rows] == [(0, 1)]
