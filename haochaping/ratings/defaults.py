"""Default ratings (默认评价): completed 办件 left unrated past their region's delay get the policy's grade.

A periodic, idempotent sweep (cron or a systemd timer, docs/default-ratings.md). Each default rating goes
through the one intake path with a fixed idempotency key per 办件, and the rating table's unique constraint
(one rating per 办件 per stage per sequence) is the claim: concurrent or repeated sweeps store nothing twice,
and an applicant who rates in the same instant wins or loses the slot cleanly.

Default ratings are marked ``is_default`` with channel ``default``; reports keep them apart from active
ratings (主动评价, regime.md §4). The applicant's unused token for the stage is expired with the default
rating: the slot is taken, so a later rating would be refused anyway, and the page then says "expired"
instead of accepting input it cannot store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.directory.models import Region
from haochaping.ratings.codes import GRADE_NAME_OF, CaseStatus, Channel
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import DefaultRatingPolicy, EvaluationToken, Rating, ServiceCase

BATCH_SIZE = 1000
CLIENT = "system:default"


@dataclass
class DefaultRatingReport:
    rated: list[str] = field(default_factory=list)  # 办件编号 given a default rating by this run
    would_rate: list[str] = field(default_factory=list)  # dry run: what a real run would rate
    skipped: list[str] = field(default_factory=list)  # rated meanwhile by someone else (applicant, other sweep)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (办件编号, reason) refused by the intake
    tokens_expired: int = 0
    policies: int = 0  # enabled policies swept


def idempotency_key(case_no: str, stage: str) -> str:
    return f"default:{case_no}:{stage}"


def applicable_policy(region: Region) -> DefaultRatingPolicy | None:
    """The policy of the region or of its nearest ancestor that has one (None: no default ratings there)."""
    codes = [code for code in region.path.split("/") if code]
    policies = {
        p.region.code: p for p in DefaultRatingPolicy.objects.filter(region__code__in=codes).select_related("region")
    }
    for code in reversed(codes):
        if code in policies:
            return policies[code]
    return None


def policy_cases(policy: DefaultRatingPolicy, all_policies: list[DefaultRatingPolicy], *, now: datetime) -> QuerySet:
    """办件 that ``policy`` governs and that are due: completed, past the delay, not rated at the stage.

    A policy governs its region's subtree less the subtrees of descendant regions with a policy of their own
    (nearest ancestor wins), so every 办件 is governed by at most one policy.
    """
    path = policy.region.path
    rated = Rating.objects.filter(service_case=OuterRef("pk"), stage=policy.stage, sequence=1)
    qs = ServiceCase.objects.filter(
        status=CaseStatus.COMPLETED,
        completed_at__lte=now - timedelta(days=policy.after_days),
        region__path__startswith=path,
    )
    nested = Q()
    for other in all_policies:
        other_path = other.region.path
        if other_path != path and other_path.startswith(path):
            nested |= Q(region__path__startswith=other_path)
    if nested:
        qs = qs.exclude(nested)
    return qs.filter(~Exists(rated))


def _batches(qs: QuerySet, limit: int | None) -> Iterator[list[str]]:
    """Case numbers in primary-key order, BATCH_SIZE at a time (keyset paging: no OFFSET, no sort of all rows)."""
    last, left = 0, limit
    while left is None or left > 0:
        size = BATCH_SIZE if left is None else min(BATCH_SIZE, left)
        rows = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", "case_no")[:size])
        if not rows:
            return
        last = rows[-1][0]
        if left is not None:
            left -= len(rows)
        yield [case_no for _, case_no in rows]


def default_ratings_sweep(
    *, now: datetime | None = None, limit: int | None = None, dry_run: bool = False
) -> DefaultRatingReport:
    """Record the policy's default rating for every due 办件 (at most ``limit``). Safe to repeat and to overlap."""
    now = now or timezone.now()
    report = DefaultRatingReport()
    policies = list(DefaultRatingPolicy.objects.select_related("region").order_by("region__path"))
    left = limit
    for policy in policies:
        if not policy.enabled:
            continue
        report.policies += 1
        qs = policy_cases(policy, policies, now=now)
        for case_nos in _batches(qs, left):
            if left is not None:
                left -= len(case_nos)
            if dry_run:
                report.would_rate.extend(case_nos)
            else:
                _rate_batch(policy, case_nos, now=now, report=report)
        if left is not None and left <= 0:
            break
    return report


def _rate_batch(
    policy: DefaultRatingPolicy, case_nos: list[str], *, now: datetime, report: DefaultRatingReport
) -> None:
    items = [
        {
            "case_no": case_no,
            "stage": policy.stage,
            "sequence": 1,
            "grade": GRADE_NAME_OF[policy.grade],
            "channel": Channel.DEFAULT.value,
            "is_default": True,
            "rated_at": now,
            "idempotency_key": idempotency_key(case_no, policy.stage),
        }
        for case_no in case_nos
    ]
    # The ratings and the token expiry commit together: no default rating with a still-open token.
    with transaction.atomic():
        results = submit_ratings(items, scope=ALL_SCOPE, client=CLIENT, now=now)
        rated: list[str] = []
        for case_no, result in zip(case_nos, results, strict=True):
            if result.created:
                rated.append(case_no)
            elif result.ok or result.status == 409:
                report.skipped.append(case_no)  # a retry of our own, or the slot was taken meanwhile
            else:
                report.failed.append((case_no, result.message or str(result.status)))
        if rated:
            report.tokens_expired += EvaluationToken.objects.filter(
                service_case__case_no__in=rated, stage=policy.stage, used_at__isnull=True, expires_at__gt=now
            ).update(expires_at=now)
    report.rated.extend(rated)
