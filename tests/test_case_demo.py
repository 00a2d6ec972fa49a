"""The demo's cases: every 差评 has one, every case is in a state its fields and history bear out."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from haochaping.cases import workdays
from haochaping.cases.models import Appeal, Case, CaseEvent, CloseReason, Outcome, State
from haochaping.cases.services import case_for_feedback_token
from haochaping.cases.sweep import sweep
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[42, 5])
def demo(request, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    call_command(
        "demo", ratings=3000, cities=2, seed=request.param, api_key_file=tmp_path / "key.txt", stdout=out, verbosity=0
    )
    return out.getvalue()


def test_the_demo_opens_a_case_for_every_bad_rating_and_prints_where_to_look(demo):
    bad = Rating.objects.filter(grade__lte=2, is_default=False)
    # every 差评 given here has its case; those a subordinate platform pushed are handled there (docs/exchange.md)
    ours, theirs = bad.exclude(client__startswith="sub:"), bad.filter(client__startswith="sub:")
    assert ours.exists() and not ours.filter(case__isnull=True).exists()
    assert theirs.exists() and not theirs.filter(case__isnull=False).exists()
    assert "差评工单" in demo and "/cases/feedback/" in demo and "county_xihu" in demo
    token = demo.split("/cases/feedback/")[1].split("/")[0]
    assert case_for_feedback_token(token).state == State.FEEDBACK
    states = Counter(Case.objects.values_list("state", flat=True))
    assert states[State.CLOSED] > sum(n for s, n in states.items() if s != State.CLOSED)
    assert {State.NEW, State.CLOSED} <= set(states)


def test_every_demo_case_is_consistent(demo):
    today = timezone.localdate()
    now = timezone.now()
    for case in Case.objects.annotate(n_appeals=Count("appeals")).select_related("rating"):
        events = list(case.events.order_by("at", "id"))
        assert events[0].action == "open" and events[0].at == case.opened_at, case.number
        assert all(e.at >= case.opened_at and e.at <= now for e in events), case.number
        moves = [e for e in events if e.to_state and e.to_state != e.from_state or e.action == "open"]
        assert moves[-1].to_state == case.state, case.number
        if case.state != State.NEW:
            assert case.handler_id, case.number
        if case.state == State.CLOSED:
            assert case.outcome and case.notified_at and case.closed_at and case.close_reason, case.number
            assert case.due_on is None and case.feedback_token_hash is None
            if case.close_reason == CloseReason.NO_RESPONSE:
                assert case.feedback_grade is None and timezone.localtime(case.closed_at).date() > case.feedback_due
            else:
                assert case.feedback_grade in (1, 2, 3)
        if case.state == State.FEEDBACK:
            assert case.outcome and case.notified_at and case.due_on == case.feedback_due >= today, case.number
        if case.state == State.RECTIFYING:
            assert case.outcome == Outcome.LEDGER and case.deadline and case.due_on == case.deadline
        if case.state == State.APPEALING:
            assert case.appeals.filter(decision="").count() == 1
        if case.outcome == Outcome.NOT_ADOPTED:
            assert case.rating.adoption == Adoption.NOT_ADOPTED
        if case.outcome == Outcome.LEDGER and case.state in (State.FEEDBACK, State.CLOSED):
            assert case.rectified_at and case.rectify_deadline
        if case.real_name and case.state not in (State.NEW, State.ASSIGNED):
            assert case.callbacks.filter(reached=True).exists(), case.number
        if case.due_on and case.state != State.FEEDBACK:
            # Open cases may be overdue (the sweep escalated them), but none forgotten for months.
            assert workdays.workdays_between(case.due_on, today) <= 25, case.number
    for event in CaseEvent.objects.filter(action__in=["fix_now", "complete", "appeal"]):
        assert event.attachments.exists(), event
    assert Appeal.objects.filter(decision="").count() == Case.objects.filter(state=State.APPEALING).count()


def test_the_demo_sweep_has_run_and_a_second_one_finds_nothing_to_do(demo):
    report = sweep()
    assert (report.reminded, report.overdue, report.escalated, report.failed) == (0, 0, 0, [])
