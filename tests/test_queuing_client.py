"""The reference client (scripts/queue_client.py) drives a hall against a live server, end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from haochaping.directory.models import Window
from haochaping.evaluator import services as evaluator
from haochaping.queuing.models import QueueTicket, QueueTicketRating
from haochaping.ratings.models import Rating

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's thread sees committed rows only

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "queue_client.py"


def test_reference_client_drives_a_hall(world, live_server):
    Window.objects.create(hall=world.a.hall, code="02", name="综合受理", unit=world.a.dept)
    _, code = evaluator.pairing_code_create(window=world.a.window)
    _, credential = evaluator.device_pair(code=code, name="一号窗评价器")
    args = [
        sys.executable,
        str(SCRIPT),
        *("--url", live_server.url, "--key", world.key_a, "--hall", world.a.hall.code, "--windows", "01,02"),
        *("--tickets", "10", "--item", world.a.item.implementation_code, "--case-prefix", "BJ-T"),
        *("--rate", "--rate-share", "1", "--device", f"01={credential}"),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "汇总：tickets=10，called=10，finished=9" in done.stdout, done.stdout
    tickets = QueueTicket.objects.all()
    assert tickets.count() == 10
    assert tickets.filter(state="no_show").count() == 1
    finished = tickets.filter(state="finished")
    assert finished.count() == 9 and finished.filter(service_case__isnull=False).count() == 6
    assert all(t.prompt_id for t in finished)
    # Every finished ticket was rated: window 01 on its evaluator, window 02 through the ticket's QR page.
    assert finished.filter(rated_at__isnull=False).count() == 9
    links = QueueTicketRating.objects.select_related("ticket__window")
    assert {(link.ticket.window.code, link.via) for link in links} == {("01", "evaluator"), ("02", "ticket_qr")}
    ratings = Rating.objects.filter(public_id__in=[link.rating_public_id for link in links])
    assert ratings.count() == 9
    assert set(ratings.values_list("channel", flat=True)) == {"hall_tablet", "qr"}
    # Ratings of tickets finished with a 办件 are ratings of that 办件.
    for link in links.filter(ticket__service_case__isnull=False):
        assert Rating.objects.get(public_id=link.rating_public_id).service_case_id == link.ticket.service_case_id
