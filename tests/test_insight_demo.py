"""The demo's comment mining: planted recurring problems found as one group each with their units, the planted
surge alerted, hotline complaints routed by a trained router, and no phone number in the analysis tables."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command

from haochaping.demo import generator as gen
from haochaping.demo.planted import plan_problems
from haochaping.directory.models import Hall
from haochaping.insight.demo import SURGE_VARIANTS, planted_docs
from haochaping.insight.models import CommentDoc, Problem, ProblemMember, Router, RoutingSuggestion, SurgeAlert
from haochaping.insight.text import normalise

pytestmark = pytest.mark.django_db

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture
def demo(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    call_command("demo", ratings=20000, cities=1, seed=7, api_key_file=tmp_path / "k.txt", stdout=out, verbosity=0)
    return out.getvalue()


def test_the_demo_mines_its_planted_problems_surge_and_complaints(demo):
    assert "意见挖掘 / insight" in demo, demo[-3000:]
    print(demo[demo.index("意见挖掘") :])
    planted = plan_problems(gen.plan_directory(7, 1))
    assert {p.key for p in planted} == {"queue_machine", "upload_fails", "repeat_proof", "parking"}
    for p in planted:
        assert len(p.variants) >= 6
        docs = planted_docs(p)
        assert len(docs) >= 8, p.key
        counts = Counter(ProblemMember.objects.filter(doc_id__in=docs).values_list("problem_id", flat=True))
        mostly = [pr for pr in Problem.objects.filter(pk__in=list(counts)) if counts[pr.pk] * 2 >= pr.size]
        assert mostly, f"{p.key}: no problem is made of its comments"
        by_run = defaultdict(list)
        for pr in mostly:
            by_run[(pr.region_id, pr.period_start, pr.period_end)].append(pr)
        for run, found in by_run.items():
            assert len(found) == 1, f"{p.key} split in {run}: {[pr.label for pr in found]}"
        biggest = max(mostly, key=lambda pr: counts[pr.pk])
        top = [u["name"] for u in biggest.units[:2]]
        assert top[0] in p.unit_names, (p.key, top, p.unit_names)
        assert f"{p.label}（{p.place}）: 已识别" in demo

    surge_alerts = SurgeAlert.objects.all()
    assert surge_alerts.exists()
    surge_docs = CommentDoc.objects.filter(text__in=[normalise(v) for v in SURGE_VARIANTS])
    hall = Hall.objects.get(pk=surge_docs.values_list("hall_id", flat=True).first())
    assert surge_docs.count() >= 40
    assert surge_alerts.filter(region=hall.region).exists()

    router = Router.objects.get(name="default")
    assert router.accuracy is not None and router.accuracy > 0.5 and router.heldout > 0
    assert RoutingSuggestion.objects.exists()

    assert not [t for t in CommentDoc.objects.values_list("text", flat=True) if PHONE.search(t)]
