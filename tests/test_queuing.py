"""Queue-calling link (排队叫号对接): API v1 events, evaluator prompts, ratings joined to tickets and 办件,
the ticket QR page and the staff page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.evaluator.models import EvaluatorPrompt
from haochaping.queuing import selectors, services
from haochaping.queuing.models import QueueTicket, QueueTicketEvent, QueueTicketRating
from haochaping.ratings.models import Rating, ServiceCase
from tests.conftest import api_client, post_json
from tests.test_evaluator import device_rate, pair, register

API = "/api/v1/queue"


def send(world, event: str, key=None, **body):
    data = {"hall": world.a.hall.code, **body}
    return post_json(api_client(key or world.key_a), f"{API}/tickets{event}", data)


def called(world, serial="A001", window="01", **kw):
    return send(world, "/called", serial=serial, window=window, **kw)


def finished(world, serial="A001", **kw):
    return send(world, "/finished", serial=serial, **kw)


def token_of(response) -> str:
    return re.search(r"/t/([^/]+)/$", response.json()["rating_url"]).group(1)


def test_called_finished_prompts_the_window_and_joins_the_device_rating(world):
    register(world, "BJ-Q1")
    device_client, device = pair(world)
    r = called(world)
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["version"] == "1" and body["state"] == "called" and body["window"] == "01" and body["created"]
    assert body["rating_url"].endswith("/") and body["qr_svg"].startswith("<svg") and body["qr_png"].startswith("data:")
    r = finished(world, case_no="BJ-Q1")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["state"] == "finished" and body["outcome"] == "case" and body["case_no"] == "BJ-Q1"
    assert body["rating_url"] is None  # the QR link comes back only once
    prompt = EvaluatorPrompt.objects.get(pk=body["prompt_id"])
    assert prompt.window == world.a.window and prompt.service_case.case_no == "BJ-Q1"
    assert prompt.source.startswith("queue:")
    # The kiosk polls the prompt and the citizen presses a face.
    poll = device_client.get("/api/v1/evaluator/device/prompt")
    assert poll.json()["prompt"]["id"] == prompt.pk
    rated = device_rate(device_client, prompt_id=prompt.pk, grade="very_satisfied")
    assert rated.status_code == 201
    ticket = QueueTicket.objects.get()
    assert ticket.rated_at is not None
    link = QueueTicketRating.objects.get()
    assert str(link.rating_public_id) == rated.json()["rating_id"] and link.via == "evaluator"
    status = api_client(world.key_a).get(f"{API}/tickets", {"hall": world.a.hall.code, "serial": "A001"})
    assert (
        status.status_code == 200
        and status.json()["rated"]
        and status.json()["rating_ids"] == [rated.json()["rating_id"]]
    )
    kinds = list(QueueTicketEvent.objects.values_list("kind", flat=True))
    assert kinds == ["issued", "called", "finished"]
    assert device.window == world.a.window


def test_finished_without_case_prompts_a_walk_in_rating_and_a_later_case_joins(world):
    device_client, _ = pair(world)
    called(world, "B002")
    r = finished(world, "B002", no_case=True)
    assert r.status_code == 200 and r.json()["outcome"] == "no_case" and r.json()["case_no"] is None
    prompt = EvaluatorPrompt.objects.get(pk=r.json()["prompt_id"])
    assert prompt.service_case is None and prompt.staff == world.a.clerk
    rated = device_rate(device_client, prompt_id=prompt.pk, grade="dissatisfied")
    assert rated.status_code == 201
    rating = Rating.objects.get(public_id=rated.json()["rating_id"])
    assert rating.service_case_id is None and rating.window == world.a.window
    register(world, "BJ-LATER")
    case = ServiceCase.objects.get(case_no="BJ-LATER")
    assert list(selectors.ratings_for_case(case)) == []
    # The 办件 becomes known later: attach it (or re-send "finished" with it); no new prompt.
    r = send(world, "/attach-case", serial="B002", case_no="BJ-LATER")
    assert r.status_code == 200 and r.json()["case_no"] == "BJ-LATER" and r.json()["changed"]
    assert EvaluatorPrompt.objects.count() == 1
    assert [x.pk for x in selectors.ratings_for_case(case)] == [rating.pk]
    assert Rating.objects.get(pk=rating.pk).service_case_id is None  # the rating row itself is untouched
    again = finished(world, "B002", case_no="BJ-LATER")
    assert again.status_code == 200 and not again.json()["changed"]
    other = finished(world, "B002", case_no="BJ-OTHER")
    assert other.status_code == 409


def test_finished_with_case_no_later_attaches_without_a_new_prompt(world):
    called(world, "C003")
    finished(world, "C003", no_case=True)
    register(world, "BJ-C3")
    r = finished(world, "C003", case_no="BJ-C3")
    assert r.status_code == 200 and r.json()["case_no"] == "BJ-C3" and r.json()["outcome"] == "case"
    assert EvaluatorPrompt.objects.count() == 1


def test_re_sent_events_answer_the_same_without_a_second_prompt(world):
    register(world, "BJ-R1")
    first = called(world, "A010")
    again = called(world, "A010")
    assert first.status_code == 201 and again.status_code == 200 and not again.json()["changed"]
    one = finished(world, "A010", case_no="BJ-R1")
    two = finished(world, "A010", case_no="BJ-R1")
    assert one.status_code == two.status_code == 200
    assert one.json()["prompt_id"] == two.json()["prompt_id"] and not two.json()["changed"]
    assert EvaluatorPrompt.objects.count() == 1
    late_called = called(world, "A010")  # a "called" arriving after "finished"
    assert late_called.status_code == 200 and late_called.json()["state"] == "finished"
    assert called(world, "A010", window="02").status_code == 404  # no such window
    issued = send(world, "", serial="A011")
    assert issued.status_code == 201 and issued.json()["rating_url"]
    reissued = send(world, "", serial="A011")
    assert reissued.status_code == 200 and reissued.json()["rating_url"] is None
    assert QueueTicket.objects.filter(serial="A011").count() == 1


def test_out_of_order_and_state_conflicts(world):
    r = finished(world, "Z001", no_case=True)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "serial"
    send(world, "", serial="Z002")
    r = finished(world, "Z002", no_case=True)
    assert r.status_code == 409 and "叫号" in r.json()["message"]
    called(world, "Z003")
    assert send(world, "/no-show", serial="Z003").json()["state"] == "no_show"
    assert send(world, "/no-show", serial="Z003").status_code == 200
    assert called(world, "Z003").json()["state"] == "called"  # re-called after 过号
    assert send(world, "/cancel", serial="Z003").json()["state"] == "cancelled"
    assert called(world, "Z003").status_code == 409
    called(world, "Z004")
    finished(world, "Z004", no_case=True)
    assert send(world, "/cancel", serial="Z004").status_code == 409
    assert send(world, "/attach-case", serial="Z003", case_no="X").status_code == 409


def test_serial_is_per_hall_and_business_day(world):
    yesterday = timezone.now() - timedelta(days=1)
    assert called(world, "A001", at=yesterday.isoformat()).status_code == 201
    assert called(world, "A001").status_code == 201
    assert QueueTicket.objects.filter(serial="A001").count() == 2
    day = timezone.localdate(yesterday).isoformat()
    r = api_client(world.key_a).get(f"{API}/tickets", {"hall": world.a.hall.code, "serial": "A001", "day": day})
    assert r.status_code == 200 and r.json()["business_day"] == timezone.localdate(yesterday).isoformat()


def test_scope_answers_404(world):
    # County B's key cannot see county A's hall, nor a window of it.
    r = called(world, key=world.key_b)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "hall"
    assert (
        api_client(world.key_b).get(f"{API}/tickets", {"hall": world.a.hall.code, "serial": "A001"}).status_code == 404
    )
    # The city's key covers both counties.
    assert called(world, "K001", key=world.key_city).status_code == 201
    r = send(world, "/called", key=world.key_a, hall=world.b.hall.code, serial="K002", window="01")
    assert r.status_code == 404
    # A 办件 of another county is not found for the window.
    register(world, "BJ-B1", county=world.b)
    called(world, "K003")
    r = finished(world, "K003", case_no="BJ-B1")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "case_no"
    assert QueueTicket.objects.get(serial="K003").state == "called"
    assert api_client(world.key_a).get(f"{API}/tickets", {"hall": "NOPE", "serial": "K003"}).status_code == 404
    assert Client().post(f"{API}/tickets/called", {}, content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    ("event", "body", "field"),
    [
        ("/called", {"serial": "A001"}, "window"),
        ("/called", {"serial": "A 1!", "window": "01"}, "serial"),
        ("/called", {"serial": "A001", "window": "01", "at": "yesterday"}, "at"),
        ("/finished", {"serial": "A001"}, "case_no"),
        ("/finished", {"serial": "A001", "case_no": "BJ-1", "no_case": True}, "case_no"),
        ("/called", {"serial": "A001", "window": "01", "at": "2999-01-01T00:00:00+08:00"}, "at"),
        ("", {"serial": ""}, "serial"),
    ],
)
def test_validation_422_names_the_field(world, event, body, field):
    r = send(world, event, **body)
    assert r.status_code == 422, r.json()
    assert field in {e["field"].split(".")[-1] for e in r.json()["errors"]}, r.json()


# --- the ticket's QR page -------------------------------------------------------------------------------------


def test_ticket_qr_page_before_call_rate_second_rate(world):
    r = send(world, "", serial="Q001")
    token = token_of(r)
    page = Client().get(f"/t/{token}/")
    assert page.status_code == 200 and "尚未叫号" in page.content.decode()
    assert Client().post(f"/t/{token}/", {"grade": "satisfied"}).status_code == 409  # still "not yet served"
    assert not Rating.objects.exists()
    called(world, "Q001")
    page = Client().get(f"/t/{token}/")
    assert page.status_code == 200 and 'name="grade"' in page.content.decode()
    r = Client().post(f"/t/{token}/", {"grade": "very_satisfied", "comment": "很快"})
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    rating = Rating.objects.get()
    assert rating.channel == "qr" and rating.window == world.a.window and rating.staff == world.a.clerk
    assert rating.comment == "很快"
    assert QueueTicketRating.objects.get().via == "ticket_qr"
    again = Client().post(f"/t/{token}/", {"grade": "dissatisfied"})
    assert again.status_code == 409 and "已评价" in again.content.decode() and Rating.objects.count() == 1
    assert Client().get(f"/t/{token}/").status_code == 200


def test_ticket_qr_rating_of_a_finished_ticket_rates_its_case(world):
    register(world, "BJ-QR1")
    token = token_of(called(world, "Q002"))
    finished(world, "Q002", case_no="BJ-QR1")
    r = Client().post(f"/t/{token}/", {"grade": "basic"})
    assert r.status_code == 200
    assert Rating.objects.get().service_case.case_no == "BJ-QR1"


def test_ticket_qr_expires_and_unknown_tokens(world, settings):
    token = token_of(called(world, "Q003"))
    QueueTicket.objects.filter(serial="Q003").update(issued_at=timezone.now() - timedelta(hours=25))
    assert Client().get(f"/t/{token}/").status_code == 410
    settings.HAOCHAPING_QUEUE_TICKET_QR_TTL_HOURS = 48
    assert Client().get(f"/t/{token}/").status_code == 200
    assert Client().get("/t/nope/").status_code == 404
    bad = Client().post(f"/t/{token}/", {"grade": "great"})
    assert bad.status_code == 422 and not Rating.objects.exists()


def test_ticket_qr_renew_replaces_the_link(world):
    old = token_of(called(world, "Q004"))
    r = send(world, "/qr", serial="Q004")
    assert r.status_code == 200 and r.json()["rating_url"]
    assert Client().get(f"/t/{old}/").status_code == 404
    assert Client().get(f"/t/{token_of(r)}/").status_code == 200


def test_device_rated_ticket_is_already_rated_on_the_phone(world):
    device_client, _ = pair(world)
    token = token_of(called(world, "Q005"))
    prompt_id = finished(world, "Q005", no_case=True).json()["prompt_id"]
    device_client.get("/api/v1/evaluator/device/prompt")
    assert device_rate(device_client, prompt_id=prompt_id).status_code == 201
    assert "已评价" in Client().get(f"/t/{token}/").content.decode()


# --- the staff page -------------------------------------------------------------------------------------------


def test_staff_page_shows_the_day(world):
    called(world, "A001")
    finished(world, "A001", no_case=True)
    send(world, "", serial="A002")
    client = Client()
    client.force_login(world.users["a_admin"])
    page = client.get("/queue/")
    text = page.content.decode()
    assert page.status_code == 200 and "A001" in text and "A002" in text and "评价率" in text
    client.force_login(world.users["a_clerk"])
    assert client.get("/queue/").status_code == 403
    client.force_login(world.users["b_admin"])
    assert "A001" not in client.get("/queue/").content.decode()
    assert services.qr_ttl() == timedelta(hours=24)


def test_demo_seeds_a_morning_of_one_hall(world):
    from haochaping.queuing.demo import seed_demo

    lines: list[str] = []
    counts = seed_demo(lines.append, seed=3)
    assert counts["tickets"] == 40 and counts["finished"] > 20 and counts["with_case"] > 5
    assert 0.4 < counts["rated"] / counts["finished"] < 0.8
    assert len(lines) == 2 and "/queue/" in lines[0] and "scripts/queue_client.py" in lines[1]
    rated = QueueTicket.objects.filter(rated_at__isnull=False)
    assert rated.count() == counts["rated"] == QueueTicketRating.objects.count()
    assert set(QueueTicketRating.objects.values_list("via", flat=True)) <= {"evaluator", "ticket_qr"}
    client = Client()
    client.force_login(world.users["a_admin"])
    assert "D001" in client.get("/queue/").content.decode()
