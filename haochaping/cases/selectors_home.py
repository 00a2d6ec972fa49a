"""The case figures on the signed-in home page (kept small: three indexed counts)."""

from __future__ import annotations

from django.db.models import Count, Q

from haochaping.accounts.scope import Scope
from haochaping.cases import workdays
from haochaping.cases.models import OPEN_STATES, Case


def case_counts(scope: Scope) -> dict[str, int]:
    today = workdays.today()
    working = OPEN_STATES
    return scope.filter(Case.objects.all()).aggregate(
        open=Count("id", filter=Q(state__in=working)),
        overdue=Count("id", filter=Q(state__in=working, due_on__lt=today, paused_at__isnull=True)),
        feedback=Count("id", filter=Q(state="feedback")),
    )
