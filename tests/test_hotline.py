"""12345热线对接 both ways: work orders out (queued in the case's transaction, pushed with backoff, idempotent),
status updates and call-back results in (notes on the case; ratings on the hotline channel)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from haochaping.accounts.apikeys import api_key_create
from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.models import Case, CaseEvent, State
from haochaping.cases.services import case_act
from haochaping.hotline import outbound, services
from haochaping.hotline.models import Callback, HotlineLink, StatusUpdate, WorkOrder
from haochaping.lib import protect
from haochaping.ratings.models import Rating
from tests.cases_helpers import evidence, open_bad_review, verify_case
from tests.hotline_standin import StandinHotline


@pytest.fixture
def standin():
    hotline = StandinHotline(token="s3cret").start()
    yield hotline
    hotline.stop()


def _link(region, url: str, *, enabled: bool = True, **extra) -> HotlineLink:
    return services.link_save(ALL_SCOPE, region, endpoint=url, enabled=enabled, credential="s3cret", **extra)


@pytest.fixture
def linked(world, standin):
    """The city's link to the stand-in (county A inherits it)."""
    return _link(world.city, standin.url)


@pytest.fixture
def region_key(world):
    return world.key_city


def _accepted(world, linked, standin, **extra) -> WorkOrder:
    case = open_bad_review(world, **extra)
    [result] = outbound.send_pending()
    assert result.status == "accepted", result
    return WorkOrder.objects.get(case=case)


# --- configuration and queueing -----------------------------------------------------------------------------


def test_bad_review_queues_work_order_in_same_transaction(world, linked):
    case = open_bad_review(world)
    order = WorkOrder.objects.get(case=case)
    assert order.state == WorkOrder.State.QUEUED and order.order_no == case.number and order.link == linked
    assert order.work_order_no == "" and order.next_attempt_at is None

    # Rolled back with the rating and case: never a work order without its case.
    with pytest.raises(RuntimeError), transaction.atomic():
        open_bad_review(world, phone="13900139000")
        raise RuntimeError
    assert WorkOrder.objects.count() == 1 and Case.objects.count() == 1


def test_no_link_no_order_and_nearest_enabled_link_decides(world, standin):
    open_bad_review(world)
    assert not WorkOrder.objects.exists()  # no link anywhere
    city = _link(world.city, standin.url)
    county = _link(world.a.region, "http://127.0.0.1:9/county", enabled=False)
    assert outbound.link_for_path(world.a.region.path) == city  # the county's own link is disabled
    county = _link(world.a.region, "http://127.0.0.1:9/county")
    assert outbound.link_for_path(world.a.region.path) == county
    assert outbound.link_for_path(world.b.region.path) == city
    case = open_bad_review(world, phone="13900139000")
    assert WorkOrder.objects.get(case=case).link == county


def test_good_ratings_and_complaints_by_default_send_nothing(world, linked):
    from haochaping.cases.opening import ComplaintIn, complaint_open

    scope = ALL_SCOPE
    complaint_open(ComplaintIn(content="窗口推诿", contact_phone="13800138001", unit_id=world.a.dept.pk), scope=scope)
    assert not WorkOrder.objects.exists()
    HotlineLink.objects.filter(pk=linked.pk).update(include_complaints=True)
    complaint = complaint_open(
        ComplaintIn(content="窗口推诿", contact_phone="13800138001", unit_id=world.a.dept.pk), scope=scope
    )
    assert WorkOrder.objects.get().case == complaint and complaint.number.startswith("TS")


def test_credential_encrypted_and_kept_when_left_empty(world, linked):
    linked.refresh_from_db()
    assert linked.credential_enc and "s3cret" not in linked.credential_enc
    services.link_save(ALL_SCOPE, world.city, endpoint=linked.endpoint, enabled=True, credential="")
    linked.refresh_from_db()
    assert protect.decrypt(linked.credential_enc) == "s3cret"
    with pytest.raises(Exception) as exc:
        services.link_save(ALL_SCOPE, world.city, endpoint="ftp://x", enabled=True)
    assert exc.value.errors[0]["field"] == "endpoint"


# --- outbound ----------------------------------------------------------------------------------------------------


def test_push_to_standin_accepted_with_remote_number(world, linked, standin):
    order = _accepted(world, linked, standin, comment="窗口人员态度差，请回电13912345678")
    assert order.state == WorkOrder.State.ACCEPTED and order.work_order_no == "12345-000001" and order.sent_at
    [post] = standin.posts()
    assert post.headers["Idempotency-Key"] == order.order_no
    assert post.headers["Authorization"] == "Bearer s3cret"
    body = post.body
    assert body["order_no"] == order.order_no and body["kind"] == "bad_review" and body["grade"] == 2
    assert body["unit"] == {"name": world.a.dept.name, "uscc": world.a.dept.uscc}
    assert body["region_code"] == world.a.region.code and body["window"] == world.a.window.name
    assert "13912345678" not in body["summary"]  # masked
    assert body["contact"]["phone"] == "13800138000"  # real-name: the hotline calls the rater back


def test_anonymous_case_sends_no_contact(world, linked, standin):
    _accepted(world, linked, standin, phone=None)
    assert standin.posts()[0].body["contact"] is None


def test_failure_backs_off_then_succeeds_never_duplicated(world, linked, standin):
    case = open_bad_review(world)
    standin.fail_next = 2
    now = timezone.now()
    [r] = outbound.send_pending(now=now)
    order = WorkOrder.objects.get(case=case)
    assert r.status == "retry" and order.state == WorkOrder.State.QUEUED and order.attempts == 1
    assert timedelta(seconds=4) <= order.next_attempt_at - now <= timedelta(seconds=6)
    assert "503" in order.last_error
    assert outbound.send_pending(now=now + timedelta(seconds=1)) == []  # not yet due
    later = order.next_attempt_at + timedelta(milliseconds=1)
    [r] = outbound.send_pending(now=later)
    order.refresh_from_db()
    assert r.status == "retry" and order.attempts == 2
    assert timedelta(seconds=8) <= order.next_attempt_at - later <= timedelta(seconds=12)
    [r] = outbound.send_pending(now=order.next_attempt_at + timedelta(milliseconds=1))
    order.refresh_from_db()
    assert r.status == "accepted" and order.attempts == 0 and order.last_error == "" and order.next_attempt_at is None
    assert len(standin.posts()) == 3 and len(standin.orders) == 1
    assert {p.headers["Idempotency-Key"] for p in standin.posts()} == {order.order_no}
    assert outbound.send_pending(force=True) == []  # nothing left


def test_backoff_is_capped_at_ten_minutes():
    assert 4 <= outbound.backoff_seconds(1) <= 6
    assert all(480 <= outbound.backoff_seconds(n) <= 720 for n in (8, 20, 60))


def test_unreachable_hotline_retries(world, standin):
    _link(world.city, "http://127.0.0.1:9/nowhere")
    case = open_bad_review(world)
    [r] = outbound.send_pending()
    order = WorkOrder.objects.get(case=case)
    assert r.status == "retry" and order.attempts == 1 and order.state == WorkOrder.State.QUEUED


def test_resend_is_idempotent(world, linked, standin):
    order = _accepted(world, linked, standin)
    WorkOrder.objects.filter(pk=order.pk).update(state=WorkOrder.State.QUEUED)  # as if our answer was lost
    [r] = outbound.send_pending()
    order.refresh_from_db()
    assert r.status == "accepted" and order.work_order_no == "12345-000001"
    assert len(standin.posts()) == 2 and len(standin.orders) == 1
    # And on our side: one order per case (OneToOne), queueing again is a no-op.
    assert outbound.queue_cases([order.case]) == 1 and WorkOrder.objects.count() == 1


def test_refused_order_fails_until_retried(world, linked, standin):
    case = open_bad_review(world)
    standin.fail_next, standin.fail_status = 1, 400
    [r] = outbound.send_pending()
    order = WorkOrder.objects.get(case=case)
    assert r.status == "failed" and order.state == WorkOrder.State.FAILED and "HTTP 400" in order.last_error
    assert outbound.send_pending(force=True) == []
    call_command("hotline", "retry")
    [r] = outbound.send_pending()
    assert r.status == "accepted"


def _set_aside(world, case: Case) -> Case:
    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "评价人误按"})
    case_act(
        case_id=case.pk, action="appeal", user=u["a_handler"], data={"ground": "mistaken", "reason": "监控显示误触"},
        files=[evidence()],
    )  # fmt: skip
    return case_act(case_id=case.pk, action="approve_appeal", user=u["a_admin"], data={"note": "同意，不予采纳"})


def test_not_adopted_sends_cancellation(world, linked, standin):
    order = _accepted(world, linked, standin, phone=None)
    _set_aside(world, order.case)
    order.refresh_from_db()
    assert order.cancel_pending and order.state == WorkOrder.State.ACCEPTED
    [r] = outbound.send_pending()
    order.refresh_from_db()
    assert r.status == "cancelled" and order.state == WorkOrder.State.CANCELLED and not order.cancel_pending
    assert standin.cancelled == {order.work_order_no}
    cancel = standin.posts(f"/api/work-orders/{order.work_order_no}/cancel")[0]
    assert cancel.headers["Idempotency-Key"] == f"{order.order_no}:cancel"


def test_not_adopted_before_sending_cancels_locally(world, linked, standin):
    case = open_bad_review(world, phone=None)
    _set_aside(world, case)
    [r] = outbound.send_pending()
    assert r.status == "cancelled" and standin.received == []
    assert WorkOrder.objects.get(case=case).state == WorkOrder.State.CANCELLED


# --- inbound: status updates ----------------------------------------------------------------------------------


def test_status_update_recorded_on_case_state_unchanged(world, linked, standin, client, region_key):
    order = _accepted(world, linked, standin)
    state = order.case.state
    at = "2026-11-27T10:00:00+08:00"
    status, body = standin.push_status(
        client, region_key, order.work_order_no, "dispatched", at, note="已派单至区市场监管局"
    )
    assert status == 200, body
    assert body["recorded"] is True and body["order_no"] == order.order_no and body["case_state"] == state
    event = CaseEvent.objects.get(case=order.case, action="hotline_status")
    assert event.from_state == event.to_state == state and event.actor_label == "12345热线"
    assert event.note == "已派单至区市场监管局" and event.data["status"] == "dispatched"
    order.refresh_from_db()
    assert order.remote_status == "dispatched" and order.remote_status_at
    assert Case.objects.get(pk=order.case_id).state == state
    # Re-sent: answered, not recorded twice.
    status, body = standin.push_status(
        client, region_key, order.work_order_no, "dispatched", at, note="已派单至区市场监管局"
    )
    assert status == 200 and body["recorded"] is False
    assert CaseEvent.objects.filter(case=order.case, action="hotline_status").count() == 1
    assert StatusUpdate.objects.count() == 1
    # An older status arriving late is recorded but does not replace the latest.
    standin.push_status(client, region_key, order.work_order_no, "received", "2026-11-27T09:00:00+08:00")
    order.refresh_from_db()
    assert order.remote_status == "dispatched" and StatusUpdate.objects.count() == 2


def test_status_update_validation_scope_and_auth(world, linked, standin, client, region_key):
    order = _accepted(world, linked, standin)
    path = f"/api/v1/hotline/work-orders/{order.work_order_no}/status"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {region_key}"}
    r = client.post(path, {"status": "closed"}, content_type="application/json", **auth)
    assert r.status_code == 422 and "at" in str(r.json()["errors"])
    r = client.post(path, {"status": "", "at": "2026-11-27T10:00:00+08:00"}, content_type="application/json", **auth)
    assert r.status_code == 422 and "status" in str(r.json()["errors"])
    # Unknown number: 404 naming the field.
    status, body = standin.push_status(client, region_key, "12345-999999", "closed", "2026-11-27T10:00:00+08:00")
    assert status == 404 and body["errors"][0]["field"] == "work_order_no"
    # Another county's region key: 404 (cannot learn the order exists); a unit key: 403; no key: 401.
    _, key_b_region = api_key_create(name="拱墅区12345热线", region=world.b.region)
    status, _ = standin.push_status(client, key_b_region, order.work_order_no, "closed", "2026-11-27T10:00:00+08:00")
    assert status == 404
    status, _ = standin.push_status(client, world.key_a, order.work_order_no, "closed", "2026-11-27T10:00:00+08:00")
    assert status == 403
    r = client.post(path, {"status": "closed", "at": "2026-11-27T10:00:00+08:00"}, content_type="application/json")
    assert r.status_code == 401
    assert not CaseEvent.objects.filter(action="hotline_status").exists()


# --- inbound: call-backs ------------------------------------------------------------------------------------------


def _call(call_id: str, **extra) -> dict:
    return {"call_id": call_id, "called_at": "2026-11-27T11:00:00+08:00", "satisfaction": "满意", **extra}


def test_callback_without_work_order_is_a_hotline_rating_stored_once(world, standin, client, region_key):
    call = _call("C-0001", item_code=world.a.item.implementation_code, comment="办事顺利", satisfaction="基本满意")
    status, body = standin.push_callbacks(client, region_key, [call])
    assert status == 200, body
    [res] = body["results"]
    assert res["status"] == "stored" and res["outcome"] == "rating" and res["rating_id"]
    rating = Rating.objects.get(public_id=res["rating_id"])
    assert rating.channel == "phone" and rating.grade == 3 and rating.service_item_id == world.a.item.pk
    # Re-sent: duplicate, still one rating and one call-back.
    status, body = standin.push_callbacks(client, region_key, [call])
    assert status == 200 and body["duplicates"] == 1 and body["results"][0]["rating_id"] == res["rating_id"]
    assert Rating.objects.filter(channel="phone").count() == 1 and Callback.objects.count() == 1


def test_dissatisfied_hotline_rating_opens_case_not_sent_back_to_hotline(world, linked, standin, client, region_key):
    call = _call("C-0002", item_code=world.a.item.implementation_code, satisfaction=2, phone="13700137000")
    status, body = standin.push_callbacks(client, region_key, [call])
    assert status == 200 and body["stored"] == 1, body
    case = Case.objects.get(rating__public_id=body["results"][0]["rating_id"])
    assert case.channel == "phone" and case.real_name
    assert not WorkOrder.objects.filter(case=case).exists()  # it came from the hotline


def test_work_order_callback_records_feedback_when_case_awaits_it(world, linked, standin, client, region_key, settings):
    settings.HAOCHAPING_SMS_BACKEND = "console"
    order = _accepted(world, linked, standin)
    verify_case(world, order.case)
    case_act(
        case_id=order.case_id, action="explain", user=world.users["a_handler"], data={"explanation": "依法须提交原件"}
    )
    assert Case.objects.get(pk=order.case_id).state == State.FEEDBACK
    status, body = standin.push_callbacks(
        client, region_key, [_call("C-0003", work_order_no=order.work_order_no, comment="解释清楚")]
    )
    assert status == 200 and body["results"][0]["outcome"] == "feedback", body
    case = Case.objects.get(pk=order.case_id)
    assert case.state == State.CLOSED and case.feedback_grade == 3 and case.feedback_comment == "解释清楚"
    assert not Rating.objects.filter(channel="phone").exists()
    status, body = standin.push_callbacks(client, region_key, [_call("C-0003", work_order_no=order.work_order_no)])
    assert body["results"][0]["status"] == "duplicate"


def test_work_order_callback_is_a_note_while_case_is_open(world, linked, standin, client, region_key):
    order = _accepted(world, linked, standin)
    status, body = standin.push_callbacks(
        client, region_key, [_call("C-0004", case_no=order.order_no, satisfaction="不满意")]
    )
    assert status == 200 and body["results"][0]["outcome"] == "note", body
    event = CaseEvent.objects.get(case=order.case, action="hotline_callback")
    assert event.from_state == event.to_state == State.NEW and "不满意" in event.note
    assert Case.objects.get(pk=order.case_id).state == State.NEW


def test_callback_batch_rejects_bad_items_naming_fields(world, linked, standin, client, region_key):
    good = _call("C-0010", item_code=world.a.item.implementation_code)
    bad_grade = _call("C-0011", item_code=world.a.item.implementation_code, satisfaction="很好")
    no_target = _call("C-0012")
    unknown = _call("C-0013", work_order_no="12345-404")
    status, body = standin.push_callbacks(client, region_key, [good, bad_grade, no_target, unknown])
    assert status == 200 and (body["stored"], body["rejected"]) == (1, 3), body
    fields = [r["errors"][0]["field"] for r in body["results"][1:]]
    assert fields == ["callbacks[1].satisfaction", "callbacks[2].work_order_no", "callbacks[3].work_order_no"]
    r = client.post("/api/v1/hotline/callbacks", {"callbacks": [{"call_id": "x"}]}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {region_key}")  # fmt: skip
    assert r.status_code == 422 and "called_at" in str(r.json()["errors"])
    status, _ = standin.push_callbacks(client, world.key_a, [good])  # unit key
    assert status == 403


def test_callback_scope_other_region_cannot_reach_case(world, linked, standin, client):
    order = _accepted(world, linked, standin)
    _, key_b_region = api_key_create(name="拱墅区12345热线", region=world.b.region)
    status, body = standin.push_callbacks(client, key_b_region, [_call("C-0020", case_no=order.order_no)])
    assert status == 200 and body["results"][0]["status"] == "rejected"
    assert body["results"][0]["errors"][0]["field"] == "callbacks[0].case_no"


# --- live server: the stand-in pushes back over HTTP ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_loop_over_live_server(world, live_server, standin):
    _link(world.city, standin.url)
    case = open_bad_review(world)
    [r] = outbound.send_pending()
    order = WorkOrder.objects.get(case=case)
    status, body = standin.push_status(live_server.url, world.key_city, order.work_order_no, "processing",
                                       "2026-11-27T10:00:00+08:00")  # fmt: skip
    assert status == 200 and body["recorded"]
    assert CaseEvent.objects.filter(case=case, action="hotline_status").count() == 1


# --- the operator's command ----------------------------------------------------------------------------------


def test_command_status_send_retry(world, standin, capsys):
    _link(world.city, standin.url)
    case = open_bad_review(world)
    standin.fail_next = 1
    call_command("hotline", "send")
    out = capsys.readouterr().out
    assert f"{case.number}: retry" in out
    call_command("hotline", "status")
    out = capsys.readouterr().out
    assert "失败 1 次" in out and "s3cret" not in out
    call_command("hotline", "send")  # ignores the backoff
    assert f"{case.number}: accepted 12345-000001" in capsys.readouterr().out
    call_command("hotline", "retry")
    assert "queued again: 0" in capsys.readouterr().out


def test_command_send_case_opened_before_link(world, standin, capsys):
    case = open_bad_review(world)
    _link(world.city, standin.url)
    call_command("hotline", "send", "--case", case.number)
    assert f"{case.number}: accepted" in capsys.readouterr().out


def test_nul_characters_are_refused_not_failed(world, linked, standin, client, region_key):
    order = _accepted(world, linked, standin)
    status, body = standin.push_status(
        client, region_key, order.work_order_no, "clo\x00sed", "2026-11-27T10:00:00+08:00"
    )
    assert status == 422 and "status" in str(body["errors"])
    status, body = standin.push_callbacks(client, region_key, [_call("C\x00-1", item_code="x")])
    assert status == 422 and "call_id" in str(body["errors"])


def test_the_worker_task_sends_pending_orders(world, linked, standin):
    from huey.contrib.djhuey import HUEY

    from haochaping.hotline.tasks import hotline_send

    assert HUEY.immediate  # tests run tasks inline
    case = open_bad_review(world)
    hotline_send()
    assert WorkOrder.objects.get(case=case).state == WorkOrder.State.ACCEPTED
