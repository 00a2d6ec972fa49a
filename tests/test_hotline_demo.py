"""The hotline demo: a city's link, work orders accepted / backing off / queued, status updates and call-backs."""

from __future__ import annotations

from haochaping.cases.models import CaseEvent
from haochaping.hotline.demo import seed_demo
from haochaping.hotline.models import Callback, HotlineLink, StatusUpdate, WorkOrder
from tests.cases_helpers import open_bad_review


def test_demo_shows_the_loop(world, client):
    for n in range(5):
        open_bad_review(world, phone=f"1380013800{n}")
    WorkOrder.objects.all().delete()  # opened before the demo's link: the demo queues them itself
    lines = []
    seed_demo(lines.append, seed=1)
    assert 1 <= len(lines) <= 3 and "杭州市" in lines[0]
    link = HotlineLink.objects.get()
    assert link.enabled and link.region == world.city and "demo-12345-token" not in link.credential_enc
    states = sorted(WorkOrder.objects.values_list("state", flat=True))
    assert states.count("accepted") == 3 and states.count("queued") == 2
    assert WorkOrder.objects.filter(attempts=1, next_attempt_at__isnull=False).count() == 1
    assert StatusUpdate.objects.count() >= 3
    assert CaseEvent.objects.filter(action="hotline_status").count() == StatusUpdate.objects.count()
    assert Callback.objects.filter(outcome="rating").count() == 2  # one 事项 per county of the city
    assert Callback.objects.filter(outcome="note").count() == 1
    client.force_login(world.users["a_admin"])
    page = client.get("/hotline/")
    assert page.status_code == 200 and "12345-" in page.content.decode()
