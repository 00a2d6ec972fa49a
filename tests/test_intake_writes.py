"""How intake writes: idempotent retries, lost races, group commit under concurrent writers, RowWriter."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from haochaping.accounts.apikeys import authenticate
from haochaping.ratings import intake
from haochaping.ratings.models import Rating
from haochaping.ratings.rowwriter import RowWriter
from tests.conftest import api_client, post_json


def register(world, case_no: str) -> None:
    body = {"case_no": case_no, "item_code": world.a.item.implementation_code, "hall_code": world.a.hall.code}
    assert post_json(api_client(world.key_a), "/api/v1/cases", body).status_code == 201


def window(world, **extra) -> dict:
    return {
        "window": {"hall": world.a.hall.code, "code": "01"},
        "grade": "satisfied",
        "channel": "hall_tablet",
        **extra,
    }


def submit(world, items: list[dict]) -> list[intake.ItemResult]:
    key, scope = authenticate(world.key_a)
    return intake.submit_ratings(items, scope=scope, client=f"key:{key.prefix}")


def test_it_answers_a_resent_batch_from_the_stored_ratings(world):
    register(world, "BJ-W-1")
    items = [
        {"case_no": "BJ-W-1", "grade": "basic", "channel": "qr", "idempotency_key": "r-1"},
        window(world, idempotency_key="r-2"),
        window(world, grade="very_satisfied", idempotency_key="r-3"),
    ]
    first = submit(world, items)
    again = submit(world, items)
    assert [r.status for r in first] == [201, 201, 201]
    assert [r.status for r in again] == [200, 200, 200]
    assert [r.rating_id for r in again] == [r.rating_id for r in first]
    assert again[0].stage == "accept" and again[2].grade == 5
    assert Rating.objects.count() == 3


def test_it_refuses_a_key_already_used_for_another_rating(world):
    register(world, "BJ-W-2")
    register(world, "BJ-W-3")
    assert submit(world, [{"case_no": "BJ-W-2", "grade": "basic", "channel": "qr", "idempotency_key": "k"}])[0].ok
    [r] = submit(world, [{"case_no": "BJ-W-3", "grade": "basic", "channel": "qr", "idempotency_key": "k"}])
    assert r.status == 409 and r.errors[0]["field"] == "idempotency_key"
    [w] = submit(world, [window(world, idempotency_key="k")])
    assert w.status == 409 and w.errors[0]["field"] == "idempotency_key"


def test_a_stored_key_answers_before_the_items_own_errors(world):
    register(world, "BJ-W-4")
    [first] = submit(world, [{"case_no": "BJ-W-4", "grade": "satisfied", "channel": "qr", "idempotency_key": "e-1"}])
    # The retry now meets a taken slot; as a retry it is answered from the stored rating all the same.
    [again] = submit(world, [{"case_no": "BJ-W-4", "grade": "satisfied", "channel": "qr", "idempotency_key": "e-1"}])
    assert (again.status, again.rating_id) == (200, first.rating_id)
    # Without the key the same item is a second rating of the stage.
    [plain] = submit(world, [{"case_no": "BJ-W-4", "grade": "satisfied", "channel": "qr"}])
    assert plain.status == 409 and "已有评价" in plain.message


def test_it_answers_an_item_that_lost_a_race_as_if_it_came_second(world):
    register(world, "BJ-W-5")
    key, scope = authenticate(world.key_a)
    client = f"key:{key.prefix}"
    mine = intake.parse_item({"case_no": "BJ-W-5", "grade": "basic", "channel": "qr"})
    keyed = intake.parse_item(window(world, idempotency_key="race-1"))
    refs = intake.References([mine, keyed], scope)  # looked up before the other writer commits
    now = timezone.now()
    rows = [intake.build_row(mine, refs, client=client, now=now), intake.build_row(keyed, refs, client=client, now=now)]
    # The other writer: the same 办件 stage, and the same idempotency key.
    [theirs, theirs_keyed] = submit(
        world,
        [{"case_no": "BJ-W-5", "grade": "very_satisfied", "channel": "qr"}, window(world, idempotency_key="race-1")],
    )
    assert intake._insert(rows) == set()
    results: list = [None, None]
    intake._answer_late([], [(0, mine, rows[0]), (1, keyed, rows[1])], results, client=client)
    assert results[0].status == 409 and "已有评价" in results[0].message
    assert (results[1].status, results[1].rating_id) == (200, theirs_keyed.rating_id)
    assert Rating.objects.count() == 2


def _in_threads(target, count: int) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_each_get_their_own_answer(world):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database locks whole tables between threads")
    register(world, "BJ-W-6")
    answers: dict[int, list] = {}

    def write(i: int) -> None:
        items = [window(world, idempotency_key=f"t{i}-{n}") for n in range(10)]
        if i % 2:
            items.append({"case_no": "BJ-W-6", "grade": "basic", "channel": "qr"})  # all race for one slot
        answers[i] = [r.status for r in submit(world, items)]

    _in_threads(write, 8)
    walk_in = [s for i in answers for s in answers[i][:10]]
    slot = [answers[i][10] for i in answers if i % 2]
    assert walk_in == [201] * 80
    assert sorted(slot) == [201, 409, 409, 409]
    assert Rating.objects.count() == 81


def test_group_commit_writes_queued_jobs_together_and_answers_each():
    writers = 6
    groups: list[int] = []
    commit = intake._SQLiteGroupCommit(lambda rows: fake_write(rows))

    def fake_write(rows: list[dict]):
        if not groups:  # the first writer waits until the others have queued behind it
            for _ in range(500):
                if len(commit._queue) == writers - 1:
                    break
                time.sleep(0.01)
        groups.append(len(rows))
        if any(r.get("bad") for r in rows):
            raise RuntimeError("refused")
        lost = {r["public_id"] for r in rows if r.get("lost")}
        return {r["public_id"] for r in rows} - lost if lost else None

    jobs = {i: [{"public_id": f"{i}-{n}"} for n in range(3)] for i in range(writers)}
    jobs[3][1]["lost"] = True
    jobs[4][0]["bad"] = True
    outcomes: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            outcomes[i] = commit.write(jobs[i])
        except RuntimeError as exc:
            outcomes[i] = exc

    first = threading.Thread(target=run, args=(0,))
    first.start()
    time.sleep(0.05)
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, writers)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert groups[0] == 3 and groups[1] == 15  # the first alone, then the five queued behind it in one go
    assert outcomes[3] == {"3-0", "3-2"}
    assert isinstance(outcomes[4], RuntimeError)
    assert [outcomes[i] for i in (0, 1, 2, 5)] == [None] * 4
    assert not commit._queue


def test_rowwriter_skips_conflicting_rows_and_counts_the_written(world):
    register(world, "BJ-W-7")
    key, scope = authenticate(world.key_a)
    items = [
        intake.parse_item({"case_no": "BJ-W-7", "grade": "basic", "channel": "qr", "tags": ["OS05"]}),
        intake.parse_item(window(world, comment='引号"、反斜杠\\ 和 {花括号}', answers={"guidance_clear": "yes"})),
        intake.parse_item(window(world, rater_phone="13912345678", anonymous=False)),
    ]
    refs = intake.References(items, scope)
    now = timezone.now()
    rows = [intake.build_row(i, refs, client="test", now=now) for i in items]
    writer = RowWriter(Rating)
    assert writer.insert(rows, skip_conflicts=True) == 3
    assert writer.insert(rows, skip_conflicts=True) == 0
    stored = {str(r.public_id): r for r in Rating.objects.all()}
    first, second, third = (stored[str(row["public_id"])] for row in rows)
    assert first.tags == ["OS05"] and first.stage == "accept" and first.rated_at == now
    assert second.comment == '引号"、反斜杠\\ 和 {花括号}' and second.answers == {"guidance_clear": "yes"}
    assert second.service_case_id is None and second.tag_set_id is not None
    assert third.rater_phone_masked == "139****5678"
