"""The exchange inside one installation: the outbox, the push (fake transports), the receiving endpoint.

The whole chain across installations (three databases, three servers) is tests/test_exchange_chain.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.analytics.models import UnitDay
from haochaping.cases.models import Case
from haochaping.exchange import payload, push, services
from haochaping.exchange.models import CaseOutcome, Delivery, OutboxEntry, ReceivedBatch, Subordinate, UpstreamState
from haochaping.ratings import services as rating_services
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating
from tests.conftest import api_client, post_json

pytestmark = pytest.mark.django_db

UP = {"HAOCHAPING_UPSTREAM_URL": "http://superior.example", "HAOCHAPING_UPSTREAM_KEY": "hcp_test"}
BATCH_URL = "/api/v1/exchange/batches"


def _rate(world, grades=("very_satisfied", "dissatisfied", "satisfied")) -> list:
    key = ApiKey.objects.get(name="上城区审批系统")
    items = [
        {"grade": g, "channel": "qr", "window": {"hall": world.a.hall.code, "code": world.a.window.code}}
        for g in grades
    ]
    results = submit_ratings(items, scope=scope_for_api_key(key), client=f"key:{key.prefix}")
    assert all(r.status == 201 for r in results), [r.errors for r in results]
    return results


class FakeSuperior:
    """Answers like a superior platform: every record accepted (or as told), and keeps what it got."""

    def __init__(self, status: int = 200, answer: str = "accepted", fail: Exception | None = None):
        self.status, self.answer, self.fail = status, answer, fail
        self.bodies: list[dict] = []

    def __call__(self, url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        assert url == "http://superior.example/api/v1/exchange/batches"
        assert headers["Authorization"] == "Bearer hcp_test"
        if self.fail:
            raise self.fail
        data = json.loads(body)
        self.bodies.append(data)
        results = [{"index": i, "status": self.answer} for i in range(len(data["records"]))]
        if self.answer == "rejected":
            results = [{**r, "errors": [{"field": "areaCode", "message": "不在所辖区划"}]} for r in results]
        return self.status, json.dumps({"results": results}).encode()


# --- the outbox -------------------------------------------------------------------------------------------


def test_nothing_is_queued_without_a_superior(world):
    _rate(world)
    assert OutboxEntry.objects.count() == 0


@override_settings(**UP)
def test_ratings_cases_and_adoption_are_queued_in_their_transaction(world):
    _rate(world)
    kinds = sorted(OutboxEntry.objects.values_list("kind", flat=True))
    # three ratings, and the case the 差评 opened
    assert kinds == ["case", "rating", "rating", "rating"]
    bad = Rating.objects.get(grade=2)
    rating_services.rating_set_adoption(bad.id, "not_adopted")
    assert OutboxEntry.objects.filter(kind="adoption", ref=str(bad.id)).exists()


@override_settings(**UP)
def test_a_rolled_back_rating_is_not_queued(world):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        _rate(world)
        raise RuntimeError
    assert OutboxEntry.objects.count() == 0


@override_settings(**UP)
def test_payload_of_a_rating_is_the_provincial_record_with_the_extensions(world):
    _rate(world, ["dissatisfied"])
    rating = Rating.objects.get()
    record = payload.rating_records([str(rating.public_id)])[str(rating.public_id)]
    assert record["type"] == "rating" and record["ratingId"] == str(rating.public_id)
    assert record["alternate"] == 2 and record["areaCode"] == world.a.region.code
    assert record["deptCode"] == world.a.dept.uscc and record["origin"] == "haochaping"
    assert record["userName"] == "" and record["userCert"] == ""  # the rater's identity stays home
    assert record["ratedAt"].startswith(rating.rated_at.isoformat()[:19])


# --- the push ---------------------------------------------------------------------------------------------


@override_settings(**UP)
def test_push_delivers_and_empties_the_outbox(world):
    _rate(world)
    superior = FakeSuperior()
    results = push.push_pending(transport=superior)
    assert [r.status for r in results] == ["ok"]
    assert OutboxEntry.objects.count() == 0
    records = superior.bodies[0]["records"]
    assert sorted(r["type"] for r in records) == ["case", "rating", "rating", "rating"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.records, delivery.accepted) == ("ok", 4, 4)
    assert UpstreamState.objects.get().last_success_at is not None


@override_settings(**UP, HAOCHAPING_UPSTREAM_BATCH=2)
def test_push_goes_in_batches_in_order(world):
    _rate(world, ["satisfied"] * 5)
    superior = FakeSuperior()
    results = push.push_pending(transport=superior)
    assert [r.records for r in results] == [2, 2, 1]
    sent = [r["ratingId"] for body in superior.bodies for r in body["records"]]
    assert sent == [str(p) for p in Rating.objects.order_by("id").values_list("public_id", flat=True)]


@override_settings(**UP)
def test_a_failed_push_keeps_everything_and_backs_off(world):
    _rate(world)
    down = FakeSuperior(fail=ConnectionRefusedError("connection refused"))
    result = push.push_batch(down)
    assert result.status == "failed" and "connection refused" in result.error
    assert OutboxEntry.objects.count() == 4
    state = UpstreamState.objects.get()
    assert state.failures == 1 and state.next_attempt_at > timezone.now()
    # while backing off, the worker does not try; the operator's push does
    assert push.push_batch(FakeSuperior()).status == "waiting"
    assert push.push_batch(FakeSuperior(), force=True).status == "ok"
    assert UpstreamState.objects.get().failures == 0


@override_settings(**UP)
def test_server_errors_count_as_failures(world):
    _rate(world)
    assert push.push_batch(FakeSuperior(status=503)).status == "failed"
    assert OutboxEntry.objects.count() == 4
    assert Delivery.objects.get().http_status == 503


def test_backoff_doubles_up_to_the_cap(settings):
    settings.HAOCHAPING_UPSTREAM_BACKOFF_MAX = 60
    assert 4 <= push.backoff_seconds(1) <= 6
    assert 8 <= push.backoff_seconds(2) <= 12
    assert push.backoff_seconds(30) <= 72


@override_settings(**UP)
def test_records_the_superior_refuses_stay_for_the_operator(world):
    _rate(world)
    result = push.push_batch(FakeSuperior(answer="rejected"))
    assert result.status == "partial" and result.rejected == 4
    assert OutboxEntry.objects.filter(failed_at__isnull=False).count() == 4
    assert "areaCode" in OutboxEntry.objects.first().error
    assert push.push_batch(FakeSuperior()).status == "empty"  # refused entries are not resent by themselves
    assert push.retry_failed() == 4
    assert push.push_batch(FakeSuperior()).status == "ok"


@override_settings(**UP)
def test_duplicates_answered_by_the_superior_leave_the_outbox(world):
    _rate(world)
    assert push.push_batch(FakeSuperior(answer="duplicate")).duplicates == 4
    assert OutboxEntry.objects.count() == 0


@override_settings(**UP)
def test_backfill_queues_the_past_once(world):
    with override_settings(HAOCHAPING_UPSTREAM_URL=""):
        _rate(world)
    assert OutboxEntry.objects.count() == 0
    queued = services.backfill()
    assert queued == {"rating": 3, "adoption": 0, "case": 1}
    assert services.backfill()["rating"] == 0


@override_settings(**UP)
def test_exchange_command_status_and_push(world, capsys, monkeypatch):
    _rate(world)
    call_command("exchange", "status")
    out = capsys.readouterr().out
    assert "待上报 / pending: 4" in out
    monkeypatch.setattr(push, "http_transport", FakeSuperior())
    call_command("exchange", "push")
    assert "接收 4" in capsys.readouterr().out


# --- the receiving side -----------------------------------------------------------------------------------


@pytest.fixture
def county_a(world):
    """上城区's installation registered here (the city's) as a subordinate platform."""
    subordinate, secret = services.subordinate_register(
        code="sc-county", name="上城区好差评平台", region=world.a.region
    )
    return subordinate, api_client(secret)


def rating_record(world, **extra) -> dict:
    record = {
        "type": "rating",
        "origin": "sc-county",
        "ratingId": str(uuid.uuid4()),
        "projectNo": "",
        "areaCode": world.a.region.code,
        "deptCode": "11330102MB0000005Y",
        "deptName": "上城区住房和城乡建设局",
        "taskCode": "000201001000",
        "taskHandleItem": "11330102MB0000005Y000201001000",
        "taskName": "房屋交易登记",
        "taskType": "07",
        "serviceObjects": "1",
        "alternate": 5,
        "assessNumber": 1,
        "pf": 3,
        "channel": "qr",
        "target": "unit",
        "ratedAt": (timezone.now() - timedelta(hours=1)).isoformat(),
        "checkStatus": 1,
        "isDefault": 0,
        "writingAssess": "",
    }
    record.update(extra)
    return record


def _push(client, records, batch_id=None):
    return post_json(
        client, BATCH_URL, {"schema": 1, "batchId": str(batch_id or uuid.uuid4()), "platform": "x", "records": records}
    )


def test_a_subordinate_push_is_stored_once_and_counted(world, county_a):
    subordinate, client = county_a
    records = [
        rating_record(world),
        rating_record(world, alternate=2, projectNo="SC-2026-0001", assessStage="accept", target="case"),
    ]
    response = _push(client, records)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    stored = Rating.objects.filter(client="sub:sc-county")
    assert stored.count() == 2
    # the 差评 is counted here but handled where it was given: no case opens at the superior
    assert Case.objects.count() == 0
    counted = UnitDay.objects.filter(region_id=world.a.region.id)
    assert sum(r.act_5 + r.act_2 for r in counted) == 2
    # the unit and 事项 unknown here were created in the subordinate's region
    assert stored.get(grade=2).service_case.case_no == "SC-2026-0001"
    assert stored.get(grade=2).unit.region == world.a.region
    again = _push(client, records).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert Rating.objects.count() == 2
    subordinate.refresh_from_db()
    assert (subordinate.received, subordinate.duplicates) == (2, 2)
    assert ReceivedBatch.objects.count() == 2


def test_records_outside_the_subordinate_region_are_refused(world, county_a):
    _, client = county_a
    answer = _push(client, [rating_record(world, areaCode=world.b.region.code), rating_record(world)]).json()
    assert answer["results"][0]["status"] == "rejected"
    assert answer["results"][0]["errors"][0]["field"] == "areaCode"
    assert answer["results"][1]["status"] == "accepted"


def test_bad_records_are_refused_naming_the_field(world, county_a):
    _, client = county_a
    answer = _push(
        client,
        [
            rating_record(world, alternate=7),
            rating_record(world, ratingId="nope"),
            rating_record(world, ratedAt="2026-01-01 10:00"),
            {"type": "gossip"},
            "not an object",
        ],
    ).json()
    fields = [r["errors"][0]["field"] for r in answer["results"]]
    assert fields == ["alternate", "ratingId", "ratedAt", "type", "records"]
    assert Rating.objects.count() == 0


def test_adoption_and_case_outcomes_follow_their_rating(world, county_a):
    _, client = county_a
    record = rating_record(world, alternate=1)
    _push(client, [record])
    rating = Rating.objects.get()
    adoption = {"type": "adoption", "origin": "sc-county", "ratingId": record["ratingId"], "checkStatus": 3}
    case = {
        "type": "case",
        "origin": "sc-county",
        "caseNo": "CP20261120-000001",
        "kind": "bad_review",
        "ratingId": record["ratingId"],
        "areaCode": world.a.region.code,
        "deptCode": record["deptCode"],
        "deptName": record["deptName"],
        "state": "feedback",
        "outcome": "fixed_now",
        "openedAt": timezone.now().isoformat(),
        "outcomeAt": timezone.now().isoformat(),
        "closedAt": None,
        "resolveDue": timezone.localdate().isoformat(),
        "onTime": True,
        "calledBack": True,
        "feedbackGrade": None,
    }
    answer = _push(client, [adoption, case]).json()
    assert [r["status"] for r in answer["results"]] == ["accepted", "accepted"]
    rating.refresh_from_db()
    assert rating.adoption == "not_adopted"
    outcome = CaseOutcome.objects.get()
    assert (outcome.outcome, outcome.on_time, outcome.unit.uscc) == ("fixed_now", True, record["deptCode"])
    # the same states again are duplicates; a later state replaces the earlier
    answer = _push(client, [adoption, case, {**case, "state": "closed", "feedbackGrade": 3}]).json()
    assert [r["status"] for r in answer["results"]] == ["duplicate", "duplicate", "accepted"]
    assert CaseOutcome.objects.get().state == "closed"


def test_an_adoption_for_an_unknown_rating_is_refused(world, county_a):
    _, client = county_a
    answer = _push(client, [{"type": "adoption", "origin": "x", "ratingId": str(uuid.uuid4()), "checkStatus": 3}])
    assert answer.json()["results"][0]["errors"][0]["field"] == "ratingId"


def test_only_registered_subordinates_may_push(world):
    response = _push(api_client(world.key_city), [])
    assert response.status_code == 403
    assert "下级平台" in response.json()["message"]
    assert _push(api_client("hcp_wrong"), []).status_code == 401


def test_batch_limits_and_shape(world, county_a, settings):
    _, client = county_a
    settings.HAOCHAPING_EXCHANGE_BATCH_MAX = 2
    assert _push(client, [rating_record(world)] * 3).status_code == 413
    response = post_json(client, BATCH_URL, {"schema": 1, "records": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].endswith("batchId")
    assert (
        post_json(
            client, BATCH_URL, {"schema": 2, "batchId": str(uuid.uuid4()), "platform": "x", "records": []}
        ).status_code
        == 422
    )


@override_settings(**UP, HAOCHAPING_PLATFORM_CODE="hz-city")
def test_received_records_go_on_up_with_their_origin(world, county_a):
    _, client = county_a
    _push(client, [rating_record(world)])
    superior = FakeSuperior()
    push.push_batch(superior)
    forwarded = superior.bodies[0]["records"][0]
    assert forwarded["origin"] == "sc-county"  # the county where it was given, not the city that forwards it


def test_register_refuses_a_taken_code(world, county_a):
    from haochaping.lib.errors import Conflict

    with pytest.raises(Conflict):
        services.subordinate_register(code="sc-county", name="x", region=world.a.region)
    assert Subordinate.objects.count() == 1


# --- the status page --------------------------------------------------------------------------------------


def _login(client, world, name: str):
    client.force_login(world.users[name])
    return client


@override_settings(**UP)
def test_status_page_shows_backlog_lag_and_failures(world, client):
    _rate(world)
    push.push_batch(FakeSuperior(fail=ConnectionRefusedError("connection refused")))
    page = _login(client, world, "root").get("/exchange/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="pending">4<' in html and "connection refused" in html and "立即上报" in html


def test_status_page_without_a_superior_says_how_to_connect(world, client):
    html = _login(client, world, "a_admin").get("/exchange/").content.decode()
    assert "HAOCHAPING_UPSTREAM_URL" in html
    assert "立即上报" not in html  # an installation-wide action: the system administrator's


def test_an_agency_registers_a_subordinate_and_sees_the_key_once(world, client):
    _login(client, world, "city_admin")
    page = client.post(
        "/exchange/", {"action": "register", "code": "gs-county", "name": "拱墅区平台", "region": world.b.region.code}
    )
    assert page.status_code == 200
    key = page.context["new_key"]
    assert key.startswith("hcp_") and key in page.content.decode()
    subordinate = Subordinate.objects.get(code="gs-county")
    assert subordinate.region == world.b.region
    # the key pushes
    assert _push(api_client(key), []).status_code == 200
    # it is not shown again
    assert key not in client.get("/exchange/").content.decode()


def test_registration_errors_name_the_field(world, client):
    _login(client, world, "a_admin")
    # 上城区's agency may register below its own region, not 拱墅区
    page = client.post("/exchange/", {"action": "register", "code": "x", "name": "x", "region": world.b.region.code})
    assert page.status_code == 422 and "region" in page.context["form_errors"]
    page = client.post("/exchange/", {"action": "register", "code": "bad code!", "name": "x", "region": ""})
    assert page.status_code == 422
    assert Subordinate.objects.count() == 0


def test_read_only_roles_cannot_act(world, client):
    _login(client, world, "a_inspector")
    assert client.get("/exchange/").status_code == 200
    page = client.post("/exchange/", {"action": "register", "code": "x", "name": "x", "region": world.a.region.code})
    assert page.status_code == 403
    assert client.post("/exchange/", {"action": "push"}).status_code == 403
