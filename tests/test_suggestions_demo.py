"""The society demo: suggestions through the real opening and case services, one imported assessment; run twice,
it adds nothing."""

from __future__ import annotations

from django.utils import timezone

from haochaping.cases.models import Case, CaseEvent, Kind, NotifiedVia, State
from haochaping.society import demo
from haochaping.society.models import AssessmentImport, AssessmentScore


def test_demo_seeds_suggestions_and_an_assessment(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    lines: list[str] = []
    demo.seed_demo(lines.append, 42)
    suggestions = Case.objects.filter(kind=Kind.SUGGESTION)
    assert suggestions.count() == demo.SUGGESTIONS
    assert suggestions.filter(real_name=False).exists() and suggestions.filter(real_name=True).exists()
    now = timezone.now()
    assert all(now - timezone.timedelta(days=61) < c.opened_at < now for c in suggestions)
    closed = suggestions.filter(state=State.CLOSED)
    assert closed.exists()
    assert closed.filter(notified_via=NotifiedVia.PUBLIC).exists() or closed.filter(notified_via=NotifiedVia.SMS)
    for case in closed:  # the history is in order: opened, then every action after it
        ats = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("at", flat=True))
        assert ats == sorted(ats) and ats[0] == case.opened_at
    a = AssessmentImport.objects.get(firm=demo.FIRM)
    assert a.region == world.city and a.dimensions == ["服务效率", "服务态度", "办事便利度"]
    scores = AssessmentScore.objects.filter(assessment=a)
    assert scores.count() == a.rows >= 4
    assert all(70 <= s.score <= 98 and len(s.sub_scores) == 3 and s.rank for s in scores)
    assert (a.period_end - a.period_start).days in (89, 90, 91)
    assert len(lines) == 2 and "意见箱" in lines[0] and "第三方评估" in lines[1]
    demo.seed_demo(lines.append, 42)
    assert Case.objects.filter(kind=Kind.SUGGESTION).count() == demo.SUGGESTIONS
    assert AssessmentImport.objects.count() == 1
