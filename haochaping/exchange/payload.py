"""What goes up: outbox entries → records in the provincial interface shape with the exchange extensions.

A rating travels as the provincial record of docs/interchange.md §3 (keys `projectNo` … `isDefault`) plus the keys
only an exchange between our own installations needs (docs/exchange.md §3): `type`, `origin`, `ratingId`,
`ratedAt` (full precision), `channel`, `target`, `areaName`, `taskType`, `serviceObjects`, `hallCode`. A receiver
that knows only the provincial shape reads the standard keys and ignores the rest. The rater's identity never
travels upward (userName and userCert are empty): the superior counts ratings, it does not call raters back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from haochaping.cases.models import Case
from haochaping.exchange.models import CaseOutcome, OutboxEntry
from haochaping.ratings.interchange import CHECK_STATUS, EXPORT_COLUMNS, provincial_record
from haochaping.ratings.models import Rating

SCHEMA_VERSION = 1
RATING_COLUMNS = (
    *EXPORT_COLUMNS,
    "public_id",
    "target",
    "client",
    "region__name",
    "service_item__item_type",
    "service_item__service_objects",
    "service_case__stage",
    "hall__code",
)
ORIGIN_PREFIX = "sub:"  # the `client` of a rating received from a subordinate: "sub:<origin platform code>"


def origin_of_client(client: str) -> str:
    """The platform where a rating was given: ours, or the origin a subordinate named when it pushed it."""
    return client[len(ORIGIN_PREFIX) :] if client.startswith(ORIGIN_PREFIX) else settings.HAOCHAPING_PLATFORM_CODE


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def rating_record(row: dict[str, Any]) -> dict[str, Any]:
    record = provincial_record(row, withhold_rater=True)
    record.update(
        type="rating",
        origin=origin_of_client(row["client"]),
        ratingId=str(row["public_id"]),
        ratedAt=_iso(row["rated_at"]),
        channel=row["channel"],
        target=row["target"],
        areaName=row["region__name"],
        taskType=row["service_item__item_type"] or "",
        serviceObjects=row["service_item__service_objects"] or "",
        caseStage=row["service_case__stage"] or "",
        hallCode=row["hall__code"] or "",
    )
    return record


def rating_records(public_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = Rating.objects.filter(public_id__in=list(public_ids)).values(*RATING_COLUMNS)
    return {str(row["public_id"]): rating_record(row) for row in rows}


def adoption_records(rating_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = Rating.objects.filter(pk__in=[int(r) for r in rating_ids]).values("id", "public_id", "client", "adoption")
    return {
        str(row["id"]): {
            "type": "adoption",
            "origin": origin_of_client(row["client"]),
            "ratingId": str(row["public_id"]),
            "checkStatus": CHECK_STATUS[row["adoption"]],
        }
        for row in rows
    }


def _case_on_time(case: Case) -> bool | None:
    """按期: the result (or the completed rectification) came by the deadline in force; None while open and not due."""
    deadline = case.deadline or case.resolve_due
    done = case.rectified_at if case.deadline else case.outcome_at
    if done is not None:
        return timezone.localtime(done).date() <= deadline if deadline else True
    if deadline and timezone.localdate() > deadline:
        return False
    return None


def _case_dict(origin: str, case_no: str, rating_id, region, unit, **state: Any) -> dict[str, Any]:
    """The case record's shape, whether the case is ours or a subordinate's being forwarded."""
    return {
        "type": "case",
        "origin": origin,
        "caseNo": case_no,
        "kind": state["kind"],
        "ratingId": str(rating_id) if rating_id else None,
        "areaCode": region.code,
        "deptCode": unit.uscc,
        "deptName": unit.name,
        "state": state["state"],
        "outcome": state["outcome"],
        "openedAt": _iso(state["opened_at"]),
        "outcomeAt": _iso(state["outcome_at"]),
        "closedAt": _iso(state["closed_at"]),
        "resolveDue": _iso(state["resolve_due"]),
        "onTime": state["on_time"],
        "calledBack": state["called_back"],
        "feedbackGrade": state["feedback_grade"],
    }


def case_record(case: Case) -> dict[str, Any]:
    return _case_dict(
        settings.HAOCHAPING_PLATFORM_CODE,
        case.number,
        case.rating.public_id if case.rating_id else None,
        case.region,
        case.unit,
        kind=case.kind,
        state=case.state,
        outcome=case.outcome,
        opened_at=case.opened_at,
        outcome_at=case.outcome_at,
        closed_at=case.closed_at,
        resolve_due=case.deadline or case.resolve_due,
        on_time=_case_on_time(case),
        called_back=case.called_back_at is not None,
        feedback_grade=case.feedback_grade,
    )


def forwarded_case_record(outcome: CaseOutcome) -> dict[str, Any]:
    """A case outcome received from a subordinate, forwarded unchanged (origin and number kept)."""
    return _case_dict(
        outcome.origin,
        outcome.case_no,
        outcome.rating_public_id,
        outcome.region,
        outcome.unit,
        kind=outcome.kind,
        state=outcome.state,
        outcome=outcome.outcome,
        opened_at=outcome.opened_at,
        outcome_at=outcome.outcome_at,
        closed_at=outcome.closed_at,
        resolve_due=outcome.resolve_due,
        on_time=outcome.on_time,
        called_back=outcome.called_back,
        feedback_grade=outcome.feedback_grade,
    )


def case_records(refs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Case refs are a case id ("123") or a forwarded outcome ("o45")."""
    refs = list(refs)
    own = [int(r) for r in refs if not r.startswith("o")]
    received = [int(r[1:]) for r in refs if r.startswith("o")]
    records = {
        str(case.id): case_record(case)
        for case in Case.objects.filter(pk__in=own).select_related("rating", "region", "unit")
    }
    for outcome in CaseOutcome.objects.filter(pk__in=received).select_related("region", "unit"):
        records[f"o{outcome.id}"] = forwarded_case_record(outcome)
    return records


_BUILDERS = {
    OutboxEntry.Kind.RATING: rating_records,
    OutboxEntry.Kind.ADOPTION: adoption_records,
    OutboxEntry.Kind.CASE: case_records,
}


def records_for(entries: list[OutboxEntry]) -> list[tuple[list[int], dict[str, Any] | None]]:
    """The record of each distinct (kind, ref) among the entries, with the entry ids it stands for.

    A record queued twice (a case moved through several states before the push) goes once, in its current
    state; a record that no longer exists (None) is dropped by the caller.
    """
    grouped: dict[tuple[str, str], list[int]] = {}
    for entry in entries:
        grouped.setdefault((entry.kind, entry.ref), []).append(entry.id)
    built: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, builder in _BUILDERS.items():
        refs = [ref for (k, ref) in grouped if k == kind]
        built[kind] = builder(refs) if refs else {}
    return [(ids, built[kind].get(ref)) for (kind, ref), ids in grouped.items()]
