"""Small read-only questions about comment mining that other apps' pages ask (the home page's counts)."""

from __future__ import annotations

from haochaping.accounts.scope import Scope
from haochaping.insight.models import Problem, SurgeAlert


def insight_counts(scope: Scope) -> dict[str, int]:
    """Open surge alerts and problems awaiting a supervisor's judgement, in the scope (two COUNT queries)."""
    return {
        "alerts": scope.filter(SurgeAlert.objects.filter(status=SurgeAlert.Status.OPEN)).count(),
        "problems": scope.filter(Problem.objects.filter(status=Problem.Status.DETECTED)).count(),
    }
